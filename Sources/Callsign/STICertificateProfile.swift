public import SwiftASN1
public import X509
import Crypto

/// STI certificate profile checks (ATIS-1000080 §6.4.1, US SHAKEN CP v1.3),
/// named after the lints in `sti-cert-profile-lints.csv`.
///
/// Most certificates in the wild deviate somewhere, so there are two modes:
/// ``Mode/lenient`` reports each deviation as a finding and accepts the
/// certificate; ``Mode/strict`` rejects a certificate with any error finding.
public enum STICertificateProfile {
    /// How findings are acted on.
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        case strict, lenient
    }

    /// Where a certificate sits in its chain.
    public enum Role: String, Sendable, Hashable {
        case endEntity = "end-entity"
        case intermediate
        case root
    }

    /// One deviation from the profile.
    public struct Finding: Sendable, Hashable, CustomStringConvertible {
        public enum Severity: String, Sendable, Hashable { case error, warning }
        /// The lint name (e.g. `e_atis_subject_cn_spc`).
        public var lint: String
        public var severity: Severity
        public var message: String
        public var description: String { "\(severity.rawValue) \(lint): \(message)" }
    }

    /// SHAKEN certificate policy OIDs: current (CP v1.3: `.1.1.3`, `.1.1.4`) and legacy `.1.1.1`.
    public static let currentPolicyOIDs: Set<ASN1ObjectIdentifier> = [[2, 16, 840, 1, 114569, 1, 1, 3], [2, 16, 840, 1, 114569, 1, 1, 4]]
    public static let legacyPolicyOID: ASN1ObjectIdentifier = [2, 16, 840, 1, 114569, 1, 1, 1]
    static let certificatePoliciesOID: ASN1ObjectIdentifier = [2, 5, 29, 32]
    static let crlDistributionPointsOID: ASN1ObjectIdentifier = [2, 5, 29, 31]
    static let commonNameOID: ASN1ObjectIdentifier = [2, 5, 4, 3]
    static let countryOID: ASN1ObjectIdentifier = [2, 5, 4, 6]
    static let organizationOID: ASN1ObjectIdentifier = [2, 5, 4, 10]
    static let serialNumberOID: ASN1ObjectIdentifier = [2, 5, 4, 5]

    /// The values of one attribute type in a name, as strings.
    public static func attribute(_ oid: ASN1ObjectIdentifier, in name: DistinguishedName) -> [String] {
        name.flatMap { $0 }.filter { $0.type == oid }.map { String(describing: $0.value) }
    }

    /// The certificate policy OIDs (RFC 5280 §4.2.1.4), or `nil` if the extension is absent.
    public static func policyOIDs(_ certificate: Certificate) -> [ASN1ObjectIdentifier]? {
        guard let ext = certificate.extensions[oid: certificatePoliciesOID] else { return nil }
        guard let root = try? DER.parse(ext.value), case .constructed(let policies) = root.content else { return [] }
        var oids: [ASN1ObjectIdentifier] = []
        for policy in policies {
            guard case .constructed(let fields) = policy.content else { continue }
            var iterator = fields.makeIterator()
            if let first = iterator.next(), let oid = try? ASN1ObjectIdentifier(derEncoded: first) { oids.append(oid) }
        }
        return oids
    }

    /// A CRL distribution point (RFC 5280 §4.2.1.13): its URIs and whether it names a cRLIssuer.
    public struct DistributionPoint: Sendable, Hashable {
        public var uris: [String]
        public var hasCRLIssuer: Bool
    }

    /// The CRL distribution points, or `nil` if the extension is absent.
    public static func crlDistributionPoints(_ certificate: Certificate) -> [DistributionPoint]? {
        guard let ext = certificate.extensions[oid: crlDistributionPointsOID] else { return nil }
        guard let root = try? DER.parse(ext.value), case .constructed(let points) = root.content else { return [] }
        var result: [DistributionPoint] = []
        for point in points {
            guard case .constructed(let fields) = point.content else { continue }
            var uris: [String] = []
            var hasIssuer = false
            for field in fields {
                if field.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific),
                    case .constructed(let names) = field.content
                {
                    // distributionPoint [0] → fullName [0] GeneralNames (implicit).
                    for name in names {
                        guard name.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific),
                            case .constructed(let generalNames) = name.content
                        else { continue }
                        for generalName in generalNames {
                            if case .uniformResourceIdentifier(let uri)? = try? GeneralName(derEncoded: generalName) {
                                uris.append(uri)
                            }
                        }
                    }
                } else if field.identifier == ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific) {
                    hasIssuer = true
                }
            }
            result.append(DistributionPoint(uris: uris, hasCRLIssuer: hasIssuer))
        }
        return result
    }

    /// Why `chain` (end entity first, anchor last) is refused in `mode`, or
    /// `nil`: lenient mode never refuses; strict refuses the first error finding.
    public static func rejection(of chain: [Certificate], mode: Mode) -> String? {
        guard mode == .strict else { return nil }
        for (index, certificate) in chain.enumerated() {
            let role: Role = index == 0 ? .endEntity : (index == chain.count - 1 ? .root : .intermediate)
            if let finding = findings(for: certificate, role: role).first(where: { $0.severity == .error }) {
                return "(\(role.rawValue)): \(finding)"
            }
        }
        return nil
    }

    /// Checks one certificate against the profile for its role.
    public static func findings(for certificate: Certificate, role: Role) -> [Finding] {
        var findings: [Finding] = []
        func error(_ lint: String, _ message: String) { findings.append(Finding(lint: lint, severity: .error, message: message)) }
        func warning(_ lint: String, _ message: String) { findings.append(Finding(lint: lint, severity: .warning, message: message)) }
        let ca = role != .endEntity

        if certificate.version != .v3 { error("e_atis_version", "certificate is not X.509 v3") }
        if certificate.signatureAlgorithm != .ecdsaWithSHA256 {
            error(ca ? "e_atis_signature_algorithm_ca" : "e_atis_signature_algorithm", "signature algorithm is not ecdsa-with-SHA256")
        }
        if role != .root, P256.Signing.PublicKey(certificate.publicKey) == nil {
            error(ca ? "e_atis_subject_public_key_ca" : "e_atis_subject_public_key", "key is not P-256")
        }
        if certificate.serialNumber.bytes.drop(while: { $0 == 0 }).count < 8 {
            error(ca ? "e_atis_serial_number_size_ca" : "e_atis_serial_number_size", "serial number shorter than 64 bits")
        }

        // Subject name.
        let cns = attribute(commonNameOID, in: certificate.subject)
        let countries = attribute(countryOID, in: certificate.subject)
        if countries.isEmpty || countries.contains(where: { $0.count != 2 || !$0.allSatisfy(\.isUppercase) }) {
            error(ca ? "e_atis_subject_c_iso_ca" : "e_atis_subject_dn", "subject has no ISO 3166 alpha-2 country (C)")
        }
        if ca, attribute(organizationOID, in: certificate.subject).isEmpty {
            error("e_atis_subject_o_required_ca", "CA subject has no organization (O)")
        }
        if attribute(serialNumberOID, in: certificate.subject).isEmpty, role == .endEntity {
            warning("e_us_cp_subject_sn_shall", "subject has no serialNumber attribute (US SHAKEN CP §3.1)")
        }
        if !cns.contains(where: { $0.contains("SHAKEN") }) {
            error(role == .root ? "e_atis_subject_cn_root" : (ca ? "e_atis_subject_cn_ca" : "e_atis_subject_cn"),
                  "subject CN does not contain SHAKEN")
        }

        // Extensions.
        let basicConstraints = try? certificate.extensions.basicConstraints
        switch (basicConstraints, ca) {
        case (nil, _): error("e_atis_ext_basic_constraints", "no basicConstraints extension")
        case (.isCertificateAuthority?, false): error("e_atis_ext_basic_constraints", "end-entity certificate has CA:TRUE")
        case (.notCertificateAuthority?, true): error("e_atis_ext_basic_constraints", "CA certificate has CA:FALSE")
        default: break
        }
        if let keyUsage = try? certificate.extensions.keyUsage {
            if ca {
                if !keyUsage.keyCertSign { error("e_atis_ext_key_usage", "CA key usage lacks keyCertSign") }
            } else if !keyUsage.digitalSignature || keyUsage.keyCertSign || keyUsage.cRLSign || keyUsage.keyEncipherment {
                error("e_atis_ext_key_usage_ee", "end-entity key usage must be digitalSignature only")
            }
            if certificate.extensions[oid: .X509ExtensionID.keyUsage]?.critical != true {
                error("e_atis_ext_key_usage", "keyUsage is not critical")
            }
        } else {
            error(ca ? "e_atis_ext_key_usage" : "e_atis_ext_key_usage_ee", "no keyUsage extension")
        }
        if let ski = try? certificate.extensions.subjectKeyIdentifier {
            if ski.keyIdentifier.count != 20 { warning("e_atis_subject_key_identifier_size", "SKI is not a 160-bit hash") }
        } else if role != .root {
            error("e_atis_subject_key_identifier", "no subjectKeyIdentifier")
        }
        if role != .root {
            if let aki = try? certificate.extensions.authorityKeyIdentifier {
                if aki.keyIdentifier == nil { error("e_ext_authority_key_identifier_no_key_identifier", "AKI has no keyIdentifier") }
            } else {
                error(ca ? "e_atis_ext_authority_key_identifier_ca" : "e_atis_ext_authority_key_identifier", "no authorityKeyIdentifier")
            }
        }
        if role != .root {
            if let policies = policyOIDs(certificate) {
                let lint = ca ? "e_shaken_certificate_policies_id_ca" : "e_shaken_certificate_policies_id"
                if policies.count != 1 {
                    error(ca ? "e_atis_ext_certificate_policies_ca" : "e_atis_ext_certificate_policies", "expected exactly one certificate policy, found \(policies.count)")
                }
                if policies.contains(legacyPolicyOID) {
                    error(lint, "legacy SHAKEN policy OID 2.16.840.1.114569.1.1.1 (CP v1.3 requires .1.1.3 or .1.1.4)")
                } else if !policies.contains(where: currentPolicyOIDs.contains) {
                    error(lint, "no SHAKEN certificate policy OID")
                }
            } else {
                error(ca ? "e_atis_ext_certificate_policies_ca" : "e_atis_ext_certificate_policies", "no certificatePolicies extension")
            }
            if let points = crlDistributionPoints(certificate) {
                let structLint = ca ? "e_atis_ext_crl_distribution_struct_ca" : "e_atis_ext_crl_distribution_struct"
                if points.count != 1 || points[0].uris.isEmpty {
                    error(structLint, "expected one distribution point with an HTTP URI")
                } else if !points[0].hasCRLIssuer {
                    warning(structLint, "distribution point has no cRLIssuer (ATIS-1000080 v004)")
                }
            } else {
                error(ca ? "e_atis_ext_crl_distribution_ca" : "e_atis_ext_crl_distribution", "no CRL distribution point")
            }
        }

        // TNAuthList.
        if role == .endEntity {
            if let ext = certificate.extensions[oid: TNAuthorizationList.oid] {
                do {
                    let list = try TNAuthorizationList(ext)
                    let spcs = list.spcs
                    if spcs.count != 1 || list.entries.count != 1 {
                        if list.hasNumbers && spcs.isEmpty {
                            warning("e_atis_tn_auth_list", "TNAuthList holds numbers, not an SPC (delegate certificate, RFC 9060)")
                        } else {
                            error("e_atis_tn_auth_list", "TNAuthList must hold exactly one SPC")
                        }
                    }
                    if let spc = spcs.first {
                        if !spc.allSatisfy({ $0.isNumber || ($0.isLetter && $0.isUppercase) }) || !spc.allSatisfy(\.isASCII) {
                            error("e_atis_tn_auth_list_spc_format", "SPC must be digits and uppercase letters")
                        }
                        if !cns.contains("SHAKEN \(spc)") {
                            error("e_atis_subject_cn_spc", "subject CN is not \"SHAKEN \(spc)\"")
                        }
                    }
                    if ext.critical { warning("w_tn_auth_list_critical", "TNAuthList is critical (verifiers that do not know it reject the certificate)") }
                } catch let decodeError {
                    error("e_atis_tn_auth_list", "TNAuthList does not decode: \(decodeError)")
                }
            } else {
                error("e_atis_tn_auth_list", "no TNAuthList extension")
            }
        }
        return findings
    }
}

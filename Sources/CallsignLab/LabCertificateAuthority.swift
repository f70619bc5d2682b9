public import Callsign
public import Crypto
public import SwiftASN1
public import X509
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Certificate policies extension (RFC 5280 §4.2.1.4) with bare policy OIDs.
public struct CertificatePoliciesExtension: CertificateExtensionConvertible, Sendable, Hashable {
    public var policies: [ASN1ObjectIdentifier]
    public init(_ policies: [ASN1ObjectIdentifier]) { self.policies = policies }

    public func makeCertificateExtension() throws -> Certificate.Extension {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { coder in
            for policy in policies {
                try coder.appendConstructedNode(identifier: .sequence) { try $0.serialize(policy) }
            }
        }
        return Certificate.Extension(oid: [2, 5, 29, 32], critical: false, value: serializer.serializedBytes[...])
    }
}

/// CRL distribution points extension (RFC 5280 §4.2.1.13): one point with a
/// URI and, as ATIS-1000080 v004 asks, the CRL issuer's name.
public struct CRLDistributionPointsExtension: CertificateExtensionConvertible, Sendable, Hashable {
    public var uri: String
    public var crlIssuer: DistinguishedName?
    public init(uri: String, crlIssuer: DistinguishedName?) {
        self.uri = uri
        self.crlIssuer = crlIssuer
    }

    public func makeCertificateExtension() throws -> Certificate.Extension {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { coder in
            try coder.appendConstructedNode(identifier: .sequence) { coder in
                try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { coder in
                    try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { coder in
                        try coder.serialize(GeneralName.uniformResourceIdentifier(uri))
                    }
                }
                if let crlIssuer {
                    try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific)) { coder in
                        try coder.serialize(GeneralName.directoryName(crlIssuer))
                    }
                }
            }
        }
        return Certificate.Extension(oid: [2, 5, 29, 31], critical: false, value: serializer.serializedBytes[...])
    }
}

/// Builds a lab STI PKI (ATIS-1000080 profile): root → intermediate → end
/// entities with TNAuthList. Pure: keys, names, URLs and times are given.
/// Not an STI-CA: for tests, labs and `callsign serve`'s development mode.
public enum LabCertificateAuthority {
    /// The SHAKEN certificate policy placed in issued certificates (CP v1.3).
    public static let policy: ASN1ObjectIdentifier = [2, 16, 840, 1, 114569, 1, 1, 4]

    /// A random positive 160-bit serial (RFC 5280 allows at most 20 octets).
    public static func randomSerial() -> Certificate.SerialNumber {
        var bytes = (0..<20).map { _ in UInt8.random(in: 0...255) }
        bytes[0] = (bytes[0] & 0x7F) | 1
        return Certificate.SerialNumber(bytes: bytes)
    }

    static func date(_ epoch: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(epoch)) }

    static func name(cn: String, o: String, c: String = "US", serialNumber: String? = nil) throws -> DistinguishedName {
        var rdns: [RelativeDistinguishedName] = [
            RelativeDistinguishedName(try RelativeDistinguishedName.Attribute(type: [2, 5, 4, 6], printableString: c)),
            RelativeDistinguishedName(RelativeDistinguishedName.Attribute(type: [2, 5, 4, 10], utf8String: o)),
        ]
        if let serialNumber {
            rdns.append(RelativeDistinguishedName(try RelativeDistinguishedName.Attribute(type: [2, 5, 4, 5], printableString: serialNumber)))
        }
        rdns.append(RelativeDistinguishedName(RelativeDistinguishedName.Attribute(type: [2, 5, 4, 3], utf8String: cn)))
        return DistinguishedName(rdns)
    }

    /// A self-signed root (CN contains "SHAKEN ROOT", ATIS-1000080 v005).
    public static func makeRoot(key: P256.Signing.PrivateKey, organization: String, notBefore: Int64, notAfter: Int64) throws -> Certificate {
        try certificate(publicKey: key.publicKey, subject: try name(cn: "SHAKEN ROOT \(organization)", o: organization), issuer: nil,
                        issuerKey: key, notBefore: notBefore, notAfter: notAfter) {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
        }
    }

    /// A certificate for `publicKey` signed by `issuerKey` with ECDSA
    /// P-256/SHA-256 (ATIS-1000080 §6.4.1): `issuer`'s name and key identifier
    /// (self-signed when `issuer` is `nil`), a subject key identifier, then
    /// `extensions`. Every certificate the lab issues is made here.
    static func certificate(publicKey key: P256.Signing.PublicKey, subject: DistinguishedName, issuer: Certificate?,
                            issuerKey: P256.Signing.PrivateKey, notBefore: Int64, notAfter: Int64,
                            serial: Certificate.SerialNumber = randomSerial(),
                            @ExtensionsBuilder extensions: () throws -> Result<Certificate.Extensions, any Error>) throws -> Certificate
    {
        let publicKey = Certificate.PublicKey(key)
        var all = try Certificate.Extensions(builder: extensions)
        try all.append(SubjectKeyIdentifier(hash: publicKey).makeCertificateExtension())
        if let issuerSKI = try issuer?.extensions.subjectKeyIdentifier?.keyIdentifier {
            try all.append(AuthorityKeyIdentifier(keyIdentifier: issuerSKI).makeCertificateExtension())
        }
        return try Certificate(
            version: .v3, serialNumber: serial, publicKey: publicKey, notValidBefore: date(notBefore), notValidAfter: date(notAfter),
            issuer: issuer?.subject ?? subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: all,
            issuerPrivateKey: Certificate.PrivateKey(issuerKey))
    }

    /// An intermediate CA with the SHAKEN policy and a CRL distribution point.
    public static func makeIntermediate(key: P256.Signing.PrivateKey, issuer: Certificate, issuerKey: P256.Signing.PrivateKey,
                                        organization: String, crlURL: String, notBefore: Int64, notAfter: Int64) throws -> Certificate
    {
        try makeCA(publicKey: key.publicKey, subject: try name(cn: "SHAKEN Intermediate \(organization)", o: organization), tnAuthList: nil,
                   issuer: issuer, issuerKey: issuerKey, crlURL: crlURL, notBefore: notBefore, notAfter: notAfter)
    }

    /// A CA certificate below `issuer` (path length 0: it issues end entities only), with the SHAKEN
    /// policy, a CRL distribution point and, for a delegating CA, a TNAuthList.
    static func makeCA(publicKey key: P256.Signing.PublicKey, subject: DistinguishedName, tnAuthList: TNAuthorizationList?,
                       issuer: Certificate, issuerKey: P256.Signing.PrivateKey, crlURL: String, notBefore: Int64, notAfter: Int64) throws
        -> Certificate
    {
        try certificate(publicKey: key, subject: subject, issuer: issuer, issuerKey: issuerKey, notBefore: notBefore, notAfter: notAfter) {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            CertificatePoliciesExtension([policy])
            CRLDistributionPointsExtension(uri: crlURL, crlIssuer: issuer.subject)
            if let tnAuthList { tnAuthList }
        }
    }

    /// An end-entity signing certificate. With one SPC entry the subject CN is
    /// `SHAKEN <SPC>` (ATIS-1000080 v004); with TN entries it is a delegate
    /// certificate (RFC 9060) named after its first entry.
    public static func issueEndEntity(publicKey key: P256.Signing.PublicKey, tnAuthList: TNAuthorizationList, issuer: Certificate,
                                      issuerKey: P256.Signing.PrivateKey, organization: String, crlURL: String,
                                      notBefore: Int64, notAfter: Int64, serial: Certificate.SerialNumber = randomSerial()) throws -> Certificate
    {
        let cn: String
        if let spc = tnAuthList.spcs.first, tnAuthList.entries.count == 1 {
            cn = "SHAKEN \(spc)"
        } else {
            cn = "SHAKEN \(tnAuthList.entries.first.map { "\($0)" } ?? "delegate")"
        }
        let subject = try name(cn: cn, o: organization, serialNumber: tnAuthList.spcs.first ?? "DELEGATE")
        return try certificate(publicKey: key, subject: subject, issuer: issuer, issuerKey: issuerKey, notBefore: notBefore, notAfter: notAfter,
                               serial: serial) {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            CertificatePoliciesExtension([policy])
            CRLDistributionPointsExtension(uri: crlURL, crlIssuer: issuer.subject)
            tnAuthList
        }
    }

    /// A delegating CA certificate (RFC 9060 §4): a service provider's CA
    /// holding its TNAuthList, allowed to issue delegate certificates for
    /// numbers inside it (path length 0: end entities only).
    public static func issueDelegatingCA(publicKey key: P256.Signing.PublicKey, tnAuthList: TNAuthorizationList, issuer: Certificate,
                                         issuerKey: P256.Signing.PrivateKey, organization: String, crlURL: String,
                                         notBefore: Int64, notAfter: Int64) throws -> Certificate
    {
        try makeCA(publicKey: key, subject: try name(cn: "SHAKEN Delegating CA \(tnAuthList.spcs.first ?? organization)", o: organization),
                   tnAuthList: tnAuthList, issuer: issuer, issuerKey: issuerKey, crlURL: crlURL, notBefore: notBefore, notAfter: notAfter)
    }

    /// A certificate signing request carrying the TNAuthList in an
    /// extensionRequest attribute, for a real STI-CA (ATIS-1000080 §6.3.4).
    public static func makeCSR(key: P256.Signing.PrivateKey, tnAuthList: TNAuthorizationList, organization: String) throws
        -> CertificateSigningRequest
    {
        let cn = tnAuthList.spcs.first.map { "SHAKEN \($0)" } ?? "SHAKEN delegate"
        let subject = try name(cn: cn, o: organization)
        let extensions = try Certificate.Extensions {
            tnAuthList
        }
        return try CertificateSigningRequest(
            version: .v1, subject: subject, privateKey: Certificate.PrivateKey(key),
            attributes: CertificateSigningRequest.Attributes([try CertificateSigningRequest.Attribute(ExtensionRequest(extensions: extensions))]),
            signatureAlgorithm: .ecdsaWithSHA256)
    }
}

extension LabCertificateAuthority {
    /// A certificate an STI-PA signs with (its trust list, tokens or CRL):
    /// issued by the STI-PA root, not a CA, key usage digitalSignature and
    /// cRLSign. `subject` is the name that must match a CRL's issuer.
    public static func issueSigner(key: P256.Signing.PublicKey, subject: DistinguishedName, issuer: Certificate,
                                   issuerKey: P256.Signing.PrivateKey, notBefore: Int64, notAfter: Int64) throws -> Certificate
    {
        try certificate(publicKey: key, subject: subject, issuer: issuer, issuerKey: issuerKey, notBefore: notBefore, notAfter: notAfter) {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true, cRLSign: true))
        }
    }

    /// A directory name `C=US, O=…, CN=…` (the STI-PA CRL issuer is `CN=STI-PA CRL, O=STI-PA`).
    public static func distinguishedName(commonName: String, organization: String) throws -> DistinguishedName {
        try name(cn: commonName, o: organization)
    }
}

/// The keys and certificates of a lab STI-PA: a root (pinned by verifiers),
/// a signer for the trust list and SPC tokens, and a CRL signer whose
/// subject is the STI-PA CRL's issuer. Pure: the caller stores and serves them.
public struct LabSTIPAAuthority: Sendable {
    public var rootKey: P256.Signing.PrivateKey
    public var root: Certificate
    public var signerKey: P256.Signing.PrivateKey
    public var signer: Certificate
    public var crlSignerKey: P256.Signing.PrivateKey
    public var crlSigner: Certificate

    public init(rootKey: P256.Signing.PrivateKey, root: Certificate, signerKey: P256.Signing.PrivateKey, signer: Certificate,
                crlSignerKey: P256.Signing.PrivateKey, crlSigner: Certificate) {
        self.rootKey = rootKey
        self.root = root
        self.signerKey = signerKey
        self.signer = signer
        self.crlSignerKey = crlSignerKey
        self.crlSigner = crlSigner
    }

    /// A new lab STI-PA valid from `notBefore` for `days`.
    public static func create(notBefore: Int64, days: Int64 = 3650, organization: String = "Callsign Lab STI-PA") throws -> LabSTIPAAuthority {
        let rootKey = P256.Signing.PrivateKey()
        let notAfter = notBefore + days * 86_400
        let subject = try LabCertificateAuthority.distinguishedName(commonName: "STI-PA Root \(organization)", organization: organization)
        let root = try LabCertificateAuthority.certificate(publicKey: rootKey.publicKey, subject: subject, issuer: nil, issuerKey: rootKey,
                                                           notBefore: notBefore, notAfter: notAfter) {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
        }
        let signerKey = P256.Signing.PrivateKey()
        let signer = try LabCertificateAuthority.issueSigner(
            key: signerKey.publicKey,
            subject: try LabCertificateAuthority.distinguishedName(commonName: "STI-PA Signer", organization: organization),
            issuer: root, issuerKey: rootKey, notBefore: notBefore, notAfter: notAfter)
        let crlSignerKey = P256.Signing.PrivateKey()
        let crlSigner = try LabCertificateAuthority.issueSigner(
            key: crlSignerKey.publicKey, subject: try LabCertificateAuthority.distinguishedName(commonName: "STI-PA CRL", organization: "STI-PA"),
            issuer: root, issuerKey: rootKey, notBefore: notBefore, notAfter: notAfter)
        return LabSTIPAAuthority(rootKey: rootKey, root: root, signerKey: signerKey, signer: signer, crlSignerKey: crlSignerKey,
                                 crlSigner: crlSigner)
    }

    /// The signed list of `certificates` (ATIS-1000080 trust list).
    public func trustList(_ certificates: [Certificate], sequence: Int64, expires: Int64, signerURL: String) throws -> String {
        try STIPATrustList.make(certificates: certificates, sequence: sequence, expires: expires, signerURL: signerURL, key: signerKey)
    }

    /// The indirect STI-PA CRL revoking `revoked` (each named by its issuer and serial).
    public func crl(revoking revoked: [Certificate], at time: Int64, nextUpdate: Int64, signerURL: String, number: Int) throws -> [UInt8] {
        try CertificateRevocationList.make(
            signer: crlSigner, signerKey: crlSignerKey,
            entries: revoked.map { .init(issuer: $0.issuer, serial: $0.serialNumber, date: time) },
            indirect: true, signerURL: signerURL, thisUpdate: time, nextUpdate: nextUpdate, crlNumber: number)
    }

    /// An SPC token granting `authority`.
    public func token(_ authority: SPCTokenAuthority, issuer: String, expires: Int64, signerURL: String) throws -> String {
        try SPCToken.make(authority: authority, issuer: issuer, identifier: UUID().uuidString.lowercased(), expires: expires,
                          signerURL: signerURL, key: signerKey)
    }
}

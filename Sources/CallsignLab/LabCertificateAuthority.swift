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
        let subject = try name(cn: "SHAKEN ROOT \(organization)", o: organization)
        let publicKey = Certificate.PublicKey(key.publicKey)
        return try Certificate(
            version: .v3, serialNumber: randomSerial(), publicKey: publicKey, notValidBefore: date(notBefore),
            notValidAfter: date(notAfter), issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
    }

    /// An intermediate CA with the SHAKEN policy and a CRL distribution point.
    public static func makeIntermediate(key: P256.Signing.PrivateKey, issuer: Certificate, issuerKey: P256.Signing.PrivateKey,
                                        organization: String, crlURL: String, notBefore: Int64, notAfter: Int64) throws -> Certificate
    {
        let subject = try name(cn: "SHAKEN Intermediate \(organization)", o: organization)
        let publicKey = Certificate.PublicKey(key.publicKey)
        let issuerSKI = try issuer.extensions.subjectKeyIdentifier?.keyIdentifier
        return try Certificate(
            version: .v3, serialNumber: randomSerial(), publicKey: publicKey, notValidBefore: date(notBefore),
            notValidAfter: date(notAfter), issuer: issuer.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: issuerSKI)
                CertificatePoliciesExtension([policy])
                CRLDistributionPointsExtension(uri: crlURL, crlIssuer: issuer.subject)
            },
            issuerPrivateKey: Certificate.PrivateKey(issuerKey))
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
        let publicKey = Certificate.PublicKey(key)
        let issuerSKI = try issuer.extensions.subjectKeyIdentifier?.keyIdentifier
        return try Certificate(
            version: .v3, serialNumber: serial, publicKey: publicKey, notValidBefore: date(notBefore),
            notValidAfter: date(notAfter), issuer: issuer.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: issuerSKI)
                CertificatePoliciesExtension([policy])
                CRLDistributionPointsExtension(uri: crlURL, crlIssuer: issuer.subject)
                tnAuthList
            },
            issuerPrivateKey: Certificate.PrivateKey(issuerKey))
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

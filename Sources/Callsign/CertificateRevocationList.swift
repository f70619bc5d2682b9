public import Crypto
import SwiftASN1
public import X509

/// An X.509 certificate revocation list (RFC 5280 §5), decoded with
/// swift-asn1 because swift-certificates has no CRL support.
///
/// Only what a STI verifier needs is kept: issuer, this/next update, the
/// revoked serial numbers, and the signed bytes with their signature so the
/// CRL can be checked against its issuer before it is believed (a CRL whose
/// signature is not checked lets anyone "revoke" anything — or nothing).
public struct CertificateRevocationList: Sendable, Hashable {
    /// The CRL issuer's name.
    public var issuer: DistinguishedName
    /// `thisUpdate`, seconds since the epoch.
    public var thisUpdate: Int64
    /// `nextUpdate`, seconds since the epoch, when present.
    public var nextUpdate: Int64?
    /// Serial numbers of the revoked certificates.
    public var revokedSerials: Set<Certificate.SerialNumber>
    /// The DER bytes of `tbsCertList` (what is signed).
    public var tbsBytes: [UInt8]
    /// The outer signature algorithm.
    public var signatureAlgorithm: Certificate.SignatureAlgorithm
    /// The signature value (for ECDSA, a DER ECDSA-Sig-Value).
    public var signature: [UInt8]

    /// Largest CRL accepted, in bytes.
    public static let maxBytes = 4 << 20

    /// Decodes a DER CRL.
    public init(derEncoded bytes: [UInt8]) throws(CallsignError) {
        guard bytes.count <= Self.maxBytes else { throw CallsignError(.crl, "CRL larger than \(Self.maxBytes) bytes") }
        do {
            let root = try DER.parse(bytes)
            self = try DER.sequence(root, identifier: .sequence) { nodes in
                guard let tbsNode = nodes.next() else { throw CallsignError(.crl, "CRL has no tbsCertList") }
                let algorithm = try Self.signatureAlgorithm(&nodes)
                let signature = try ASN1BitString(derEncoded: &nodes)
                return try Self.decodeTBS(tbsNode, outerAlgorithm: algorithm, signature: Array(signature.bytes))
            }
        } catch let error as CallsignError {
            throw error
        } catch {
            throw CallsignError(.crl, "not a CRL: \(error)")
        }
    }

    /// Decodes a CRL in PEM (`X509 CRL`) or DER.
    public init(pemOrDER bytes: [UInt8]) throws(CallsignError) {
        if let text = String(validating: bytes, as: UTF8.self), text.contains("-----BEGIN X509 CRL-----") {
            do {
                let document = try PEMDocument(pemString: text)
                try self.init(derEncoded: document.derBytes)
            } catch let error as CallsignError {
                throw error
            } catch {
                throw CallsignError(.crl, "not a PEM CRL")
            }
        } else {
            try self.init(derEncoded: bytes)
        }
    }

    private static func decodeTBS(_ node: ASN1Node, outerAlgorithm: Certificate.SignatureAlgorithm,
                                  signature: [UInt8]) throws -> CertificateRevocationList
    {
        try DER.sequence(node, identifier: .sequence) { nodes in
            var next = nodes.next()
            if let version = next, version.identifier == .integer {
                let value = try Int(derEncoded: version)
                guard value == 1 else { throw CallsignError(.crl, "unsupported CRL version \(value + 1)") }
                next = nodes.next()
            }
            guard let innerAlgorithmNode = next else { throw CallsignError(.crl, "tbsCertList has no signature algorithm") }
            let innerAlgorithm = try signatureAlgorithm(innerAlgorithmNode)
            guard innerAlgorithm == outerAlgorithm else { throw CallsignError(.crl, "CRL signature algorithms disagree") }
            guard let issuerNode = nodes.next() else { throw CallsignError(.crl, "CRL has no issuer") }
            let issuer = try DistinguishedName(derEncoded: issuerNode)
            guard let thisUpdateNode = nodes.next() else { throw CallsignError(.crl, "CRL has no thisUpdate") }
            let thisUpdate = try time(thisUpdateNode)
            var nextUpdate: Int64?
            var revoked = Set<Certificate.SerialNumber>()
            next = nodes.next()
            if let node = next, node.identifier == .utcTime || node.identifier == .generalizedTime {
                nextUpdate = try time(node)
                next = nodes.next()
            }
            if let node = next, node.identifier == .sequence {
                guard case .constructed(let entries) = node.content else { throw CallsignError(.crl, "bad revokedCertificates") }
                for entry in entries {
                    let serial = try DER.sequence(entry, identifier: .sequence) { fields in
                        let serialBytes = try ArraySlice<UInt8>(derEncoded: &fields)
                        guard let dateNode = fields.next() else { throw CallsignError(.crl, "revoked entry has no date") }
                        _ = try time(dateNode)
                        while fields.next() != nil {}  // crlEntryExtensions
                        return Certificate.SerialNumber(bytes: serialBytes)
                    }
                    revoked.insert(serial)
                }
                next = nodes.next()
            }
            if let node = next {
                guard node.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) else {
                    throw CallsignError(.crl, "unexpected field in tbsCertList")
                }
                // crlExtensions: a critical extension we do not understand makes the CRL unusable (RFC 5280 §5.2).
                try DER.explicitlyTagged(node, tagNumber: 0, tagClass: .contextSpecific) { extensions in
                    try DER.sequence(extensions, identifier: .sequence) { items in
                        while let item = items.next() {
                            let ext = try Certificate.Extension(derEncoded: item)
                            if ext.critical, ![ASN1ObjectIdentifier.X509ExtensionID.authorityKeyIdentifier,
                                               [2, 5, 29, 20], [2, 5, 29, 28]].contains(ext.oid)
                            {
                                throw CallsignError(.crl, "CRL has an unsupported critical extension \(ext.oid)")
                            }
                        }
                    }
                }
            }
            return CertificateRevocationList(issuer: issuer, thisUpdate: thisUpdate, nextUpdate: nextUpdate,
                                             revokedSerials: revoked, tbsBytes: Array(node.encodedBytes),
                                             signatureAlgorithm: outerAlgorithm, signature: signature)
        }
    }

    init(issuer: DistinguishedName, thisUpdate: Int64, nextUpdate: Int64?, revokedSerials: Set<Certificate.SerialNumber>,
         tbsBytes: [UInt8], signatureAlgorithm: Certificate.SignatureAlgorithm, signature: [UInt8]) {
        self.issuer = issuer
        self.thisUpdate = thisUpdate
        self.nextUpdate = nextUpdate
        self.revokedSerials = revokedSerials
        self.tbsBytes = tbsBytes
        self.signatureAlgorithm = signatureAlgorithm
        self.signature = signature
    }

    static let ecdsaWithSHA256OID: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 2]
    static let crlNumberOID: ASN1ObjectIdentifier = [2, 5, 29, 20]

    static let knownAlgorithms: [ASN1ObjectIdentifier: Certificate.SignatureAlgorithm] = [
        [1, 2, 840, 10045, 4, 3, 2]: .ecdsaWithSHA256,
        [1, 2, 840, 10045, 4, 3, 3]: .ecdsaWithSHA384,
        [1, 2, 840, 10045, 4, 3, 4]: .ecdsaWithSHA512,
        [1, 2, 840, 113549, 1, 1, 11]: .sha256WithRSAEncryption,
        [1, 2, 840, 113549, 1, 1, 12]: .sha384WithRSAEncryption,
        [1, 2, 840, 113549, 1, 1, 13]: .sha512WithRSAEncryption,
    ]

    private static func signatureAlgorithm(_ nodes: inout ASN1NodeCollection.Iterator) throws -> Certificate.SignatureAlgorithm {
        guard let node = nodes.next() else { throw CallsignError(.crl, "missing signature algorithm") }
        return try signatureAlgorithm(node)
    }

    private static func signatureAlgorithm(_ node: ASN1Node) throws -> Certificate.SignatureAlgorithm {
        try DER.sequence(node, identifier: .sequence) { fields in
            let oid = try ASN1ObjectIdentifier(derEncoded: &fields)
            while fields.next() != nil {}  // parameters (NULL for RSA)
            guard let algorithm = knownAlgorithms[oid] else { throw CallsignError(.crl, "unsupported CRL signature algorithm \(oid)") }
            return algorithm
        }
    }

    static func time(_ node: ASN1Node) throws -> Int64 {
        if node.identifier == .utcTime {
            let t = try UTCTime(derEncoded: node)
            return epochSeconds(year: t.year, month: t.month, day: t.day, hours: t.hours, minutes: t.minutes, seconds: t.seconds)
        }
        if node.identifier == .generalizedTime {
            let t = try GeneralizedTime(derEncoded: node)
            return epochSeconds(year: t.year, month: t.month, day: t.day, hours: t.hours, minutes: t.minutes, seconds: t.seconds)
        }
        throw CallsignError(.crl, "expected a Time")
    }

    /// Whether `issuerCertificate` signed this CRL and is its issuer.
    public func isSigned(by issuerCertificate: Certificate) -> Bool {
        guard issuerCertificate.subject == issuer else { return false }
        return issuerCertificate.publicKey.isValidSignature(signature, for: tbsBytes, signatureAlgorithm: signatureAlgorithm)
    }

    /// Whether the CRL lists `certificate` as revoked (same issuer and serial).
    public func revokes(_ certificate: Certificate) -> Bool {
        certificate.issuer == issuer && revokedSerials.contains(certificate.serialNumber)
    }
}

extension CertificateRevocationList {
    /// Builds and signs a CRL (for the lab STI-CA): version 2,
    /// ecdsa-with-SHA256, the given revoked serials, a CRL number.
    public static func make(issuer: Certificate, issuerKey: P256.Signing.PrivateKey, revoked: [(Certificate.SerialNumber, Int64)],
                            thisUpdate: Int64, nextUpdate: Int64, crlNumber: Int) throws -> [UInt8]
    {
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(1)  // v2
            try coder.appendConstructedNode(identifier: .sequence) { try $0.serialize(ecdsaWithSHA256OID) }
            try coder.serialize(issuer.subject)
            try coder.serialize(try utcTime(thisUpdate))
            try coder.serialize(try utcTime(nextUpdate))
            if !revoked.isEmpty {
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    for (serial, date) in revoked {
                        try coder.appendConstructedNode(identifier: .sequence) { coder in
                            try coder.serialize(ArraySlice(serial.bytes))
                            try coder.serialize(try utcTime(date))
                        }
                    }
                }
            }
            try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    if let ski = try? issuer.extensions.subjectKeyIdentifier {
                        let aki = AuthorityKeyIdentifier(keyIdentifier: ski.keyIdentifier)
                        try coder.serialize(try Certificate.Extension(aki, critical: false))
                    }
                    var number = DER.Serializer()
                    try number.serialize(crlNumber)
                    try coder.serialize(Certificate.Extension(oid: crlNumberOID, critical: false, value: number.serializedBytes[...]))
                }
            }
        }
        let tbsBytes = tbs.serializedBytes
        let signature = try issuerKey.signature(for: tbsBytes)
        var out = DER.Serializer()
        try out.appendConstructedNode(identifier: .sequence) { coder in
            coder.serializeRawBytes(tbsBytes)
            try coder.appendConstructedNode(identifier: .sequence) { try $0.serialize(ecdsaWithSHA256OID) }
            try coder.serialize(ASN1BitString(bytes: ArraySlice(signature.derRepresentation)))
        }
        return out.serializedBytes
    }

    private static func utcTime(_ epoch: Int64) throws -> UTCTime {
        let t = CivilTime.civil(epoch)
        return try UTCTime(year: t.year, month: t.month, day: t.day, hours: t.hours, minutes: t.minutes, seconds: t.seconds)
    }
}


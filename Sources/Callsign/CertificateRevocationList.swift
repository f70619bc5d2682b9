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
    /// One revoked certificate: its issuer's name and its serial number.
    public struct RevokedCertificate: Sendable, Hashable {
        public var issuer: DistinguishedName
        public var serial: Certificate.SerialNumber
        /// `revocationDate`, seconds since the epoch.
        public var date: Int64

        public init(issuer: DistinguishedName, serial: Certificate.SerialNumber, date: Int64) {
            self.issuer = issuer
            self.serial = serial
            self.date = date
        }

        public static func == (a: Self, b: Self) -> Bool { a.issuer == b.issuer && a.serial == b.serial }
        public func hash(into hasher: inout Hasher) {
            hasher.combine(issuer)
            hasher.combine(serial)
        }
    }

    /// The CRL issuer's name.
    public var issuer: DistinguishedName
    /// `thisUpdate`, seconds since the epoch.
    public var thisUpdate: Int64
    /// `nextUpdate`, seconds since the epoch, when present.
    public var nextUpdate: Int64?
    /// The revoked certificates, each named by its issuer and serial. In a
    /// direct CRL every entry's issuer is the CRL issuer; in an indirect CRL
    /// (RFC 5280 §5.3.3, the STI-PA CRL of ATIS-1000080) an entry's
    /// `certificateIssuer` extension names it, and applies to the entries
    /// after it until the next one.
    public var revoked: Set<RevokedCertificate>
    /// Whether the issuing distribution point extension asserts `indirectCRL`.
    public var isIndirect: Bool
    /// The CRL's authority information access `caIssuers` URIs (RFC 5280
    /// §5.2.7): where the CRL signer's certificate is published.
    public var signerCertificateURLs: [String]
    /// The DER bytes of `tbsCertList` (what is signed).
    public var tbsBytes: [UInt8]
    /// The outer signature algorithm.
    public var signatureAlgorithm: Certificate.SignatureAlgorithm
    /// The signature value (for ECDSA, a DER ECDSA-Sig-Value).
    public var signature: [UInt8]
    /// The whole CRL as decoded (DER), to keep it on disk.
    public var derBytes: [UInt8] = []

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
            derBytes = bytes
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
            var revoked = Set<RevokedCertificate>()
            var isIndirect = false
            var signerURLs: [String] = []
            next = nodes.next()
            if let node = next, node.identifier == .utcTime || node.identifier == .generalizedTime {
                nextUpdate = try time(node)
                next = nodes.next()
            }
            if let node = next, node.identifier == .sequence {
                guard case .constructed(let entries) = node.content else { throw CallsignError(.crl, "bad revokedCertificates") }
                var entryIssuer = issuer
                for entry in entries {
                    let item = try DER.sequence(entry, identifier: .sequence) { fields in
                        let serialBytes = try ArraySlice<UInt8>(derEncoded: &fields)
                        guard let dateNode = fields.next() else { throw CallsignError(.crl, "revoked entry has no date") }
                        let date = try time(dateNode)
                        if let extensionsNode = fields.next() {
                            entryIssuer = try entryExtensions(extensionsNode, issuer: entryIssuer)
                        }
                        guard fields.next() == nil else { throw CallsignError(.crl, "unexpected field in a revoked entry") }
                        return RevokedCertificate(issuer: entryIssuer, serial: Certificate.SerialNumber(bytes: serialBytes), date: date)
                    }
                    revoked.insert(item)
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
                            switch ext.oid {
                            case issuingDistributionPointOID:
                                isIndirect = try Self.assertsIndirectCRL(ext.value)
                            case .X509ExtensionID.authorityInformationAccess:
                                let access = try AuthorityInformationAccess(ext)
                                for description in access where description.method == .issuingCA {
                                    if case .uniformResourceIdentifier(let uri) = description.location { signerURLs.append(uri) }
                                }
                            case .X509ExtensionID.authorityKeyIdentifier, crlNumberOID:
                                break
                            default:
                                if ext.critical { throw CallsignError(.crl, "CRL has an unsupported critical extension \(ext.oid)") }
                            }
                        }
                    }
                }
            }
            return CertificateRevocationList(issuer: issuer, thisUpdate: thisUpdate, nextUpdate: nextUpdate, revoked: revoked,
                                             isIndirect: isIndirect, signerCertificateURLs: signerURLs,
                                             tbsBytes: Array(node.encodedBytes), signatureAlgorithm: outerAlgorithm,
                                             signature: signature)
        }
    }

    init(issuer: DistinguishedName, thisUpdate: Int64, nextUpdate: Int64?, revoked: Set<RevokedCertificate>, isIndirect: Bool,
         signerCertificateURLs: [String], tbsBytes: [UInt8], signatureAlgorithm: Certificate.SignatureAlgorithm, signature: [UInt8]) {
        self.issuer = issuer
        self.thisUpdate = thisUpdate
        self.nextUpdate = nextUpdate
        self.revoked = revoked
        self.isIndirect = isIndirect
        self.signerCertificateURLs = signerCertificateURLs
        self.tbsBytes = tbsBytes
        self.signatureAlgorithm = signatureAlgorithm
        self.signature = signature
    }

    static let ecdsaWithSHA256OID: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 2]
    static let crlNumberOID: ASN1ObjectIdentifier = [2, 5, 29, 20]
    static let issuingDistributionPointOID: ASN1ObjectIdentifier = [2, 5, 29, 28]
    static let certificateIssuerOID: ASN1ObjectIdentifier = [2, 5, 29, 29]
    /// CRL entry extensions understood: reasonCode, invalidityDate, certificateIssuer.
    static let reasonCodeOID: ASN1ObjectIdentifier = [2, 5, 29, 21]
    static let invalidityDateOID: ASN1ObjectIdentifier = [2, 5, 29, 24]

    /// Reads a revoked entry's extensions; returns the issuer of this entry
    /// (and the following ones): the `certificateIssuer`'s directory name, or
    /// `issuer` when the entry does not name one (RFC 5280 §5.3.3).
    private static func entryExtensions(_ node: ASN1Node, issuer: DistinguishedName) throws -> DistinguishedName {
        var result = issuer
        try DER.sequence(node, identifier: .sequence) { items in
            while let item = items.next() {
                let ext = try Certificate.Extension(derEncoded: item)
                switch ext.oid {
                case certificateIssuerOID:
                    let names = try DER.sequence(of: GeneralName.self, identifier: .sequence, rootNode: try DER.parse(ext.value))
                    guard let name = names.lazy.compactMap({ name -> DistinguishedName? in
                        if case .directoryName(let dn) = name { return dn }
                        return nil
                    }).first else { throw CallsignError(.crl, "certificateIssuer names no directory name") }
                    result = name
                case reasonCodeOID, invalidityDateOID:
                    break
                default:
                    // RFC 5280 §5.3: a CRL with a critical entry extension we cannot process is not used.
                    if ext.critical { throw CallsignError(.crl, "CRL entry has an unsupported critical extension \(ext.oid)") }
                }
            }
        }
        return result
    }

    /// Whether an issuingDistributionPoint value asserts `indirectCRL` ([4] BOOLEAN).
    private static func assertsIndirectCRL(_ value: ArraySlice<UInt8>) throws -> Bool {
        var indirect = false
        try DER.sequence(try DER.parse(value), identifier: .sequence) { fields in
            while let field = fields.next() {
                if field.identifier == ASN1Identifier(tagWithNumber: 4, tagClass: .contextSpecific) {
                    indirect = try Bool(derEncoded: field, withIdentifier: field.identifier)
                }
            }
        }
        return indirect
    }

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

    /// Whether the CRL lists `certificate` as revoked: an entry with its
    /// issuer and its serial. An entry of another issuer with the same serial
    /// does not match (serials are unique per issuer only, RFC 5280 §4.1.2.2).
    public func revokes(_ certificate: Certificate) -> Bool {
        revoked.contains(RevokedCertificate(issuer: certificate.issuer, serial: certificate.serialNumber, date: 0))
    }

    /// Whether this CRL is current at `time` (`thisUpdate` ≤ time ≤ `nextUpdate`).
    public func isCurrent(at time: Int64) -> Bool {
        thisUpdate <= time && (nextUpdate.map { time <= $0 } ?? true)
    }
}

extension CertificateRevocationList {
    /// Builds and signs a direct CRL (for the lab STI-CA): version 2,
    /// ecdsa-with-SHA256, the given revoked serials, a CRL number.
    public static func make(issuer: Certificate, issuerKey: P256.Signing.PrivateKey, revoked: [(Certificate.SerialNumber, Int64)],
                            thisUpdate: Int64, nextUpdate: Int64, crlNumber: Int) throws -> [UInt8]
    {
        try make(signer: issuer, signerKey: issuerKey,
                 entries: revoked.map { RevokedCertificate(issuer: issuer.subject, serial: $0.0, date: $0.1) },
                 thisUpdate: thisUpdate, nextUpdate: nextUpdate, crlNumber: crlNumber)
    }

    /// Builds and signs a CRL issued by `signer` (for the lab STI-CA and the
    /// lab STI-PA). An entry whose issuer is not the signer gets a critical
    /// `certificateIssuer` extension; with `indirect`, the CRL carries an
    /// issuing distribution point asserting `indirectCRL` (RFC 5280 §5.2.5,
    /// §5.3.3). `signerURL` becomes the CRL's AIA `caIssuers` (where the
    /// STI-PA CRL's signer certificate is found, ATIS-1000080).
    public static func make(signer: Certificate, signerKey: P256.Signing.PrivateKey, entries: [RevokedCertificate],
                            indirect: Bool = false, signerURL: String? = nil,
                            thisUpdate: Int64, nextUpdate: Int64, crlNumber: Int) throws -> [UInt8]
    {
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(1)  // v2
            try coder.appendConstructedNode(identifier: .sequence) { try $0.serialize(ecdsaWithSHA256OID) }
            try coder.serialize(signer.subject)
            try coder.serialize(try utcTime(thisUpdate))
            try coder.serialize(try utcTime(nextUpdate))
            if !entries.isEmpty {
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    var current = signer.subject
                    for entry in entries {
                        try coder.appendConstructedNode(identifier: .sequence) { coder in
                            try coder.serialize(ArraySlice(entry.serial.bytes))
                            try coder.serialize(try utcTime(entry.date))
                            if entry.issuer != current {
                                current = entry.issuer
                                try coder.appendConstructedNode(identifier: .sequence) { coder in
                                    var names = DER.Serializer()
                                    try names.appendConstructedNode(identifier: .sequence) { try $0.serialize(GeneralName.directoryName(entry.issuer)) }
                                    try coder.serialize(Certificate.Extension(oid: certificateIssuerOID, critical: true,
                                                                              value: names.serializedBytes[...]))
                                }
                            }
                        }
                    }
                }
            }
            try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    if let ski = try? signer.extensions.subjectKeyIdentifier {
                        let aki = AuthorityKeyIdentifier(keyIdentifier: ski.keyIdentifier)
                        try coder.serialize(try Certificate.Extension(aki, critical: false))
                    }
                    var number = DER.Serializer()
                    try number.serialize(crlNumber)
                    try coder.serialize(Certificate.Extension(oid: crlNumberOID, critical: false, value: number.serializedBytes[...]))
                    if indirect {
                        var idp = DER.Serializer()
                        try idp.appendConstructedNode(identifier: .sequence) { coder in
                            try true.serialize(into: &coder, withIdentifier: ASN1Identifier(tagWithNumber: 4, tagClass: .contextSpecific))
                        }
                        try coder.serialize(Certificate.Extension(oid: issuingDistributionPointOID, critical: true,
                                                                  value: idp.serializedBytes[...]))
                    }
                    if let signerURL {
                        let aia = AuthorityInformationAccess([.init(method: .issuingCA, location: .uniformResourceIdentifier(signerURL))])
                        try coder.serialize(try Certificate.Extension(aia, critical: false))
                    }
                }
            }
        }
        let tbsBytes = tbs.serializedBytes
        let signature = try signerKey.signature(for: tbsBytes)
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


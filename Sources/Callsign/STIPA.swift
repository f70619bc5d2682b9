public import Crypto
@_spi(FixedExpiryValidationTime) public import X509
import SwiftASN1
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What an STI-PA publishes and how a verifier checks it (ATIS-1000080 §6,
/// as served by the US STI-PA): the signed list of approved STI-CAs, the
/// STI-PA CRL, and SPC tokens (RFC 9447). Every artefact is checked against
/// a locally pinned STI-PA root; nothing here does I/O: the caller fetches
/// the bodies and the signer certificates and passes the time.
public enum STIPA {
    /// Limits on a trust-list JWS: the list holds a few dozen PEM certificates.
    public static let trustListLimits = PASSporTLimits(maxTokenBytes: 2 << 20,
                                                      json: JSONLimits(maxDepth: 8, maxContainerCount: 4096, maxBytes: 2 << 20))
    /// Limits on an SPC token.
    public static let tokenLimits = PASSporTLimits(maxTokenBytes: 16 * 1024,
                                                  json: JSONLimits(maxDepth: 8, maxContainerCount: 64, maxBytes: 16 * 1024))
    /// Most STI-CAs accepted on one list.
    public static let maxTrustListEntries = 1000

    /// Validates an STI-PA signer certificate chain (signer first, as served
    /// at the `x5u` of a list or token, or at a CRL's AIA) to the pinned
    /// `roots` at `time` (RFC 5280 path validation). Returns the signer.
    /// - Throws: ``CallsignError`` `sti-pa` naming `what` and why.
    public static func validateSigner(_ chain: [Certificate], roots: [Certificate], at time: Int64, what: String) async throws(CallsignError)
        -> Certificate
    {
        guard let signer = chain.first else { throw CallsignError(.stiPA, "\(what): no signer certificate") }
        guard !roots.isEmpty else { throw CallsignError(.stiPA, "\(what): no pinned STI-PA root") }
        guard chain.count <= 8 else { throw CallsignError(.stiPA, "\(what): signer chain longer than 8 certificates") }
        let validationTime = Date(timeIntervalSince1970: TimeInterval(time))
        var verifier = X509.Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy(fixedExpiryValidationTime: validationTime)
        }
        switch await verifier.validate(leaf: signer, intermediates: CertificateStore(chain.dropFirst())) {
        case .validCertificate:
            return signer
        case .couldNotValidate(let failures):
            let reason = failures.first.map { String(describing: $0.policyFailureReason) } ?? "no path"
            throw CallsignError(.stiPA, "\(what): signer \(signer.subject) does not chain to the pinned STI-PA root (\(reason))")
        }
    }

    /// Whether `jws` carries a valid ES256 signature (RFC 7515, RFC 7518 §3.4) by `certificate`'s key.
    static func isValidES256(_ jws: CompactJWS, by certificate: Certificate) -> Bool {
        guard jws.header["alg"]?.stringValue == "ES256", jws.signature.count == 64,
              let key = P256.Signing.PublicKey(certificate.publicKey),
              let signature = try? P256.Signing.ECDSASignature(rawRepresentation: jws.signature)
        else { return false }
        return key.isValidSignature(signature, for: SignedPASSporT.sha256(jws.signingInput))
    }

    /// Signs `payload` as a compact ES256 JWS with `header` (for the lab STI-PA).
    public static func signJWS(header: JSONObject, payload: JSONObject, key: P256.Signing.PrivateKey) throws -> String {
        var input: [UInt8] = []
        Base64URL.append(JSONWriter.canonical(.object(header)), to: &input)
        input.append(UInt8(ascii: "."))
        Base64URL.append(JSONWriter.canonical(.object(payload)), to: &input)
        let signature = try key.signature(for: SignedPASSporT.sha256(input))
        return String(decoding: input, as: UTF8.self) + "." + Base64URL.encode(signature.rawRepresentation)
    }

    /// `text` without leading and trailing ASCII white space (a body read from a file or a JSON field).
    static func trimmed(_ text: String) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        return String(text.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }

    /// Decodes a compact JWS and reads the `x5u` of its header.
    static func decode(_ compact: String, limits: PASSporTLimits, what: String) throws(CallsignError) -> (CompactJWS, String) {
        let jws: CompactJWS
        do throws(VerificationError) {
            jws = try CompactJWS(STIPA.trimmed(compact), limits: limits)
        } catch {
            throw CallsignError(.stiPA, "\(what): not a compact JWS: \(error.detail)")
        }
        guard jws.header["alg"]?.stringValue == "ES256" else {
            throw CallsignError(.stiPA, "\(what): alg is \(jws.header["alg"]?.stringValue ?? "missing"), not ES256")
        }
        guard let x5u = jws.header["x5u"]?.stringValue, !x5u.isEmpty else { throw CallsignError(.stiPA, "\(what): no x5u in the header") }
        return (jws, x5u)
    }
}

/// The STI-PA's signed list of approved STI-CA certificates (ATIS-1000080
/// §6.3.3): a compact JWS whose header names the signer (`x5u`) and whose
/// payload is `{"version", "sequence", "exp", "trustList": [PEM, …]}`.
///
/// A verifier with `sti_pa` configured trusts exactly these certificates.
public struct STIPATrustList: Sendable {
    /// The JWS as received (kept on disk as the last good list).
    public var compact: String
    /// The signer certificate's URL (JWS header `x5u`).
    public var signerURL: String
    /// `version`, as published.
    public var version: String?
    /// `sequence`: never lower than the last list accepted.
    public var sequence: Int64
    /// `exp`, seconds since the epoch: after it the list is stale.
    public var expires: Int64
    /// The approved STI-CA certificates: the trust anchors.
    public var certificates: [Certificate]

    let jws: CompactJWS

    /// Decodes a list (structure only; ``check(signerChain:roots:at:previousSequence:)`` decides whether to believe it).
    /// - Throws: ``CallsignError`` `sti-pa` for anything that is not a trust list within the limits.
    public init(compact: String) throws(CallsignError) {
        let (jws, x5u) = try STIPA.decode(compact, limits: STIPA.trustListLimits, what: "trust list")
        guard let sequence = jws.payload["sequence"]?.integerValue else {
            throw CallsignError(.stiPA, "trust list: no integer sequence")
        }
        guard let expires = jws.payload["exp"]?.integerValue else { throw CallsignError(.stiPA, "trust list: no integer exp") }
        guard let entries = jws.payload["trustList"]?.arrayValue else { throw CallsignError(.stiPA, "trust list: no trustList array") }
        guard entries.count <= STIPA.maxTrustListEntries else {
            throw CallsignError(.stiPA, "trust list: more than \(STIPA.maxTrustListEntries) entries")
        }
        var certificates: [Certificate] = []
        for (index, entry) in entries.enumerated() {
            guard let pem = entry.stringValue else { throw CallsignError(.stiPA, "trust list: entry \(index) is not a string") }
            do {
                certificates.append(try KeyLoading.firstCertificate(pem: pem))
            } catch {
                throw CallsignError(.stiPA, "trust list: entry \(index): \(error.detail)")
            }
        }
        switch jws.payload["version"] {
        case .string(let text)?: version = text
        case .integer(let number)?: version = String(number)
        case .number(let text)?: version = text
        default: version = nil
        }
        self.compact = STIPA.trimmed(compact)
        self.signerURL = x5u
        self.sequence = sequence
        self.expires = expires
        self.certificates = certificates
        self.jws = jws
    }

    /// Checks the list before it replaces the one in force: the signer
    /// (from `x5u`, `signerChain`) chains to the pinned `roots`, the ES256
    /// signature is the signer's, `exp` is in the future, and `sequence` is
    /// not lower than `previousSequence` (no rollback to an older list).
    /// - Throws: ``CallsignError`` `sti-pa` naming the failed check.
    public func check(signerChain: [Certificate], roots: [Certificate], at time: Int64, previousSequence: Int64?) async throws(CallsignError) {
        let signer = try await STIPA.validateSigner(signerChain, roots: roots, at: time, what: "trust list")
        guard STIPA.isValidES256(jws, by: signer) else { throw CallsignError(.stiPA, "trust list: bad signature") }
        guard time < expires else { throw CallsignError(.stiPA, "trust list: expired at \(expires) (now \(time))") }
        if let previousSequence, sequence < previousSequence {
            throw CallsignError(.stiPA, "trust list: sequence \(sequence) is lower than the last accepted \(previousSequence) (rollback)")
        }
    }

    /// Signs a trust list (for the lab STI-PA).
    public static func make(certificates: [Certificate], sequence: Int64, expires: Int64, version: String = "1.0",
                            signerURL: String, key: P256.Signing.PrivateKey) throws -> String
    {
        let pems = try certificates.map { JSONValue.string(try $0.serializeAsPEM().pemString) }
        let header = JSONObject(["alg": .string("ES256"), "typ": .string("JWT"), "x5u": .string(signerURL)])
        let payload = JSONObject(["version": .string(version), "sequence": .integer(sequence), "exp": .integer(expires),
                                  "trustList": .array(pems)])
        return try STIPA.signJWS(header: header, payload: payload, key: key)
    }
}

extension CertificateRevocationList {
    /// Checks an STI-PA CRL (ATIS-1000080 §6.3.3) before it is applied: its
    /// signer (`signerChain`, fetched from the CRL's AIA) chains to the
    /// pinned `roots`, the signer's subject is the CRL issuer, the signature
    /// is the signer's, and the CRL is current at `time`.
    /// - Throws: ``CallsignError`` `sti-pa` naming the failed check.
    public func checkSTIPA(signerChain: [Certificate], roots: [Certificate], at time: Int64) async throws(CallsignError) {
        let signer = try await STIPA.validateSigner(signerChain, roots: roots, at: time, what: "STI-PA CRL")
        guard signer.subject == issuer else {
            throw CallsignError(.stiPA, "STI-PA CRL: issued by \(issuer), but its signer is \(signer.subject)")
        }
        guard isSigned(by: signer) else { throw CallsignError(.stiPA, "STI-PA CRL: bad signature") }
        guard thisUpdate <= time else { throw CallsignError(.stiPA, "STI-PA CRL: thisUpdate is in the future") }
        if let nextUpdate, nextUpdate < time { throw CallsignError(.stiPA, "STI-PA CRL: past its nextUpdate") }
    }
}

/// The `atc` claim of an SPC token (RFC 9447 §4): the authority an STI-PA
/// grants — for SHAKEN a TNAuthList naming the SPC — bound to the ACME
/// account key by its fingerprint.
public struct SPCTokenAuthority: Sendable, Hashable {
    /// `tktype`: `TNAuthList`.
    public var type: String
    /// `tkvalue`: the DER TNAuthList, base64 (with padding).
    public var value: String
    /// `ca`: whether the token allows a CA certificate (delegation, RFC 9060).
    public var ca: Bool
    /// `fingerprint`: `SHA256 AA:BB:…` of the ACME account key.
    public var fingerprint: String

    public init(type: String = "TNAuthList", value: String, ca: Bool = false, fingerprint: String) {
        self.type = type
        self.value = value
        self.ca = ca
        self.fingerprint = fingerprint
    }

    /// The authority for one SPC (`818H` → `tkvalue` `MAigBhYEODE4SA==`).
    public init(spc: String, ca: Bool = false, accountKey: P256.Signing.PublicKey) throws {
        let der = try TNAuthorizationList([.spc(spc)]).derBytes()
        self.init(value: Data(der).base64EncodedString(), ca: ca, fingerprint: Self.fingerprint(of: accountKey))
    }

    /// `SHA256 ` and the colon-separated upper-case hex SHA-256 of the key's
    /// SubjectPublicKeyInfo DER (the ACME account key, RFC 9447 §4).
    public static func fingerprint(of key: P256.Signing.PublicKey) -> String {
        let hex = SHA256.hash(data: key.derRepresentation).map { byte in
            let digits = Array("0123456789ABCDEF")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
        }
        return "SHA256 " + hex.joined(separator: ":")
    }

    /// The `atc` JSON object.
    public var json: JSONObject {
        JSONObject(["tktype": .string(type), "tkvalue": .string(value), "ca": .bool(ca), "fingerprint": .string(fingerprint)])
    }

    init(json: JSONObject) throws(CallsignError) {
        guard let type = json["tktype"]?.stringValue, let value = json["tkvalue"]?.stringValue,
              let fingerprint = json["fingerprint"]?.stringValue
        else { throw CallsignError(.stiPA, "SPC token: atc lacks tktype, tkvalue or fingerprint") }
        var ca = false
        if let flag = json["ca"] {
            guard case .bool(let value) = flag else { throw CallsignError(.stiPA, "SPC token: atc.ca is not a boolean") }
            ca = value
        }
        self.init(type: type, value: value, ca: ca, fingerprint: fingerprint)
    }

    /// The TNAuthList of `tkvalue`.
    public func tnAuthList() throws(CallsignError) -> TNAuthorizationList {
        guard let der = Data(base64Encoded: value) else { throw CallsignError(.stiPA, "SPC token: tkvalue is not base64") }
        return try TNAuthorizationList(derEncoded: Array(der))
    }
}

/// An SPC token (RFC 9447; ATIS-1000080 §6.3.5): a JWT the STI-PA signs
/// (ES256, `x5u` to its certificate) with `iss`, `exp`, `jti` and `atc`,
/// presented to an STI-CA in the ACME `tkauth-01` challenge (RFC 9448).
public struct SPCToken: Sendable {
    /// The token as received.
    public var compact: String
    /// The signer certificate's URL (JWS header `x5u`).
    public var signerURL: String
    public var issuer: String?
    /// `exp`, seconds since the epoch.
    public var expires: Int64
    public var identifier: String?
    public var authority: SPCTokenAuthority
    /// The claims as received (for display).
    public var claims: JSONObject

    let jws: CompactJWS

    /// Decodes a token (structure only).
    public init(compact: String) throws(CallsignError) {
        let (jws, x5u) = try STIPA.decode(compact, limits: STIPA.tokenLimits, what: "SPC token")
        guard let expires = jws.payload["exp"]?.integerValue else { throw CallsignError(.stiPA, "SPC token: no integer exp") }
        guard let atc = jws.payload["atc"]?.objectValue else { throw CallsignError(.stiPA, "SPC token: no atc claim") }
        self.compact = STIPA.trimmed(compact)
        self.signerURL = x5u
        self.issuer = jws.payload["iss"]?.stringValue
        self.expires = expires
        self.identifier = jws.payload["jti"]?.stringValue
        self.authority = try SPCTokenAuthority(json: atc)
        self.claims = jws.payload
        self.jws = jws
    }

    /// Checks the token: the signer chains to the pinned `roots`, the
    /// signature is the signer's, `exp` is in the future, and — when given —
    /// `atc` is exactly what was asked for.
    /// - Throws: ``CallsignError`` `sti-pa` naming the failed check.
    public func check(signerChain: [Certificate], roots: [Certificate], at time: Int64, expected: SPCTokenAuthority?) async throws(CallsignError) {
        let signer = try await STIPA.validateSigner(signerChain, roots: roots, at: time, what: "SPC token")
        guard STIPA.isValidES256(jws, by: signer) else { throw CallsignError(.stiPA, "SPC token: bad signature") }
        guard time < expires else { throw CallsignError(.stiPA, "SPC token: expired at \(expires) (now \(time))") }
        if let expected, expected != authority {
            throw CallsignError(.stiPA, "SPC token: atc \(JSONWriter.canonical(.object(authority.json)).text) is not the one asked for")
        }
    }

    /// Signs a token (for the lab STI-PA).
    public static func make(authority: SPCTokenAuthority, issuer: String, identifier: String, expires: Int64, signerURL: String,
                            key: P256.Signing.PrivateKey) throws -> String
    {
        let header = JSONObject(["alg": .string("ES256"), "typ": .string("JWT"), "x5u": .string(signerURL)])
        let payload = JSONObject(["iss": .string(issuer), "exp": .integer(expires), "jti": .string(identifier),
                                  "atc": .object(authority.json)])
        return try STIPA.signJWS(header: header, payload: payload, key: key)
    }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}

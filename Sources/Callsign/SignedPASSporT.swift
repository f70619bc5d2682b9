public import Crypto

/// Size limits for decoding PASSporTs and Identity headers. Every parser in
/// Callsign is bounded so hostile input costs little.
public struct PASSporTLimits: Sendable, Hashable {
    /// Maximum length of the compact JWS, in bytes.
    public var maxTokenBytes: Int
    /// Limits on each decoded JSON segment.
    public var json: JSONLimits

    public init(maxTokenBytes: Int = 8 * 1024, json: JSONLimits = JSONLimits(maxDepth: 8, maxContainerCount: 64)) {
        self.maxTokenBytes = maxTokenBytes
        self.json = json
    }
}

/// The three parts of a JWS in compact serialization (RFC 7515 §7.1),
/// base64url-decoded and JSON-parsed, with no PASSporT rules applied.
///
/// Used to show a token as it is (`callsign decode`); verification goes
/// through ``SignedPASSporT``.
public struct CompactJWS: Sendable, Hashable {
    /// The JOSE header object.
    public var header: JSONObject
    /// The payload (claims) object.
    public var payload: JSONObject
    /// The signature bytes (for ES256: 64 bytes, r ‖ s).
    public var signature: [UInt8]
    /// `BASE64URL(header) "." BASE64URL(payload)` exactly as received: what is signed.
    public var signingInput: [UInt8]

    /// Splits and decodes a compact JWS.
    /// - Throws: ``VerificationError/Code/malformedPASSporT`` for anything
    ///   that is not three strict base64url segments of JSON objects within the limits.
    public init(_ text: some StringProtocol, limits: PASSporTLimits = PASSporTLimits()) throws(VerificationError) {
        try self.init(Segments(text, limits: limits), limits: limits)
    }

    init(_ segments: Segments, limits: PASSporTLimits) throws(VerificationError) {
        func object(_ bytes: [UInt8], _ what: String) throws(VerificationError) -> JSONObject {
            let value: JSONValue
            do {
                value = try JSONParser.parse(bytes, limits: limits.json)
            } catch {
                throw VerificationError(.malformedPASSporT, "\(what): \(error.description)")
            }
            guard let object = value.objectValue else {
                throw VerificationError(.malformedPASSporT, "\(what) is a \(value.typeName), not an object")
            }
            return object
        }
        self.header = try object(segments.header, "header")
        self.payload = try object(segments.payload, "claims")
        self.signature = segments.signature
        self.signingInput = segments.signingInput
    }

    /// The three segments of a compact JWS, base64url-decoded (the JSON not yet read).
    struct Segments {
        var header: [UInt8]
        var payload: [UInt8]
        var signature: [UInt8]
        var signingInput: [UInt8]

        init(_ text: some StringProtocol, limits: PASSporTLimits) throws(VerificationError) {
            let utf8 = text.utf8
            guard utf8.count <= limits.maxTokenBytes else {
                throw VerificationError(.malformedPASSporT, "PASSporT longer than \(limits.maxTokenBytes) bytes")
            }
            guard !utf8.isEmpty else { throw VerificationError(.malformedPASSporT, "empty PASSporT") }
            let bytes = Array(utf8)
            // The first three dots' offsets (a third one is an error), without an array per token.
            var dots = (0, 0)
            var dotCount = 0
            for offset in bytes.indices where bytes[offset] == UInt8(ascii: ".") {
                dotCount += 1
                if dotCount == 1 { dots.0 = offset } else if dotCount == 2 { dots.1 = offset } else { break }
            }
            guard dotCount == 2 else {
                throw VerificationError(.malformedPASSporT, "a compact JWS has 3 segments, found \(dotCount + 1)")
            }
            let headerText = bytes[0..<dots.0]
            let payloadText = bytes[(dots.0 + 1)..<dots.1]
            let signatureText = bytes[(dots.1 + 1)...]
            if headerText.isEmpty && payloadText.isEmpty {
                throw VerificationError(.compactFormNotAllowed, "compact form (header and claims omitted, RFC 8225 §7)")
            }
            guard let headerBytes = Base64URL.decode(headerText) else {
                throw VerificationError(.malformedPASSporT, "header is not base64url")
            }
            guard let payloadBytes = Base64URL.decode(payloadText) else {
                throw VerificationError(.malformedPASSporT, "claims are not base64url")
            }
            guard let signature = Base64URL.decode(signatureText) else {
                throw VerificationError(.malformedPASSporT, "signature is not base64url")
            }
            self.header = headerBytes
            self.payload = payloadBytes
            self.signature = signature
            self.signingInput = Array(bytes[0..<dots.1])
        }
    }
}

/// A signed PASSporT in compact JWS form (RFC 8225 §6): the decoded token
/// together with the exact bytes that were signed.
///
/// Decoding is strict: three segments, base64url without padding, `alg`
/// ES256 (never `none` or an HMAC: no algorithm confusion), `typ` passport,
/// a 64-byte r ‖ s signature, and the RFC 8225 required claims.
public struct SignedPASSporT: Sendable, Hashable {
    /// The decoded header and claims.
    public let passport: PASSporT
    /// The signing input as received (never re-serialized before verifying).
    public let signingInput: [UInt8]
    /// The raw r ‖ s ES256 signature (RFC 7518 §3.4).
    public let signature: [UInt8]

    /// The compact serialization, `header.claims.signature`.
    public var compact: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(signingInput.count + 1 + (signature.count + 2) / 3 * 4)
        bytes.append(contentsOf: signingInput)
        bytes.append(UInt8(ascii: "."))
        Base64URL.append(signature, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes a full-form PASSporT.
    /// - Throws: ``VerificationError`` with the code that maps to the right SIP response.
    public init(compact text: some StringProtocol, limits: PASSporTLimits = PASSporTLimits()) throws(VerificationError) {
        let segments = try CompactJWS.Segments(text, limits: limits)
        // The common SHAKEN shape is read without JSON trees; anything else (or
        // anything odd) takes the tree path, whose answer stands.
        if let header = PASSporT.Header.scan(segments.header, limits: limits.json),
           let claims = PASSporT.Claims.scan(segments.payload, limits: limits.json)
        {
            try Self.check(header, signature: segments.signature)
            self.init(passport: PASSporT(header: header, claims: claims), signingInput: segments.signingInput,
                      signature: segments.signature)
        } else {
            try self.init(jws: CompactJWS(segments, limits: limits))
        }
    }

    /// Applies the PASSporT rules to a decoded compact JWS.
    public init(jws: CompactJWS) throws(VerificationError) {
        let header = try PASSporT.Header(json: jws.header)
        try Self.check(header, signature: jws.signature)
        let claims = try PASSporT.Claims(json: jws.payload)
        self.passport = PASSporT(header: header, claims: claims)
        self.signingInput = jws.signingInput
        self.signature = jws.signature
    }

    /// The header rules (RFC 8225 §8.1, RFC 8588, RFC 7515 §4.1.11) and the ES256 signature's length.
    private static func check(_ header: PASSporT.Header, signature: [UInt8]) throws(VerificationError) {
        guard header.alg == "ES256" else {
            throw VerificationError(.unsupportedAlgorithm, "PASSporT alg must be ES256")
        }
        guard header.typ == "passport" else {
            throw VerificationError(.wrongType, header.typ == nil ? "PASSporT header has no typ" : "PASSporT typ is not passport")
        }
        if let crit = header.additional["crit"] {
            // RFC 7515 §4.1.11: critical extensions we do not implement make the JWS invalid.
            throw VerificationError(.malformedPASSporT, "unsupported crit header parameter (\(crit.typeName))")
        }
        guard signature.count == 64 else {
            throw VerificationError(.malformedPASSporT, "ES256 signature must be 64 bytes, got \(signature.count)")
        }
    }

    init(passport: PASSporT, signingInput: [UInt8], signature: [UInt8]) {
        self.passport = passport
        self.signingInput = signingInput
        self.signature = signature
    }

    /// Signs `passport` with ES256 (RFC 8225 §6, RFC 7518 §3.4): header and
    /// claims in the deterministic JSON form (RFC 8225 §9), base64url, and a
    /// raw r ‖ s signature.
    /// - Throws: a swift-crypto error if signing fails.
    public static func sign(_ passport: PASSporT, with key: P256.Signing.PrivateKey) throws -> SignedPASSporT {
        let input = signingInput(for: passport)
        let signature = try key.signature(for: Self.sha256(input))
        return SignedPASSporT(passport: passport, signingInput: input, signature: Array(signature.rawRepresentation))
    }

    /// The bytes an ES256 signature covers for `passport`, in deterministic form.
    public static func signingInput(for passport: PASSporT) -> [UInt8] {
        let (header, claims) = directCanonical(passport)
            ?? (JSONWriter.canonical(.object(passport.header.json)), JSONWriter.canonical(.object(passport.claims.json)))
        var input: [UInt8] = []
        input.reserveCapacity((header.count + 2) / 3 * 4 + 1 + (claims.count + 2) / 3 * 4)
        Base64URL.append(header, to: &input)
        input.append(UInt8(ascii: "."))
        Base64URL.append(claims, to: &input)
        return input
    }

    /// The deterministic JSON (RFC 8225 §9: members in code-point order, no
    /// whitespace) of a plain SHAKEN PASSporT — header `alg`/`ppt`/`typ`/`x5u`,
    /// claims `attest`, `dest.tn`, `iat`, `orig.tn`, `origid` — written straight
    /// from its fields: the same bytes as ``JSONWriter/canonical(_:)`` of
    /// `header.json` and `claims.json`, without building and sorting the JSON
    /// tree per signing. `nil` for anything else (extensions, `div`, `rcd`,
    /// URIs, extra members), which takes the general writer.
    static func directCanonical(_ passport: PASSporT) -> (header: [UInt8], claims: [UInt8])? {
        let header = passport.header
        let claims = passport.claims
        guard header.additional.isEmpty, let typ = header.typ, let ppt = header.ppt, let x5u = header.x5u,
              claims.additional.isEmpty, claims.div == nil, claims.rcd == nil, claims.crn == nil, claims.rcdi == nil,
              claims.dest.uri.isEmpty, case .tn(let orig) = claims.orig
        else { return nil }
        var headerBytes: [UInt8] = []
        headerBytes.reserveCapacity(48 + header.alg.utf8.count + ppt.utf8.count + typ.utf8.count + x5u.utf8.count)
        headerBytes.append(contentsOf: #"{"alg":"#.utf8)
        JSONWriter.writeString(header.alg, into: &headerBytes)
        headerBytes.append(contentsOf: #","ppt":"#.utf8)
        JSONWriter.writeString(ppt, into: &headerBytes)
        headerBytes.append(contentsOf: #","typ":"#.utf8)
        JSONWriter.writeString(typ, into: &headerBytes)
        headerBytes.append(contentsOf: #","x5u":"#.utf8)
        JSONWriter.writeString(x5u, into: &headerBytes)
        headerBytes.append(UInt8(ascii: "}"))

        var claimBytes: [UInt8] = []
        claimBytes.reserveCapacity(128 + claims.dest.tn.count * 20)
        claimBytes.append(UInt8(ascii: "{"))
        if let attest = claims.attest {
            claimBytes.append(contentsOf: #""attest":"#.utf8)
            JSONWriter.writeString(attest, into: &claimBytes)
            claimBytes.append(UInt8(ascii: ","))
        }
        claimBytes.append(contentsOf: #""dest":{"#.utf8)
        if !claims.dest.tn.isEmpty {
            claimBytes.append(contentsOf: #""tn":["#.utf8)
            for (index, tn) in claims.dest.tn.enumerated() {
                if index > 0 { claimBytes.append(UInt8(ascii: ",")) }
                JSONWriter.writeString(tn, into: &claimBytes)
            }
            claimBytes.append(UInt8(ascii: "]"))
        }
        claimBytes.append(contentsOf: #"},"iat":"#.utf8)
        claimBytes.append(contentsOf: String(claims.iat).utf8)
        claimBytes.append(contentsOf: #","orig":{"tn":"#.utf8)
        JSONWriter.writeString(orig, into: &claimBytes)
        claimBytes.append(UInt8(ascii: "}"))
        if let origid = claims.origid {
            claimBytes.append(contentsOf: #","origid":"#.utf8)
            JSONWriter.writeString(origid, into: &claimBytes)
        }
        claimBytes.append(UInt8(ascii: "}"))
        return (headerBytes, claimBytes)
    }

    /// SHA-256 of contiguous bytes, for ES256 signing and verification:
    /// `update(bufferPointer:)` instead of swift-crypto's walk over
    /// `DataProtocol` regions (~2 % of a REST signing's CPU in the profile).
    static func sha256(_ bytes: [UInt8]) -> SHA256.Digest {
        var hasher = SHA256()
        bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize()
    }

    /// Whether the ES256 signature is valid for `key`.
    public func isValidSignature(for key: P256.Signing.PublicKey) -> Bool {
        guard let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
        return key.isValidSignature(signature, for: Self.sha256(signingInput))
    }
}

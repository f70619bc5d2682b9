public import Crypto

/// What to sign for one call (ATIS-1000074 §5.3 STI-AS steps 1–3).
public struct SigningRequest: Sendable, Hashable {
    /// Calling number as signalled (any form ``TelephoneNumber`` reads).
    public var orig: String
    /// Called numbers.
    public var dest: [String]
    public var attestation: PASSporT.Attestation
    /// Origination identifier (RFC 8588 §5): a UUID.
    public var origid: String
    /// Issued-at time, seconds since the epoch.
    public var iat: Int64

    public init(orig: String, dest: [String], attestation: PASSporT.Attestation, origid: String, iat: Int64) {
        self.orig = orig
        self.dest = dest
        self.attestation = attestation
        self.origid = origid
        self.iat = iat
    }
}

/// What signs a call's PASSporT (ATIS-1000074 §5.3.3): ``Signer``, or a
/// test double that counts or fails signatures.
public protocol IdentitySigning: Sendable {
    /// Signs `request`: the Identity header value in full form.
    func sign(_ request: SigningRequest) throws -> IdentityHeader
}

/// The STI-AS signing step: builds a SHAKEN PASSporT (RFC 8588) in
/// deterministic form, signs it with ES256 and returns the Identity header
/// in full form (RFC 8224 §4, ATIS-1000074 §5.3.3).
public struct Signer: IdentitySigning {
    public let key: P256.Signing.PrivateKey
    /// The certificate repository URL placed in `x5u` and `info`.
    public let x5u: String
    /// How signalled numbers become canonical `tn` values.
    public var numbering: NumberingPolicy
    /// The Identity header's parameters, the same for every call (built once).
    private let parameters: [IdentityHeader.Parameter]

    public init(key: P256.Signing.PrivateKey, x5u: String, numbering: NumberingPolicy = .e164) {
        self.key = key
        self.x5u = x5u
        self.numbering = numbering
        parameters = IdentityHeader.signingParameters(info: x5u, ppt: PASSporT.Header.shaken(x5u: x5u).ppt)
    }

    /// Builds the SHAKEN PASSporT for `request` (not yet signed).
    /// - Throws: ``CallsignError`` (`signing-request`) when a number cannot be canonicalized or the origid is not a UUID.
    public func passport(for request: SigningRequest) throws(CallsignError) -> PASSporT {
        guard let orig = TelephoneNumber.canonicalNumber(request.orig, policy: numbering) else {
            throw CallsignError(.signingRequest, "orig is not a telephone number")
        }
        guard !request.dest.isEmpty else { throw CallsignError(.signingRequest, "dest is empty") }
        var dest: [String] = []
        for value in request.dest {
            guard let tn = TelephoneNumber.canonicalNumber(value, policy: numbering) else {
                throw CallsignError(.signingRequest, "dest is not a telephone number")
            }
            dest.append(tn)
        }
        guard Verifier.isUUID(request.origid) else { throw CallsignError(.signingRequest, "origid is not a UUID") }
        return PASSporT(header: .shaken(x5u: x5u),
                        claims: PASSporT.Claims(attest: request.attestation.rawValue, dest: PASSporT.Destination(tn: dest),
                                                iat: request.iat, orig: .tn(orig), origid: Self.lowercasedUUID(request.origid)))
    }

    /// Signs `request` and returns the Identity header.
    public func sign(_ request: SigningRequest) throws -> IdentityHeader {
        let signed = try SignedPASSporT.sign(try passport(for: request), with: key)
        return IdentityHeader(token: signed.compact, parameters: parameters)
    }

    /// A UUID's text in lower case (RFC 9562 §4 output form); the same string when it has no upper-case digit.
    static func lowercasedUUID(_ text: String) -> String {
        text.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "F") } ? text.lowercased() : text
    }
}

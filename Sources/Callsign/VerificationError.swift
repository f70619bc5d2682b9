/// Why a PASSporT or Identity header failed verification, with the SIP
/// response that reports it (RFC 8224 §6.2.2, ATIS-1000074 §5.3.4).
///
/// Descriptions never contain telephone numbers, tokens or keys: they are
/// safe to log.
public struct VerificationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong. New codes may be added.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// No Identity header, and the policy requires one (428).
        case missingIdentity = "missing-identity"
        /// The Identity header is not `token;info=<URL>;…` (438).
        case malformedIdentityHeader = "malformed-identity-header"
        /// The Identity header has no `info` parameter (436).
        case missingInfo = "missing-info"
        /// `info` is not a URL in `<…>`, or the PASSporT has no `x5u` (436).
        case badInfo = "bad-info"
        /// `info` and the PASSporT `x5u` differ (436; ATIS-1000074 §5.3.1).
        case infoMismatch = "info-mismatch"
        /// The certificate could not be obtained from `x5u` (436).
        case certificateUnavailable = "certificate-unavailable"
        /// `alg` is not ES256, in the PASSporT or the Identity header (437).
        case unsupportedAlgorithm = "unsupported-algorithm"
        /// The PASSporT `typ` is not `passport` (437, French MAN matrix).
        case wrongType = "wrong-type"
        /// The PASSporT header carries no `ppt` (436, French MAN matrix).
        case missingExtension = "missing-ppt"
        /// `ppt` is not the expected extension or differs between header and token (438).
        case wrongExtension = "wrong-ppt"
        /// Not a compact JWS: segments, base64url, JSON, sizes (438).
        case malformedPASSporT = "malformed-passport"
        /// A required claim is missing (438).
        case missingClaim = "missing-claim"
        /// A claim has the wrong type or value (438).
        case invalidClaim = "invalid-claim"
        /// `attest` is not A, B or C (438; RFC 8588 §4).
        case invalidAttestation = "invalid-attestation"
        /// A compact-form (`..sig`) header where the full form is required (438; ATIS-1000074 §5.3.3).
        case compactFormNotAllowed = "compact-form-not-allowed"
        /// An Identity parameter the strict profile does not allow (438).
        case unexpectedParameter = "unexpected-parameter"
        /// `iat` older than the freshness window (403).
        case staleIat = "stale-iat"
        /// `iat` later than now plus the allowed clock skew (403).
        case futureIat = "future-iat"
        /// The SIP Date header is outside the window or disagrees with `iat` (403).
        case staleDate = "stale-date"
        /// The certificate is unusable: not valid at this time, wrong key type (437).
        case certificateInvalid = "certificate-invalid"
        /// The certificate chain does not lead to a trusted root (437).
        case certificateUntrusted = "certificate-untrusted"
        /// The certificate is revoked (437).
        case certificateRevoked = "certificate-revoked"
        /// The certificate does not authorize the calling number (437).
        case certificateNotAuthorized = "certificate-not-authorized"
        /// The ES256 signature does not verify (438).
        case badSignature = "bad-signature"
        /// `orig` is not the calling number in P-Asserted-Identity / From (438).
        case origMismatch = "orig-mismatch"
        /// `dest` does not contain the called number in To (438).
        case destMismatch = "dest-mismatch"
        /// The same PASSporT was seen before within its validity (438).
        case replay = "replay"
        /// The calling or called number in the request cannot be read (400;
        /// French MAN matrix row 06).
        case unusableRequestNumber = "unusable-request-number"
    }

    public var code: Code
    /// A human-readable explanation without personal data.
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// The SIP status code for this failure (RFC 8224 §6.2.2 and §13.2).
    public var sipStatus: Int {
        switch code {
        case .missingIdentity: 428
        case .unusableRequestNumber: 400
        case .missingInfo, .badInfo, .infoMismatch, .certificateUnavailable, .missingExtension: 436
        case .unsupportedAlgorithm, .wrongType, .certificateInvalid, .certificateUntrusted, .certificateRevoked,
            .certificateNotAuthorized:
            437
        case .staleIat, .futureIat, .staleDate: 403
        case .malformedIdentityHeader, .wrongExtension, .malformedPASSporT, .missingClaim, .invalidClaim,
            .invalidAttestation, .compactFormNotAllowed, .unexpectedParameter, .badSignature, .origMismatch,
            .destMismatch, .replay:
            438
        }
    }

    /// The reason phrase registered for ``sipStatus`` (RFC 8224 §13.2, RFC 3261).
    public var reasonPhrase: String { Self.reasonPhrase(for: sipStatus) }

    /// Reason phrases of the STIR response codes.
    public static func reasonPhrase(for status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 403: "Stale Date"
        case 428: "Use Identity Header"
        case 436: "Bad Identity Info"
        case 437: "Unsupported Credential"
        case 438: "Invalid Identity Header"
        default: "Error"
        }
    }

    public var description: String { "\(sipStatus) \(reasonPhrase): \(detail)" }

    public static func == (lhs: VerificationError, rhs: VerificationError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}

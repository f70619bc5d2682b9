/// Why the core refused an input or a configuration: a signing request, a key
/// or certificate, a TNAuthList (RFC 8226), a CRL (RFC 5280 §5), a policy or a
/// DNO list, the numbering ranges. Two other errors have a role of their own:
/// ``VerificationError`` is the outcome of the verification procedure, mapped
/// to SIP codes (RFC 8224 §6.2.2, ATIS-1000074 §5.4), and ``JSONError`` says
/// where a JSON document is wrong (RFC 8259), for the PASSporT and REST decoders.
///
/// Details never contain key material.
public struct CallsignError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was refused; the raw values are stable.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// A signing request (ATIS-1000074 §5.3 STI-AS): orig, dest or origid.
        case signingRequest = "signing-request"
        /// A P-256 key or a certificate in PEM.
        case key
        /// A TNAuthList extension (RFC 8226 §9).
        case tnAuthList = "tnauthlist"
        /// A certificate revocation list (RFC 5280 §5).
        case crl
        /// A policy configuration (the `policy` object).
        case policyConfiguration = "policy-configuration"
        /// A DNO list (CSV), with the line at fault.
        case dnoList = "dno-list"
        /// The numbering ranges table.
        case numberingRanges = "numbering-ranges"
    }

    public var code: Code
    /// What is wrong, in words.
    public var detail: String
    public var description: String { detail }

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }
}

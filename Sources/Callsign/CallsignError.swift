/// Why the core refused an input or a configuration: a JSON document (RFC 8259),
/// a signing request, a key or certificate, a TNAuthList (RFC 8226), a CRL
/// (RFC 5280 §5), a policy or a DNO list, the numbering ranges. The outcome of
/// the verification procedure is not an error of this kind: a failed
/// verification is a ``Verdict`` carrying a ``VerificationError``, whose code
/// maps to the SIP response (RFC 8224 §6.2.2, ATIS-1000074 §5.4).
///
/// Details never contain key material.
public struct CallsignError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was refused; the raw values are stable.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// A JSON document (strict RFC 8259 with limits); the detail names the byte offset.
        case json
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
        /// A protected-numbers list (CSV), with the line at fault.
        case protectedList = "protected-list"
        /// The numbering ranges table.
        case numberingRanges = "numbering-ranges"
        /// An STI-PA artefact (ATIS-1000080 §6.3): the trust list, the STI-PA
        /// CRL or an SPC token failed a check; the detail names which.
        case stiPA = "sti-pa"
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

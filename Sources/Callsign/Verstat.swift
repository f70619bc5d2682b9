/// The outcome a verifier reports to the called party, as the `verstat` tel
/// URI parameter (3GPP TS 24.229 §7.2A.20).
public enum Verstat: String, Sendable, Hashable, CaseIterable {
    /// A PASSporT verified and matched the call.
    case passed = "TN-Validation-Passed"
    /// An Identity header was present but did not verify.
    case failed = "TN-Validation-Failed"
    /// No Identity header, or it was not checked.
    case noValidation = "No-TN-Validation"
}

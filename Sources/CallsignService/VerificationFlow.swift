public import Callsign

/// The STI-VS decision after the verification procedure (ATIS-1000074 §5.4):
/// the policy in force applied to the verdict, and the counters. Every
/// verifying face (REST, the SIP redirect, the SIP proxy) calls it and renders
/// the verdict and the decision.
public struct VerificationFlow: Sendable {
    /// The anti-spoofing rules in force.
    public var policy: PolicySet

    public init(policy: PolicySet) {
        self.policy = policy
    }

    /// The policy's decision on a verified call from `orig` (canonical, `nil`
    /// when the calling identity is not a telephone number) received from
    /// `source` (`nil` on REST); counts the verification and a block.
    public func judge(_ verdict: Verdict, orig: String?, source: String?, face: CallMetrics.Face) -> PolicyDecision {
        CallMetrics.verified(verstat: verdict.verstat.rawValue, reason: verdict.error?.code.rawValue, face: face)
        let facts = CallFacts(orig: orig, verstat: verdict.verstat, attestation: verdict.isValid ? verdict.attestation : nil,
                              signerSPCs: verdict.isValid ? verdict.signerSPCs : [])
        let decision = policy.evaluate(facts, source: source)
        if decision.action == .block { CallMetrics.policyBlocked(rule: decision.rule, stage: .verify, face: face) }
        return decision
    }
}

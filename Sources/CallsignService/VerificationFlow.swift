public import Callsign
import CallsignStore

/// The STI-VS decision after the verification procedure (ATIS-1000074 §5.4):
/// the policy in force applied to the verdict, the signals, the call record,
/// and the counters. Every verifying face (REST, the SIP redirect, the SIP
/// proxy) calls it and renders the verdict and the decision.
public struct VerificationFlow: Sendable {
    /// The anti-spoofing rules in force.
    public var policy: PolicySet
    /// Signals, per-minute counts and call records; `nil`: none.
    public var analytics: CallAnalytics?

    public init(policy: PolicySet, analytics: CallAnalytics? = nil) {
        self.policy = policy
        self.analytics = analytics
    }

    /// The decision on a verified call from `orig` (canonical, `nil` when the
    /// calling identity is not a telephone number) to `dest` received from
    /// `source` (`nil` on REST) at `time`: the policy's, or a refusal by a
    /// `block` trigger tripped earlier in its window. Counts the verification
    /// and a block, and hands the call to the analytics.
    /// - Parameter calling: the calling identity as presented (recorded when it is not a number).
    public func judge(_ verdict: Verdict, orig: String?, calling: String = "", dest: String = "", source: String?, time: Int64 = 0,
                      face: CallMetrics.Face) -> PolicyDecision
    {
        CallMetrics.verified(verstat: verdict.verstat.rawValue, reason: verdict.error?.code.rawValue, face: face)
        let facts = CallFacts(orig: orig, verstat: verdict.verstat, attestation: verdict.isValid ? verdict.attestation : nil,
                              signerSPCs: verdict.isValid ? verdict.signerSPCs : [])
        var decision = policy.evaluate(facts, source: source)
        if let analytics {
            let outcome = analytics.verification(verdict, orig: orig, calling: calling, dest: dest, source: source, decision: decision,
                                                 time: time)
            for alert in outcome.alerts { CallMetrics.alert(signal: alert.signal, mode: alert.mode) }
            if decision.action != .block, let refusing = outcome.blockedBy { decision = CallAnalytics.decision(refusing: refusing) }
        }
        if decision.action == .block { CallMetrics.policyBlocked(rule: decision.rule, stage: .verify, face: face) }
        return decision
    }
}

/// The counters of call decisions, with one fixed label set per metric: every
/// series names the face (`rest` or `sip`) that answered the call.
///
/// - `callsign_signing_total{attest, face}`: calls signed (after their traceback record committed)
/// - `callsign_signing_refused_total{reason, face}`: `unauthenticated`, `bad_token`, `unknown_trunk`, `policy`
/// - `callsign_verification_total{verstat, reason, face}`: verifications, by outcome and error code (`none`)
/// - `callsign_policy_block_total{rule, stage, face}`: calls a rule blocked, at `sign` or `verify`
///   (a `block` trigger's refusals are counted here under the signal's name)
/// - `callsign_alerts_total{signal, mode}`: triggers that tripped
public enum CallMetrics {
    /// The interface that answered a call.
    public enum Face: String, Sendable {
        case rest, sip
    }

    public static func signed(attest: String, face: Face) {
        signedCounters.increment(SignedKey(attest: attest, face: face))
    }

    /// The per-call counters, by typed keys (``CounterTable``).
    private struct SignedKey: Hashable, Sendable {
        var attest: String
        var face: Face
    }

    private struct VerifiedKey: Hashable, Sendable {
        var verstat: String
        var reason: String?
        var face: Face
    }

    private static let signedCounters = CounterTable<SignedKey>("callsign_signing_total") {
        [("attest", $0.attest), ("face", $0.face.rawValue)]
    }

    private static let verifiedCounters = CounterTable<VerifiedKey>("callsign_verification_total") {
        [("verstat", $0.verstat), ("reason", $0.reason ?? "none"), ("face", $0.face.rawValue)]
    }

    public static func signingRefused(_ reason: String, face: Face) {
        CounterCache.shared.increment("callsign_signing_refused_total", [("reason", reason), ("face", face.rawValue)])
    }

    public static func verified(verstat: String, reason: String?, face: Face) {
        verifiedCounters.increment(VerifiedKey(verstat: verstat, reason: reason, face: face))
    }

    /// A stage of a call: signing it, or verifying it.
    public enum Stage: String, Sendable {
        case sign, verify
    }

    public static func policyBlocked(rule: String?, stage: Stage, face: Face) {
        CounterCache.shared.increment("callsign_policy_block_total", [("rule", rule ?? ""), ("stage", stage.rawValue), ("face", face.rawValue)])
    }

    public static func alert(signal: String, mode: String) {
        CounterCache.shared.increment("callsign_alerts_total", [("signal", signal), ("mode", mode)])
    }
}

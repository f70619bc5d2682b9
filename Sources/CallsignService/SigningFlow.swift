public import Callsign
public import CallsignStore

/// The STI-AS decision for one call once its customer is known and its
/// numbers are canonical (ATIS-1000074 §5.3): the policy in force, the
/// attestation the customer is owed, the ES256 signature, and the traceback
/// record to make durable before answering. Every signing face (REST, the
/// SIP redirect, the SIP proxy) calls it and renders its outcome.
public struct SigningFlow: Sendable {
    /// Who signs each customer's PASSporTs (ATIS-1000074 §5.3.3; FCC 24-120).
    public var identities: SigningIdentities
    /// The anti-spoofing rules in force.
    public var policy: PolicySet
    /// Signals and per-minute counts; `nil`: none.
    public var analytics: CallAnalytics?

    public init(identities: SigningIdentities, policy: PolicySet, analytics: CallAnalytics? = nil) {
        self.identities = identities
        self.policy = policy
        self.analytics = analytics
    }

    /// One signer for every customer, named `service`.
    public init(signer: any IdentitySigning, x5u: String = "", policy: PolicySet, analytics: CallAnalytics? = nil) {
        self.init(identities: SigningIdentities(service: .init(name: "service", signer: signer, x5u: x5u)), policy: policy, analytics: analytics)
    }

    /// A signed call: the Identity header, what was signed, and its traceback record.
    public struct Signed: Sendable {
        public var identity: IdentityHeader
        public var attestation: PASSporT.Attestation
        public var origid: String
        /// To make durable before the call is answered (ATIS-1000074 §5.3: traceback by origid).
        public var record: SignedCallRecord
    }

    public enum Outcome: Sendable {
        /// A rule blocked the call: nothing was signed.
        case refused(PolicyDecision)
        /// The customer has no signing identity and the service's may not sign for it.
        case noIdentity
        /// The signature could not be made.
        case failed
        case signed(Signed)
    }

    /// Decides and signs a call of `customer` from `orig` to `dest` (canonical).
    /// - Parameters:
    ///   - requested: the attestation the caller asked for, only ever lowered (``AttestationPolicy``).
    ///   - iat: the PASSporT's issued-at time; `time` is when the call was signed (the record's time).
    ///   - source: the SIP source address (its own rules and ingress apply), `nil` on REST.
    ///   - face: the face that answers, for the counters.
    public func sign(customer: Customer, orig: String, dest: [String], requested: PASSporT.Attestation?, iat: Int64, time: Int64,
                     source: String?, face: CallMetrics.Face) -> Outcome
    {
        var decision = policy.evaluate(CallFacts(orig: orig, customer: customer.id), source: source)
        let (attestation, rule) = AttestationPolicy.decision(customer: customer, orig: orig, requested: requested)
        if let analytics {
            let outcome = analytics.signing(customer: customer.id, origid: customer.origid, orig: orig, decision: decision, attestation: attestation, time: time)
            for alert in outcome.alerts { CallMetrics.alert(signal: alert.signal, mode: alert.mode) }
            if decision.action != .block, let refusing = outcome.blockedBy { decision = CallAnalytics.decision(refusing: refusing) }
        }
        if decision.action == .block {
            CallMetrics.signingRefused("policy", face: face)
            CallMetrics.policyBlocked(rule: decision.rule, stage: .sign, face: face)
            // Recorded for investigations (who tried to present this number), not for traceback: nothing was signed.
            analytics?.recordRefused(SignedCallRecord(time: time, orig: orig, dest: dest, attestation: attestation, origid: customer.origid,
                                                      customerID: customer.id, trunk: source, attestationRule: rule.rawValue,
                                                      policyAction: decision.action.rawValue, policyRule: decision.recordedRule))
            return .refused(decision)
        }
        guard let signing = identities.identity(for: customer.id) else {
            CallMetrics.signingRefused("no_identity", face: face)
            return .noIdentity
        }
        let identity: IdentityHeader
        do {
            identity = try signing.signer.sign(SigningRequest(orig: orig, dest: dest, attestation: attestation, origid: customer.origid,
                                                              iat: iat))
        } catch {
            return .failed
        }
        let record = SignedCallRecord(time: time, orig: orig, dest: dest, attestation: attestation, origid: customer.origid,
                                      customerID: customer.id, trunk: source, identity: signing.name, attestationRule: rule.rawValue,
                                      x5u: signing.x5u.isEmpty ? nil : signing.x5u, spc: signing.spc, policyAction: decision.action.rawValue,
                                      policyRule: decision.recordedRule)
        return .signed(Signed(identity: identity, attestation: attestation, origid: customer.origid, record: record))
    }
}

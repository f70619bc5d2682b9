public import Callsign
public import CallsignService
public import CallsignStore
public import Crypto
import Foundation
import Metrics
public import NIOCore
import Synchronization

/// What a redirect listener does with failed verifications.
public enum VerificationFailureAction: String, Sendable, CaseIterable {
    /// Answer the SIP failure code (428/436/437/438/403) with a Reason header.
    case reject
    /// Answer 302 with `verstat=TN-Validation-Failed` and a Reason header (Asterisk's `continue_return_reason`).
    case `continue`
}

/// The SIP redirect faces (vendor 302 practice, apis.md §2): a signing
/// listener that answers INVITEs from configured trunks with `302` carrying
/// `Identity`, and a verification listener that answers with `302` whose
/// `P-Asserted-Identity` carries `verstat`. Framework-free: the transports
/// hand it parsed requests and the source address, and send what it returns.
public final class RedirectService: Sendable {
    public enum Role: String, Sendable { case signing, verification }

    public let role: Role
    /// Source IP address → customer id (signing listener: only these may sign).
    public let trunks: [String: String]
    public let store: any CallsignStore
    /// Who signs each customer's calls (signing listener only).
    public let identities: SigningIdentities?
    public let verifier: Verifier
    public let resolver: any CertificateResolver
    public let failureAction: VerificationFailureAction
    public let requireIdentity: Bool
    public let numbering: NumberingPolicy
    /// Numbering policy per source address (trunk or peer), overriding ``numbering``.
    public let peerNumbering: [String: NumberingPolicy]
    /// The anti-spoofing rules in force (per source address, with its ingress),
    /// applied before signing and after verification.
    public let policy: PolicySet
    /// Signals, per-minute counts and verification records (``CallAnalytics``); `nil`: none.
    public let analytics: CallAnalytics?
    let now: @Sendable () -> Int64
    let cache: ResponseCache
    /// Traceback writes grouped across concurrent calls (each still answered after its commit).
    public let recorder: GroupCommitRecorder?
    /// Recent customer lookups by trunk (a changed customer takes effect within its lifetime).
    public let customers: CustomerCache?

    /// The signing listener's parts: who may sign (source address → customer id),
    /// with which key and certificate URL, and where traceback records go.
    public struct SigningSetup: Sendable {
        public var trunks: [String: String]
        /// The service's identity and each customer's own (FCC 24-120).
        public var identities: SigningIdentities
        /// Traceback writes grouped across concurrent calls; each call is still answered after its commit.
        public var recorder: GroupCommitRecorder?
        /// Recent customer lookups by trunk.
        public var customers: CustomerCache?

        public init(trunks: [String: String], identities: SigningIdentities, recorder: GroupCommitRecorder? = nil,
                    customers: CustomerCache? = nil)
        {
            self.trunks = trunks
            self.identities = identities
            self.recorder = recorder
            self.customers = customers
        }

        /// One identity, the service's, for every trunk's customer.
        public init(trunks: [String: String], signingKey: P256.Signing.PrivateKey, x5u: String, recorder: GroupCommitRecorder? = nil,
                    customers: CustomerCache? = nil)
        {
            self.trunks = trunks
            self.identities = SigningIdentities(key: signingKey, x5u: x5u)
            self.recorder = recorder
            self.customers = customers
        }
    }

    /// The verification listener's parts: the procedure's options and what a failure gets.
    public struct VerificationSetup: Sendable {
        public var verifier: Verifier
        public var failureAction: VerificationFailureAction
        /// Answer 428 to an INVITE without Identity (RFC 8224 §6.2.1).
        public var requireIdentity: Bool

        public init(verifier: Verifier = Verifier(), failureAction: VerificationFailureAction = .reject, requireIdentity: Bool = false) {
            self.verifier = verifier
            self.failureAction = failureAction
            self.requireIdentity = requireIdentity
        }
    }

    /// A signing listener (ATIS-1000074 §5.3 STI-AS behind a SIP redirect).
    /// - Parameters:
    ///   - numbering: how calling numbers are read; `peerNumbering` overrides it per source address.
    ///   - policy: the anti-spoofing rules in force, applied before signing.
    public convenience init(signing: SigningSetup, store: any CallsignStore, resolver: any CertificateResolver,
                            numbering: NumberingPolicy = .e164, peerNumbering: [String: NumberingPolicy] = [:],
                            policy: PolicySet = PolicySet(), analytics: CallAnalytics? = nil, now: @escaping @Sendable () -> Int64)
    {
        self.init(role: .signing, trunks: signing.trunks, store: store, identities: signing.identities,
                  verification: VerificationSetup(), resolver: resolver, numbering: numbering, peerNumbering: peerNumbering,
                  policy: policy, analytics: analytics, recorder: signing.recorder, customers: signing.customers, now: now)
    }

    /// A verification listener (RFC 8224 §6.2, ATIS-1000074 §5.4 STI-VS behind a SIP redirect).
    /// - Parameters:
    ///   - numbering: how calling numbers are read; `peerNumbering` overrides it per source address.
    ///   - policy: the anti-spoofing rules in force, applied after verification.
    public convenience init(verification: VerificationSetup = VerificationSetup(), store: any CallsignStore,
                            resolver: any CertificateResolver, numbering: NumberingPolicy = .e164,
                            peerNumbering: [String: NumberingPolicy] = [:], policy: PolicySet = PolicySet(),
                            analytics: CallAnalytics? = nil, now: @escaping @Sendable () -> Int64)
    {
        self.init(role: .verification, trunks: [:], store: store, identities: nil, verification: verification,
                  resolver: resolver, numbering: numbering, peerNumbering: peerNumbering, policy: policy, analytics: analytics,
                  recorder: nil, customers: nil, now: now)
    }

    private init(role: Role, trunks: [String: String], store: any CallsignStore, identities: SigningIdentities?,
                 verification: VerificationSetup, resolver: any CertificateResolver, numbering: NumberingPolicy,
                 peerNumbering: [String: NumberingPolicy], policy: PolicySet, analytics: CallAnalytics?, recorder: GroupCommitRecorder?,
                 customers: CustomerCache?, now: @escaping @Sendable () -> Int64)
    {
        self.analytics = analytics
        self.recorder = recorder
        self.customers = customers
        self.peerNumbering = peerNumbering
        self.policy = policy
        self.role = role
        self.trunks = trunks
        self.store = store
        self.identities = identities
        self.verifier = verification.verifier
        self.resolver = resolver
        self.failureAction = verification.failureAction
        self.requireIdentity = verification.requireIdentity
        self.numbering = numbering
        self.now = now
        self.cache = ResponseCache(capacity: 100_000)
    }

    /// Handles one datagram from `source` (an IP address without port).
    /// Returns the bytes to send back, or `nil` to stay silent (ACK, responses,
    /// unparseable junk that is not even a request).
    public func handle(datagram: [UInt8], source: String) async -> [UInt8]? {
        switch handleImmediately(datagram: datagram, source: source) {
        case .reply(let bytes): return bytes
        case .pending(let pending): return await complete(pending)
        case .afterCommit(let commit):
            do {
                try await GroupCommitRecorder.record([commit.record], via: recorder, store: store)
                return committed(commit, ok: true)
            } catch {
                return committed(commit, ok: false)
            }
        }
    }

    /// What a datagram needs: its answer now, or the asynchronous path.
    public enum Step: Sendable {
        /// The bytes to send back (`nil`: stay silent).
        case reply([UInt8]?)
        /// An INVITE that needs I/O: a signing (its traceback record commits
        /// before the answer) or a verification whose credential is not cached.
        case pending(Pending)
        /// A signing whose answer waits for its traceback record: queue
        /// ``Commit/record`` on ``recorder`` and send ``committed(_:ok:)``.
        case afterCommit(Commit)
    }

    /// A parsed INVITE waiting for ``complete(_:)``.
    public struct Pending: Sendable {
        /// The request, parsed.
        public let message: SIPMessage
        let key: String
        let source: String
    }

    /// Everything that can be answered without suspending — parse errors,
    /// retransmissions (RFC 3261 §17.2: the cached answer), OPTIONS, CANCEL,
    /// other methods, Max-Forwards 0, and verifications whose credential is
    /// cached — on the caller's thread; the rest is ``Step/pending(_:)`` for
    /// ``complete(_:)``. Transports answer here on the event loop and start a
    /// task only for pending requests.
    public func handleImmediately(datagram: [UInt8], source: String) -> Step {
        let message: SIPMessage
        do {
            message = try SIPParser().parse(datagram)
        } catch {
            // RFC 3261 §21.4.1: 400 (505 for another version) when the request can be answered; junk is dropped.
            guard let partial = Self.minimalRequest(datagram) else { return .reply(nil) }
            return .reply(Self.response(to: partial, status: error.status, reason: error.reasonPhrase,
                                        extra: [("Warning", "399 callsign \"\(error.reason)\"")]).serialized())
        }
        guard message.isRequest, let method = message.method else { return .reply(nil) }
        // Retransmissions get the same answer (RFC 3261 §17.2), without signing again.
        let key = (message.topViaBranch ?? "") + "|" + (method == "ACK" ? "INVITE" : method) + "|" + (message.first("call-id") ?? "")
            + "|" + source
        if method == "ACK" {
            // The ACK of our 3xx–6xx answer ends the INVITE transaction (RFC 3261 §17.2.1: it
            // shares the INVITE's branch): no INVITE retransmission follows, so its answer is not kept
            // for the rest of Timer H. (The redirect server passes no ACK on; a repeated one finds nothing.)
            cache.remove(key)
            return .reply(nil)
        }
        if let cached = cache.lookup(key, now: now()) { return .reply(cached) }
        let response: SIPMessage
        switch method {
        case "OPTIONS": response = Self.response(to: message, status: 200, reason: "OK", extra: [("Allow", "INVITE, ACK, CANCEL, OPTIONS")])
        case "CANCEL": response = Self.response(to: message, status: 200, reason: "OK")
        case "INVITE":
            if let maxForwards = message.first("max-forwards"), let value = Int(maxForwards), value <= 0 {
                response = Self.response(to: message, status: 483, reason: "Too Many Hops")
            } else if role == .verification, let outcome = verificationOutcomeImmediately(message, source: source) {
                response = verifyResponse(message, outcome)
            } else if role == .signing, let step = signingImmediately(message, source: source) {
                switch step {
                case .refused(let refusal): response = refusal
                case .commit(let record, let outcome):
                    return .afterCommit(Commit(record: record, message: message, outcome: outcome, key: key))
                }
            } else {
                return .pending(Pending(message: message, key: key, source: source))
            }
        default:
            response = Self.response(to: message, status: 405, reason: "Method Not Allowed", extra: [("Allow", "INVITE, ACK, CANCEL, OPTIONS")])
        }
        let bytes = response.serialized()
        // Only INVITE answers are kept: a retransmitted INVITE must not be signed or verified again
        // (RFC 3261 §17.2.1); any other request is answered afresh with the same answer.
        if method == "INVITE" { cache.store(key, bytes, now: now()) }
        return .reply(bytes)
    }

    /// A signing without suspending, or `nil` when the trunk's customer is not
    /// in ``customers`` or no writer takes event-loop commits (a refusal is at once).
    private func signingImmediately(_ message: SIPMessage, source: String) -> SigningStep? {
        switch signingPreflight(message, source: source) {
        case .failure(let refusal): return .refused(refusal.response)
        case .success(let customerID):
            guard recorder?.acceptsCallbacks == true, let cached = customers?.cachedCustomer(key: Array(customerID.utf8), now: now())
            else { return nil }
            return prepareSigning(message, source: source, customer: cached)
        }
    }

    /// The answer to a request refused because the listener has too many in
    /// progress: `503 Service Unavailable` with `Retry-After: 1` (RFC 3261
    /// §21.5.4), counted in `callsign_sip_overload_total`; `nil` for an ACK or junk.
    public func overloaded(pending: Pending?, datagram: [UInt8]) -> [UInt8]? {
        CounterCache.shared.increment("callsign_sip_overload_total")
        guard let message = pending?.message ?? (try? SIPParser().parse(datagram)), message.isRequest, message.method != "ACK" else {
            return nil
        }
        return Self.response(to: message, status: 503, reason: "Service Unavailable", extra: [("Retry-After", "1")]).serialized()
    }

    /// Answers a pending INVITE: signs it (answering after its traceback
    /// record committed) or verifies it through the certificate repository.
    public func complete(_ pending: Pending) async -> [UInt8]? {
        let response = role == .signing ? await sign(pending.message, source: pending.source)
            : await verify(pending.message, source: pending.source)
        let bytes = response.serialized()
        cache.store(pending.key, bytes, now: now())
        return bytes
    }

    // What is configured per source address. The tables are usually empty: then the source is not hashed.

    /// The numbering policy for calls from `source`.
    func numbering(for source: String) -> NumberingPolicy {
        peerNumbering.isEmpty ? numbering : peerNumbering[source] ?? numbering
    }

    /// The calling identity: P-Asserted-Identity if present, else From (RFC 8224 §4.1, ATIS-1000074).
    static func callingIdentity(_ message: SIPMessage) -> String? {
        message.first("p-asserted-identity") ?? message.first("from")
    }

    /// The headers a signing decision adds, or the response refusing it.
    enum SigningOutcome: Sendable {
        case signed(identity: String, attestation: PASSporT.Attestation, origid: String)
        case refused(SIPMessage)
    }

    func sign(_ message: SIPMessage, source: String) async -> SIPMessage {
        signResponse(message, await signingOutcome(message, source: source))
    }

    private func signResponse(_ message: SIPMessage, _ outcome: SigningOutcome) -> SIPMessage {
        switch outcome {
        case .refused(let response): return response
        case .signed(let identity, let attestation, let origid):
            return Self.response(to: message, status: 302, reason: "Moved Temporarily", extra: [
                ("Contact", "<\(message.requestURI ?? "")>"),
                ("Identity", identity),
                ("P-Attestation-Indicator", attestation.rawValue),
                ("P-Origination-Id", origid),
            ])
        }
    }

    /// A signing up to its traceback record: refused, or signed and waiting for the commit.
    enum SigningStep {
        case refused(SIPMessage)
        case commit(SignedCallRecord, SigningOutcome)
    }

    func signingOutcome(_ message: SIPMessage, source: String) async -> SigningOutcome {
        let customerID: String
        switch signingPreflight(message, source: source) {
        case .failure(let refusal): return .refused(refusal.response)
        case .success(let id): customerID = id
        }
        let customer: Customer?
        do {
            customer = try await CustomerCache.customer(customers, key: Array(customerID.utf8), now: now(),
                                                        load: { try await store.customer(id: customerID) })
        } catch {
            return .refused(Self.response(to: message, status: 500, reason: "Server Internal Error"))
        }
        switch prepareSigning(message, source: source, customer: customer) {
        case .refused(let response): return .refused(response)
        case .commit(let record, let outcome):
            do {
                try await GroupCommitRecorder.record([record], via: recorder, store: store)
            } catch {
                return .refused(Self.response(to: message, status: 500, reason: "Server Internal Error"))
            }
            return Self.signed(record, outcome)
        }
    }

    private struct Refusal: Error { var response: SIPMessage }

    /// The trunk's customer id, or the refusal (403 for an unknown source, 500 without a signing identity).
    private func signingPreflight(_ message: SIPMessage, source: String) -> Result<String, Refusal> {
        guard let customerID = trunks[source] else {
            CallMetrics.signingRefused("unknown_trunk", face: .sip)
            return .failure(Refusal(response: Self.response(to: message, status: 403, reason: "Forbidden",
                                                            extra: [("Warning", "399 callsign \"source is not a configured trunk\"")])))
        }
        guard identities != nil else {
            return .failure(Refusal(response: Self.response(to: message, status: 500, reason: "Server Internal Error")))
        }
        return .success(customerID)
    }

    /// Counts a signed call once its record committed.
    static func signed(_ record: SignedCallRecord, _ outcome: SigningOutcome) -> SigningOutcome {
        CallMetrics.signed(attest: record.attestation.rawValue, face: .sip)
        return outcome
    }

    /// Numbers, policy, attestation and the ES256 signature for `customer` (the trunk's).
    private func prepareSigning(_ message: SIPMessage, source: String, customer found: Customer?) -> SigningStep {
        guard let identities else { return .refused(Self.response(to: message, status: 500, reason: "Server Internal Error")) }
        guard let customer = found else { return .refused(Self.response(to: message, status: 403, reason: "Forbidden")) }
        let numbering = self.numbering(for: source)
        guard let callingText = Self.callingIdentity(message), let orig = TelephoneNumber.canonicalNumber(callingText, policy: numbering) else {
            return .refused(Self.response(to: message, status: 400, reason: "Bad Request",
                                          extra: [("Warning", "399 callsign \"calling number unreadable\"")]))
        }
        guard let calledText = message.first("to") ?? message.requestURI,
            let dest = TelephoneNumber.canonicalNumber(calledText, policy: numbering)
        else {
            return .refused(Self.response(to: message, status: 400, reason: "Bad Request",
                                          extra: [("Warning", "399 callsign \"called number unreadable\"")]))
        }
        let time = now()
        switch SigningFlow(identities: identities, policy: policy, analytics: analytics).sign(customer: customer, orig: orig, dest: [dest], requested: nil,
                                                                       iat: time, time: time, source: source, face: .sip) {
        case .refused(let decision):
            return .refused(Self.response(to: message, status: decision.sipStatus ?? 603, reason: decision.reasonPhrase ?? "Decline",
                                          extra: [("Reason", decision.reasonHeader ?? "")]))
        case .noIdentity:
            return .refused(Self.response(to: message, status: 403, reason: "Forbidden",
                                          extra: [("Warning", "399 callsign \"no signing identity for this customer\"")]))
        case .failed:
            return .refused(Self.response(to: message, status: 500, reason: "Server Internal Error"))
        case .signed(let signed):
            return .commit(signed.record, .signed(identity: signed.identity.value, attestation: signed.attestation, origid: signed.origid))
        }
    }

    /// A signing answered once its traceback record committed (``Step/afterCommit(_:)``).
    public struct Commit: Sendable {
        /// The record to commit before answering.
        public let record: SignedCallRecord
        let message: SIPMessage
        let outcome: SigningOutcome
        let key: String
    }

    /// Queues the record of `commit` on the traceback writer and calls `send`
    /// with the answer once its transaction ended — at once with 500 when no
    /// writer takes it (shutdown: a call that cannot be traced back is not signed).
    ///
    /// Called on an event loop (`loop`), the writer is woken once that loop
    /// has handled everything it read in this pass, so the signings of one
    /// read share a transaction (``GroupCommitRecorder/enqueueDeferringWake(_:completion:)``),
    /// and the answer is built and sent back on that loop.
    public func commitThenAnswer(_ commit: Commit, on loop: (any EventLoop)? = nil, send: @escaping @Sendable ([UInt8]) -> Void) {
        guard let recorder else {
            send(committed(commit, ok: false))
            return
        }
        if let journaled = recorder.recordImmediately([commit.record]) {
            send(committed(commit, ok: journaled))  // durable once appended: answered now
            return
        }
        let completion: GroupCommitRecorder.Completion = { [self] result in
            let ok = (try? result.get()) != nil
            // The answer is built and sent on the loop, not on the writer's thread (which only commits).
            if let loop {
                loop.execute { send(self.committed(commit, ok: ok)) }
            } else {
                send(committed(commit, ok: ok))
            }
        }
        guard let loop else {
            if !recorder.enqueue([commit.record], completion: completion) { send(committed(commit, ok: false)) }
            return
        }
        switch recorder.enqueueDeferringWake([commit.record], completion: completion) {
        case .refused: send(committed(commit, ok: false))
        case .queued: break
        case .wakeOwed: loop.execute { recorder.wakeDeferredWriter() }  // one wake per loop pass
        }
    }

    /// The answer to a ``Commit`` once the transaction holding its record
    /// ended: the 302 when it committed, 500 when it failed (a call that cannot
    /// be traced back is not signed). Kept for retransmissions.
    public func committed(_ commit: Commit, ok: Bool) -> [UInt8] {
        let response = ok ? signResponse(commit.message, Self.signed(commit.record, commit.outcome))
            : Self.response(to: commit.message, status: 500, reason: "Server Internal Error")
        let bytes = response.serialized()
        cache.store(commit.key, bytes, now: now())
        return bytes
    }

    func verify(_ message: SIPMessage, source: String) async -> SIPMessage {
        verifyResponse(message, await verificationOutcome(message, source: source))
    }

    private func verifyResponse(_ message: SIPMessage, _ outcome: VerificationOutcome) -> SIPMessage {
        switch outcome {
        case .refused(let response): return response
        case .marked(let headers):
            return Self.response(to: message, status: 302, reason: "Moved Temporarily",
                                 extra: [("Contact", "<\(message.requestURI ?? "")>")] + headers)
        }
    }

    enum VerificationOutcome {
        /// Headers to put on the call (P-Asserted-Identity with verstat, …).
        case marked([(String, String)])
        case refused(SIPMessage)
    }

    /// What verification reads from the request (RFC 8224 §6.2; ATIS-1000074 §5.4).
    private struct VerificationInput {
        var verifier: Verifier
        var identities: [String]
        var calling: String
        var call: CallContext
        var numbering: NumberingPolicy
    }

    private func verificationInput(_ message: SIPMessage, source: String) -> VerificationInput {
        let numbering = self.numbering(for: source)
        var verifier = self.verifier
        verifier.options.numbering = numbering
        let calling = Self.callingIdentity(message) ?? ""
        let called = message.first("to") ?? message.requestURI ?? ""
        let date = message.first("date").flatMap(CivilTime.parseRFC1123)
        return VerificationInput(verifier: verifier, identities: message.values("identity"), calling: calling,
                                 call: CallContext(orig: calling, dest: called, date: date), numbering: numbering)
    }

    func verificationOutcome(_ message: SIPMessage, source: String) async -> VerificationOutcome {
        let input = verificationInput(message, source: source)
        let verdict = await input.verifier.verify(identityHeaders: input.identities, call: input.call, now: now(), resolver: resolver)
        return outcome(of: verdict, input, message: message, source: source)
    }

    /// ``verificationOutcome(_:source:)`` without suspending, or `nil` when it needs I/O.
    func verificationOutcomeImmediately(_ message: SIPMessage, source: String) -> VerificationOutcome? {
        let input = verificationInput(message, source: source)
        guard let verdict = input.verifier.verifyCached(identityHeaders: input.identities, call: input.call, now: now(),
                                                         resolver: resolver)
        else { return nil }
        return outcome(of: verdict, input, message: message, source: source)
    }

    private func outcome(of verdict: Verdict, _ input: VerificationInput, message: SIPMessage, source: String) -> VerificationOutcome {
        var verdict = verdict
        let identities = input.identities, calling = input.calling, numbering = input.numbering
        if identities.isEmpty && requireIdentity {
            verdict.error = VerificationError(.missingIdentity, "no Identity header")
        }
        var extra: [(String, String)] = []
        let tn = TelephoneNumber.canonicalNumber(calling, policy: numbering)
        let decision = VerificationFlow(policy: policy, analytics: analytics)
            .judge(verdict, orig: tn, calling: calling, dest: input.call.dest, source: source, time: now(), face: .sip)
        if decision.action == .block, let status = decision.sipStatus {
            return .refused(Self.response(to: message, status: status, reason: decision.reasonPhrase ?? "Decline",
                                          extra: [("Reason", decision.reasonHeader ?? "")]))
        }
        if !decision.tags.isEmpty { extra.append(("X-Callsign-Policy-Tags", decision.tags.joined(separator: ","))) }
        if let error = verdict.error {
            let reason = "SIP ;cause=\(error.sipStatus) ;text=\"\(error.reasonPhrase)\""
            if failureAction == .reject {
                return .refused(Self.response(to: message, status: error.sipStatus, reason: error.reasonPhrase, extra: [("Reason", reason)]))
            }
            extra.append(("Reason", reason))
        }
        let pai = tn.map { "<tel:+\($0);verstat=\(verdict.verstat.rawValue)>" } ?? "<\(Self.uri(of: calling));verstat=\(verdict.verstat.rawValue)>"
        extra.append(("P-Asserted-Identity", pai))
        if let attestation = verdict.attestation, verdict.isValid { extra.append(("P-Attestation-Indicator", attestation.rawValue)) }
        if let origid = verdict.origid, verdict.isValid { extra.append(("P-Origination-Id", origid)) }
        if let name = verdict.displayName { extra.append(("P-Verified-Display-Name", "\"\(name.replacingOccurrences(of: "\"", with: ""))\"")) }
        return .marked(extra)
    }

    static func uri(of nameAddr: String) -> String {
        if let open = nameAddr.firstIndex(of: "<"), let close = nameAddr[open...].firstIndex(of: ">") {
            return String(nameAddr[nameAddr.index(after: open)..<close])
        }
        return nameAddr.split(separator: ";").first.map(String.init) ?? nameAddr
    }

    /// A response copying Via, From, To (with a tag), Call-ID and CSeq (RFC 3261 §8.2.6).
    public static func response(to request: SIPMessage, status: Int, reason: String, extra: [(String, String)] = []) -> SIPMessage {
        var headers: [SIPMessage.Header] = []
        headers.reserveCapacity(request.headers.count + extra.count + 1)
        for header in request.headers where header.canonicalName == "via" {
            headers.append(SIPMessage.Header(name: "Via", canonicalName: "via", value: header.value))
        }
        if let from = request.first("from") { headers.append(SIPMessage.Header(name: "From", canonicalName: "from", value: from)) }
        if var to = request.first("to") {
            if SIPMessage.parameter("tag", in: to) == nil, status > 100 {
                to += ";tag=" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
            }
            headers.append(SIPMessage.Header(name: "To", canonicalName: "to", value: to))
        }
        if let callID = request.first("call-id") { headers.append(SIPMessage.Header(name: "Call-ID", canonicalName: "call-id", value: callID)) }
        if let cseq = request.first("cseq") { headers.append(SIPMessage.Header(name: "CSeq", canonicalName: "cseq", value: cseq)) }
        for (name, value) in extra { headers.append(SIPMessage.Header(name: name, value: value)) }
        headers.append(SIPMessage.Header(name: "Server", canonicalName: "server", value: "callsign"))
        return SIPMessage(startLine: .response(status: status, reason: reason), headers: headers)
    }

    /// The headers needed to answer a message that failed to parse, if it looks like a request.
    static func minimalRequest(_ bytes: [UInt8]) -> SIPMessage? {
        // Invalid UTF-8 (a reason for the 400) is read with replacement characters; control characters are dropped.
        guard bytes.count <= 64 * 1024 else { return nil }
        let text = String(decoding: bytes.lazy.filter { $0 >= 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }, as: UTF8.self)
        let lines = text.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }).map(String.init)
        guard let first = lines.first, first.split(separator: " ").last?.hasPrefix("SIP/") == true, !first.hasPrefix("SIP/") else { return nil }
        var headers: [SIPMessage.Header] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let header = SIPMessage.Header(name: line[..<colon].trimmed(), value: line[line.index(after: colon)...].trimmed())
            if ["via", "from", "to", "call-id", "cseq"].contains(header.canonicalName) { headers.append(header) }
        }
        guard headers.contains(where: { $0.canonicalName == "via" }) else { return nil }
        return SIPMessage(startLine: .request(method: "INVITE", uri: "sip:invalid"), headers: headers)
    }
}

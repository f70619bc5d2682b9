import Callsign
public import CallsignStore
import Synchronization

/// What the decision flows hand on about each call besides their answer: the
/// signals and their alerts, the per-minute counts the dashboard reads, and
/// the verification call records. Nothing here waits on the store: counts
/// and alerts go into bounded queues that a writer (``drain()``) moves to it.
/// Verification records are appended to the ``journal`` (the SQLite store's
/// ``VerificationJournal``: durable before the call is answered, as signings'
/// traceback records are) or, without one (PostgreSQL), queued for the writer.
/// A record that cannot be kept (a full queue or journal, a full disk) is
/// dropped and counted, never the call.
public final class CallAnalytics: Sendable {
    public let signals: CallSignals
    /// Whether verifications are recorded (`records.verification`).
    public let recordsVerifications: Bool
    /// The home country code (`44`): an unsigned call presenting a number starting with it is "unsigned national".
    public let countryCode: String
    /// Most bytes of verification records waiting for the writer.
    public let maxQueuedBytes: Int
    /// Where verification records are made durable on the answering thread; `nil`: queued for the writer.
    public let journal: VerificationJournal?

    private struct Queues {
        var records: [VerifiedCallRecord] = []
        var recordBytes = 0
        var droppedRecords = 0
        var journaledRecords = 0
        var droppedJournal = 0
        var refused: [SignedCallRecord] = []
        var alerts: [CallAlert] = []
        var droppedAlerts = 0
        var counts: [RollupKey: Int64] = [:]
    }

    /// A count's series: the name the store and the dashboard know it by, and
    /// whether it is counted per minute (the charts) or per hour (the tables).
    enum Series: UInt8, CaseIterable {
        case sign, signRefused, signCustomer, verify, verifyReason, verifyPeer, verifySPC, hits, flagged

        var name: String {
            switch self {
            case .sign: "sign"
            case .signRefused: "sign.refused"
            case .signCustomer: "sign.customer"
            case .verify: "verify"
            case .verifyReason: "verify.reason"
            case .verifyPeer: "verify.peer"
            case .verifySPC: "verify.spc"
            case .hits: "hits"
            case .flagged: "flagged"
            }
        }

        /// Seconds per count (``CallRollup/perMinuteSeries``).
        var bucketSeconds: Int64 {
            switch self {
            case .sign, .signRefused, .verify: 60
            default: 3600
            }
        }
    }

    /// One count between two drains: its bucket, series and key. The key is
    /// kept as its two words (`detail` is a constant such as `ok` or an
    /// attestation) and joined only when drained, so counting a call builds
    /// no string.
    private struct RollupKey: Hashable {
        var bucket: Int64
        var series: Series
        var key: String
        var detail: String?

        /// The key as stored: `key detail`.
        var text: String { detail.map { key + " " + $0 } ?? key }
    }

    private let queues = Mutex(Queues())
    /// Alerts waiting for the writer (each is also counted in Prometheus).
    static let maxQueuedAlerts = 1_000
    /// Distinct (minute, series, key) counts held between two drains.
    static let maxRollupKeys = 50_000

    public init(triggers: [SignalTrigger] = [], recordsVerifications: Bool = true, countryCode: String = "",
                maxQueuedBytes: Int = 64 << 20, maxKeys: Int = 100_000, journal: VerificationJournal? = nil) {
        signals = CallSignals(triggers: triggers, maxKeys: maxKeys)
        self.recordsVerifications = recordsVerifications
        self.countryCode = countryCode
        self.maxQueuedBytes = max(4096, maxQueuedBytes)
        self.journal = journal
    }

    /// What the writer takes in one drain.
    public struct Drained: Sendable {
        public var records: [VerifiedCallRecord]
        public var rollups: [CallRollup]
        public var alerts: [CallAlert]
        /// Records and alerts dropped because their queue was full since the last drain.
        public var droppedRecords: Int
        public var droppedAlerts: Int
        /// Records appended to the ``CallAnalytics/journal``, and those it refused (full backlog, disk, closed), since the last drain.
        public var journaledRecords: Int
        public var droppedJournal: Int
        /// Signings a rule refused (``SignedCallRecord/refused``), for the store's call records.
        public var refused: [SignedCallRecord]
    }

    /// Takes everything queued.
    public func drain() -> Drained {
        queues.withLock { q in
            let drained = Drained(records: q.records, rollups: q.counts.map { CallRollup(minute: $0.key.bucket, series: $0.key.series.name,
                                                                                            key: $0.key.text, count: $0.value) },
                                  alerts: q.alerts, droppedRecords: q.droppedRecords, droppedAlerts: q.droppedAlerts,
                                  journaledRecords: q.journaledRecords, droppedJournal: q.droppedJournal, refused: q.refused)
            q = Queues()
            return drained
        }
    }

    // MARK: Signing

    /// Counts a signing decision: a refusal by policy, or a signed call. Returns
    /// the trigger that refuses it, if any (checked before the call is signed).
    func signing(customer: String, origid: String, orig: String, decision: PolicyDecision, attestation: PASSporT.Attestation?, time: Int64)
        -> CallSignals.Outcome
    {
        let hit = decision.rule.map(Self.isListRule) ?? false || decision.tags.contains(where: Self.isListRule)
        var outcome = CallSignals.Outcome()
        if !signals.triggers.isEmpty {  // no triggers (the default): no keys to build
            let source = "customer:" + customer
            outcome = signals.observe(CallObservation(orig: orig, origin: source, rotationSource: source, hitSource: source, policyHit: hit,
                                                      rotationQuery: .numbersSigned(origid: origid)), now: time)
        }
        queues.withLock { q in
            if let attestation, decision.action != .block, outcome.blockedBy == nil {
                add(&q, time, .sign, attestation.rawValue)
                add(&q, time, .signCustomer, customer, attestation.rawValue)
            } else {
                add(&q, time, .signRefused, outcome.blockedBy?.signal ?? decision.rule ?? "policy")
            }
            if hit { add(&q, time, .hits, decision.rule ?? decision.tags.first(where: Self.isListRule) ?? "", "customer:" + customer) }
            if hit || outcome.blockedBy != nil || !outcome.alerts.isEmpty { add(&q, time, .flagged, orig) }
            queue(outcome.alerts, &q)
        }
        return outcome
    }

    /// Queues the record of a refused signing (in the same bytes bound as verification records).
    func recordRefused(_ record: SignedCallRecord) {
        let bytes = record.approximateBytes
        queues.withLock { q in
            if q.recordBytes + bytes <= maxQueuedBytes {
                q.refused.append(record)
                q.recordBytes += bytes
            } else {
                q.droppedRecords += 1
            }
        }
    }

    // MARK: Verification

    /// Counts a verification and queues its record; the trigger that refuses it, if any.
    func verification(_ verdict: Verdict, orig: String?, calling: String, dest: String, source: String?, decision: PolicyDecision,
                      time: Int64) -> CallSignals.Outcome
    {
        let spc = verdict.signerSPCs.first
        let origid = verdict.origid
        let hit = decision.rule.map(Self.isListRule) ?? false || decision.tags.contains(where: Self.isListRule)
        let unsigned = verdict.error?.code == .missingIdentity
        let failed = verdict.error != nil && !unsigned
        var outcome = CallSignals.Outcome()
        if !signals.triggers.isEmpty {  // no triggers (the default): no keys to build
            let peer = "peer:" + (source ?? "rest")
            let national = !countryCode.isEmpty && (orig?.hasPrefix(countryCode) ?? false)
            outcome = signals.observe(CallObservation(
                orig: orig, origin: VerifiedOrigin(origid: origid, spc: spc, source: source),
                rotationSource: origid.map { "origid:" + $0 }, peerKey: peer, spcKey: spc.map { "spc:" + $0 }, hitSource: peer,
                failed: failed, attestationC: verdict.isValid && verdict.attestation == .gateway,
                unsignedNational: unsigned && national, policyHit: hit, rotationQuery: origid.map { .numbersVerified(origid: $0) }), now: time)
        }
        let final = outcome.blockedBy.map { Self.decision(refusing: $0) } ?? decision
        var record = recordsVerifications
            ? VerifiedCallRecord(time: time, orig: orig ?? calling, dest: dest, verstat: verdict.verstat.rawValue,
                                 attestation: verdict.attestation?.rawValue, spc: spc, x5u: verdict.passport?.passport.header.x5u,
                                 origid: origid, source: source ?? "rest", reason: verdict.error?.code.rawValue,
                                 policyAction: final.action.rawValue, policyRule: final.recordedRule)
            : nil
        // Journalled before the answer (outside the queues' lock: the journal has its own).
        var journaled: Bool?
        if let journal, let kept = record {
            journaled = (try? journal.append(kept)) != nil
            record = nil
        }
        queues.withLock { q in
            add(&q, time, .verify, verdict.verstat.rawValue, verdict.isValid ? verdict.attestation?.rawValue ?? "-" : "-")
            if let error = verdict.error { add(&q, time, .verifyReason, error.code.rawValue) }
            let ok = failed ? "fail" : "ok"
            add(&q, time, .verifyPeer, source ?? "rest", ok)
            if let spc { add(&q, time, .verifySPC, spc, ok) }
            if hit { add(&q, time, .hits, decision.rule ?? decision.tags.first(where: Self.isListRule) ?? "", "peer:" + (source ?? "rest")) }
            if let orig, hit || final.action == .block || !outcome.alerts.isEmpty { add(&q, time, .flagged, orig) }
            switch journaled {
            case true?: q.journaledRecords += 1
            case false?: q.droppedJournal += 1
            case nil: break
            }
            if let record {
                let bytes = record.approximateBytes
                if q.recordBytes + bytes <= maxQueuedBytes {
                    q.records.append(record)
                    q.recordBytes += bytes
                } else {
                    q.droppedRecords += 1
                }
            }
            queue(outcome.alerts, &q)
        }
        return outcome
    }

    /// The cross-node check of the distinct-value signals, for nodes sharing
    /// a store: each key this node counted up to half its threshold is counted
    /// again over every node's records in the store, and trips when that count
    /// reaches the threshold. Returns the alerts it raised (also queued).
    public func checkAcrossNodes(store: any CallsignStore, now: Int64) async throws -> [CallAlert] {
        var raised: [CallAlert] = []
        for candidate in signals.candidates(now: now) {
            let trigger = signals.triggers[candidate.trigger]
            let count = try await store.signalCount(candidate.query, since: now - trigger.windowS)
            if let alert = trip(candidate, count: Int64(count), now: now) { raised.append(alert) }
        }
        return raised
    }

    /// Trips a candidate found over its threshold across nodes (``CallSignals/trip(trigger:key:count:now:)``)
    /// and queues the alert like one tripped on the call path.
    public func trip(_ candidate: CallSignals.Candidate, count: Int64, now: Int64) -> CallAlert? {
        guard let alert = signals.trip(trigger: candidate.trigger, key: candidate.key, count: count, now: now) else { return nil }
        CallMetrics.alert(signal: alert.signal, mode: alert.mode)
        queues.withLock { queue([alert], &$0) }
        return alert
    }

    /// The decision refusing a call because `alert`'s trigger tripped for its key in this window (608, like a policy block).
    static func decision(refusing alert: CallAlert) -> PolicyDecision {
        PolicyDecision(action: .block, rule: alert.signal,
                       reason: "tripped at \(alert.at) (threshold \(alert.threshold) in \(alert.windowS) s); refused until the window ends",
                       sipStatus: 608)
    }

    static func isListRule(_ rule: String) -> Bool { rule == "do-not-originate" || rule == "protected-number" }

    private func add(_ q: inout Queues, _ time: Int64, _ series: Series, _ key: String, _ detail: String? = nil) {
        let size = series.bucketSeconds
        let rollup = RollupKey(bucket: time - ((time % size) + size) % size, series: series, key: key, detail: detail)
        if let index = q.counts.index(forKey: rollup) {  // one hash per count
            q.counts.values[index] &+= 1
        } else if q.counts.count < Self.maxRollupKeys {
            q.counts[rollup] = 1
        }
    }

    /// Who presented a verified call, for `one-number-many-origins`: hashed, never joined into a string.
    private struct VerifiedOrigin: Hashable {
        var origid: String?
        var spc: String?
        var source: String?
    }

    private func queue(_ alerts: [CallAlert], _ q: inout Queues) {
        for alert in alerts {
            if q.alerts.count < Self.maxQueuedAlerts { q.alerts.append(alert) } else { q.droppedAlerts += 1 }
        }
    }
}

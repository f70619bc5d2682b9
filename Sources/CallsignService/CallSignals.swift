public import CallsignStore
import Synchronization

/// A call pattern counted over a sliding window (the campaign and CLI-rotation
/// patterns SHAKEN alone does not show).
public enum CallSignal: String, Sendable, Hashable, CaseIterable {
    /// One calling number from many origins (distinct origid/SPC/peer at
    /// verification, distinct customers at signing): a bank's number presented by a campaign.
    case oneNumberManyOrigins = "one-number-many-origins"
    /// One customer (signing) or one origid (verification) presenting many
    /// distinct calling numbers: the CLI rotation of spoofing services.
    case oneSourceManyNumbers = "one-source-many-numbers"
    /// Per upstream peer and per signer SPC: the share of calls that failed verification (percent).
    case failureShare = "failure-share"
    /// Per upstream peer and per signer SPC: the share of calls verified with attestation C (percent).
    case attestationCShare = "attestation-c-share"
    /// Per upstream peer: the share of unsigned calls presenting a national number (percent).
    case unsignedNationalShare = "unsigned-national-share"
    /// DNO and protected-number hits per source (customer or peer).
    case policyHits = "policy-hits"

    /// Whether the threshold is a share in percent (with ``SignalTrigger/minCalls``) rather than a count.
    public var isShare: Bool {
        switch self {
        case .failureShare, .attestationCShare, .unsignedNationalShare: true
        default: false
        }
    }
}

/// A trigger (`analytics.triggers[]`): a signal, its window, its threshold and what tripping does.
public struct SignalTrigger: Sendable, Hashable {
    public enum Mode: String, Sendable, Hashable {
        /// Record the alert; calls go on.
        case report
        /// Record the alert and refuse the key's calls for the rest of the window.
        case block
    }

    public var signal: CallSignal
    public var windowS: Int64
    /// A count of distinct values or hits, or for share signals a percentage (1–100).
    public var threshold: Int64
    public var mode: Mode
    /// Share signals only: calls a key needs within the window before its share counts.
    public var minCalls: Int64

    public init(signal: CallSignal, windowS: Int64, threshold: Int64, mode: Mode = .report, minCalls: Int64 = 20) {
        self.signal = signal
        self.windowS = max(1, windowS)
        self.threshold = max(1, threshold)
        self.mode = mode
        self.minCalls = max(1, minCalls)
    }
}

/// One call as the signals see it: computed by the decision flows from the
/// call's facts, the same for every face.
public struct CallObservation: Sendable, Hashable {
    /// The calling number (canonical), when it is one.
    public var orig: String?
    /// Who presented it, by the hash of its parts (at verification the origid,
    /// signer SPC and peer; at signing the customer): `one-number-many-origins`
    /// counts distinct values, and keeps only their hashes.
    public var origin: Int
    /// The source whose distinct calling numbers are counted: `customer:ID` (signing) or `origid:UUID` (verification).
    public var rotationSource: String?
    /// Keys whose shares are counted (verification): `peer:ADDRESS` and `spc:SPC`
    /// (the unsigned-national share is counted per peer only).
    public var peerKey: String?
    public var spcKey: String?
    /// Where DNO and protected-number hits are counted: `customer:ID` or `peer:ADDRESS`.
    public var hitSource: String
    public var failed: Bool
    public var attestationC: Bool
    public var unsignedNational: Bool
    /// A DNO or protected-number rule acted on the call.
    public var policyHit: Bool
    /// How the store counts `rotationSource`'s distinct numbers across nodes (by origid).
    public var rotationQuery: SignalQuery?

    /// - Parameter origin: who presented the number, hashed here (its parts, or a text naming them).
    public init(orig: String?, origin: some Hashable, rotationSource: String?, peerKey: String? = nil, spcKey: String? = nil,
                hitSource: String, failed: Bool = false, attestationC: Bool = false, unsignedNational: Bool = false,
                policyHit: Bool = false, rotationQuery: SignalQuery? = nil) {
        self.rotationQuery = rotationQuery
        self.orig = orig
        self.origin = origin.hashValue
        self.rotationSource = rotationSource
        self.peerKey = peerKey
        self.spcKey = spcKey
        self.hitSource = hitSource
        self.failed = failed
        self.attestationC = attestationC
        self.unsignedNational = unsignedNational
        self.policyHit = policyHit
    }
}

/// The triggers' sliding windows, in memory on the call path. Pure apart from
/// its lock: the time is passed in, so tests run on a fixed clock.
///
/// Distinct-value signals keep, per key, each value's last time seen, by the
/// value's hash (this process's seeded `Hasher`: 16 bytes a value, whatever its
/// length; a collision among a key's few hundred values is as good as
/// impossible and would only undercount by one); share and
/// hit signals keep ten sub-window buckets per key (the window slides in steps
/// of a tenth). Memory is bounded: at most ``maxKeys`` keys per trigger (stale
/// keys go first; past that, new keys are not tracked and counted in
/// ``droppedKeys``) and at most `max(2 × threshold, 16)` values per key.
public final class CallSignals: Sendable {
    public let triggers: [SignalTrigger]
    public let maxKeys: Int

    /// What a call met: the trigger that refuses it, and the alerts it tripped.
    public struct Outcome: Sendable {
        /// A `block` trigger tripped earlier in this window for one of the call's keys.
        public var blockedBy: CallAlert?
        public var alerts: [CallAlert] = []
    }

    /// Ten sub-window counts, inline (no allocation per key or per call).
    private struct Buckets {
        static let count = 10
        var epochs = InlineArray<10, Int64>(repeating: -1)
        var totals = InlineArray<10, Int64>(repeating: 0)
        var bads = InlineArray<10, Int64>(repeating: 0)

        mutating func add(bad: Bool, now: Int64, step: Int64) {
            let epoch = now / step
            let slot = Int(epoch % Int64(Buckets.count))
            if epochs[slot] != epoch {
                epochs[slot] = epoch
                totals[slot] = 0
                bads[slot] = 0
            }
            totals[slot] &+= 1
            if bad { bads[slot] &+= 1 }
        }

        func sums(now: Int64, step: Int64) -> (total: Int64, bad: Int64) {
            let current = now / step
            var total: Int64 = 0, bad: Int64 = 0
            for slot in 0..<Buckets.count where epochs[slot] > current - Int64(Buckets.count) && epochs[slot] <= current {
                total &+= totals[slot]
                bad &+= bads[slot]
            }
            return (total, bad)
        }
    }

    private struct KeyState {
        var lastSeen: Int64
        var trippedUntil: Int64 = Int64.min
        /// Each distinct value's hash and its last time seen.
        var values: [Int: Int64] = [:]
        var buckets: Buckets? = nil
        /// How the store counts this key across nodes (distinct-value signals).
        var query: SignalQuery? = nil
    }

    private struct State {
        var keys: [[String: KeyState]]
        var droppedKeys = 0
    }

    private let state: Mutex<State>

    public init(triggers: [SignalTrigger], maxKeys: Int = 100_000) {
        self.triggers = triggers
        self.maxKeys = max(16, maxKeys)
        state = Mutex(State(keys: Array(repeating: [:], count: triggers.count)))
    }

    /// Keys not tracked because a trigger's table was full of live keys.
    public var droppedKeys: Int { state.withLock { $0.droppedKeys } }

    /// Calls `body` with each key a trigger counts this call under, with the
    /// value (distinct signals, and how the store counts them) or whether it
    /// is a bad call (share and hit signals).
    private static func forEachKey(_ trigger: SignalTrigger, _ call: CallObservation,
                                   _ body: (_ key: String, _ value: Int?, _ bad: Bool, _ query: SignalQuery?) -> Void)
    {
        switch trigger.signal {
        case .oneNumberManyOrigins:
            if let orig = call.orig { body(orig, call.origin, false, .origins(number: orig)) }
        case .oneSourceManyNumbers:
            if let source = call.rotationSource, let orig = call.orig { body(source, orig.hashValue, false, call.rotationQuery) }
        case .failureShare:
            if let key = call.peerKey { body(key, nil, call.failed, nil) }
            if let key = call.spcKey { body(key, nil, call.failed, nil) }
        case .attestationCShare:
            if let key = call.peerKey { body(key, nil, call.attestationC, nil) }
            if let key = call.spcKey { body(key, nil, call.attestationC, nil) }
        case .unsignedNationalShare: if let key = call.peerKey { body(key, nil, call.unsignedNational, nil) }
        case .policyHits: body(call.hitSource, nil, call.policyHit, nil)
        }
    }

    /// A key the cross-node check asks the store about.
    public struct Candidate: Sendable, Hashable {
        public var trigger: Int
        public var key: String
        public var query: SignalQuery
        /// The distinct count this node saw within the window.
        public var local: Int64
    }

    /// Keys of distinct-value triggers that have not tripped, whose count on
    /// this node within the window reached half the threshold: with several
    /// nodes, the campaign may be over the threshold across them. At most
    /// `limit`, the highest counts first.
    public func candidates(now: Int64, limit: Int = 100) -> [Candidate] {
        state.withLock { state in
            var found: [Candidate] = []
            for (index, trigger) in triggers.enumerated() where !trigger.signal.isShare && trigger.signal != .policyHits {
                let horizon = now - trigger.windowS
                let floor = max(1, trigger.threshold / 2)
                for (key, entry) in state.keys[index] where now >= entry.trippedUntil && entry.lastSeen > horizon {
                    guard let query = entry.query, entry.values.count >= Int(min(floor, Int64(Int.max))) else { continue }
                    let local = Int64(entry.values.values.lazy.filter { $0 > horizon }.count)
                    if local >= floor { found.append(Candidate(trigger: index, key: key, query: query, local: local)) }
                }
            }
            return Array(found.sorted { $0.local > $1.local }.prefix(limit))
        }
    }

    /// Trips `key` of trigger `index` on a count seen across nodes; the alert,
    /// or `nil` when it already tripped in this window or the count is below the threshold.
    public func trip(trigger index: Int, key: String, count: Int64, now: Int64) -> CallAlert? {
        guard triggers.indices.contains(index) else { return nil }
        let trigger = triggers[index]
        guard count >= trigger.threshold else { return nil }
        return state.withLock { state in
            var entry = state.keys[index][key] ?? KeyState(lastSeen: now)
            guard now >= entry.trippedUntil else { return nil }
            entry.trippedUntil = now + trigger.windowS
            state.keys[index][key] = entry
            return alert(trigger, key: key, count: count, now: now)
        }
    }

    /// Counts `call` at `now`: whether a `block` trigger refuses it (tripped
    /// before this call, within its window), and the alerts this call trips.
    /// A key trips once per window: the alert is not repeated until the window
    /// after the trip has passed.
    public func observe(_ call: CallObservation, now: Int64) -> Outcome {
        guard !triggers.isEmpty else { return Outcome() }
        return state.withLock { state in
            var outcome = Outcome()
            for (index, trigger) in triggers.enumerated() {
                Self.forEachKey(trigger, call) { key, value, bad, query in
                    // A known key is counted in place through its index: one hash per key and call.
                    if let found = state.keys[index].index(forKey: key) {
                        let until = state.keys[index].values[found].trippedUntil
                        if trigger.mode == .block, now < until, outcome.blockedBy == nil {
                            outcome.blockedBy = alert(trigger, key: key, count: 0, now: until - trigger.windowS)
                        }
                        if let alert = count(trigger, key: key, value: value, bad: bad, query: query, now: now,
                                             into: &state.keys[index].values[found]) {
                            outcome.alerts.append(alert)
                        }
                        return
                    }
                    if state.keys[index].count >= maxKeys {
                        let horizon = now - trigger.windowS
                        state.keys[index] = state.keys[index].filter { $0.value.lastSeen > horizon || $0.value.trippedUntil > now }
                        if state.keys[index].count >= maxKeys {
                            state.droppedKeys += 1
                            return
                        }
                    }
                    // Counted in place: the key's values and buckets are never copied.
                    if let alert = count(trigger, key: key, value: value, bad: bad, query: query, now: now,
                                         into: &state.keys[index][key, default: KeyState(lastSeen: now)]) {
                        outcome.alerts.append(alert)
                    }
                }
            }
            return outcome
        }
    }

    private func alert(_ trigger: SignalTrigger, key: String, count: Int64, now: Int64) -> CallAlert {
        CallAlert(signal: trigger.signal.rawValue, key: key, count: count, threshold: trigger.threshold, windowS: trigger.windowS,
                  mode: trigger.mode.rawValue, at: now)
    }

    /// Adds the call to one key's window; the alert when this call trips it.
    private func count(_ trigger: SignalTrigger, key: String, value: Int?, bad: Bool, query: SignalQuery?, now: Int64,
                       into entry: inout KeyState) -> CallAlert? {
        entry.lastSeen = now
        if entry.query == nil, let query { entry.query = query }
        let measured: Int64
        if let value {
            entry.values[value] = now
            let horizon = now - trigger.windowS
            let cap = Int(max(16, min(trigger.threshold * 2, 100_000)))
            if entry.values.count >= cap || entry.values.count >= Int(min(trigger.threshold, 100_000)) {
                entry.values = entry.values.filter { $0.value > horizon }
                if entry.values.count > cap, let oldest = entry.values.min(by: { $0.value < $1.value }) {
                    entry.values[oldest.key] = nil
                }
            }
            measured = Int64(entry.values.count)
        } else {
            let step = max(1, trigger.windowS / Int64(Buckets.count))
            if entry.buckets == nil { entry.buckets = Buckets() }
            entry.buckets?.add(bad: bad, now: now, step: step)
            let (total, bads) = entry.buckets?.sums(now: now, step: step) ?? (0, 0)
            if trigger.signal.isShare {
                guard total >= trigger.minCalls else { return nil }
                measured = bads * 100 / max(1, total)
            } else {
                measured = bads
            }
        }
        guard measured >= trigger.threshold, now >= entry.trippedUntil else { return nil }
        entry.trippedUntil = now + trigger.windowS
        return alert(trigger, key: key, count: measured, now: now)
    }
}

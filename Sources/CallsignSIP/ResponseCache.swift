import Callsign
import Synchronization

/// INVITE answers kept for retransmissions (RFC 3261 §17.2.1: 32 s, or until
/// the ACK), bounded in entries and in bytes: a flood of large INVITEs evicts
/// the oldest answers instead of growing memory.
final class ResponseCache: Sendable {
    /// Entries held now (for tests).
    var count: Int { state.withLock { $0.entries.count } }
    /// Bytes held now, as counted against ``maxBytes`` (for tests and metrics).
    var bytes: Int { state.withLock { $0.bytes } }

    private struct State {
        var entries: [String: ([UInt8], Int64)] = [:]
        var order: [String] = []
        var head = 0
        var bytes = 0
    }

    private let state = Mutex(State())
    let capacity: Int
    let maxBytes: Int
    let lifetime: Int64 = 32
    /// What an entry costs besides its key and answer: the dictionary slot, the order slot, two array headers.
    static let entryOverhead = 96

    init(capacity: Int, maxBytes: Int = 32 << 20) {
        self.capacity = capacity
        self.maxBytes = maxBytes
    }

    static func cost(_ key: String, _ bytes: [UInt8]) -> Int { key.utf8.count + bytes.count + entryOverhead }

    func lookup(_ key: String, now: Int64) -> [UInt8]? {
        state.withLock { state in
            guard let (bytes, expiry) = state.entries[key], expiry >= now else { return nil }
            return bytes
        }
    }

    /// Forgets the answer for `key` (its transaction ended); its key leaves the arrival order when it comes to the front.
    func remove(_ key: String) {
        state.withLock { state in
            if let (bytes, _) = state.entries.removeValue(forKey: key) { state.bytes -= Self.cost(key, bytes) }
        }
    }

    func store(_ key: String, _ bytes: [UInt8], now: Int64) {
        let cost = Self.cost(key, bytes)
        guard cost <= maxBytes else { return }
        state.withLock { state in
            if let (old, _) = state.entries[key] { state.bytes -= Self.cost(key, old) } else { state.order.append(key) }
            state.entries[key] = (bytes, EpochTime.adding(lifetime, to: now))
            state.bytes += cost
            // Keys are in arrival order: drop the expired ones from the front, so memory
            // follows the call rate × lifetime instead of filling up to the bounds.
            while state.head < state.order.count {
                let oldest = state.order[state.head]
                if let (_, expiry) = state.entries[oldest], expiry >= now { break }
                if let (gone, _) = state.entries.removeValue(forKey: oldest) { state.bytes -= Self.cost(oldest, gone) }
                state.head += 1
            }
            while state.entries.count > capacity || state.bytes > maxBytes, state.head < state.order.count {
                let oldest = state.order[state.head]
                if let (gone, _) = state.entries.removeValue(forKey: oldest) { state.bytes -= Self.cost(oldest, gone) }
                state.head += 1
            }
            if state.head > 10_000 || (state.head > 0 && state.head * 2 > state.order.count) {
                state.order.removeFirst(state.head)
                state.head = 0
            }
        }
    }
}

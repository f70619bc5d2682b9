import Crypto
import Synchronization

/// Remembers recently verified PASSporTs (by SHA-256 of signing input and
/// signature) until their freshness window ends, to flag replays. Bounded:
/// when full, the entries closest to expiry go first.
public final class ReplayCache: Sendable {
    private struct State {
        var expiries: [SHA256Digest: Int64] = [:]
        var order: [(Int64, SHA256Digest)] = []  // insertion order, for pruning
        var head = 0
    }

    private let state = Mutex(State())
    public let capacity: Int

    public init(capacity: Int = 1_000_000) { self.capacity = max(1, capacity) }

    /// Records the PASSporT; returns whether it was already present and unexpired.
    public func seen(_ signingInput: [UInt8], signature: [UInt8], until expiry: Int64, now: Int64) -> Bool {
        var hasher = SHA256()
        hasher.update(data: signingInput)
        hasher.update(data: signature)
        let key = hasher.finalize()
        return state.withLock { state in
            // Drop expired entries from the front (cheap, amortized).
            while state.head < state.order.count, state.order[state.head].0 < now {
                let (time, old) = state.order[state.head]
                if state.expiries[old] == time { state.expiries[old] = nil }
                state.head += 1
            }
            if state.head > 4096, state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
            if let existing = state.expiries[key], existing >= now { return true }
            while state.expiries.count >= capacity, state.head < state.order.count {
                let (time, old) = state.order[state.head]
                if state.expiries[old] == time { state.expiries[old] = nil }
                state.head += 1
            }
            state.expiries[key] = expiry
            state.order.append((expiry, key))
            return false
        }
    }

    public var count: Int { state.withLock { $0.expiries.count } }
}

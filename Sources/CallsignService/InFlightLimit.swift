import Synchronization

/// A count of requests in progress with a bound, shared by every socket and
/// connection of one listener (its UDP sockets, its TCP connections): past
/// ``limit`` a request is refused at once (SIP `503` with `Retry-After`, REST
/// `503`) instead of queueing, so memory and latency stay bounded under a flood.
public final class InFlightLimit: Sendable {
    /// Requests admitted at once, at most.
    public let limit: Int
    private let count = Atomic(0)

    public init(limit: Int) { self.limit = limit }

    /// Requests in progress now.
    public var current: Int { count.load(ordering: .relaxed) }

    /// Takes a place, or `false` when all ``limit`` are taken.
    public func acquire() -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives back a place taken by ``acquire()``.
    public func release() {
        count.subtract(1, ordering: .acquiringAndReleasing)
    }
}

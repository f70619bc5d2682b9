import Metrics
import Synchronization

/// Counters made once per (label, dimensions) and reused: creating a metric
/// through the factory on every call costs a lock, a lookup and several
/// allocations. Handles are made on first use, so after `MetricsSystem.bootstrap`.
/// Bounded: label values come from closed sets (attestation, verstat, error
/// codes, rule names), and past ``capacity`` handles are made per call.
public final class CounterCache: Sendable {
    public static let shared = CounterCache()

    private let counters = Mutex([String: Counter]())
    public let capacity: Int

    public init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    /// Increments the counter `label` with `dimensions`.
    public func increment(_ label: String, _ dimensions: [(String, String)] = []) {
        var key = label
        for (name, value) in dimensions {
            key += "\u{1F}" + name + "=" + value
        }
        if let counter = counters.withLock({ $0[key] }) {
            counter.increment()
            return
        }
        let counter = Counter(label: label, dimensions: dimensions)
        counters.withLock { counters in
            if counters.count < capacity { counters[key] = counter }
        }
        counter.increment()
    }
}

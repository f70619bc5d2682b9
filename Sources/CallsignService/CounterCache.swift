import Metrics
import Synchronization

/// Counters made once per (label, dimensions) and reused: creating a metric
/// through the factory on every call costs a lock, a lookup and several
/// allocations. Handles are made on first use, so after `MetricsSystem.bootstrap`.
/// Bounded: label values come from closed sets (attestation, verstat, error
/// codes, rule names), and past ``capacity`` handles are made per call.
public final class CounterCache: Sendable {
    public static let shared = CounterCache()

    /// Handles by the hash of (label, dimensions); a bucket holds the rare collisions.
    private let counters = Mutex(Buckets())
    public let capacity: Int
    /// Whether handles made before `MetricsSystem.bootstrap` (no-op ones) are kept.
    let keepsNoOpHandles: Bool

    private struct Buckets {
        var byHash: [Int: [Entry]] = [:]
        var count = 0
    }

    private struct Entry {
        let label: String
        let dimensions: [(String, String)]
        let counter: Counter

        func matches(_ label: String, _ dimensions: [(String, String)]) -> Bool {
            self.label == label && self.dimensions.count == dimensions.count
                && zip(self.dimensions, dimensions).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        }
    }

    /// - Parameter keepsNoOpHandles: keep handles made before `MetricsSystem.bootstrap`; the shared
    ///   cache does not, so a call counted before a later bootstrap (a test run) does not hide the counter.
    public init(capacity: Int = 4096, keepsNoOpHandles: Bool = false) {
        self.capacity = capacity
        self.keepsNoOpHandles = keepsNoOpHandles
    }

    /// Whether a handle made now may be kept. Not before `MetricsSystem.bootstrap`
    /// (unless ``keepsNoOpHandles``): a handle of the no-op factory would hide the
    /// counter from the registry bootstrapped later (a process running calls
    /// before serving, such as a test run).
    var keepsHandles: Bool { keepsNoOpHandles || !(MetricsSystem.factory is NOOPMetricsHandler) }

    /// Increments the counter `label` with `dimensions`.
    public func increment(_ label: String, _ dimensions: [(String, String)] = []) {
        handle(label, dimensions).increment()
    }

    /// The one handle for (`label`, `dimensions`), made on first use; past
    /// ``capacity`` keys a new handle each call (not kept).
    func handle(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        // Looked up by a hash of the parts: no key string built per call.
        var hasher = Hasher()
        hasher.combine(label)
        for (name, value) in dimensions {
            hasher.combine(name)
            hasher.combine(value)
        }
        let hash = hasher.finalize()
        let found = counters.withLock { counters in
            counters.byHash[hash]?.first(where: { $0.matches(label, dimensions) })?.counter
        }
        if let found { return found }
        let made = Counter(label: label, dimensions: dimensions)
        if !keepsHandles { return made }
        return counters.withLock { counters -> Counter in
            // Another thread may have made it meanwhile: keep one handle per key.
            if let existing = counters.byHash[hash]?.first(where: { $0.matches(label, dimensions) }) { return existing.counter }
            guard counters.count < capacity else { return made }
            counters.count += 1
            counters.byHash[hash, default: []].append(Entry(label: label, dimensions: dimensions, counter: made))
            return made
        }
    }
}

/// One label's counters looked up by a typed key made of the dimensions'
/// values, so a call builds no dimensions array: the array is made once per
/// key, on first use, through ``CounterCache/shared``, and kept when that cache
/// would keep it (``CounterCache/keepsHandles``).
/// Bounded like the cache: past `capacity` keys, the shared cache answers.
final class CounterTable<Key: Hashable & Sendable>: Sendable {
    let label: String
    let dimensions: @Sendable (Key) -> [(String, String)]
    let capacity: Int
    private let table = Mutex([Key: Counter]())

    init(_ label: String, capacity: Int = 1024, dimensions: @escaping @Sendable (Key) -> [(String, String)]) {
        self.label = label
        self.capacity = capacity
        self.dimensions = dimensions
    }

    func increment(_ key: Key) {
        if let counter = table.withLock({ $0[key] }) {
            counter.increment()
            return
        }
        let counter = CounterCache.shared.handle(label, dimensions(key))
        if CounterCache.shared.keepsHandles {
            table.withLock { if $0.count < capacity { $0[key] = counter } }
        }
        counter.increment()
    }
}

import Synchronization

/// A policy shared by the faces of one process whose DNO list can be
/// replaced while calls are handled (after an API change, or a periodic
/// reload from a store shared by several nodes).
public final class PolicyBox: Sendable {
    private let policy: Mutex<CallPolicy>

    public init(_ policy: CallPolicy) { self.policy = Mutex(policy) }

    public func evaluate(_ facts: CallFacts) -> PolicyDecision { policy.withLock { $0.evaluate(facts) } }

    /// Replaces the DNO list (the rules stay).
    public func replaceDNO(_ list: DNOList) { policy.withLock { $0.dno = list } }

    public var current: CallPolicy { policy.withLock { $0 } }
}

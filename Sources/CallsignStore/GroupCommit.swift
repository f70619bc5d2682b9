public import Callsign
import Foundation
import Synchronization

/// Traceback records written by group commit: concurrent signings share one
/// store transaction instead of one each, and every caller still returns
/// only after the transaction holding its record committed — a signed call is
/// never answered before it can be traced back by its `origid` (the RFC 8588
/// claim identifying the origination point for traceback; the durability
/// test kills the server with SIGKILL and finds every answered call).
///
/// No background task: the first caller becomes the leader and writes its
/// records with everything queued by then; callers arriving during that
/// write queue up, and when it ends the first of them leads the next batch.
/// At low load a batch is one call (no added latency); under load batches
/// grow to ``maxBatch`` records and the write rate stops being the limit.
/// A leader whose task is cancelled mid-write (the store stops with it) fails
/// alone: the callers in its batch go first into the next transaction.
///
/// Callers that cannot suspend (a SwiftNIO event loop answering a request on
/// the thread that read it) use ``enqueue(_:completion:)`` instead: their
/// records join the same batches, and ``run()`` — a long-lived service task
/// in the server's service group — leads the batches they start.
///
/// This is the traceback path of the PostgreSQL store. With a ``journal``
/// (the SQLite store) records are made durable by a journal append instead,
/// and no caller waits for a transaction.
public final class GroupCommitRecorder: Sendable {
    private enum Outcome: Sendable {
        case written
        case failed(String)
        case lead
    }

    /// What a caller is told when its records committed (or did not).
    public typealias Completion = @Sendable (Result<Void, StoreError>) -> Void

    private enum Waiter {
        case task([SignedCallRecord], CheckedContinuation<Outcome, Never>)
        case callback([SignedCallRecord], Completion)

        var calls: [SignedCallRecord] {
            switch self {
            case .task(let calls, _), .callback(let calls, _): calls
            }
        }

        func finish(_ failure: (any Error)?) {
            switch self {
            case .task(_, let continuation):
                continuation.resume(returning: failure.map { .failed(String(describing: $0)) } ?? .written)
            case .callback(_, let completion):
                completion(failure.map { .failure(StoreError(.writeFailed, String(describing: $0))) } ?? .success(()))
            }
        }
    }

    private struct State {
        /// Someone holds the lead (a caller's task, or the writer).
        var writing = false
        var queue: [Waiter] = []
        var batches = 0
        var records = 0
        /// ``run()`` is running: ``enqueue(_:completion:)`` is accepted.
        var writerRunning = false
        /// The writer, parked until it is handed the lead.
        var writerParked: CheckedContinuation<Bool, Never>?
        /// The lead was handed to the writer while it was not parked.
        var writerHasLead = false

        /// The lead is the writer's, but it is woken only by ``GroupCommitRecorder/wakeDeferredWriter()``
        /// (an event loop queues all the signings it read in one pass before the writer starts).
        var deferredLead = false

        /// Gives the lead to the writer: how to wake it.
        mutating func handLeadToWriter() -> WriterWake? {
            if let parked = writerParked {
                writerParked = nil
                return .resume(parked)
            }
            writerHasLead = true
            return nil
        }
    }

    /// How a writer handed the lead is woken.
    private enum WriterWake {
        case resume(CheckedContinuation<Bool, Never>)
    }

    private func fire(_ wake: WriterWake?) {
        switch wake {
        case .resume(let continuation)?: continuation.resume(returning: true)
        case nil: break
        }
    }

    private let state = Mutex(State())
    public let store: any CallsignStore
    /// Most callers joined in one transaction.
    public let maxBatch: Int

    /// When set, records are made durable by an append to this journal on
    /// the caller's thread and moved into the store by the journal's own
    /// thread (``run()`` runs it): no caller waits for a transaction.
    public let journal: TracebackJournal?

    public init(store: any CallsignStore, maxBatch: Int = 256, journal: TracebackJournal? = nil) {
        self.store = store
        self.maxBatch = max(1, maxBatch)
        self.journal = journal
    }

    /// With a ``journal``: appends `calls` to it on the calling thread and
    /// tells whether they are durable (`true`: answer the call; `false`: the
    /// append failed, do not sign). `nil` without a journal: use
    /// ``enqueue(_:deferringWake:completion:)`` or ``record(_:)``.
    public func recordImmediately(_ calls: [SignedCallRecord]) -> Bool? {
        guard let journal else { return nil }
        do {
            try journal.append(calls)
            return true
        } catch {
            return false
        }
    }

    /// Records `calls`, returning once they are committed (with a
    /// ``journal``: once they are appended to it).
    /// - Throws: the store's error (or ``StoreError`` for a batch led by
    ///   another caller) when the transaction failed; nothing of it was kept.
    public func record(_ calls: [SignedCallRecord]) async throws {
        if let journal {
            try journal.append(calls)
            return
        }
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            let lead = state.withLock { state -> Bool in
                if state.writing {
                    state.queue.append(.task(calls, continuation))
                    return false
                }
                state.writing = true
                return true
            }
            if lead { continuation.resume(returning: .lead) }
        }
        switch outcome {
        case .written: return
        case .failed(let reason): throw StoreError(.writeFailed, reason)
        case .lead: try await lead(calls)
        }
    }

    /// Queues `calls` without suspending; `completion` runs (on the writer's
    /// thread) once the transaction holding them committed or failed — the
    /// caller answers its call only then. Returns `false`, with nothing
    /// queued, when ``run()`` is not running (use ``record(_:)``).
    ///
    /// With `deferringWake`, a writer handed the lead by this call is not
    /// woken yet: the caller promises to call ``wakeDeferredWriter()`` soon
    /// (an event loop does it once it has handled everything it read in this
    /// pass), so records read together start one transaction instead of
    /// waking the writer for the first of them and queueing the rest.
    public func enqueue(_ calls: [SignedCallRecord], deferringWake: Bool = false, completion: @escaping Completion) -> Bool {
        if let journaled = recordImmediately(calls) {
            guard journal?.isOpen == true || journaled else { return false }
            completion(journaled ? .success(()) : .failure(StoreError(.journalUnavailable, "traceback journal append failed")))
            return true
        }
        let (accepted, wake) = state.withLock { state -> (Bool, WriterWake?) in
            guard state.writerRunning else { return (false, nil) }
            state.queue.append(.callback(calls, completion))
            if state.writing { return (true, nil) }
            state.writing = true
            if deferringWake {
                state.deferredLead = true
                return (true, nil)
            }
            return (true, state.handLeadToWriter())
        }
        fire(wake)
        return accepted
    }

    /// What ``enqueueDeferringWake(_:completion:)`` did with a record.
    public enum DeferredEnqueue: Sendable, Equatable {
        /// No writer runs (shutdown): nothing was queued, the completion will not run.
        case refused
        /// Queued behind a write in progress or a wake another caller owes.
        case queued
        /// Queued, and the lead is held for the writer: this caller owes one
        /// ``GroupCommitRecorder/wakeDeferredWriter()`` (at the end of its event loop's pass).
        case wakeOwed
    }

    /// ``enqueue(_:deferringWake:completion:)`` with a deferred wake, telling
    /// the caller whether it owes the wake: an event loop that queues many
    /// records in one pass schedules one wake for them, not one per record.
    public func enqueueDeferringWake(_ calls: [SignedCallRecord], completion: @escaping Completion) -> DeferredEnqueue {
        if let journaled = recordImmediately(calls) {
            guard journal?.isOpen == true || journaled else { return .refused }
            completion(journaled ? .success(()) : .failure(StoreError(.journalUnavailable, "traceback journal append failed")))
            return .queued
        }
        return state.withLock { state -> DeferredEnqueue in
            guard state.writerRunning else { return .refused }
            state.queue.append(.callback(calls, completion))
            if state.writing { return .queued }
            state.writing = true
            state.deferredLead = true
            return .wakeOwed
        }
    }

    /// Wakes the writer handed the lead by an ``enqueue(_:deferringWake:completion:)``
    /// that deferred it; nothing when there is none (safe to call more than once).
    public func wakeDeferredWriter() {
        let wake = state.withLock { state -> WriterWake? in
            guard state.deferredLead else { return nil }
            state.deferredLead = false
            return state.handLeadToWriter()
        }
        fire(wake)
    }

    /// Whether ``enqueue(_:completion:)`` is accepted now.
    public var acceptsCallbacks: Bool {
        if let journal { return journal.isOpen }
        return state.withLock { $0.writerRunning }
    }

    /// Leads the batches started by ``enqueue(_:completion:)`` callers until
    /// the task is cancelled (graceful shutdown). Callbacks still queued then
    /// are failed; callers that can suspend are unaffected.
    public func run() async {
        if let journal {
            await journal.run()
            return
        }
        await runTask()
        stopWriter()
    }

    /// The writer as a task: parked on a continuation until handed the lead.
    private func runTask() async {
        state.withLock { $0.writerRunning = true }
        while true {
            let go: Bool = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                    let now: Bool? = state.withLock { state in
                        if Task.isCancelled { return false }
                        if state.writerHasLead {
                            state.writerHasLead = false
                            return true
                        }
                        state.writerParked = continuation
                        return nil
                    }
                    if let now { continuation.resume(returning: now) }
                }
            } onCancel: {
                let parked = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                    defer { state.writerParked = nil }
                    return state.writerParked
                }
                parked?.resume(returning: false)
            }
            guard go else { break }
            try? await lead([])
        }
    }

    /// Stopping: refuse new callbacks, fail the queued ones, and pass on a lead handed to the writer.
    private func stopWriter() {
        let (failed, next) = state.withLock { state -> ([Waiter], Waiter?) in
            state.writerRunning = false
            var failed: [Waiter] = []
            var kept: [Waiter] = []
            for waiter in state.queue {
                if case .callback = waiter { failed.append(waiter) } else { kept.append(waiter) }
            }
            state.queue = kept
            guard state.writerHasLead || state.deferredLead else { return (failed, nil) }
            state.writerHasLead = false
            state.deferredLead = false
            if state.queue.isEmpty {
                state.writing = false
                return (failed, nil)
            }
            return (failed, state.queue.removeFirst())
        }
        for waiter in failed { waiter.finish(StoreError(.writerStopped, "traceback writer stopped")) }
        if case .task(_, let continuation)? = next { continuation.resume(returning: .lead) }
    }

    /// Writes the leader's calls with the queued ones, answers the batch, and
    /// hands the lead to the first caller that queued meanwhile (the writer
    /// when that caller cannot suspend).
    private func lead(_ calls: [SignedCallRecord]) async throws {
        let batch = state.withLock { state -> [Waiter] in
            let count = min(state.queue.count, maxBatch - (calls.isEmpty ? 0 : 1))
            let taken = Array(state.queue.prefix(count))
            state.queue.removeFirst(count)
            return taken
        }
        var all = calls
        for waiter in batch { all += waiter.calls }
        var failure: (any Error)?
        if !all.isEmpty {
            do {
                try await store.record(all)
            } catch {
                failure = error
            }
        }
        let leaderCancelled = failure != nil && Task.isCancelled
        state.withLock { state in
            state.batches += 1
            if failure == nil { state.records += all.count }
            // Only the leader was cancelled (its write stopped with it): the others'
            // records go, first in line, into the next transaction instead of failing.
            if leaderCancelled { state.queue.insert(contentsOf: batch, at: 0) }
        }
        if !leaderCancelled {
            for waiter in batch { waiter.finish(failure) }
        }
        let (next, wakeWriter) = state.withLock { state -> (Waiter?, WriterWake?) in
            guard let first = state.queue.first else {
                state.writing = false
                return (nil, nil)
            }
            if case .callback = first {
                return (nil, state.handLeadToWriter())
            }
            state.queue.removeFirst()
            return (first, nil)
        }
        if case .task(_, let continuation)? = next { continuation.resume(returning: .lead) }
        fire(wakeWriter)
        if let failure { throw failure }
    }

    /// Records `calls` through `recorder` when there is one, else in a transaction of their own.
    public static func record(_ calls: [SignedCallRecord], via recorder: GroupCommitRecorder?, store: any CallsignStore) async throws {
        if let recorder { try await recorder.record(calls) } else { try await store.record(calls) }
    }

    /// Transactions and records written so far (records per batch shows the grouping).
    public var statistics: (batches: Int, records: Int) {
        if let journal {
            let moved = journal.statistics
            return (moved.transactions, moved.records)
        }
        return state.withLock { ($0.batches, $0.records) }
    }
}

/// Wakes a writer thread (the group-commit writer, the traceback journal's
/// indexer): a flag under a condition variable.
final class WriterSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending = false  // guarded by `condition`
    private var stopped = false  // guarded by `condition`

    /// Ready to run again after ``stop()``; `keepingSignal` keeps a signal sent meanwhile.
    func reset(keepingSignal: Bool = false) {
        condition.lock()
        if !keepingSignal { pending = false }
        stopped = false
        condition.unlock()
    }

    func signal() {
        condition.lock()
        pending = true
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    /// Waits for a signal (or until `timeout` passes): `true` when signalled
    /// or timed out, `false` once stopped.
    func wait(timeout: Duration? = nil) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if let timeout {
            let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
            let deadline = Date(timeIntervalSinceNow: seconds)
            while !pending && !stopped {
                if !condition.wait(until: deadline) { break }
            }
        } else {
            while !pending && !stopped { condition.wait() }
        }
        pending = false
        return !stopped
    }
}

/// A short-lived, bounded cache of customer lookups (by API-token hash for
/// REST, by customer id for SIP trunks), so signing does not read the store
/// per call. A revoked token or a changed customer takes effect within
/// ``lifetime`` seconds (at once after ``invalidateAll()``). Unknown tokens
/// are cached too, so a flood of bad tokens cannot turn into one database
/// read each.
public final class CustomerCache: Sendable {
    private struct Entry {
        var customer: Customer?
        var until: Int64
    }

    private let entries = Mutex([[UInt8]: Entry]())
    public let lifetime: Int64
    public let capacity: Int

    public init(lifetime: Int64 = 5, capacity: Int = 10_000) {
        self.lifetime = max(0, lifetime)
        self.capacity = max(1, capacity)
    }

    /// The customer for `key`, from the cache when looked up less than
    /// ``lifetime`` seconds ago, else from `load` (errors are not cached).
    public func customer(key: [UInt8], now: Int64, load: () async throws -> Customer?) async throws -> Customer? {
        if let entry = entries.withLock({ $0[key] }), now < entry.until {
            return entry.customer
        }
        let customer = try await load()
        guard lifetime > 0 else { return customer }
        entries.withLock { entries in
            if entries[key] == nil, entries.count >= capacity {
                entries = entries.filter { $0.value.until > now }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[key] = Entry(customer: customer, until: now + lifetime)
        }
        return customer
    }

    /// The cached lookup for `key` when it is fresh at `now`: `.some(nil)` is
    /// a cached "no such token"; `nil` means not cached (ask ``customer(key:now:load:)``).
    public func cachedCustomer(key: [UInt8], now: Int64) -> Customer?? {
        guard let entry = entries.withLock({ $0[key] }), now < entry.until else { return nil }
        return .some(entry.customer)
    }

    /// The customer from `cache` when there is one, else straight from `load`.
    public static func customer(_ cache: CustomerCache?, key: [UInt8], now: Int64,
                                load: () async throws -> Customer?) async throws -> Customer? {
        guard let cache else { return try await load() }
        return try await cache.customer(key: key, now: now, load: load)
    }

    /// Forgets every lookup (after a token was revoked or a customer changed).
    public func invalidateAll() {
        entries.withLock { $0.removeAll() }
    }
}

import Callsign
import CallsignStore
import Foundation
import GRDB
import Synchronization
import Testing

/// Forwards every store call to `forwarded`; the test stores below override what they control.
class ForwardingStore: CallsignStore, @unchecked Sendable {
    let forwarded: any CallsignStore

    init(forwardingTo inner: any CallsignStore) { forwarded = inner }

    func record(_ calls: [SignedCallRecord]) async throws { try await forwarded.record(calls) }
    func customer(tokenHash: [UInt8]) async throws -> Customer? { try await forwarded.customer(tokenHash: tokenHash) }
    func saveCustomer(_ customer: Customer) async throws { try await forwarded.saveCustomer(customer) }
    func customer(id: String) async throws -> Customer? { try await forwarded.customer(id: id) }
    func addToken(hash: [UInt8], customerID: String, now: Int64) async throws { try await forwarded.addToken(hash: hash, customerID: customerID, now: now) }
    func revokeToken(hash: [UInt8], now: Int64) async throws { try await forwarded.revokeToken(hash: hash, now: now) }
    func recordVerified(_ calls: [VerifiedCallRecord]) async throws { try await forwarded.recordVerified(calls) }
    func calls(number: String, since: Int64?, until: Int64?, limit: Int) async throws -> [CallRecord] {
        try await forwarded.calls(number: number, since: since, until: until, limit: limit)
    }
    func pruneVerified(before: Int64) async throws -> Int { try await forwarded.pruneVerified(before: before) }
    func addRollups(_ rollups: [CallRollup]) async throws { try await forwarded.addRollups(rollups) }
    func rollups(since: Int64) async throws -> [CallRollup] { try await forwarded.rollups(since: since) }
    func pruneRollups(before: Int64) async throws { try await forwarded.pruneRollups(before: before) }
    func saveAlert(_ alert: CallAlert) async throws -> Bool { try await forwarded.saveAlert(alert) }
    func signalCount(_ query: SignalQuery, since: Int64) async throws -> Int { try await forwarded.signalCount(query, since: since) }
    func alerts(limit: Int) async throws -> [CallAlert] { try await forwarded.alerts(limit: limit) }
    func traceback(origid: String, since: Int64?, until: Int64?, limit: Int) async throws -> [SignedCallRecord] {
        try await forwarded.traceback(origid: origid, since: since, until: until, limit: limit)
    }
    func importDNO(_ entries: [DNOEntry], replace: Bool, now: Int64, progress: (@Sendable (Int) -> Void)?) async throws {
        try await forwarded.importDNO(entries, replace: replace, now: now, progress: progress)
    }
    func removeDNO(_ value: String) async throws -> Bool { try await forwarded.removeDNO(value) }
    func listDNO(limit: Int, after: String?) async throws -> [DNOEntry] { try await forwarded.listDNO(limit: limit, after: after) }
    func loadDNO() async throws -> DNOList { try await forwarded.loadDNO() }
    func importProtected(_ entries: [ProtectedNumber], replace: Bool, now: Int64) async throws {
        try await forwarded.importProtected(entries, replace: replace, now: now)
    }
    func removeProtected(_ entry: String) async throws -> Bool { try await forwarded.removeProtected(entry) }
    func listProtected(limit: Int, after: String?) async throws -> [ProtectedNumber] { try await forwarded.listProtected(limit: limit, after: after) }
    func loadProtected() async throws -> ProtectedNumbers { try await forwarded.loadProtected() }
    func cachedCertificate(url: String, now: Int64) async throws -> [UInt8]? { try await forwarded.cachedCertificate(url: url, now: now) }
    func saveCertificate(url: String, body: [UInt8], expires: Int64) async throws { try await forwarded.saveCertificate(url: url, body: body, expires: expires) }
}

/// A store that forwards to SQLite but can be told to fail or slow down traceback writes.
final class ControlledStore: ForwardingStore, @unchecked Sendable {
    let inner: SQLiteStore
    let failWrites = Mutex(false)
    let transactions = Mutex(0)
    let customerReads = Mutex(0)
    let writeDelay = Mutex(Duration.milliseconds(2))

    init() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-group-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        inner = try SQLiteStore(path: dir.appendingPathComponent("db.sqlite").path)
        super.init(forwardingTo: inner)
    }

    override func record(_ calls: [SignedCallRecord]) async throws {
        transactions.withLock { $0 += 1 }
        try await Task.sleep(for: writeDelay.withLock { $0 })  // a slow disk: callers pile up behind the write (and a cancelled task stops here)
        if failWrites.withLock({ $0 }) { throw CocoaError(.fileWriteUnknown) }
        try await inner.record(calls)
    }

    override func customer(tokenHash: [UInt8]) async throws -> Customer? {
        customerReads.withLock { $0 += 1 }
        return try await inner.customer(tokenHash: tokenHash)
    }
}

@Suite("Group commit of traceback records, cached customer lookups")
struct GroupCommitTests {
    static let origid = "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"

    static func call(_ index: Int) -> SignedCallRecord {
        SignedCallRecord(time: 1_700_000_000 + Int64(index), orig: "1215555\(String(format: "%04d", index))", dest: ["12125551213"],
                         attestation: .full, origid: origid, customerID: "bank")
    }

    @Test("200 concurrent signings share a few transactions, and each returns only once its record is stored")
    func concurrentCallsShareTransactions() async throws {
        let store = try ControlledStore()
        let recorder = GroupCommitRecorder(store: store)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    try await recorder.record([Self.call(index)])
                    // Answered: the record must be readable now.
                    let stored = try await store.traceback(origid: Self.origid, since: 1_700_000_000 + Int64(index),
                                                           until: 1_700_000_000 + Int64(index), limit: 10)
                    #expect(stored.count == 1)
                }
            }
            try await group.waitForAll()
        }
        let stats = recorder.statistics
        #expect(stats.records == 200)
        #expect(stats.batches < 100, "\(stats.batches) transactions for 200 records")
        #expect(store.transactions.withLock { $0 } == stats.batches)
        #expect(try await store.traceback(origid: Self.origid, since: nil, until: nil, limit: 1000).count == 200)
    }

    @Test("one caller alone is written at once, in its own transaction")
    func aloneIsImmediate() async throws {
        let store = try ControlledStore()
        let recorder = GroupCommitRecorder(store: store)
        try await recorder.record([Self.call(1)])
        try await recorder.record([Self.call(2)])
        #expect(recorder.statistics.batches == 2)
        #expect(recorder.statistics.records == 2)
    }

    @Test("when the transaction fails every caller in it gets the error, and the recorder goes on afterwards")
    func failureReachesEveryCaller() async throws {
        let store = try ControlledStore()
        store.failWrites.withLock { $0 = true }
        let recorder = GroupCommitRecorder(store: store)
        let failures = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<50 {
                group.addTask {
                    do { try await recorder.record([Self.call(index)]) } catch { return true }
                    return false
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 50)
        #expect(try await store.traceback(origid: Self.origid, since: nil, until: nil, limit: 1000).isEmpty)
        store.failWrites.withLock { $0 = false }
        try await recorder.record([Self.call(99)])
        #expect(try await store.traceback(origid: Self.origid, since: nil, until: nil, limit: 1000).count == 1)
    }

    @Test("when the leading caller is cancelled during its write, the callers in its batch are recorded by the next one")
    func cancelledLeaderDoesNotFailOthers() async throws {
        let store = try ControlledStore()
        store.writeDelay.withLock { $0 = .milliseconds(600) }
        let recorder = GroupCommitRecorder(store: store)
        // A first write holds the store; A, B and C queue behind it. When it ends, A leads
        // a transaction holding B and C too — and A's task is cancelled during that write.
        let first = Task { try await recorder.record([Self.call(0)]) }
        try await Task.sleep(for: .milliseconds(50))
        let leader = Task { try await recorder.record([Self.call(1)]) }
        try await Task.sleep(for: .milliseconds(20))
        async let second: Void = recorder.record([Self.call(2)])
        async let third: Void = recorder.record([Self.call(3)])
        try await first.value
        try await Task.sleep(for: .milliseconds(100))  // A is writing A + B + C
        leader.cancel()
        await #expect(throws: CancellationError.self) { try await leader.value }
        try await second
        try await third
        let stored = try await store.traceback(origid: Self.origid, since: nil, until: nil, limit: 10).map(\.time)
        #expect(Set(stored) == [1_700_000_000, 1_700_000_002, 1_700_000_003])
    }

    @Test("customer lookups are cached for their lifetime, unknown tokens too, and invalidateAll forgets them")
    func customerCache() async throws {
        let store = try ControlledStore()
        let bank = Customer(id: "bank", name: "Bank", origid: Self.origid, numbers: [NumberBlock(start: "12155550000", count: 100)])
        try await store.saveCustomer(bank)
        let token = APIToken.hash("cs_test")
        try await store.addToken(hash: token, customerID: "bank", now: 100)
        let cache = CustomerCache(lifetime: 5, capacity: 2)
        for now in [100, 101, 104] as [Int64] {
            #expect(try await cache.customer(key: token, now: now) { try await store.customer(tokenHash: token) } == bank)
        }
        #expect(store.customerReads.withLock { $0 } == 1)
        // Revoked in the store: still served until the lifetime ends, then refused.
        try await store.revokeToken(hash: token, now: 104)
        #expect(try await cache.customer(key: token, now: 104) { try await store.customer(tokenHash: token) } == bank)
        #expect(try await cache.customer(key: token, now: 105) { try await store.customer(tokenHash: token) } == nil)
        #expect(try await cache.customer(key: token, now: 106) { try await store.customer(tokenHash: token) } == nil)
        #expect(store.customerReads.withLock { $0 } == 2)
        cache.invalidateAll()
        _ = try await cache.customer(key: token, now: 106) { try await store.customer(tokenHash: token) }
        #expect(store.customerReads.withLock { $0 } == 3)
        // Bounded: more keys than the capacity never grow it past the capacity.
        for index in 0..<10 {
            _ = try await cache.customer(key: [UInt8(index)], now: 106) { nil }
        }
    }
}

/// Callers on an event loop cannot suspend: they queue with a completion and
/// the recorder's writer task leads their batches.
@Suite("Group commit for callers that cannot suspend (writer task)")
struct GroupCommitWriterTests {
    /// Collects completions from any thread and lets a test wait for them.
    final class Completions: Sendable {
        let results = Mutex([Int: Bool]())
        func add(_ index: Int, _ ok: Bool) { results.withLock { $0[index] = ok } }
        func wait(for count: Int) async throws {
            for _ in 0..<500 where results.withLock({ $0.count }) < count { try await Task.sleep(for: .milliseconds(10)) }
        }
    }

    /// Runs `body` while `recorder`'s writer runs, then stops the writer.
    static func withWriter(_ recorder: GroupCommitRecorder, _ body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await recorder.run() }
            while !recorder.acceptsCallbacks { try await Task.sleep(for: .milliseconds(1)) }
            try await body()
            group.cancelAll()
        }
    }

    @Test("without a running writer, enqueue refuses (the caller takes the suspending path)")
    func refusedWithoutWriter() throws {
        let recorder = GroupCommitRecorder(store: try ControlledStore())
        #expect(!recorder.acceptsCallbacks)
        #expect(!recorder.enqueue([GroupCommitTests.call(1)]) { _ in Issue.record("completion must not run") })
    }

    @Test("queued records commit in shared transactions, each completion after its record is readable")
    func writerCommitsBatches() async throws {
        let store = try ControlledStore()
        let recorder = GroupCommitRecorder(store: store)
        let completions = Completions()
        try await Self.withWriter(recorder) {
            for index in 0..<300 {
                let call = GroupCommitTests.call(index)
                #expect(recorder.enqueue([call]) { result in
                    completions.add(index, (try? result.get()) != nil)
                })
            }
            try await completions.wait(for: 300)
        }
        #expect(completions.results.withLock { $0.values.allSatisfy { $0 } && $0.count == 300 })
        let stored = try await store.traceback(origid: GroupCommitTests.origid, since: nil, until: nil, limit: 1000)
        #expect(stored.count == 300)
        // Batches form behind the 2 ms write: far fewer transactions than records.
        #expect(store.transactions.withLock { $0 } < 100)
        #expect(!recorder.acceptsCallbacks)
    }

    @Test("callers that suspend and callers that queue share batches and all commit")
    func mixedCallers() async throws {
        let store = try ControlledStore()
        let recorder = GroupCommitRecorder(store: store)
        let completions = Completions()
        try await Self.withWriter(recorder) {
            try await withThrowingTaskGroup(of: Void.self) { callers in
                for index in 0..<100 {
                    callers.addTask { try await recorder.record([GroupCommitTests.call(1000 + index)]) }
                    _ = recorder.enqueue([GroupCommitTests.call(index)]) { result in completions.add(index, (try? result.get()) != nil) }
                }
                try await callers.waitForAll()
            }
            try await completions.wait(for: 100)
        }
        #expect(completions.results.withLock { $0.count == 100 && $0.values.allSatisfy { $0 } })
        let stored = try await store.traceback(origid: GroupCommitTests.origid, since: nil, until: nil, limit: 1000)
        #expect(stored.count == 200)
    }

    @Test("a failed transaction fails its queued callers, and the writer goes on with the next batch")
    func failureReachesCallbacks() async throws {
        let store = try ControlledStore()
        let recorder = GroupCommitRecorder(store: store)
        let completions = Completions()
        try await Self.withWriter(recorder) {
            store.failWrites.withLock { $0 = true }
            _ = recorder.enqueue([GroupCommitTests.call(1)]) { result in completions.add(1, (try? result.get()) != nil) }
            try await completions.wait(for: 1)
            store.failWrites.withLock { $0 = false }
            _ = recorder.enqueue([GroupCommitTests.call(2)]) { result in completions.add(2, (try? result.get()) != nil) }
            try await completions.wait(for: 2)
        }
        #expect(completions.results.withLock { $0 } == [1: false, 2: true])
        let stored = try await store.traceback(origid: GroupCommitTests.origid, since: nil, until: nil, limit: 10)
        #expect(stored.map(\.orig) == [GroupCommitTests.call(2).orig])
    }

    @Test("after the writer stops, suspending callers still lead their own transactions")
    func suspendingCallersAfterStop() async throws {
        let store = try ControlledStore()
        let recorder = GroupCommitRecorder(store: store)
        try await Self.withWriter(recorder) {}
        try await recorder.record([GroupCommitTests.call(7)])
        let stored = try await store.traceback(origid: GroupCommitTests.origid, since: nil, until: nil, limit: 10)
        #expect(stored.count == 1)
    }
}

/// A store that counts its transactions and can be made to fail them.
final class CountingStore: ForwardingStore, @unchecked Sendable {
    let inner: ControlledStore
    let failWrites = Mutex(false)
    let transactions = Mutex(0)
    let asyncTransactions = Mutex(0)

    init() throws {
        inner = try ControlledStore()
        super.init(forwardingTo: inner)
    }

    override func record(_ calls: [SignedCallRecord]) async throws {
        transactions.withLock { $0 += 1 }
        asyncTransactions.withLock { $0 += 1 }
        if failWrites.withLock({ $0 }) { throw CocoaError(.fileWriteUnknown) }
        try await inner.inner.record(calls)
    }

    func stored() async throws -> [SignedCallRecord] {
        try await inner.traceback(origid: GroupCommitTests.origid, since: nil, until: nil, limit: 10_000)
    }
}

@Suite("Group commit with a deferred wake (an event loop queues a pass's signings, then wakes the writer once)")
struct GroupCommitDeferredWakeTests {
    typealias Completions = GroupCommitWriterTests.Completions

    @Test("records queued with a deferred wake wait for wakeDeferredWriter, then commit together in one transaction")
    func deferredWakeBatchesTogether() async throws {
        let store = try CountingStore()
        let recorder = GroupCommitRecorder(store: store)
        let completions = Completions()
        try await GroupCommitWriterTests.withWriter(recorder) {
            for index in 0..<20 {
                #expect(recorder.enqueue([GroupCommitTests.call(index)], deferringWake: true) { result in
                    completions.add(index, (try? result.get()) != nil)
                })
            }
            try await Task.sleep(for: .milliseconds(50))
            #expect(completions.results.withLock { $0.isEmpty }, "nothing is written before the wake")
            #expect(store.transactions.withLock { $0 } == 0)
            recorder.wakeDeferredWriter()
            recorder.wakeDeferredWriter()  // a second wake finds nothing to do
            try await completions.wait(for: 20)
        }
        #expect(completions.results.withLock { $0.count == 20 && $0.values.allSatisfy { $0 } })
        #expect(store.transactions.withLock { $0 } == 1)
        #expect(try await store.stored().count == 20)
    }

    @Test("enqueueDeferringWake: the first record owes the wake, the rest queue behind it, all commit in one transaction; refused once stopped")
    func deferredEnqueueOutcomes() async throws {
        let store = try CountingStore()
        let recorder = GroupCommitRecorder(store: store)
        let completions = Completions()
        var outcomes: [GroupCommitRecorder.DeferredEnqueue] = []
        try await GroupCommitWriterTests.withWriter(recorder) {
            for index in 0..<10 {
                outcomes.append(recorder.enqueueDeferringWake([GroupCommitTests.call(index)]) { result in
                    completions.add(index, (try? result.get()) != nil)
                })
            }
            try await Task.sleep(for: .milliseconds(20))
            #expect(store.transactions.withLock { $0 } == 0, "nothing is written before the owed wake")
            recorder.wakeDeferredWriter()
            try await completions.wait(for: 10)
        }
        #expect(outcomes == [.wakeOwed] + Array(repeating: .queued, count: 9))
        #expect(store.transactions.withLock { $0 } == 1)
        #expect(recorder.enqueueDeferringWake([GroupCommitTests.call(99)]) { _ in Issue.record("completion must not run") } == .refused)
    }

    @Test("a writer stopped while its wake is deferred fails the queued callbacks, and suspending callers still lead")
    func stopWhileWakeDeferred() async throws {
        let store = try CountingStore()
        let recorder = GroupCommitRecorder(store: store)
        let completions = Completions()
        try await GroupCommitWriterTests.withWriter(recorder) {
            _ = recorder.enqueue([GroupCommitTests.call(1)], deferringWake: true) { result in completions.add(1, (try? result.get()) != nil) }
        }
        try await completions.wait(for: 1)
        #expect(completions.results.withLock { $0 } == [1: false])
        // The lead held for the deferred wake was released: this neither hangs nor fails.
        try await recorder.record([GroupCommitTests.call(2)])
        recorder.wakeDeferredWriter()
        #expect(try await store.stored().map(\.orig) == [GroupCommitTests.call(2).orig])
    }
}

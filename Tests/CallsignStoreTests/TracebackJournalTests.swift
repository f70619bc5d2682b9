import Callsign
@testable import CallsignStore
import Foundation
import GRDB
import Testing

@Suite("Traceback journal: answered signings are durable before the store has them")
struct TracebackJournalTests {
    static let origid = "0d6c3a4e-1f2b-4c5d-9e8f-7a6b5c4d3e2f"

    static func record(_ index: Int, trunk: String? = nil) -> SignedCallRecord {
        SignedCallRecord(time: 1_800_000_000 + Int64(index), orig: "1215555\(String(format: "%04d", index))",
                         dest: index % 2 == 0 ? ["12125551213"] : ["12125551213", "12125551214"],
                         attestation: index % 3 == 0 ? .full : (index % 3 == 1 ? .partial : .gateway),
                         origid: origid, customerID: "bank-é", trunk: trunk)
    }

    static func count(_ store: SQLiteStore) async throws -> Int {
        try await store.traceback(origid: origid, since: nil, until: nil, limit: 10_000).count
    }

    @Test("records appended while the indexer runs are read back by a traceback right after, field for field")
    func appendThenTraceback() async throws {
        let store = try SQLiteStore(path: try SQLiteStoreTests.temporaryPath())
        let journal = try #require(try store.openJournal(interval: .seconds(5)))  // a flush, not the interval, must move them
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await journal.run() }
            let written = (0..<50).map { Self.record($0, trunk: $0 == 7 ? "192.0.2.10" : nil) }
            for record in written { try journal.append([record]) }
            let read = try await store.traceback(origid: Self.origid, since: nil, until: nil, limit: 100)
            #expect(Set(read) == Set(written))
            group.cancelAll()
        }
        #expect(!journal.isOpen)
        #expect(throws: StoreError.self) { try journal.append([Self.record(99)]) }
        // Stopped with everything moved: no segment is left behind.
        #expect(TracebackJournal.segments(base: store.journalBase).isEmpty)
    }

    @Test("records a killed process appended are moved in when the store next opens, and only once")
    func recoveryAfterKill() async throws {
        let path = try SQLiteStoreTests.temporaryPath()
        do {
            let store = try SQLiteStore(path: path)
            let journal = try #require(try store.openJournal())
            // No indexer ran: the records are only in the journal, as after kill -9 (the file stays, the lock goes).
            for index in 0..<30 { try journal.append([Self.record(index)]) }
            let unflushed = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM signed_call") }
            #expect(unflushed == 0)
        }
        let reopened = try SQLiteStore(path: path)
        #expect(try await Self.count(reopened) == 30)
        #expect(TracebackJournal.segments(base: reopened.journalBase).isEmpty)
        let again = try SQLiteStore(path: path)
        #expect(try await Self.count(again) == 30)
    }

    @Test("records across several mapped windows of a segment, one of them near the record size limit, all survive a kill")
    func recoveryAcrossWindows() async throws {
        let path = try SQLiteStoreTests.temporaryPath()
        let count = 25_000  // ~100 bytes each: the segment passes two window boundaries
        do {
            let store = try SQLiteStore(path: path)
            let journal = try #require(try store.openJournal())
            for index in 0..<count {
                if index == 12_345 {
                    // ~60 KiB: wherever it falls, it must fit a window of its own
                    try journal.append([SignedCallRecord(time: 1, orig: String(repeating: "7", count: 60_000), dest: ["1"],
                                                         attestation: .full, origid: Self.origid, customerID: "bank")])
                }
                try journal.append([Self.record(index)])
            }
            let segment = try #require(TracebackJournal.segments(base: store.journalBase).last)
            let size = try FileManager.default.attributesOfItem(atPath: "\(store.journalBase).\(segment)")[.size] as? Int
            #expect((size ?? 0) > 2 * TracebackJournal.windowBytes)
        }
        let reopened = try SQLiteStore(path: path)
        let moved = try await reopened.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM signed_call") }
        #expect(moved == count + 1)
        #expect(TracebackJournal.segments(base: reopened.journalBase).isEmpty)
    }

    @Test("a record of every field round-trips; records written by earlier versions (1: no identity, 2: no x5u or policy) are still read")
    func payloadVersions() {
        let full = SignedCallRecord(time: 1_800_000_000, orig: "12155550042", dest: ["12125551213", "12125551214"], attestation: .partial,
                                    origid: Self.origid, customerID: "bank", trunk: "192.0.2.10", identity: "customer:bank",
                                    attestationRule: "not-owned", x5u: "https://cr.example.net/bank.pem", spc: "7Q2X", policyAction: "tag",
                                    policyRule: "do-not-originate")
        var bytes: [UInt8] = []
        #expect(full.encodePayload(into: &bytes))
        #expect(SignedCallRecord.decodePayload(bytes[...]) == full)
        #expect(SignedCallRecord.decodePayload(bytes.dropLast()) == nil)
        for version: UInt8 in [1, 2] {
            var writer = JournalWriter(bytes: [])
            writer.byte(version)
            writer.int64(full.time)
            writer.byte(UInt8(ascii: "B"))
            writer.string(full.orig)
            writer.uint16(1)
            writer.string("12125551213")
            writer.string(full.origid)
            writer.string("bank")
            writer.optional("192.0.2.10")
            if version == 2 {
                writer.optional("customer:bank")
                writer.optional(nil)
            }
            let old = SignedCallRecord.decodePayload(writer.bytes[...])
            #expect(old == SignedCallRecord(time: full.time, orig: full.orig, dest: ["12125551213"], attestation: .partial, origid: full.origid,
                                            customerID: "bank", trunk: "192.0.2.10", identity: version == 2 ? "customer:bank" : nil),
                    "version \(version)")
        }
    }

    @Test("a record cut short at the end of a segment is dropped, the ones before it are kept")
    func tornTail() async throws {
        let path = try SQLiteStoreTests.temporaryPath()
        let store = try SQLiteStore(path: path)
        var bytes: [UInt8] = []
        for index in 0..<3 { #expect(TracebackJournal.encode(Self.record(index), into: &bytes)) }
        var last: [UInt8] = []
        #expect(TracebackJournal.encode(Self.record(3), into: &last))
        bytes += last.prefix(last.count - 5)
        #expect(FileManager.default.createFile(atPath: store.journalBase + ".1", contents: Data(bytes)))
        #expect(try TracebackJournal.recover(base: store.journalBase, into: store) == 3)
        #expect(try await Self.count(store) == 3)
        // A damaged byte inside a record ends the segment there too.
        var damaged: [UInt8] = []
        for index in 10..<13 { #expect(TracebackJournal.encode(Self.record(index), into: &damaged)) }
        damaged[damaged.count - 3] ^= 0x40
        #expect(FileManager.default.createFile(atPath: store.journalBase + ".2", contents: Data(damaged)))
        #expect(try TracebackJournal.recover(base: store.journalBase, into: store) == 2)
    }

    @Test("records of a segment the store already has up to its position are skipped")
    func positionSkips() async throws {
        let store = try SQLiteStore(path: try SQLiteStoreTests.temporaryPath())
        // The indexer moved the first two records of segment 5 before the process died.
        try store.applyJournal([Self.record(0), Self.record(1)], through: .init(segment: 5, records: 2))
        var bytes: [UInt8] = []
        for index in 0..<3 { #expect(TracebackJournal.encode(Self.record(index), into: &bytes)) }
        #expect(FileManager.default.createFile(atPath: store.journalBase + ".5", contents: Data(bytes)))
        // An older segment is all in the store already.
        #expect(FileManager.default.createFile(atPath: store.journalBase + ".4", contents: Data(bytes)))
        #expect(try TracebackJournal.recover(base: store.journalBase, into: store) == 1)
        #expect(try await Self.count(store) == 3)
        #expect(try store.journalPosition() == .init(segment: 5, records: 3))
        // The next journal starts past every segment seen.
        let journal = try #require(try store.openJournal())
        try journal.append([Self.record(3)])
        #expect(TracebackJournal.segments(base: store.journalBase) == [6])
    }

    @Test("while one journal is open for a store, a second open gets nil and recovery leaves its files alone")
    func oneAppender() async throws {
        let store = try SQLiteStore(path: try SQLiteStoreTests.temporaryPath())
        let journal = try #require(try store.openJournal())
        try journal.append([Self.record(1)])
        #expect(try store.openJournal() == nil)
        #expect(try TracebackJournal.recover(base: store.journalBase, into: store) == 0)
        #expect(TracebackJournal.segments(base: store.journalBase).count == 1)
        withExtendedLifetime(journal) {}
    }

    @Test("appends fail once the backlog not yet in the store reaches its bound")
    func backlogBound() throws {
        let path = try SQLiteStoreTests.temporaryPath()
        let store = try SQLiteStore(path: path)
        let journal = try #require(try TracebackJournal.open(base: store.journalBase, target: store, maxBacklog: 3))
        try journal.append([Self.record(1), Self.record(2)])
        try journal.append([Self.record(3)])
        #expect(throws: StoreError.self) { try journal.append([Self.record(4)]) }
    }

    @Test("segments past their size limit are replaced by new ones and deleted once their records are in the store")
    func rotation() async throws {
        let store = try SQLiteStore(path: try SQLiteStoreTests.temporaryPath())
        let journal = try #require(try TracebackJournal.open(base: store.journalBase, target: store, segmentLimit: 4096,
                                                             interval: .milliseconds(2)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await journal.run() }
            for index in 0..<600 {
                try journal.append([Self.record(index)])
                if index % 50 == 49 { try await Task.sleep(for: .milliseconds(5)) }
            }
            await journal.flush()  // opened directly, not through the store: its reads do not flush it
            let moved = try await Self.count(store)
            #expect(moved == 600, "\(journal.statistics)")
            // Each segment holds ~4 KiB (~50 records): many were started, at most the open one and one retiring remain.
            #expect(try store.journalPosition().segment > 5)
            #expect(TracebackJournal.segments(base: store.journalBase).count <= 2)
            group.cancelAll()
        }
    }

    @Test("a batch moved in with multi-row inserts keeps every field of every record (full groups and the rest)")
    func multiRowInsert() async throws {
        let store = try SQLiteStore(path: try SQLiteStoreTests.temporaryPath())
        let count = SQLiteStore.rowsPerInsert * 2 + 5
        let written = (0..<count).map { Self.record($0, trunk: $0 % 4 == 1 ? "192.0.2.\($0)" : nil) }
        try store.applyJournal(written, through: .init(segment: 1, records: Int64(count)))
        let read = try await store.traceback(origid: Self.origid, since: nil, until: nil, limit: 1_000)
        #expect(read.count == count)
        #expect(Set(read) == Set(written))
    }

    @Test("a record too large to frame is refused and nothing is written")
    func oversizedRecord() throws {
        var bytes: [UInt8] = [9]
        let huge = SignedCallRecord(time: 1, orig: String(repeating: "1", count: 70_000), dest: ["1"], attestation: .full,
                                    origid: Self.origid, customerID: "bank")
        #expect(!TracebackJournal.encode(huge, into: &bytes))
        #expect(bytes == [9])
    }
}

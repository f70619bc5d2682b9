import Callsign
@testable import CallsignStore
import Foundation
import GRDB
import Synchronization
import Testing

@Suite("SQLite store: traceback table")
struct SQLiteStoreTests {
    static func temporaryPath() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("db.sqlite").path
    }

    static let origid = "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"

    @Test("upgrading a database from before v4 keeps every traceback record and its id, and drops AUTOINCREMENT")
    func migrationKeepsRecords() async throws {
        let path = try Self.temporaryPath()
        do {
            // A database as earlier releases left it.
            let pool = try DatabasePool(path: path)
            try SQLiteStore.migrator.migrate(pool, upTo: "v3-certificate-cache")
            try await pool.write { db in
                for index in 0..<3 {
                    try db.execute(sql: """
                        INSERT INTO signed_call (time, orig, dest, attest, origid, customer_id, trunk) VALUES (?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [1_800_000_000, "1215555000\(index)", "12125551213,12125551214", "A", Self.origid, "bank",
                                         index == 1 ? "192.0.2.10" : nil])
                }
                #expect(try Int.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'signed_call'") == 3)
            }
            try pool.close()
        }
        let store = try SQLiteStore(path: path)
        let records = try await store.traceback(origid: Self.origid, since: nil, until: nil, limit: 10)
        // Same second: newest first by id, so the ids came across.
        #expect(records.map(\.orig) == ["12155550002", "12155550001", "12155550000"])
        #expect(records.map(\.trunk) == [nil, "192.0.2.10", nil])
        #expect(records.allSatisfy { $0.dest == ["12125551213", "12125551214"] })
        try await store.pool.read { db in
            let schema = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'signed_call'") ?? ""
            #expect(!schema.uppercased().contains("AUTOINCREMENT"))
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE name = 'signed_call_origid_time'") == 1)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_sequence WHERE name = 'signed_call'") == 0)
        }
        // New records follow the old ones.
        try await store.record([SignedCallRecord(time: 1_800_000_000, orig: "12155550003", dest: ["12125551213"],
                                                 attestation: .full, origid: Self.origid, customerID: "bank")])
        #expect(try await store.traceback(origid: Self.origid, since: nil, until: nil, limit: 1).first?.orig == "12155550003")
    }

    @Test("the direct binds store every field, empty and non-ASCII text included")
    func synchronousRecordsMatch() async throws {
        let store = try SQLiteStore(path: try Self.temporaryPath())
        let records = [
            SignedCallRecord(time: 1_800_000_001, orig: "12155550001", dest: ["12125551213", "12125551214"], attestation: .partial,
                             origid: Self.origid, customerID: "bank", trunk: "192.0.2.10"),
            SignedCallRecord(time: 1_800_000_002, orig: "", dest: ["12125551213"], attestation: .gateway, origid: Self.origid,
                             customerID: "bänk-ü", trunk: ""),
            SignedCallRecord(time: 1_800_000_003, orig: "442071234567", dest: ["33123456789"], attestation: .full,
                             origid: Self.origid, customerID: "bank", trunk: nil),
        ]
        try await store.record(records)
        try await store.record([])
        let stored = try await store.traceback(origid: Self.origid, since: nil, until: nil, limit: 10)
        #expect(stored == records.reversed())
        let (nulls, empties) = try await store.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM signed_call WHERE trunk IS NULL"),
             try Int.fetchOne(db, sql: "SELECT count(*) FROM signed_call WHERE trunk = ''"))
        }
        #expect(nulls == 1)
        #expect(empties == 1)
    }

    @Test("a failed insert rolls its whole batch back, and the next batch commits")
    func failedBatchRollsBack() async throws {
        let store = try SQLiteStore(path: try Self.temporaryPath())
        let good = SignedCallRecord(time: 1_800_000_001, orig: "12155550001", dest: ["12125551213"], attestation: .full,
                                    origid: Self.origid, customerID: "bank")
        try await store.pool.write { db in
            // Refuses one orig, so the second record of the batch fails after the first was inserted.
            try db.execute(sql: """
                CREATE TRIGGER refuse BEFORE INSERT ON signed_call WHEN NEW.orig = 'refused'
                BEGIN SELECT RAISE(ABORT, 'refused'); END
                """)
        }
        var bad = good
        bad.orig = "refused"
        await #expect(throws: DatabaseError.self) { try await store.record([good, bad]) }
        #expect(try await store.traceback(origid: Self.origid, since: nil, until: nil, limit: 10).isEmpty)
        try await store.record([good])
        #expect(try await store.traceback(origid: Self.origid, since: nil, until: nil, limit: 10) == [good])
    }

    @Test("with automatic checkpoints off, commits stay in the WAL past 1,000 pages until checkpoint() copies them, and writing goes on")
    func backgroundCheckpoints() async throws {
        let store = try SQLiteStore(path: try Self.temporaryPath())
        try store.disableAutomaticCheckpoints()
        func record(_ index: Int) -> SignedCallRecord {
            SignedCallRecord(time: 1_800_000_000 + Int64(index), orig: "12155550001", dest: ["12125551213"], attestation: .full,
                             origid: Self.origid, customerID: "bank")
        }
        // One transaction each: at least two pages (table and index) per commit.
        for index in 0..<700 { try await store.record([record(index)]) }
        let first = try await store.checkpoint()
        #expect(first.walFrames > 1_200, "SQLite checkpointed by itself: \(first.walFrames) frames in the WAL")
        #expect(first.checkpointed == first.walFrames)
        try await store.record([record(700)])
        let second = try await store.checkpoint()
        #expect(second.walFrames < first.walFrames, "the WAL started over after the full checkpoint")
        #expect(try await store.traceback(origid: Self.origid, since: nil, until: nil, limit: 1_000).count == 701)
    }

    @Test("under a writer that never pauses, checkpoint() restarts a WAL grown past its bound, so the log starts over instead of growing without end")
    func walBoundedUnderSteadyWrites() async throws {
        let path = try Self.temporaryPath()
        let store = try SQLiteStore(path: path, walRestartFrames: 300)
        try store.disableAutomaticCheckpoints()
        let stop = Atomic<Bool>(false)
        let written = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        let done = Atomic<Bool>(false)
        // One transaction per record, back to back, from a thread of its own (as the journal's indexer does).
        let writer = Thread {
            var index: Int64 = 0
            while !stop.load(ordering: .relaxed) {
                let record = SignedCallRecord(time: 1_800_000_000 + index, orig: "12155550001", dest: ["12125551213"],
                                              attestation: .full, origid: Self.origid, customerID: "bank")
                do { try store.pool.write { db in try SQLiteStore.insert([record], db) } } catch { failures.add(1, ordering: .relaxed) }
                index += 1
                written.add(1, ordering: .relaxed)
            }
            done.store(true, ordering: .releasing)
        }
        writer.start()
        var frames: [Int] = []
        for _ in 0..<40 {
            try await Task.sleep(for: .milliseconds(50))
            frames.append(try await store.checkpoint().walFrames)
        }
        stop.store(true, ordering: .relaxed)
        while !done.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(5)) }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(written.load(ordering: .relaxed) > 500, "the writer wrote \(written.load(ordering: .relaxed)) records")
        // The log started over (fewer frames than at the checkpoint before) while the writer kept writing...
        let restarts = zip(frames, frames.dropFirst()).filter { $1 < $0 }.count
        #expect(restarts >= 1, "WAL frames at each checkpoint: \(frames)")
        // ...so the WAL file stays near its bound: the longest log seen plus what one interval appends
        // (a frame is a 4 KiB page and a 24-byte header).
        let walBytes = (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        let longestStep = zip(frames, frames.dropFirst()).map { $1 - $0 }.max() ?? 0
        #expect(walBytes <= ((frames.max() ?? 0) + max(0, longestStep) + 64) * 4_120, "WAL \(walBytes) bytes; frames \(frames)")
        #expect(try await store.traceback(origid: Self.origid, since: nil, until: nil, limit: 10_000).count
                == min(10_000, written.load(ordering: .relaxed)))
    }
}

import Callsign
@testable import CallsignStore
import Foundation
import GRDB
import Testing

@Suite("Verification journal: call records of answered verifications are durable before the store has them")
struct VerificationJournalTests {
    static let number = "442071234567"

    /// The `index`th record: every optional field present on even indexes, absent on odd ones.
    static func record(_ index: Int) -> VerifiedCallRecord {
        let full = index % 2 == 0
        return VerifiedCallRecord(time: 1_800_000_000 + Int64(index), orig: number, dest: "1212555\(String(format: "%04d", index))",
                                  verstat: full ? "TN-Validation-Passed" : "TN-Validation-Failed", attestation: full ? "A" : nil,
                                  spc: full ? "7Q2X" : nil, x5u: full ? "https://certs.example/7Q2X.pem" : nil,
                                  origid: full ? "0d6c3a4e-1f2b-4c5d-9e8f-7a6b5c4d3e2f" : nil, source: full ? "192.0.2.1:5060" : "rest",
                                  reason: full ? nil : "bad-signature", policyAction: full ? "allow" : "block",
                                  policyRule: full ? nil : "protected-number")
    }

    static func verified(_ store: SQLiteStore) async throws -> [VerifiedCallRecord] {
        try await store.calls(number: number, since: nil, until: nil, limit: 10_000).compactMap {
            if case .verified(let record) = $0 { record } else { nil }
        }
    }

    @Test("records appended while the indexer runs are read back by an investigation right after, field for field")
    func appendThenRead() async throws {
        let store = try SQLiteStore(path: try SQLiteStoreTests.temporaryPath())
        let journal = try #require(try store.openVerificationJournal(interval: .seconds(5)))  // the read's flush must move them
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await journal.run() }
            let written = (0..<40).map(Self.record)
            for record in written { try journal.append(record) }
            #expect(Set(try await Self.verified(store)) == Set(written))
            group.cancelAll()
        }
        #expect(!journal.isOpen)
        #expect(throws: StoreError.self) { try journal.append(Self.record(99)) }
        #expect(VerificationJournal.segments(base: store.verificationJournalBase).isEmpty)
    }

    @Test("records a killed process appended are moved in when the store next opens, only once, and apart from traceback's")
    func recoveryAfterKill() async throws {
        let path = try SQLiteStoreTests.temporaryPath()
        do {
            let store = try SQLiteStore(path: path)
            let journal = try #require(try store.openVerificationJournal())
            let traceback = try #require(try store.openJournal())
            for index in 0..<30 { try journal.append(Self.record(index)) }
            try traceback.append([SignedCallRecord(time: 1_800_000_000, orig: Self.number, dest: ["12125551213"], attestation: .full,
                                                   origid: "0d6c3a4e-1f2b-4c5d-9e8f-7a6b5c4d3e2f", customerID: "bank")])
            let unflushed = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM verified_call") }
            #expect(unflushed == 0)
        }
        let reopened = try SQLiteStore(path: path)
        #expect(try await Self.verified(reopened).count == 30)
        let signed = try await reopened.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM signed_call") }
        #expect(signed == 1)
        #expect(VerificationJournal.segments(base: reopened.verificationJournalBase).isEmpty)
        #expect(try reopened.journalPosition() != .zero)
        let again = try SQLiteStore(path: path)
        #expect(try await Self.verified(again).count == 30)
    }

    @Test("a record cut short or damaged ends its segment; the records before it are kept")
    func tornTail() async throws {
        let store = try SQLiteStore(path: try SQLiteStoreTests.temporaryPath())
        var bytes: [UInt8] = []
        for index in 0..<3 { #expect(VerificationJournal.encode(Self.record(index), into: &bytes)) }
        var last: [UInt8] = []
        #expect(VerificationJournal.encode(Self.record(3), into: &last))
        bytes += last.prefix(last.count - 2)
        #expect(FileManager.default.createFile(atPath: store.verificationJournalBase + ".1", contents: Data(bytes)))
        let target = SQLiteStore.VerificationRecords(store: store)
        #expect(try VerificationJournal.recover(base: store.verificationJournalBase, into: target) == 3)
        #expect(try target.journalPosition() == .init(segment: 1, records: 3))
        #expect(try await Self.verified(store).count == 3)
    }

    @Test("every field, present or absent, survives encoding; a field past 65,535 bytes is refused, not cut")
    func payloadRoundTrip() {
        for index in 0..<2 {
            var bytes: [UInt8] = []
            #expect(Self.record(index).encodePayload(into: &bytes))
            #expect(VerifiedCallRecord.decodePayload(bytes[...]) == Self.record(index))
            #expect(VerifiedCallRecord.decodePayload(bytes.dropLast()) == nil)
            #expect(SignedCallRecord.decodePayload(bytes[...]) == nil)
        }
        var long = Self.record(0)
        long.x5u = String(repeating: "x", count: 70_000)
        var bytes: [UInt8] = [9]
        #expect(!VerificationJournal.encode(long, into: &bytes))
        #expect(bytes == [9], "nothing of a refused record is left")
    }

    @Test("appends fail once the backlog not yet in the store reaches its bound")
    func backlogBound() throws {
        let store = try SQLiteStore(path: try SQLiteStoreTests.temporaryPath())
        let journal = try #require(try VerificationJournal.open(base: store.verificationJournalBase,
                                                                target: SQLiteStore.VerificationRecords(store: store), maxBacklog: 2))
        try journal.append(Self.record(1))
        try journal.append(Self.record(2))
        #expect(throws: StoreError.self) { try journal.append(Self.record(3)) }
    }
}

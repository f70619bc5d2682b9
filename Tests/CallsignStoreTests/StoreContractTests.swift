import Callsign
import CallsignStore
import CallsignStorePostgres
import Foundation
import Logging
import PostgresNIO
import Testing

/// One contract for every backend: what `callsign serve` relies on.
enum StoreContract {
    static func run(_ store: any CallsignStore) async throws {
        // Customers and their numbers.
        let bank = Customer(id: "bank", name: "Bank", origid: "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b",
                            numbers: [NumberBlock(start: "12155550000", count: 100), NumberBlock(start: "12155559999", count: 1)])
        try await store.saveCustomer(bank)
        #expect(try await store.customer(id: "bank") == bank)
        var renamed = bank
        renamed.name = "Bank plc"
        renamed.numbers = [NumberBlock(start: "442071234567", count: 1)]
        try await store.saveCustomer(renamed)
        #expect(try await store.customer(id: "bank") == renamed)
        #expect(try await store.customer(id: "nobody") == nil)

        // Tokens: stored hashed, revocable.
        let token = APIToken.generate()
        try await store.addToken(hash: APIToken.hash(token), customerID: "bank", now: 1)
        #expect(try await store.customer(tokenHash: APIToken.hash(token))?.id == "bank")
        #expect(try await store.customer(tokenHash: APIToken.hash("cs_other")) == nil)
        // Saving the customer again (as `serve` does with its configured customers at each start) keeps its tokens.
        try await store.saveCustomer(renamed)
        #expect(try await store.customer(tokenHash: APIToken.hash(token))?.id == "bank")
        try await store.revokeToken(hash: APIToken.hash(token), now: 2)
        #expect(try await store.customer(tokenHash: APIToken.hash(token)) == nil)

        // Traceback: by origid, time window, newest first.
        let calls = (0..<5).map { (i: Int) -> SignedCallRecord in
            let identity: String? = i == 2 ? "customer:bank" : nil
            let rule: String? = i == 2 ? "owned-number" : nil
            let attestation: PASSporT.Attestation = i == 0 ? .partial : .full
            let trunk: String? = i == 1 ? "192.0.2.10" : nil
            return SignedCallRecord(time: 1_800_000_000 + Int64(i), orig: "1215555000\(i)", dest: ["12125551213", "12125551214"],
                                    attestation: attestation, origid: bank.origid, customerID: "bank", trunk: trunk,
                                    identity: identity, attestationRule: rule, x5u: i == 3 ? "https://cr.example.net/bank.pem" : nil, spc: i == 3 ? "7Q2X" : nil,
                                    policyAction: i == 3 ? "tag" : "allow", policyRule: i == 3 ? "do-not-originate" : nil)
        }
        // A refused signing: recorded for investigations, never part of the traceback.
        let refused = SignedCallRecord(time: 1_800_000_004, orig: "12155550009", dest: ["12125551213"], attestation: .partial,
                                       origid: bank.origid, customerID: "bank", attestationRule: "not-owned", policyAction: "block",
                                       policyRule: "protected-number")
        try await store.record(calls + [refused])
        let all = try await store.traceback(origid: bank.origid.uppercased(), since: nil, until: nil, limit: 100)
        #expect(all.map(\.time) == calls.map(\.time).reversed(), "the refused signing is not in the traceback")
        #expect(all.first { $0.time == calls[3].time } == calls[3], "the x5u and the tag are kept")
        #expect(try await store.calls(number: "12155550009", since: nil, until: nil, limit: 10) == [.signed(refused)])
        #expect(all.last == calls.first)
        #expect(all.first { $0.time == calls[2].time } == calls[2], "the signing identity and the attestation rule are kept")
        #expect(try await store.traceback(origid: bank.origid, since: 1_800_000_001, until: 1_800_000_002, limit: 100).count == 2)
        #expect(try await store.traceback(origid: bank.origid, since: nil, until: nil, limit: 2).count == 2)

        // DNO: import (idempotent), remove, list, load; a bad row rolls back the whole import.
        try await store.importDNO([DNOEntry(value: "442071234567", label: "Bank"), DNOEntry(value: "1800555", isPrefix: true)],
                                  replace: false, now: 1, progress: nil)
        try await store.importDNO([DNOEntry(value: "442071234567", label: "Bank")], replace: false, now: 2, progress: nil)
        var list = try await store.loadDNO()
        #expect(list.count == 2)
        #expect(list.contains("18005551234"))
        await #expect(throws: (any Error).self) {
            try await store.importDNO([DNOEntry(value: "442000000001"), DNOEntry(value: "1234567890123456789")], replace: false, now: 3, progress: nil)
        }
        #expect(try await store.loadDNO().count == 2)
        #expect(try await store.removeDNO("442071234567"))
        #expect(try await !store.removeDNO("442071234567"))
        #expect(try await store.listDNO(limit: 10, after: nil) == [DNOEntry(value: "1800555", isPrefix: true)])
        try await store.importDNO((0..<5000).map { DNOEntry(value: "4420" + String(10_000_000 + $0)) }, replace: true, now: 4, progress: nil)
        list = try await store.loadDNO()
        #expect(list.count == 5000)
        #expect(!list.contains("18005551234"))
        #expect(try await store.listDNO(limit: 3, after: "442010000001").map(\.value) == ["442010000002", "442010000003", "442010000004"])

        // Protected numbers: import (upsert by entry), list, remove, load.
        let bankLine = ProtectedNumber(value: "442071234567", spcs: ["7Q2X", "8A1B"], customers: ["bank"], label: "Example Bank, London")
        let branches = ProtectedNumber(value: "4420712345", isPrefix: true, spcs: ["7Q2X"], action: .tag)
        try await store.importProtected([bankLine, branches], replace: false, now: 1)
        #expect(try await store.listProtected(limit: 10, after: nil) == [branches, bankLine])
        var renamedLine = bankLine
        renamedLine.label = "Example Bank plc"
        try await store.importProtected([renamedLine], replace: false, now: 2)
        let loaded = try await store.loadProtected()
        #expect(loaded.count == 2)
        #expect(loaded.lookup("442071234567") == renamedLine)
        #expect(loaded.lookup("442071234599")?.action == .tag)
        #expect(try await store.removeProtected("4420712345*"))
        #expect(try await !store.removeProtected("4420712345*"))
        #expect(try await store.listProtected(limit: 10, after: nil) == [renamedLine])
        try await store.importProtected([branches], replace: true, now: 3)
        #expect(try await store.listProtected(limit: 10, after: nil) == [branches])

        // Call records of both sides, by calling number, newest first, in a time range; verification records are pruned.
        let verified = [
            VerifiedCallRecord(time: 1_800_000_001, orig: "12155550001", dest: "12125551213", verstat: "TN-Validation-Passed", attestation: "A",
                               spc: "7Q2X", x5u: "https://cr.example.net/a.pem", origid: bank.origid, source: "192.0.2.20"),
            VerifiedCallRecord(time: 1_800_000_003, orig: "12155550001", dest: "12125551213", verstat: "TN-Validation-Failed",
                               source: "rest", reason: "bad-signature", policyAction: "block", policyRule: "protected-number"),
            VerifiedCallRecord(time: 1_800_000_003, orig: "12155550002", dest: "12125551213", verstat: "No-TN-Validation", source: "rest"),
        ]
        try await store.recordVerified(verified)
        let byNumber = try await store.calls(number: "12155550001", since: nil, until: nil, limit: 100)
        #expect(byNumber == [.verified(verified[1]), .signed(calls[1]), .verified(verified[0])], "a tie in time lists the signed record first")
        #expect(byNumber.map(\.time) == [1_800_000_003, 1_800_000_001, 1_800_000_001])
        #expect(try await store.calls(number: "12155550001", since: 1_800_000_002, until: nil, limit: 100) == [.verified(verified[1])])
        #expect(try await store.calls(number: "12155550001", since: nil, until: nil, limit: 1).count == 1)
        #expect(try await store.pruneVerified(before: 1_800_000_002) == 1)
        #expect(try await store.calls(number: "12155550001", since: nil, until: nil, limit: 100).count == 2)

        // Distinct counts behind the signals, over both sides' records.
        #expect(try await store.signalCount(.origins(number: "12155550001"), since: 0) == 2, "one verified origin and one signing customer")
        #expect(try await store.signalCount(.numbersSigned(origid: bank.origid), since: 0) == 6, "attempts count, the refused one too")
        #expect(try await store.signalCount(.numbersSigned(origid: bank.origid), since: 1_800_000_003) == 3)
        #expect(try await store.signalCount(.numbersVerified(origid: bank.origid), since: 0) == 0, "the one with this origid was pruned")

        // Per-minute counts add up by (minute, series, key); pruned by minute.
        try await store.addRollups([CallRollup(minute: 1_800_000_000, series: "verify", key: "TN-Validation-Passed A", count: 3),
                                    CallRollup(minute: 1_800_000_060, series: "sign", key: "A", count: 1)])
        try await store.addRollups([CallRollup(minute: 1_800_000_000, series: "verify", key: "TN-Validation-Passed A", count: 2)])
        let rollups = try await store.rollups(since: 1_800_000_000).sorted { $0.minute < $1.minute }
        #expect(rollups == [CallRollup(minute: 1_800_000_000, series: "verify", key: "TN-Validation-Passed A", count: 5),
                            CallRollup(minute: 1_800_000_060, series: "sign", key: "A", count: 1)])
        try await store.pruneRollups(before: 1_800_000_060)
        #expect(try await store.rollups(since: 0).count == 1)

        // Alerts, newest first.
        let first = CallAlert(signal: "one-number-many-origins", key: "442071234567", count: 10, threshold: 10, windowS: 60, mode: "report",
                              at: 1_800_000_010)
        var second = first
        second.signal = "policy-hits"
        second.at = 1_800_000_020
        #expect(try await store.saveAlert(first))
        #expect(try await store.saveAlert(second))
        var again = first
        again.at += 30
        #expect(try await !store.saveAlert(again), "the same signal and key within its window (another node's): not kept twice")
        again.at += 31
        #expect(try await store.saveAlert(again), "a window later it alerts again")
        #expect(try await store.alerts(limit: 10) == [again, second, first])
        #expect(try await store.alerts(limit: 1) == [again])

        // Certificate cache shared by nodes: fresh bodies only, replaced on save.
        let url = "https://cr.example.net/sp.pem"
        #expect(try await store.cachedCertificate(url: url, now: 100) == nil)
        try await store.saveCertificate(url: url, body: [1, 2, 3], expires: 200)
        #expect(try await store.cachedCertificate(url: url, now: 150) == [1, 2, 3])
        #expect(try await store.cachedCertificate(url: url, now: 250) == nil)
        try await store.saveCertificate(url: url, body: [4], expires: 400)
        #expect(try await store.cachedCertificate(url: url, now: 250) == [4])

        // ...and bounded: past the limit (5 in these stores), the entries expiring first go.
        for index in 0..<7 {
            try await store.saveCertificate(url: "https://cr.example.net/\(index).pem", body: [UInt8(index)], expires: 500 + Int64(index))
        }
        #expect(try await store.cachedCertificate(url: url, now: 250) == nil)  // expires 400: the first to go
        for index in 0..<2 { #expect(try await store.cachedCertificate(url: "https://cr.example.net/\(index).pem", now: 250) == nil) }
        for index in 2..<7 {
            #expect(try await store.cachedCertificate(url: "https://cr.example.net/\(index).pem", now: 250) == [UInt8(index)])
        }
    }
}

@Suite("Store contract on SQLite and PostgreSQL")
struct StoreContractTests {
    @Test("SQLite (GRDB) passes the contract")
    func sqlite() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try await StoreContract.run(try SQLiteStore(path: dir.appendingPathComponent("db.sqlite").path, certificateCacheLimit: 5))
    }

    static let postgresURL = ProcessInfo.processInfo.environment["CALLSIGN_POSTGRES_URL"]
    static let required = ProcessInfo.processInfo.environment["CALLSIGN_REQUIRE_PEERS"] == "1"

    @Test("PostgreSQL (postgres-nio) passes the contract, in a database of its own",
          .enabled(if: required || postgresURL != nil, "set CALLSIGN_POSTGRES_URL (scripts/postgres.sh start) to run"))
    func postgres() async throws {
        do {
            try await postgresContract()
        } catch {
            Issue.record("PostgreSQL: \(String(reflecting: error))")
        }
    }

    @Test("a PostgreSQL server that refuses the connection is reported at once, with the address and the cause and without the password")
    func unreachablePostgres() async throws {
        let started = ContinuousClock.now
        // Port 1 on loopback: nothing listens there.
        await #expect {
            try await PostgresStore.probe(try PostgresStore.configuration(url: "postgres://callsign:s3cret-pw@127.0.0.1:1/callsign"))
        } throws: { error in
            let text = String(describing: error)
            return (error as? PostgresStoreError)?.code == .unreachable && text.contains("127.0.0.1:1") && text.contains("refused")
                && !text.contains("s3cret-pw")
        }
        // Well under the pool's minute of retries, with room for a full test run starting on two cores.
        #expect(ContinuousClock.now - started < .seconds(30), "not the pool's minute of retries")
    }

    @Test("the probe of a reachable PostgreSQL succeeds, and a missing database is named",
          .enabled(if: required || postgresURL != nil, "set CALLSIGN_POSTGRES_URL (scripts/postgres.sh start) to run"))
    func probePostgres() async throws {
        let url = try #require(Self.postgresURL, "CALLSIGN_POSTGRES_URL is not set")
        try await PostgresStore.probe(try PostgresStore.configuration(url: url))
        let missing = String(url[..<(url.lastIndex(of: "/") ?? url.endIndex)]) + "/callsign_no_such_database"
        await #expect {
            try await PostgresStore.probe(try PostgresStore.configuration(url: missing))
        } throws: { String(describing: $0).contains("callsign_no_such_database") }
    }

    func postgresContract() async throws {
        let url = try #require(Self.postgresURL, "CALLSIGN_POSTGRES_URL is not set")
        let admin = PostgresClient(configuration: try PostgresStore.configuration(url: url))
        let database = "callsign_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await admin.run() }
            try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(database)"))
            var configuration = try PostgresStore.configuration(url: url)
            configuration.database = String(database)
            let client = PostgresClient(configuration: configuration)
            group.addTask { await client.run() }
            let store = PostgresStore(client: client, certificateCacheLimit: 5)
            try await store.migrate()
            try await store.migrate()  // idempotent
            try await StoreContract.run(store)
            group.cancelAll()
        }
        // Drop the database with a fresh admin client (the previous ones are shut down).
        let cleanup = PostgresClient(configuration: try PostgresStore.configuration(url: url))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await cleanup.run() }
            _ = try? await cleanup.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(database) WITH (FORCE)"))
            group.cancelAll()
        }
    }
}

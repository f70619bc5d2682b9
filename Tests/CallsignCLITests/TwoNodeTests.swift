import CallsignTestSupport
import Foundation
import Testing

/// Two `callsign serve` nodes on one PostgreSQL: a DNO entry added through
/// node A's API blocks a call on node B within the refresh delay (1 s here).
@Suite("Two nodes sharing PostgreSQL", .serialized)
struct TwoNodeTests {
    static let url = ProcessInfo.processInfo.environment["CALLSIGN_POSTGRES_URL"]
    static let required = ProcessInfo.processInfo.environment["CALLSIGN_REQUIRE_PEERS"] == "1"

    @Test("a DNO entry added on node A blocks a call on node B within the stated delay (refresh 1 s, deadline 5 s)",
          .enabled(if: required || (url != nil && Peers.which("python3") != nil), "set CALLSIGN_POSTGRES_URL to run"))
    func dnoPropagates() async throws {
        let url = try #require(Self.url, "CALLSIGN_POSTGRES_URL is not set")
        let base = TestPorts.take(13)
        var nodes: [(BackgroundProcess, URL, Int, Int)] = []
        defer { for (process, _, _, _) in nodes { process.stop() } }
        for index in 0..<2 {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-node\(index)-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("callsign-data"), withIntermediateDirectories: true)
            try #"{"policy":{"rules":["do-not-originate"]}}"#.write(to: dir.appendingPathComponent("callsign-data/config.json"),
                                                                   atomically: true, encoding: .utf8)
            let http = base + index * 10
            let verify = http + 2
            let process = try BackgroundProcess(CLI.path, [
                "serve", "--postgres", url, "--dno-refresh", "1", "--http", "127.0.0.1:\(http)", "--sip-sign", "off",
                "--sip-verify", "127.0.0.1:\(verify)",
            ], directory: dir.path)
            nodes.append((process, dir, http, verify))
            try #require(await process.waitForOutput("Sign and verify", timeout: 60), "node \(index): \(process.errors)")
        }
        let number = "1212555" + String(Int.random(in: 1000...9999))
        func callOnB() async throws -> String {
            try await run("/usr/bin/env", ["python3", Peers.script("sip-invite.py"), "--port", String(nodes[1].3), "--from", number,
                                     "--to", "12125551213"], timeout: 20).stdout
        }
        #expect(try await callOnB().contains("CODE 302"))
        // Add on node A through the admin API.
        let admin = try String(contentsOf: nodes[0].1.appendingPathComponent("callsign-data/admin-token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let curl = try #require(Peers.which("curl"))
        let added = try await run(curl, ["-s", "-H", "Authorization: Bearer \(admin)", "--data-binary", "\(number),test bank",
                                   "http://127.0.0.1:\(nodes[0].2)/admin/dno"], timeout: 20)
        #expect(added.stdout.contains("\"imported\":1"), "\(added.stdout)")
        let start = Date()
        var blocked = false
        while Date().timeIntervalSince(start) < 5 {
            if try await callOnB().contains("CODE 603") {
                blocked = true
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(blocked, "node B did not block within 5 s")
        // The admin policy-test endpoint on node B explains it.
        let explained = try await run(curl, ["-s", "-H", "Authorization: Bearer \(try String(contentsOf: nodes[1].1.appendingPathComponent("callsign-data/admin-token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))",
                                       "http://127.0.0.1:\(nodes[1].2)/admin/policy/test?from=\(number)"], timeout: 20)
        #expect(explained.stdout.contains("\"rule\":\"do-not-originate\""), "\(explained.stdout)")
        // And removal propagates too.
        _ = try await run(curl, ["-s", "-X", "DELETE", "-H", "Authorization: Bearer \(admin)", "http://127.0.0.1:\(nodes[0].2)/admin/dno/\(number)"],
                    timeout: 20)
        var unblocked = false
        let again = Date()
        while Date().timeIntervalSince(again) < 5 {
            if try await callOnB().contains("CODE 302") {
                unblocked = true
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(unblocked)
        for (process, _, _, _) in nodes { await process.terminate() }
    }

    @Test("dno import --postgres stores a list with a header row in the shared store, and policy test --postgres blocks its number as serve would",
          .enabled(if: required || url != nil, "set CALLSIGN_POSTGRES_URL to run"))
    func policyTestReadsPostgres() async throws {
        let url = try #require(Self.url, "CALLSIGN_POSTGRES_URL is not set")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-pg-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let number = "1646555" + String(Int.random(in: 1000...9999))
        let csv = dir.appendingPathComponent("dno.csv")
        try "number,label\r\n+\(number),test bank\r\n".write(to: csv, atomically: true, encoding: .utf8)
        let data = dir.appendingPathComponent("data").path
        let before = try await CLI.callsign("policy", "test", "--data", data, "--postgres", url, "--from", number)
        #expect(before.status == 0, "\(before.stdout) \(before.stderr)")
        let imported = try await CLI.callsign("dno", "import", "--data", data, "--postgres", url, csv.path)
        #expect(imported.status == 0 && imported.stdout.contains("imported 1 entry"), "\(imported.stdout) \(imported.stderr)")
        #expect(!FileManager.default.fileExists(atPath: data + "/callsign.sqlite"), "nothing is written to SQLite")
        let blocked = try await CLI.callsign("policy", "test", "--data", data, "--postgres", url, "--from", number)
        #expect(blocked.status == 1 && blocked.stdout.contains("do-not-originate"), "\(blocked.stdout) \(blocked.stderr)")
        let sqliteOnly = try await CLI.callsign("policy", "test", "--data", data, "--from", number)
        #expect(sqliteOnly.status == 0, "without --postgres the (empty) SQLite data directory is read")
    }
}

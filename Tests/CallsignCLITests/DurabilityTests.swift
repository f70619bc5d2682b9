import CallsignTestSupport
import CallsignStore
import Foundation
import Testing

/// SQLite in WAL mode: what `serve` acknowledged survives `kill -9`.
@Suite("Durability of the SQLite store", .serialized,
       .enabled(if: Peers.enabled(Peers.which("curl") != nil), "curl not installed"))
struct DurabilityTests {
    @Test("calls signed before kill -9 are all in the traceback after restart")
    func killNine() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let port = TestPorts.take()
        let server = try BackgroundProcess(CLI.path, ["serve", "--http", "127.0.0.1:\(port)", "--sip-sign", "off", "--sip-verify", "off"],
                                           directory: dir.path)
        try #require(await server.waitForOutput("Sign and verify", timeout: 60), "\(server.errors)")
        let token = try String(contentsOf: dir.appendingPathComponent("callsign-data/dev-token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let origid = try #require(server.output.components(separatedBy: "origid=").dropFirst().first?.prefix(36).description)
        let curl = try #require(Peers.which("curl"))
        var acknowledged = 0
        for i in 0..<20 {
            let body = #"{"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\#(now()),"orig":{"tn":"121555500\#(String(format: "%02d", i))"},"origid":"\#(origid)"}}"#
            let out = try await run(curl, ["-s", "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json", "-d", body,
                                     "http://127.0.0.1:\(port)/stir/v1/signing"], timeout: 20)
            if out.stdout.contains("signingResponse") { acknowledged += 1 }
        }
        #expect(acknowledged == 20)
        kill(server.pid, SIGKILL)
        _ = server.stop()
        let store = try SQLiteStore(path: dir.appendingPathComponent("callsign-data/callsign.sqlite").path)
        let records = try await store.traceback(origid: origid, since: nil, until: nil, limit: 100)
        #expect(records.count == acknowledged)
    }

    @Test("calls verified before kill -9 all have their call record after restart")
    func killNineVerifications() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let port = TestPorts.take()
        let server = try BackgroundProcess(CLI.path, ["serve", "--http", "127.0.0.1:\(port)", "--sip-sign", "off", "--sip-verify", "off"],
                                           directory: dir.path)
        try #require(await server.waitForOutput("Sign and verify", timeout: 60), "\(server.errors)")
        let token = try String(contentsOf: dir.appendingPathComponent("callsign-data/dev-token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let origid = try #require(server.output.components(separatedBy: "origid=").dropFirst().first?.prefix(36).description)
        let curl = try #require(Peers.which("curl"))
        let orig = "12155550077"
        let signing = #"{"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\#(now()),"orig":{"tn":"\#(orig)"},"origid":"\#(origid)"}}"#
        let signed = try await run(curl, ["-s", "-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json", "-d", signing,
                                          "http://127.0.0.1:\(port)/stir/v1/signing"], timeout: 20)
        let answer = try JSONSerialization.jsonObject(with: Data(signed.stdout.utf8)) as? [String: Any]
        let identity = try #require((answer?["signingResponse"] as? [String: Any])?["identity"] as? String)
        var acknowledged = 0
        for _ in 0..<15 {
            let body = try JSONSerialization.data(withJSONObject: ["verificationRequest": [
                "from": ["tn": orig], "to": ["tn": ["12125551213"]], "time": now(), "identity": identity,
            ]])
            let out = try await run(curl, ["-s", "-H", "Content-Type: application/json", "-d", String(decoding: body, as: UTF8.self),
                                     "http://127.0.0.1:\(port)/stir/v1/verification"], timeout: 20)
            if out.stdout.contains("TN-Validation-Passed") { acknowledged += 1 }
        }
        #expect(acknowledged == 15)
        kill(server.pid, SIGKILL)
        _ = server.stop()
        let store = try SQLiteStore(path: dir.appendingPathComponent("callsign-data/callsign.sqlite").path)
        let verified = try await store.calls(number: orig, since: nil, until: nil, limit: 100).filter {
            if case .verified = $0 { true } else { false }
        }
        #expect(verified.count == acknowledged)
    }
}

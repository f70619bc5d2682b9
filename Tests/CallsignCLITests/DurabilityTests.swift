import CallsignTestSupport
import CallsignStore
import Foundation
import Testing

/// SQLite in WAL mode: what `serve` acknowledged survives `kill -9`.
@Suite("Durability of the SQLite store", .serialized,
       .enabled(if: Peers.enabled(Peers.which("curl") != nil), "curl not installed"))
struct DurabilityTests {
    /// A zero-configuration `serve` in a directory of its own, driven with curl.
    struct Server {
        let process: BackgroundProcess
        let dir: URL
        let port: Int
        let token: String
        let origid: String
        let curl: String

        init() async throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-kill-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            port = TestPorts.take()
            process = try BackgroundProcess(CLI.path, ["serve", "--http", "127.0.0.1:\(port)", "--sip-sign", "off", "--sip-verify", "off"],
                                            directory: dir.path)
            try #require(await process.waitForOutput("Sign and verify", timeout: 60), "\(process.errors)")
            token = try String(contentsOf: dir.appendingPathComponent("callsign-data/dev-token"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            origid = try #require(process.output.components(separatedBy: "origid=").dropFirst().first?.prefix(36).description)
            curl = try #require(Peers.which("curl"))
        }

        /// POSTs `body` to `path` (with the customer token when `authorized`); the answer's body.
        func post(_ path: String, _ body: String, authorized: Bool = true) async throws -> String {
            let auth = authorized ? ["-H", "Authorization: Bearer \(token)"] : []
            return try await run(curl, ["-s"] + auth + ["-H", "Content-Type: application/json", "-d", body, "http://127.0.0.1:\(port)\(path)"],
                                 timeout: 20).stdout
        }

        func sign(_ orig: String) async throws -> String {
            try await post("/stir/v1/signing", #"{"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\#(now()),"orig":{"tn":"\#(orig)"},"origid":"\#(origid)"}}"#)
        }

        /// `kill -9`, then the store opened again (moving in what the journals hold).
        func killAndReopen() throws -> SQLiteStore {
            kill(process.pid, SIGKILL)
            _ = process.stop()
            return try SQLiteStore(path: dir.appendingPathComponent("callsign-data/callsign.sqlite").path)
        }
    }

    @Test("calls signed before kill -9 are all in the traceback after restart")
    func killNine() async throws {
        let server = try await Server()
        var acknowledged = 0
        for i in 0..<20 where try await server.sign("121555500\(String(format: "%02d", i))").contains("signingResponse") {
            acknowledged += 1
        }
        #expect(acknowledged == 20)
        let store = try server.killAndReopen()
        let records = try await store.traceback(origid: server.origid, since: nil, until: nil, limit: 100)
        #expect(records.count == acknowledged)
    }

    @Test("calls verified before kill -9 all have their call record after restart")
    func killNineVerifications() async throws {
        let server = try await Server()
        let orig = "12155550077"
        let answer = try JSONSerialization.jsonObject(with: Data(try await server.sign(orig).utf8)) as? [String: Any]
        let identity = try #require((answer?["signingResponse"] as? [String: Any])?["identity"] as? String)
        var acknowledged = 0
        for _ in 0..<15 {
            let body = try JSONSerialization.data(withJSONObject: ["verificationRequest": [
                "from": ["tn": orig], "to": ["tn": ["12125551213"]], "time": now(), "identity": identity,
            ]])
            if try await server.post("/stir/v1/verification", String(decoding: body, as: UTF8.self), authorized: false)
                .contains("TN-Validation-Passed") { acknowledged += 1 }
        }
        #expect(acknowledged == 15)
        let store = try server.killAndReopen()
        let verified = try await store.calls(number: orig, since: nil, until: nil, limit: 100).filter {
            if case .verified = $0 { true } else { false }
        }
        #expect(verified.count == acknowledged)
    }
}

import CallsignTestSupport
import CallsignApp
import Foundation
import ServiceLifecycle
import Synchronization
import Testing

/// `callsign serve` built in process by ``CallsignServe/buildApplication`` and run
/// on loopback ports: development mode with zero configuration (SQLite, the
/// development PKI made on first run), stopped by a graceful shutdown.
@Suite("The application built in process")
struct BuildApplicationTests {
    @Test("the built service group answers health, signs a call and verifies it against its own certificate repository, then stops gracefully")
    func buildsAndServes() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-app-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = TestPorts.take(3)
        var options = ServeOptions()
        options.dataDirectory = directory.path
        options.port = port
        options.sipSign = "127.0.0.1:\(port + 1)"
        options.sipVerify = "127.0.0.1:\(port + 2)"
        let banners = Mutex<[String]>([])
        let app = try await CallsignServe.buildApplication(options, banner: { text in banners.withLock { $0.append(text) } })
        #expect(banners.withLock { $0.isEmpty }, "nothing is announced before the group runs")

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            let deadline = ContinuousClock.now + .seconds(30)
            while banners.withLock({ $0.isEmpty }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            let banner = try #require(banners.withLock { $0.first }, "no banner within 30 s")
            #expect(banner.contains("Callsign is listening on http://127.0.0.1:\(port)"))

            let health = try await Self.exchange(port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            #expect(health.hasPrefix("HTTP/1.1 200"), "\(health.prefix(200))")

            let token = try String(contentsOf: directory.appendingPathComponent("dev-token"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let iat = now()
            let signing = """
                {"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\(iat),"orig":{"tn":"12155550042"},\
                "origid":"123e4567-e89b-12d3-a456-426655440000"}}
                """
            let signed = try await Self.exchange(port, Self.post("/stir/v1/signing", signing, token: token))
            #expect(signed.hasPrefix("HTTP/1.1 200"), "\(signed.prefix(300))")
            let identity = try #require(Self.jsonBody(signed)?["signingResponse"].flatMap { $0 as? [String: Any] }?["identity"] as? String)

            let verification = """
                {"verificationRequest":{"from":{"tn":"12155550042"},"to":{"tn":["12125551213"]},"time":\(iat),\
                "identity":"\(identity)"}}
                """
            let verified = try await Self.exchange(port, Self.post("/stir/v1/verification", verification, token: nil))
            #expect(verified.hasPrefix("HTTP/1.1 200"), "\(verified.prefix(300))")
            let response = Self.jsonBody(verified)?["verificationResponse"] as? [String: Any]
            #expect(response?["verstat"] as? String == "TN-Validation-Passed", "\(verified.suffix(300))")

            await app.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        #expect(throws: (any Error).self, "the HTTP listener is closed after the shutdown") {
            _ = try TestConnection(port: port, timeout: 2)
        }
    }

    static func post(_ path: String, _ body: String, token: String?) -> String {
        let authorization = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        return "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\(authorization)"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
    }

    /// Sends one request on a new connection and reads the answer to the end.
    static func exchange(_ port: Int, _ request: String) async throws -> String {
        let connection = try TestConnection(port: port)
        connection.send(request)
        return await connection.readToEnd().text
    }

    static func jsonBody(_ answer: String) -> [String: Any]? {
        guard let range = answer.range(of: "\r\n\r\n") else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(answer[range.upperBound...].utf8))) as? [String: Any]
    }
}

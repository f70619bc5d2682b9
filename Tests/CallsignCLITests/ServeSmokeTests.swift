import CallsignTestSupport
import Foundation
import Testing

/// What a newcomer does: `callsign serve` in an empty directory, then the
/// printed curl examples.
@Suite("callsign serve, zero configuration", .serialized)
struct ServeSmokeTests {
    @Test("a bare `callsign serve` creates ./callsign-data, and its printed sign-and-verify curl example passes",
          .enabled(if: Peers.enabled(Peers.which("curl") != nil && Peers.which("python3") != nil), "curl/python3 not installed"))
    func newcomer() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let port = TestPorts.take()
        let server = try BackgroundProcess(CLI.path, ["serve", "--http", "127.0.0.1:\(port)"], directory: dir.path)
        defer { server.stop() }
        try #require(await server.waitForOutput("Sign and verify in one go:", timeout: 60), "serve did not start: \(server.errors)")
        // The data directory and its files.
        for file in ["callsign-data/dev-token", "callsign-data/admin-token", "callsign-data/callsign.sqlite",
                     "callsign-data/ca/root-ca.pem", "callsign-data/ca/sp-chain.pem", "callsign-data/ca/inter-ca.crl"] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path), "\(file)")
        }
        let token = try String(contentsOf: dir.appendingPathComponent("callsign-data/dev-token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(server.output.contains("Authorization: Bearer \(token)"))
        // Run the printed example exactly as printed.
        let lines = server.output.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex(of: "Sign and verify in one go:"))
        let example = lines[(start + 1)...].prefix { !$0.isEmpty }.joined(separator: "\n")
        let out = try await run("/bin/bash", ["-c", example], timeout: 30)
        #expect(out.stdout.contains(#""verstat":"TN-Validation-Passed""#), "\(out.stdout) \(out.stderr)")
        // A restart reuses the data directory (same token still works).
        await server.terminate()
        let again = try BackgroundProcess(CLI.path, ["serve", "--http", "127.0.0.1:\(port)"], directory: dir.path)
        defer { again.stop() }
        try #require(await again.waitForOutput("Sign and verify in one go:", timeout: 60), "restart failed: \(again.errors)")
        #expect(again.output.contains("Authorization: Bearer \(token)"))
        let second = try await run("/bin/bash", ["-c", example], timeout: 30)
        #expect(second.stdout.contains(#""verstat":"TN-Validation-Passed""#), "\(second.stdout) \(second.stderr)")
        #expect(await again.terminate() == 0)
    }
}

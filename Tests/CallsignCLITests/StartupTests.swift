import CallsignTestSupport
import Foundation
import Testing

/// `callsign serve` starting next to another one: a taken address is named,
/// the exit status is non-zero, and nothing says "listening" first.
@Suite("Startup faults are named", .serialized)
struct StartupTests {
    @Test("a second serve whose SIP signing port is taken names the listener and the address, exits non-zero and prints no banner")
    func takenSIPPortIsNamed() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-startup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("a"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("b"), withIntermediateDirectories: true)
        let port = TestPorts.take(5)
        let first = try BackgroundProcess(CLI.path, ["serve", "--http", "127.0.0.1:\(port)", "--sip-sign", "127.0.0.1:\(port + 1)",
                                                     "--sip-verify", "off"], directory: dir.appendingPathComponent("a").path)
        defer { first.stop() }
        try #require(await first.waitForOutput("Sign and verify in one go:", timeout: 60), "\(first.errors)")
        let b = dir.appendingPathComponent("b").path
        let second = try await Self.serve(in: b, "--http 127.0.0.1:\(port + 2) --sip-sign 127.0.0.1:\(port + 1) --sip-verify off")
        #expect(second.status != 0)
        #expect(second.stderr.contains("SIP signing listener 127.0.0.1:\(port + 1)") && second.stderr.contains("address already in use"),
                "\(second.stderr.suffix(400))")
        #expect(!second.stdout.contains("listening") && !second.stdout.contains("Sign a call"), "\(second.stdout.prefix(300))")

        let http = try await Self.serve(in: b, "--http 127.0.0.1:\(port) --sip-sign off --sip-verify off")
        #expect(http.status != 0)
        #expect(http.stderr.contains("HTTP listener 127.0.0.1:\(port)") && http.stderr.contains("address already in use"), "\(http.stderr.suffix(400))")
        #expect(!http.stdout.contains("listening"))
        await first.terminate()
    }

    /// `callsign serve ARGUMENTS` run in `directory` until it exits (a start that fails exits at once).
    static func serve(in directory: String, _ arguments: String) async throws -> ProcessOutput {
        try await run("/bin/sh", ["-c", "cd '\(directory)' && exec '\(CLI.path)' serve \(arguments)"], timeout: 60)
    }
}

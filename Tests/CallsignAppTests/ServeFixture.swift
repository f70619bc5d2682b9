import CallsignApp
import CallsignTestSupport
import Foundation
import ServiceLifecycle

/// `callsign serve` in development mode, in process, on a port of its own
/// with no SIP listeners: `configure` adjusts the options, `body` gets the
/// port, the admin token and the sample customer's API token. Stopped
/// gracefully (also when `body` throws) and its data directory removed.
enum ServeFixture {
    static func run(configure: (inout ServeOptions) -> Void = { _ in },
                    _ body: @Sendable (_ port: Int, _ admin: String, _ token: String) async throws -> Void) async throws
    {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-serve-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = TestPorts.take()
        var options = ServeOptions()
        options.dataDirectory = directory.path
        options.port = port
        options.sipSign = nil
        options.sipVerify = nil
        configure(&options)
        let app = try await CallsignServe.buildApplication(options)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            try await TestPorts.waitForListener(port)
            func read(_ name: String) throws -> String {
                try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            do {
                try await body(port, try read("admin-token"), try read("dev-token"))
            } catch {
                await app.triggerGracefulShutdown()
                try? await group.waitForAll()
                throw error
            }
            await app.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }
}

import CallsignTestSupport
import CallsignHTTP
import CallsignStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import HummingbirdTesting
import Prometheus
import Testing

/// The HTTP listener's bounds over a real loopback server: head and idle
/// timeouts, the connection cap and the router's in-flight limit.
@Suite("HTTP listener bounds: timeouts, connection cap, in-flight limit", .serialized)
struct HTTPLimitsTests {
    static func run(_ limits: HTTPLimits, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let fixture = try await ServerFixture()
        let router = buildRouter(service: fixture.service, configuration: HTTPFaceConfiguration(limits: limits),
                                 registry: PrometheusCollectorRegistry())
        let hotPath = RESTHotPath(service: fixture.service, now: { now() })
        let app = Application(router: router, server: hotPath.server(limits: limits))
        try await app.test(.live) { client in try await body(try #require(client.port)) }
        try await fixture.server.stop()
    }

    static let health = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    @Test("a request head still incomplete at the head timeout gets 408 and the connection is closed")
    func slowHead() async throws {
        var limits = HTTPLimits()
        limits.headTimeout = .seconds(1)
        try await Self.run(limits) { port in
            let connection = try TestConnection(port: port)
            let started = ContinuousClock.now
            connection.send("POST /stir/v1/verification HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            try await Task.sleep(for: .milliseconds(400))
            connection.send("X-Slow: 1\r\n")  // progress does not extend the head's time
            let (text, closed) = await connection.readToEnd()
            #expect(text.hasPrefix("HTTP/1.1 408 Request Timeout"))
            #expect(closed)
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    @Test("a connection idle past the idle timeout is closed; a prompt request on it was answered first")
    func idleConnection() async throws {
        var limits = HTTPLimits()
        limits.idleTimeout = .seconds(1)
        try await Self.run(limits) { port in
            let connection = try TestConnection(port: port)
            connection.send(Self.health)
            #expect(await connection.read(until: "\"ok\"").hasPrefix("HTTP/1.1 200"))
            let started = ContinuousClock.now
            let (text, closed) = await connection.readToEnd()
            #expect(text.isEmpty)
            #expect(closed)
            #expect(ContinuousClock.now - started < .seconds(5))
            // A connection that never sends anything is closed too.
            let silent = try TestConnection(port: port)
            #expect(await silent.readToEnd().closed)
        }
    }

    @Test("past the connection cap a new connection is closed at once; one closing frees a place")
    func connectionCap() async throws {
        var limits = HTTPLimits()
        limits.maxConnections = 4
        try await Self.run(limits) { port in
            // The live test framework's own client holds one place too: connections are
            // answered until the cap, and the next one is closed unanswered.
            var open: [TestConnection] = []
            var refused: (text: String, closed: Bool)?
            for _ in 0..<8 {
                let connection = try TestConnection(port: port, timeout: 5)
                connection.send(Self.health)
                let reply = await connection.readToEnd(orUntil: "\"ok\"")
                if reply.text.hasPrefix("HTTP/1.1 200") {
                    open.append(connection)
                } else {
                    refused = reply
                    break
                }
            }
            #expect((3...4).contains(open.count), "\(open.count) connections answered under a cap of 4")
            #expect(refused?.closed == true && refused?.text.isEmpty == true)
            open.removeLast()
            var answered = false
            for _ in 0..<50 where !answered {
                try await Task.sleep(for: .milliseconds(100))
                let next = try TestConnection(port: port, timeout: 5)
                next.send(Self.health)
                answered = await next.read(until: "\"ok\"").hasPrefix("HTTP/1.1 200")
            }
            #expect(answered)
            _ = open
        }
    }

    @Test("past the router's in-flight limit a request gets 503 with Retry-After; health is still answered")
    func inFlightLimit() async throws {
        var limits = HTTPLimits()
        limits.maxInFlight = 0
        try await Self.run(limits) { port in
            let connection = try TestConnection(port: port)
            connection.send("GET /openapi.yaml HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let busy = await connection.read(until: "}")
            #expect(busy.hasPrefix("HTTP/1.1 503"))
            #expect(busy.lowercased().contains("retry-after: 1"))
            #expect(busy.contains("SVC5030"))
            connection.send(Self.health)
            #expect(await connection.read(until: "\"ok\"").contains("HTTP/1.1 200"))
        }
    }
}

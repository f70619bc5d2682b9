import CallsignServer
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
    /// A blocking loopback TCP client (reads time out after `timeout` seconds).
    final class Connection: @unchecked Sendable {
        let fd: Int32

        init(port: Int, timeout: Int = 10) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            try #require(connected == 0)
            var limit = timeval(tv_sec: timeout, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(fd) }

        func send(_ text: String) {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }

        /// Runs a blocking read off Swift's cooperative pool: a test blocking its
        /// two threads would starve the server it talks to (its router answers in tasks).
        static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
            await withCheckedContinuation { continuation in
                DispatchQueue(label: "blocking-read").async { continuation.resume(returning: work()) }
            }
        }

        /// Reads until the peer closes (or the read times out): what was read, and whether it closed.
        func readToEnd() async -> (text: String, closed: Bool) {
            await Self.offPool { [self] in readToEndBlocking() }
        }

        /// Reads until `marker` has been read, the peer closes or the read times out: what was read, and whether it closed.
        func readToEnd(orUntil marker: String) async -> (text: String, closed: Bool) {
            await Self.offPool { [self] in
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 65_536)
                while !String(decoding: received, as: UTF8.self).contains(marker) {
                    let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                    if n == 0 { return (String(decoding: received, as: UTF8.self), true) }
                    if n < 0 { return (String(decoding: received, as: UTF8.self), errno == ECONNRESET) }
                    received += buffer[0..<n]
                }
                return (String(decoding: received, as: UTF8.self), false)
            }
        }

        /// Reads until `marker` has been read (or the read times out).
        func read(until marker: String) async -> String {
            await Self.offPool { [self] in readBlocking(until: marker) }
        }

        private func readToEndBlocking() -> (text: String, closed: Bool) {
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if n == 0 { return (String(decoding: received, as: UTF8.self), true) }
                if n < 0, errno == EINTR { continue }  // a signal (a test's child process exiting), not the peer
                if n < 0 { return (String(decoding: received, as: UTF8.self), errno == ECONNRESET) }
                received += buffer[0..<n]
            }
        }

        private func readBlocking(until marker: String) -> String {
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while !String(decoding: received, as: UTF8.self).contains(marker) {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                received += buffer[0..<n]
            }
            return String(decoding: received, as: UTF8.self)
        }
    }

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
            let connection = try Connection(port: port)
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
            let connection = try Connection(port: port)
            connection.send(Self.health)
            #expect(await connection.read(until: "\"ok\"").hasPrefix("HTTP/1.1 200"))
            let started = ContinuousClock.now
            let (text, closed) = await connection.readToEnd()
            #expect(text.isEmpty)
            #expect(closed)
            #expect(ContinuousClock.now - started < .seconds(5))
            // A connection that never sends anything is closed too.
            let silent = try Connection(port: port)
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
            var open: [Connection] = []
            var refused: (text: String, closed: Bool)?
            for _ in 0..<8 {
                let connection = try Connection(port: port, timeout: 5)
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
                let next = try Connection(port: port, timeout: 5)
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
            let connection = try Connection(port: port)
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

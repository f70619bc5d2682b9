import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Faults injected into a real `callsign serve` on loopback, bounded in time.
@Suite("Fault injection into a running `callsign serve`", .serialized)
struct FaultInjectionTests {
    /// The resident set of `pid` in KiB (`/proc/PID/status`).
    static func rss(_ pid: pid_t) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ")[1]) ?? 0
    }

    /// The open file descriptors of `pid`.
    static func openDescriptors(_ pid: pid_t) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }

    /// `count` TCP connections to `port` that send nothing: their descriptors (closed by the caller).
    static func idleConnections(_ count: Int, port: Int) async -> [Int32] {
        await HTTPLimitsTests.Connection.offPool {
            var descriptors: [Int32] = []
            for _ in 0..<count {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                guard fd >= 0 else { break }
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                var limit = timeval(tv_sec: 1, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                if connected != 0 { close(fd); continue }
                descriptors.append(fd)
            }
            return descriptors
        }
    }

    /// How many of `descriptors` the server has closed (a read returns 0 or fails with a reset).
    static func closedByServer(_ descriptors: [Int32]) async -> Int {
        await HTTPLimitsTests.Connection.offPool {
            var closed = 0
            var byte: UInt8 = 0
            for fd in descriptors {
                let n = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
                if n == 0 || (n < 0 && errno == ECONNRESET) { closed += 1 }
            }
            return closed
        }
    }

    @Test("10,000 idle TCP connections on HTTP, then on SIP: memory stays bounded, SIP over UDP is answered throughout, and the idle ones are closed at the idle timeout")
    func idleConnections() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-idle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let port = TestPorts.take(3)
        let (sign, verify) = (port + 1, port + 2)
        let server = try BackgroundProcess(CLI.path, ["serve", "--http", "127.0.0.1:\(port)", "--sip-sign", "127.0.0.1:\(sign)",
                                                      "--sip-verify", "127.0.0.1:\(verify)", "--http-idle-timeout", "3",
                                                      "--sip-tcp-idle-timeout", "3"], directory: dir.path)
        defer { server.stop() }
        try #require(await server.waitForOutput("Sign and verify in one go:", timeout: 60), "serve did not start: \(server.errors)")
        let before = Self.rss(server.pid)
        let baseline = Self.openDescriptors(server.pid)
        for (name, target) in [("HTTP", port), ("SIP", verify)] {
            let held = await Self.idleConnections(10_000, port: target)
            let connected = ContinuousClock.now
            defer { for fd in held { close(fd) } }
            #expect(held.count >= 9_000, "\(name): \(held.count) connections")
            let during = Self.rss(server.pid)
            #expect(during - before < 200 * 1024, "\(name): RSS grew \(during - before) KiB")
            #expect(ProbeTests.status(await ProbeTests.udp(ProbeTests.invite(branch: "idle-\(name)"), port: sign)) == 302,
                    "\(name): SIP over UDP answered while the connections are held")
            // The idle timeout is 3 s: wait for it from the last connection, with slack.
            try await Task.sleep(until: connected + .seconds(5), clock: .continuous)
            // The server holds no descriptor for them any more (a few may never have left the
            // kernel's accept queue: those the kernel drops, not the server).
            let descriptors = Self.openDescriptors(server.pid)
            #expect(descriptors < baseline + 50, "\(name): the server holds \(descriptors) descriptors (\(baseline) before)")
            let closed = await Self.closedByServer(held)
            #expect(closed >= held.count * 9 / 10, "\(name): \(closed) of \(held.count) closed by the server")
        }
        // Service continues: health and a signing on new connections.
        let after = try HTTPLimitsTests.Connection(port: port)
        after.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await after.read(until: "\"ok\"").hasPrefix("HTTP/1.1 200"))
        #expect(ProbeTests.status(await ProbeTests.udp(ProbeTests.invite(branch: "idle-after"), port: sign)) == 302)
        #expect(await server.terminate() == 0)
    }
}

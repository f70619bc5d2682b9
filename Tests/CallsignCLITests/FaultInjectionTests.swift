import CallsignTestSupport
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
        await TestConnection.offPool {
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
        await TestConnection.offPool {
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
            print("\(name): \(held.count) idle connections, RSS \(before) -> \(during) KiB, \(Self.openDescriptors(server.pid)) descriptors held by the server")
            #expect(ProbeTests.status(await ProbeTests.udp(ProbeTests.invite(branch: "idle-\(name)"), port: sign)) == 302,
                    "\(name): SIP over UDP answered while the connections are held")
            // The idle timeout is 3 s from each connection's accept; the last ones leave the
            // kernel's accept queue a little after the client's connect returned. The server then
            // holds no descriptor for them any more.
            var descriptors = Self.openDescriptors(server.pid)
            while descriptors >= baseline + 50, ContinuousClock.now - connected < .seconds(20) {
                try await Task.sleep(for: .milliseconds(250))
                descriptors = Self.openDescriptors(server.pid)
            }
            print("\(name): \(descriptors) descriptors \(ContinuousClock.now - connected) after the last connection (\(baseline) before)")
            #expect(descriptors < baseline + 50, "\(name): the server holds \(descriptors) descriptors (\(baseline) before)")
            let closed = await Self.closedByServer(held)
            #expect(closed >= held.count * 9 / 10, "\(name): \(closed) of \(held.count) closed by the server")
        }
        // Service continues: health and a signing on new connections.
        let after = try TestConnection(port: port)
        after.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await after.read(until: "\"ok\"").hasPrefix("HTTP/1.1 200"))
        #expect(ProbeTests.status(await ProbeTests.udp(ProbeTests.invite(branch: "idle-after"), port: sign)) == 302)
        #expect(await server.terminate() == 0)
    }

    static var havePostgres: Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).contains {
            FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\($0)/bin/pg_ctl")
        }
    }

    /// `scripts/postgres.sh COMMAND` for a cluster of this test's own.
    static func postgres(_ command: String, directory: String, port: Int, mode: String = "fast") async throws -> String {
        let script = Peers.repositoryRoot.appendingPathComponent("scripts/postgres.sh").path
        let out = try await run("/bin/bash", [script, command], environment: ["PG_DIR": directory, "PG_PORT": String(port), "PG_STOP_MODE": mode],
                                timeout: 120)
        return out.stdout.split(separator: "\n").last.map(String.init) ?? ""
    }

    /// One REST signing: the HTTP status (0 when no answer came within 10 s).
    static func sign(port: Int, token: String) async throws -> Int {
        let connection = try TestConnection(port: port)
        let body = #"{"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\#(now()),"orig":{"tn":"12155550042"},"origid":"123e4567-e89b-12d3-a456-426655440000"}}"#
        connection.send(TestConnection.post("/stir/v1/signing", "Host: x\r\nContent-Type: application/json\r\nConnection: close\r\nAuthorization: Bearer \(token)\r\n", body: body))
        let answer = await connection.readToEnd().text
        return answer.hasPrefix("HTTP/1.1 ") ? Int(answer.dropFirst(9).prefix(3)) ?? 0 : 0
    }

    @Test("PostgreSQL stopped and restarted under signing load: signings are refused while it is down, succeed again without restarting Callsign, and every signing answered 200 is in traceback",
          .enabled(if: Peers.required || havePostgres, "PostgreSQL is not installed"))
    func postgresRestart() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-pgfault-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let pgDir = dir.appendingPathComponent("pg").path
        let pgPort = TestPorts.take()
        let url = try await Self.postgres("start", directory: pgDir, port: pgPort)
        try #require(url.hasPrefix("postgres://"), "PostgreSQL did not start: \(url)")
        defer { _ = try? runBlocking("/bin/bash", [Peers.repositoryRoot.appendingPathComponent("scripts/postgres.sh").path, "stop"],
                                     environment: ["PG_DIR": pgDir, "PG_PORT": String(pgPort), "PG_STOP_MODE": "immediate"], timeout: 60) }
        let port = TestPorts.take()
        let server = try BackgroundProcess(CLI.path, ["serve", "--postgres", url, "--http", "127.0.0.1:\(port)", "--sip-sign", "off",
                                                      "--sip-verify", "off"], directory: dir.path)
        defer { server.stop() }
        try #require(await server.waitForOutput("Sign and verify in one go:", timeout: 60), "serve did not start: \(server.errors)")
        let token = try String(contentsOf: dir.appendingPathComponent("callsign-data/dev-token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let admin = try String(contentsOf: dir.appendingPathComponent("callsign-data/admin-token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var answered = 0
        for _ in 0..<20 where try await Self.sign(port: port, token: token) == 200 { answered += 1 }
        #expect(answered == 20)
        _ = try await Self.postgres("stop", directory: pgDir, port: pgPort, mode: "immediate")
        var refusals: [Int] = []
        let downAt = ContinuousClock.now
        for _ in 0..<10 {
            let status = try await Self.sign(port: port, token: token)
            if status == 200 { answered += 1 } else { refusals.append(status) }
        }
        let whileDown = ContinuousClock.now - downAt
        #expect(!refusals.isEmpty && refusals.allSatisfy { $0 == 500 || $0 == 503 }, "while down: \(refusals)")
        #expect(whileDown < .seconds(60), "10 signings took \(whileDown) while PostgreSQL was down")
        _ = try await Self.postgres("start", directory: pgDir, port: pgPort)
        let upAt = ContinuousClock.now
        var recovered: Duration?
        while ContinuousClock.now - upAt < .seconds(30) {
            if try await Self.sign(port: port, token: token) == 200 {
                answered += 1
                recovered = ContinuousClock.now - upAt
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let recovery = try #require(recovered, "no signing succeeded within 30 s of PostgreSQL's restart")
        print("PostgreSQL restart: signing again \(recovery) after the restart; 10 refused while down in \(whileDown)")
        for _ in 0..<10 where try await Self.sign(port: port, token: token) == 200 { answered += 1 }
        // Nothing answered is lost: every 200 has its traceback record.
        let trace = try TestConnection(port: port)
        trace.send("GET /traceback?origid=935b6457-0877-44ed-9893-8f9363870144 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer \(admin)\r\n\r\n")
        let records = await trace.readToEnd().text
        _ = records
        let origid = try #require(server.output.split(separator: "\n").lazy.compactMap { line -> String? in
            guard let range = line.range(of: "traceback?origid=") else { return nil }
            return String(line[range.upperBound...].prefix(36))
        }.first)
        let listed = try TestConnection(port: port)
        listed.send("GET /traceback?origid=\(origid) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer \(admin)\r\n\r\n")
        let text = await listed.readToEnd().text
        #expect(text.components(separatedBy: "\"origid\"").count - 1 == answered, "\(answered) answered 200; traceback: \(text.suffix(300))")
        #expect(await server.terminate() == 0)
    }

    /// The clock-step shim (`clockstep/clockstep.c`) built with the C compiler into `directory`.
    static func clockStepShim(in directory: URL) async throws -> String {
        let source = Peers.repositoryRoot.appendingPathComponent("Tests/CallsignCLITests/clockstep/clockstep.c").path
        let library = directory.appendingPathComponent("clockstep.so").path
        let compiler = try #require(Peers.which("cc") ?? Peers.which("clang"), "no C compiler")
        let built = try await run(compiler, ["-shared", "-fPIC", "-O2", "-o", library, source, "-ldl"], timeout: 60)
        try #require(built.status == 0, "clockstep.c: \(built.stderr)")
        return library
    }

    /// One REST request on its own connection: the status and the body.
    static func exchange(port: Int, _ request: String) async throws -> (Int, String) {
        let connection = try TestConnection(port: port)
        connection.send(request)
        let text = await connection.readToEnd().text
        let status = text.hasPrefix("HTTP/1.1 ") ? Int(text.dropFirst(9).prefix(3)) ?? 0 : 0
        return (status, text.components(separatedBy: "\r\n\r\n").dropFirst().joined())
    }

    @Test("the system clock stepped +1 h and -1 h while serving: no crash or hang; signing follows the new time, the REST iat window refuses the old one, SIP signing and health go on")
    func clockStep() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-clock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let offset = dir.appendingPathComponent("offset")
        try "0".write(to: offset, atomically: true, encoding: .utf8)
        let shim = try await Self.clockStepShim(in: dir)
        let port = TestPorts.take(2)
        // The wall clock only, as an NTP step moves it: timers run on the monotonic clock.
        let script = "LD_PRELOAD='\(shim)' CLOCK_STEP_FILE='\(offset.path)' exec "
            + "'\(CLI.path)' serve --http 127.0.0.1:\(port) --sip-sign 127.0.0.1:\(port + 1) --sip-verify off"
        let server = try BackgroundProcess("/bin/sh", ["-c", script], directory: dir.path)
        defer { server.stop() }
        try #require(await server.waitForOutput("Sign and verify in one go:", timeout: 60), "serve did not start: \(server.errors)")
        let token = try String(contentsOf: dir.appendingPathComponent("callsign-data/dev-token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        func signing(iat: Int64) -> String {
            let body = #"{"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\#(iat),"orig":{"tn":"12155550042"},"origid":"123e4567-e89b-12d3-a456-426655440000"}}"#
            return TestConnection.post("/stir/v1/signing", "Host: x\r\nContent-Type: application/json\r\nConnection: close\r\nAuthorization: Bearer \(token)\r\n", body: body)
        }
        for step: Int64 in [0, 3600, -3600, 0] {
            try String(step).write(to: offset, atomically: true, encoding: .utf8)
            try await Task.sleep(for: .milliseconds(200))
            let serverNow = now() + step
            let (status, _) = try await Self.exchange(port: port, signing(iat: serverNow))
            #expect(status == 200, "step \(step): a signing at the server's time")
            if step != 0 {
                let (old, body) = try await Self.exchange(port: port, signing(iat: now()))
                #expect(old == 400 && body.contains("SVC4005"), "step \(step): the caller's time is outside the iat window: \(old)")
            }
            let (health, _) = try await Self.exchange(port: port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(health == 200, "step \(step)")
            #expect(ProbeTests.status(await ProbeTests.udp(ProbeTests.invite(branch: "clock\(step)x\(Int.random(in: 0...999_999))"), port: port + 1)) == 302,
                    "step \(step): SIP signing")
        }
        #expect(await server.terminate() == 0)
    }

    /// `count` REST signings, one after another on one keep-alive connection
    /// (blocking, off the cooperative pool): how many got each status (0: no answer within 10 s).
    static func signings(_ count: Int, port: Int, token: String) async throws -> [Int: Int] {
        let connection = try TestConnection(port: port)
        return await TestConnection.offPool {
            var statuses: [Int: Int] = [:]
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            for _ in 0..<count {
                let body = #"{"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\#(now()),"orig":{"tn":"12155550042"},"origid":"123e4567-e89b-12d3-a456-426655440000"}}"#
                connection.send(TestConnection.post("/stir/v1/signing", "Host: x\r\nContent-Type: application/json\r\nAuthorization: Bearer \(token)\r\n", body: body))
                // One response: the head, then Content-Length bytes.
                var status = 0
                while true {
                    let text = String(decoding: pending, as: UTF8.self)
                    if let end = text.range(of: "\r\n\r\n"), let lengthLine = text[..<end.lowerBound].split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") }),
                       let length = Int(lengthLine.dropFirst(15).trimmingCharacters(in: .whitespaces))
                    {
                        let headBytes = text[..<end.upperBound].utf8.count
                        if pending.count >= headBytes + length {
                            status = Int(text.dropFirst(9).prefix(3)) ?? 0
                            pending.removeFirst(headBytes + length)
                            break
                        }
                    }
                    let n = buffer.withUnsafeMutableBytes { Glibc.read(connection.fd, $0.baseAddress, $0.count) }
                    if n <= 0 { break }
                    pending += buffer[0..<n]
                }
                statuses[status, default: 0] += 1
                if status == 0 { break }
            }
            return statuses
        }
    }

    @Test("SQLite on a full disk (a 6 MiB tmpfs) during signings: once the journal's reserved space is used up signings are refused POL5000, never a crash or hang; with space back they succeed again, and every signing answered 200 is in the store",
          .enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func fullDisk() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-full-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let mounted = try await run("/bin/mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", dir.path], timeout: 30)
        try #require(mounted.status == 0, "mount: \(mounted.stderr)")
        defer { _ = try? runBlocking("/bin/umount", ["-l", dir.path], timeout: 30) }
        let port = TestPorts.take()
        let arguments = ["serve", "--http", "127.0.0.1:\(port)", "--sip-sign", "off", "--sip-verify", "off"]
        let server = try BackgroundProcess(CLI.path, arguments, directory: dir.path)
        defer { server.stop() }
        try #require(await server.waitForOutput("Sign and verify in one go:", timeout: 60), "serve did not start: \(server.errors)")
        let token = try String(contentsOf: dir.appendingPathComponent("callsign-data/dev-token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var answered = try await Self.signings(100, port: port, token: token)[200] ?? 0
        #expect(answered == 100)
        // Fill the disk.
        let filler = dir.appendingPathComponent("filler").path
        _ = try await run("/bin/sh", ["-c", "dd if=/dev/zero of='\(filler)' bs=64k 2>/dev/null; sync"], timeout: 60)
        let full = try await Self.signings(20_000, port: port, token: token)
        #expect(full.keys.allSatisfy { $0 == 200 || $0 == 500 }, "while full: \(full)")
        #expect((full[500] ?? 0) > 0, "the disk filled up without a refusal: \(full)")
        answered += full[200] ?? 0
        // Space back: signings succeed again.
        try FileManager.default.removeItem(atPath: filler)
        let back = ContinuousClock.now
        var recovered: Duration?
        while ContinuousClock.now - back < .seconds(30) {
            let statuses = try await Self.signings(1, port: port, token: token)
            if let ok = statuses[200] {
                answered += ok
                recovered = ContinuousClock.now - back
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let recovery = try #require(recovered, "no signing succeeded within 30 s of space coming back")
        print("full disk: \(full) while full; signing again \(recovery) after space came back")
        answered += try await Self.signings(100, port: port, token: token)[200] ?? 0
        // Every answered signing is in the store (the journal is moved into SQLite at the latest on the next start).
        #expect(await server.terminate() == 0)
        let again = try BackgroundProcess(CLI.path, arguments, directory: dir.path)
        defer { again.stop() }
        try #require(await again.waitForOutput("Sign and verify in one go:", timeout: 60), "restart: \(again.errors)")
        #expect(await again.terminate() == 0)
        let counted = try await run("/usr/bin/env", ["python3", "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM signed_call').fetchone()[0])",
                                                 dir.appendingPathComponent("callsign-data/callsign.sqlite").path], timeout: 60)
        #expect(Int(counted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == answered, "\(answered) answered 200; the store holds \(counted.stdout) \(counted.stderr)")
    }
}

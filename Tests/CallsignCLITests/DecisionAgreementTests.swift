import CallsignTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Every face of one `callsign serve` (REST signing, the SIP signing redirect,
/// the SIP signing proxy) and `callsign policy test` on its data directory
/// decide a call the same way: they evaluate one policy in force.
@Suite("REST, the SIP redirect, the SIP proxy and `policy test` agree on every call", .serialized)
struct DecisionAgreementTests {
    /// A UDP socket on 127.0.0.1 for the tests' SIP peers.
    final class UDPSocket: @unchecked Sendable {
        let fd: Int32
        let port: Int

        init(port: Int = 0) throws {
            let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var address = Self.address(port)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard descriptor >= 0, bound == 0 else {
                if descriptor >= 0 { close(descriptor) }
                throw PeerError("cannot bind UDP 127.0.0.1:\(port)")
            }
            var actual = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &actual) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
            fd = descriptor
            self.port = Int(UInt16(bigEndian: actual.sin_port))
        }

        deinit { close(fd) }

        static func address(_ port: Int) -> sockaddr_in {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            return address
        }

        func send(_ bytes: [UInt8], to port: Int) {
            var address = Self.address(port)
            _ = bytes.withUnsafeBytes { raw in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }

        /// A datagram, if one arrives within `milliseconds`.
        func receive(milliseconds: Int32) -> String? {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, milliseconds) == 1 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
        }
    }

    /// A running `callsign serve` with no configuration file, its data directory prepared by `prepare`.
    struct Running {
        let server: BackgroundProcess
        let dir: URL
        let data: String
        let http: Int
        let sign: Int
        let proxy: Int
        let nextHop: UDPSocket
        let token: String
    }

    static func start(prepare: (String) async throws -> Void) async throws -> Running {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-agree-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let data = dir.appendingPathComponent("callsign-data").path
        try await prepare(data)
        let port = TestPorts.take(3)
        let nextHop = try UDPSocket()
        let server = try BackgroundProcess(CLI.path, [
            "serve", "--http", "127.0.0.1:\(port)", "--sip-sign", "127.0.0.1:\(port + 1)", "--sip-verify", "off",
            "--sip-sign-proxy", "127.0.0.1:\(port + 2),127.0.0.1:\(nextHop.port)",
        ], directory: dir.path)
        try #require(await server.waitForOutput("Sign and verify in one go:", timeout: 60), "serve did not start: \(server.errors)")
        let token = try String(contentsOf: URL(fileURLWithPath: data + "/dev-token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return Running(server: server, dir: dir, data: data, http: port, sign: port + 1, proxy: port + 2, nextHop: nextHop, token: token)
    }

    /// REST signing of `orig`: the HTTP status and body.
    static func restSign(_ running: Running, orig: String) async throws -> (Int, String) {
        let connection = try TestConnection(port: running.http)
        let body = #"{"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\#(now()),"orig":{"tn":"\#(orig)"},"origid":"123e4567-e89b-12d3-a456-426655440000"}}"#
        connection.send(TestConnection.post("/stir/v1/signing", "Host: x\r\nContent-Type: application/json\r\nConnection: close\r\nAuthorization: Bearer \(running.token)\r\n", body: body))
        let answer = await connection.readToEnd().text
        return (answer.hasPrefix("HTTP/1.1 ") ? Int(answer.dropFirst(9).prefix(3)) ?? 0 : 0, answer)
    }

    /// What the signing proxy does with an INVITE from `orig`: its refusal's status, or 0 when the INVITE
    /// reached the next hop with an Identity header (nil: neither within 3 s).
    static func proxyOutcome(_ running: Running, orig: String, branch: String) async -> Int? {
        await TestConnection.offPool {
            guard let caller = try? UDPSocket() else { return nil }
            caller.send(ProbeTests.invite(branch: branch, from: "+" + orig), to: running.proxy)
            for _ in 0..<60 {
                if let reply = caller.receive(milliseconds: 25) { return ProbeTests.status(reply) }
                if let forwarded = running.nextHop.receive(milliseconds: 25) {
                    return forwarded.contains("\r\nIdentity: ") && forwarded.contains(branch) ? 0 : nil
                }
            }
            return nil
        }
    }

    /// `callsign policy test --data DATA --from +orig --trunk 127.0.0.1 --json`: the action and SIP code.
    static func policyTest(_ running: Running, orig: String) async throws -> (action: String, sipCode: Int?) {
        let out = try await CLI.callsign("policy", "test", "--data", running.data, "--from", "+" + orig, "--trunk", "127.0.0.1", "--json")
        let object = try jsonObject(out.stdout)
        let action = try #require(object["action"] as? String, "\(out.stdout) \(out.stderr)")
        #expect(out.status == (action == "block" ? 1 : 0))
        return (action, object["sip_code"] as? Int)
    }

    @Test("a number from a DNO list with a header row, imported with no configuration file, is refused by REST (403 POL4003), the signing redirect (603), the signing proxy (603, nothing forwarded) and policy test (block)")
    func importedDNOIsEnforcedEverywhere() async throws {
        let running = try await Self.start { data in
            let csv = FileManager.default.temporaryDirectory.appendingPathComponent("dno-\(UUID().uuidString).csv")
            try "\u{FEFF}number,label\r\n+1 (215) 555-0077,Example Bank fraud line\r\n".write(to: csv, atomically: true, encoding: .utf8)
            let imported = try await CLI.callsign("dno", "import", "--data", data, csv.path)
            try #require(imported.status == 0, "\(imported.stderr)")
        }
        defer { running.server.stop() }
        let log = running.server.output + running.server.errors
        #expect(log.contains("policy: do-not-originate, invalid-number, protected-number (the defaults)") && log.contains("1 DNO entry"),
                "the start log names the rules and the DNO entries: \(log.prefix(800))")

        let (status, body) = try await Self.restSign(running, orig: "12155550077")
        #expect(status == 403)
        #expect(body.contains("POL4003") && body.contains("do-not-originate"))
        let redirect = await ProbeTests.udp(ProbeTests.invite(branch: "dno-redirect", from: "+12155550077"), port: running.sign)
        #expect(ProbeTests.status(redirect) == 603)
        #expect(redirect?.contains("do-not-originate") == true)
        #expect(await Self.proxyOutcome(running, orig: "12155550077", branch: "dno-proxy") == 603)
        #expect(running.nextHop.receive(milliseconds: 300) == nil, "the refused INVITE was forwarded")
        let explained = try await Self.policyTest(running, orig: "12155550077")
        #expect(explained.action == "block" && explained.sipCode == 603)

        // A number that is not listed passes every face.
        #expect(try await Self.restSign(running, orig: "12155550042").0 == 200)
        #expect(await Self.proxyOutcome(running, orig: "12155550042", branch: "dno-proxy-ok") == 0)
        await running.server.terminate()
    }

    /// 200 calling numbers: listed on the DNO list (exactly or by prefix), invalid in several ways, and valid.
    static func generatedCalls() -> [String] {
        var numbers: [String] = []
        for i in 0..<40 { numbers.append("1215555" + String(format: "%04d", 2000 + i)) }           // valid, the sample range (A)
        for i in 0..<30 { numbers.append("1312555" + String(format: "%04d", 3000 + i * 7)) }       // valid, outside it (B)
        for i in 0..<20 { numbers.append("1215555" + String(format: "%04d", 100 + i)) }            // NANP 555-01XX fiction lines
        for i in 0..<10 { numbers.append("1911555" + String(format: "%04d", i)) }                  // N11 area code
        for i in 0..<10 { numbers.append("1215011" + String(format: "%04d", i)) }                  // office code starting with 0
        for i in 0..<10 { numbers.append("44909" + String(format: "%07d", i)) }                    // UK 09 premium rate
        for i in 0..<20 { numbers.append("44207123" + String(format: "%04d", i)) }                 // valid UK
        for i in 0..<20 { numbers.append("1215555" + String(format: "%04d", 7000 + i)) }           // DNO exact
        for i in 0..<20 { numbers.append("1800555" + String(format: "%04d", i)) }                  // DNO prefix 1800555*
        for i in 0..<20 { numbers.append("4420794600" + String(format: "%02d", i)) }               // Ofcom drama (fiction)
        return numbers
    }

    @Test("200 generated calls: REST signing, the signing redirect, the signing proxy and policy test reach the same decision on each")
    func facesAgreeOnGeneratedCalls() async throws {
        let running = try await Self.start { data in
            let csv = FileManager.default.temporaryDirectory.appendingPathComponent("dno-\(UUID().uuidString).csv")
            var text = "tn,description\n"
            for i in 0..<20 { text += "+1 215 555 \(String(format: "%04d", 7000 + i)),listed\n" }
            text += "1800555*,toll-free block\n"
            try text.write(to: csv, atomically: true, encoding: .utf8)
            let imported = try await CLI.callsign("dno", "import", "--data", data, csv.path)
            try #require(imported.status == 0, "\(imported.stderr)")
        }
        defer { running.server.stop() }
        let calls = Self.generatedCalls()
        #expect(calls.count >= 200)
        var blocked = 0
        for (index, orig) in calls.enumerated() {
            let expected = try await Self.policyTest(running, orig: orig)
            let blocks = expected.action == "block"
            if blocks { blocked += 1 }
            let rest = try await Self.restSign(running, orig: orig).0
            #expect(rest == (blocks ? 403 : 200), "REST for +\(orig): \(rest), policy test: \(expected)")
            let redirect = ProbeTests.status(await ProbeTests.udp(ProbeTests.invite(branch: "agree-r\(index)", from: "+" + orig), port: running.sign))
            #expect(redirect == (blocks ? expected.sipCode : 302), "redirect for +\(orig): \(String(describing: redirect)), policy test: \(expected)")
            let proxy = await Self.proxyOutcome(running, orig: orig, branch: "agree-p\(index)")
            #expect(proxy == (blocks ? expected.sipCode : 0), "proxy for +\(orig): \(String(describing: proxy)), policy test: \(expected)")
        }
        // The table exercises both outcomes (fiction lines, N11, 0XX, 09, DNO exact and prefix, drama numbers; valid NANP and UK).
        #expect(blocked >= 80 && calls.count - blocked >= 80, "\(blocked) of \(calls.count) blocked")
        await running.server.terminate()
    }
}

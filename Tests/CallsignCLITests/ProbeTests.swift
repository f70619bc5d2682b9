import CallsignTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// The adversarial probe of issue 20, re-sent to a real `callsign serve`
/// (zero configuration, loopback): each input gets an answer, and afterwards
/// the process is up, `/healthz` answers and a normal INVITE is signed.
@Suite("The probe's inputs leave `callsign serve` up and answering", .serialized)
struct ProbeTests {
    /// One UDP datagram to `port`; the reply, if one comes within 5 s.
    static func udp(_ bytes: [UInt8], port: Int) async -> String? {
        await TestConnection.offPool {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var limit = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            let sent = bytes.withUnsafeBytes { raw in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            guard sent == bytes.count else { return nil }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
        }
    }

    static func invite(branch: String, from: String = "+12155550042", extra: String = "", body: String = "") -> [UInt8] {
        Array(("INVITE sip:12125551213@sbc.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-\(branch)\r\n"
               + "From: <sip:\(from)@carrier.example>;tag=a1\r\nTo: <sip:12125551213@sbc.example>\r\nCall-ID: \(branch)@probe\r\n"
               + "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\(extra)Content-Length: \(body.utf8.count)\r\n\r\n\(body)").utf8)
    }

    static func status(_ reply: String?) -> Int? {
        guard let reply, reply.hasPrefix("SIP/2.0 ") else { return nil }
        return Int(reply.dropFirst(8).prefix(3))
    }

    @Test("each probe input is answered; then /healthz, REST signing and a SIP signing still work")
    func probe() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-probe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let port = TestPorts.take(3)
        let (sign, verify) = (port + 1, port + 2)
        let server = try BackgroundProcess(CLI.path, ["serve", "--http", "127.0.0.1:\(port)", "--sip-sign", "127.0.0.1:\(sign)",
                                                      "--sip-verify", "127.0.0.1:\(verify)"], directory: dir.path)
        defer { server.stop() }
        try #require(await server.waitForOutput("Sign and verify in one go:", timeout: 60), "serve did not start: \(server.errors)")
        let token = try String(contentsOf: dir.appendingPathComponent("callsign-data/dev-token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)

        // SIP over UDP, no authentication needed.
        let garbageToken = "eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0IiwieDV1IjoiaHR0cHM6Ly9jci5leGFtcGxlL3NwLnBlbSJ9."
            + Data(#"{"attest":"A","dest":{"tn":["12125551213"]},"iat":99999999999999999999,"orig":{"tn":"12155550042"},"origid":"123e4567-e89b-12d3-a456-426655440000"}"#.utf8)
            .base64EncodedString().replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            + "." + String(repeating: "A", count: 86)
        let sdp = "v=0\r\n" + String(repeating: "a=fmtp:101 0-15\r\n", count: 300)
        let cases: [(String, [UInt8], Int, ClosedRange<Int>)] = [
            ("Date hour of 17 digits", Self.invite(branch: "date", extra: "Date: Thu, 01 Jan 2026 99999999999999999:00:00 GMT\r\n"), verify, 200...699),
            ("iat of 20 digits, garbage signature", Self.invite(branch: "iat", extra: "Identity: \(garbageToken);info=<https://cr.example/sp.pem>;alg=ES256;ppt=shaken\r\n"), verify, 438...438),
            ("5 KB INVITE with SDP", Self.invite(branch: "big", extra: "Content-Type: application/sdp\r\n", body: sdp), sign, 302...302),
            ("SIP/3.0", Array(String(decoding: Self.invite(branch: "v3"), as: UTF8.self).replacingOccurrences(of: "SIP/2.0\r\nVia", with: "SIP/3.0\r\nVia").utf8), verify, 505...505),
            ("invalid UTF-8", Self.invite(branch: "utf8", extra: "Subject: \u{FFFD}\r\n").map { $0 == 0xEF ? 0xFF : $0 }, verify, 400...400),
            ("NUL in a header value", Self.invite(branch: "nul", extra: "Subject: a\u{0}b\r\n"), verify, 400...400),
        ]
        for (name, bytes, target, expected) in cases {
            let reply = await Self.udp(bytes, port: target)
            let code = Self.status(reply)
            #expect(code.map(expected.contains) == true, "\(name): \(reply ?? "no reply")")
        }
        #expect(Self.invite(branch: "big", body: sdp).count > 4_097)

        // SIP over TCP: a Content-Length of Int64.max.
        let tcp = try TestConnection(port: verify)
        tcp.send(String(decoding: Self.invite(branch: "tcp"), as: UTF8.self).replacingOccurrences(of: "Content-Length: 0", with: "l: 9223372036854775807"))
        let (tcpReply, closed) = await tcp.readToEnd()
        #expect(tcpReply.hasPrefix("SIP/2.0 400"), "\(tcpReply)")
        #expect(closed)

        // REST: times and numbers out of range, a missing Host.
        let rest = try TestConnection(port: port)
        for body in [#"{"verificationRequest":{"from":{"tn":"12155550042"},"to":{"tn":["12125551213"]},"time":9223372036854775808,"identity":"a.b.c"}}"#,
                     #"{"verificationRequest":{"from":{"tn":"12155550042"},"to":{"tn":["12125551213"]},"time":-9223372036854775808,"identity":"a.b.c","x":1}}"#] {
            rest.send(TestConnection.post("/stir/v1/verification", "Host: x\r\nContent-Type: application/json\r\n", body: body))
            #expect(await rest.read(until: "}}}").hasPrefix("HTTP/1.1 400"))
        }
        let signing = #"{"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":99999999999999999999,"orig":{"tn":"12155550042"},"origid":"123e4567-e89b-12d3-a456-426655440000"}}"#
        rest.send(TestConnection.post("/stir/v1/signing", "Host: x\r\nContent-Type: application/json\r\nAuthorization: Bearer \(token)\r\n", body: signing))
        #expect(await rest.read(until: "}}}").hasPrefix("HTTP/1.1 400"))
        rest.send(TestConnection.post("/stir/v1/verification", "Content-Type: application/json\r\n"))
        #expect(await rest.read(until: "}}}").hasPrefix("HTTP/1.1 400"))

        // Still up: health, a REST signing, a SIP signing.
        let after = try TestConnection(port: port)
        after.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await after.read(until: "\"ok\"").hasPrefix("HTTP/1.1 200"))
        let good = signing.replacingOccurrences(of: "99999999999999999999", with: String(now()))
        after.send(TestConnection.post("/stir/v1/signing", "Host: x\r\nContent-Type: application/json\r\nAuthorization: Bearer \(token)\r\n", body: good))
        #expect(await after.read(until: "}}").contains("signingResponse"))
        #expect(Self.status(await Self.udp(Self.invite(branch: "after"), port: sign)) == 302)
        #expect(await server.terminate() == 0)
    }
}

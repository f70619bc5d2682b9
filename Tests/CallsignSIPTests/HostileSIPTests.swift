import Callsign
@testable import CallsignSIP
import NIOCore
import NIOEmbedded
import Testing

/// Single datagrams and stream bytes from the adversarial probe of issue 20:
/// each gets a SIP answer (or is dropped as junk), never a trap.
@Suite("Hostile SIP input gets an answer, never a crash")
struct HostileSIPTests {
    static func request(_ head: String) -> [UInt8] { Array(head.utf8) }

    static let optionsHead = "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-h\r\nFrom: <sip:a@b>;tag=1\r\n"
        + "To: <sip:x@example.com>\r\nCall-ID: hostile@x\r\nCSeq: 1 OPTIONS\r\n"

    @Test("an INVITE whose Date hour has 17 digits is answered (the Date is no date), signed or not")
    func absurdDateHour() async throws {
        let fixture = try await RedirectFixture()
        let signed = try Signer(key: fixture.key, x5u: "https://cr.example/sp.pem")
            .sign(SigningRequest(orig: "12155550042", dest: ["12125551213"], attestation: .full, origid: fixture.bank.origid, iat: fixture.now)).value
        for extra in ["Date: Thu, 01 Jan 2026 99999999999999999:00:00 GMT\r\n",
                      "Date: Thu, 01 Jan 2026 99999999999999999:00:00 GMT\r\nIdentity: \(signed)\r\n"] {
            let invite = RedirectFixture.invite(extra: extra)
            let reply = try parse(await fixture.verification().handle(datagram: invite, source: "192.0.2.10"))
            #expect(status(reply) != 0)
        }
    }

    @Test("a PASSporT whose iat has 20 digits (and a garbage signature) is refused 438 before any fetch")
    func twentyDigitIat() async throws {
        let fixture = try await RedirectFixture()
        let header = Base64URL.encode(Array(#"{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cr.example/sp.pem"}"#.utf8))
        let claims = Base64URL.encode(Array(#"{"attest":"A","dest":{"tn":["12125551213"]},"iat":99999999999999999999,"orig":{"tn":"12155550042"},"origid":"\#(fixture.bank.origid)"}"#.utf8))
        let token = header + "." + claims + "." + Base64URL.encode([UInt8](repeating: 1, count: 64))
        let invite = RedirectFixture.invite(extra: "Identity: \(token);info=<https://cr.example/sp.pem>;alg=ES256;ppt=shaken\r\n")
        let reply = try parse(await fixture.verification().handle(datagram: invite, source: "192.0.2.10"))
        #expect(status(reply) == 438)
    }

    @Test("SIP/3.0 is answered 505, invalid UTF-8 and a NUL in a header value 400")
    func versionAndBytes() async throws {
        let fixture = try await RedirectFixture()
        let cases: [([UInt8], Int)] = [
            (Self.request("OPTIONS sip:x@example.com SIP/3.0\r\n" + Self.optionsHead + "Content-Length: 0\r\n\r\n"), 505),
            (Self.request("OPTIONS sip:x@example.com SIP/2.0\r\n" + Self.optionsHead) + [0x53, 0x75, 0x62, 0x6A, 0x65, 0x63, 0x74, 0x3A, 0x20, 0xC3, 0x28, 0xFF]
                + Self.request("\r\nContent-Length: 0\r\n\r\n"), 400),
            (Self.request("OPTIONS sip:x@example.com SIP/2.0\r\n" + Self.optionsHead + "Subject: a\u{0}b\r\nContent-Length: 0\r\n\r\n"), 400),
        ]
        for (bytes, expected) in cases {
            guard case .reply(let reply?) = fixture.verification().handleImmediately(datagram: bytes, source: "192.0.2.10") else {
                Issue.record("no answer for status \(expected)")
                continue
            }
            let message = try parse(reply)
            #expect(status(message) == expected)
            #expect(message.first("call-id") == "hostile@x")
        }
        #expect(throws: SIPParseError.self) { try SIPParser().parse(Self.request("OPTIONS sip:x SIP/2.0\r\nVia: a\u{7F}\r\n\r\n")) }
    }

    @Test("a TCP Content-Length of Int64.max passes the head on alone (answered 400), then the connection's bytes are dropped",
          arguments: ["l: 9223372036854775807", "Content-Length: 99999999999999999999999", "Content-Length: 65537", "Content-Length: +4",
                      "Content-Length: -4"])
    func streamContentLength(field: String) throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SIPStreamDecoder()))
        let head = "OPTIONS sip:x@example.com SIP/2.0\r\n" + Self.optionsHead + field + "\r\n\r\n"
        #expect(throws: SIPParseError("Content-Length is not a number of at most 65536 bytes")) { try channel.writeInbound(ByteBuffer(string: head + "body")) }
        let frame = try #require(try channel.readInbound(as: ByteBuffer.self))
        #expect(String(buffer: frame) == head)
        #expect(throws: SIPParseError.self) { try SIPParser().parse(Array(frame.readableBytesView)) }
        // The framing is lost: what follows is refused, never framed (the handler closes the connection).
        _ = try? channel.writeInbound(ByteBuffer(string: "OPTIONS sip:x@example.com SIP/2.0\r\n" + Self.optionsHead + "Content-Length: 0\r\n\r\n"))
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
    }

    @Test("a response to the inline proxy whose next Via names a port outside 1-65535 is dropped, not a trap (NIO's in_port_t)",
          arguments: ["192.0.2.10:99999", "192.0.2.10:-1", "192.0.2.10;rport=70000", "[2001:db8::1]:65536", "192.0.2.10:0"])
    func proxyViaPort(sentBy: String) async throws {
        let fixture = try await RedirectFixture()
        let proxy = StatelessProxy(decisions: fixture.verification(), nextHop: try SocketAddress(ipAddress: "127.0.0.1", port: 5070),
                                   viaHost: "127.0.0.1", viaPort: 5064)
        let response = "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.1:5064;branch=z9hG4bK-p\r\nVia: SIP/2.0/UDP \(sentBy);branch=z9hG4bK-a\r\n"
            + "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: p@x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        let out = await proxy.handle(datagram: Array(response.utf8), from: try SocketAddress(ipAddress: "127.0.0.1", port: 5070))
        #expect(out.isEmpty)
        #expect(StatelessProxy.address(ofVia: "SIP/2.0/UDP 192.0.2.10:5080;branch=z9hG4bK-a")?.port == 5080)
    }
}

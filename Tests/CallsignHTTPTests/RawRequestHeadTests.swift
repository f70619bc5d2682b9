import CallsignTestSupport
@testable import CallsignHTTP
import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The request heads the raw hot path reads itself (RFC 9112): what it
/// answers from, what it hands on to NIO, and what makes it hand the whole
/// connection to NIO.
@Suite("Raw hot path: request heads read from bytes")
struct RawRequestHeadTests {
    static func parse(_ text: String, limit: Int = 16 * 1024) -> RawRequestHead.Parsed {
        Array(text.utf8).withUnsafeBytes { RawRequestHead.parse($0, maxHeadBytes: limit) }
    }

    static func head(_ text: String) -> RawRequestHead? {
        if case .head(let head) = parse(text) { return head }
        return nil
    }

    @Test("a signing head gives its fields (names in any case, values trimmed) and its length")
    func fields() throws {
        let text = "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\ncontent-TYPE:  application/json \r\nAUTHORIZATION: Bearer cs_abc\r\n"
            + "Accept: application/json\r\naccept: */*\r\nX-RequestID: r-1\r\nContent-Length: 42\r\n\r\n{\"body\"…"
        let head = try #require(Self.head(text))
        #expect(head.hot && !head.verification)
        #expect(head.contentType == "application/json")
        #expect(head.authorization == "Bearer cs_abc")
        #expect(head.accept == "application/json, */*")
        #expect(head.requestID == "r-1")
        #expect(head.hasContentLength && head.contentLength == 42)
        #expect(head.headLength == text.utf8.count - "{\"body\"…".utf8.count)
        let verification = try #require(Self.head("POST /stir/v1/verification HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(verification.hot && verification.verification && !verification.hasContentLength)
    }

    @Test("requests it may not answer itself are still framed, to hand on whole", arguments: [
        "GET /healthz HTTP/1.1\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nContent-Length: 2\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: a\r\nhost: b\r\nContent-Length: 2\r\n\r\n",
        "POST /stir/v1/signing?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.0\r\nHost: x\r\nContent-Length: 2\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nAuthorization: a\r\nAuthorization: b\r\nContent-Length: 2\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nContent-Type: a\r\nContent-Type: b\r\n\r\n",
        "PUT /stir/v1/verification HTTP/1.1\r\n\r\n",
    ])
    func notHot(_ text: String) throws {
        let head = try #require(Self.head(text))
        #expect(!head.hot)
    }

    @Test("framing it cannot vouch for hands the connection to NIO", arguments: [
        "POST /stir/v1/signing HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nContent-Length: +2\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nContent-Length: 078 \t\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nContent-Length:\t2\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nContent-Length: 1234567890\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nBad Name: 1\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nNoColon\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nX-A: caf\u{e9}\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\r\nX-A: a\u{1}b\r\n\r\n",
        "POST /stir/v1/signing HTTP/1.1\nX-A: 1\r\n\r\n",
        "POST  /stir/v1/signing HTTP/1.1\r\n\r\n",
        "post /stir/v1/signing HTTP/1.1\r\n\r\n",
        "POST /stir/v1/signing HTTP/2.0\r\n\r\n",
        "POST /stir/v1/signing\r\n\r\n",
    ])
    func unusable(_ text: String) {
        #expect(Self.parse(text) == .unusable)
    }

    @Test("a head without its empty line yet waits for more bytes, up to the limit")
    func incomplete() {
        #expect(Self.parse("POST /stir/v1/signing HTTP/1.1\r\nContent-Length: 2\r\n") == .incomplete)
        #expect(Self.parse("") == .incomplete)
        let long = "POST /stir/v1/signing HTTP/1.1\r\nX-A: " + String(repeating: "a", count: 200)
        #expect(Self.parse(long, limit: 128) == .unusable)
    }

    /// xorshift64*: a fixed, seeded sequence (the same inputs on every run).
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
    }

    @Test("mutated, cut and random heads never crash the parser, and a framed head never claims more bytes than it was given")
    func hostileBytes() {
        var random = Seeded(state: 0x9E37_79B9_7F4A_7C15)
        let base = Array(("POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + "Authorization: Bearer cs_abc\r\nConnection: keep-alive\r\nContent-Length: 12\r\n\r\n{\"a\":\"b\"}").utf8)
        let alphabet: [UInt8] = Array(" :\r\n\t/,;=-0123456789ABCDabcdPOST\u{0}".utf8) + [0x7F, 0x80, 0xFF]
        var framed = 0
        for round in 0..<20_000 {
            var bytes = base
            switch round % 4 {
            case 0:  // flip a few bytes
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = alphabet.randomElement(using: &random)!
                }
            case 1:  // cut anywhere
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
            case 2:  // insert bytes
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    bytes.insert(alphabet.randomElement(using: &random)!, at: Int.random(in: 0...bytes.count, using: &random))
                }
            default:  // random bytes from the alphabet
                bytes = (0..<Int.random(in: 0...120, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            }
            let parsed = bytes.withUnsafeBytes { RawRequestHead.parse($0, maxHeadBytes: 16 * 1024) }
            if case .head(let head) = parsed {
                framed += 1
                #expect(head.headLength <= bytes.count && head.headLength >= 4)
                #expect(head.contentLength >= 0 && head.contentLength <= 999_999_999)
            }
        }
        #expect(framed > 1_000)  // the mutations leave many heads intact: the test reaches the field parsing
    }

    /// What NIO's HTTP/1 decoder makes of `bytes`: the head, or `nil` when it refuses them.
    static func nioHead(_ bytes: [UInt8]) -> HTTPRequestHead? {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
        defer { _ = try? channel.finish() }
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes))
            if case .head(let head)? = try channel.readInbound(as: HTTPServerRequestPart.self) { return head }
        } catch {
            return nil
        }
        return nil
    }

    /// A head the raw reader frames as hot is one NIO accepts, framed the same way: method, target, no
    /// Transfer-Encoding, the same Content-Length (none: no body), one Host (request smuggling needs two readers that differ).
    static func agreesWithNIO(_ bytes: [UInt8]) -> Bool {
        let parsed = bytes.withUnsafeBytes { RawRequestHead.parse($0, maxHeadBytes: 16 * 1024) }
        guard case .head(let head) = parsed, head.hot else { return true }
        guard let nio = nioHead(Array(bytes.prefix(head.headLength + head.contentLength))) else { return false }
        return nio.method == .POST && nio.uri == (head.verification ? "/stir/v1/verification" : "/stir/v1/signing")
            && nio.version == .http1_1 && !nio.headers.contains(name: "transfer-encoding")
            && nio.headers["content-length"].compactMap { Int($0.trimmingCharacters(in: [" "])) } == (head.hasContentLength ? [head.contentLength] : [])
            && nio.headers["host"].count == 1
    }

    @Test("the request-smuggling shapes are never framed as hot where NIO's decoder would refuse or frame them otherwise", arguments: [
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n{}",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\n{}",
        "POST /stir/v1/signing HTTP/1.1\nHost: x\nContent-Length: 2\n\n{}",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\nContent-Length: 2\r\n\r\n{}",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\n{}",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\n{}",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\n{}",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nContent-Length: 0x2\r\n\r\n{}",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nContent-Length:\t2\r\n\r\n{}",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n{}",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\n\u{0}Content-Length: 2\r\n\r\n{}",
        "POST  /stir/v1/signing HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
        "POST http://x/stir/v1/signing HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nHost: y\r\nContent-Length: 2\r\n\r\n{}",
        "POST /stir/v1/signing HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 20_000) + "\r\nContent-Length: 2\r\n\r\n{}",
    ])
    func smugglingShapes(_ request: String) {
        #expect(Self.agreesWithNIO(Array(request.utf8)))
    }

    @Test("20,000 mutated requests: every head the raw reader frames as hot, NIO's decoder accepts with the same framing")
    func differentialAgainstNIO() {
        var random = Seeded(state: 0x5DEE_CE66_D1CE_4E5B)
        let base = Array(("POST /stir/v1/verification HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + "Content-Length: 9\r\nX-RequestID: r1\r\n\r\n{\"a\":\"b\"}").utf8)
        let alphabet: [UInt8] = Array(" :\r\n\t,;-0123456789+TransfrEncodigchukClt".utf8) + [0x00, 0x7F, 0x80]
        var hot = 0
        for round in 0..<20_000 {
            var bytes = base
            for _ in 0..<(1 + round % 3) {
                let at = Int.random(in: 0...bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0 where at < bytes.count: bytes[at] = alphabet[Int.random(in: 0..<alphabet.count, using: &random)]
                case 1 where at < bytes.count: bytes.remove(at: at)
                default: bytes.insert(alphabet[Int.random(in: 0..<alphabet.count, using: &random)], at: at)
                }
            }
            let parsed = bytes.withUnsafeBytes { RawRequestHead.parse($0, maxHeadBytes: 16 * 1024) }
            if case .head(let head) = parsed, head.hot { hot += 1 }
            #expect(Self.agreesWithNIO(bytes), "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
        }
        #expect(hot > 1_000)  // many mutations leave the request hot: the comparison is exercised
    }
}

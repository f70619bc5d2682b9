import CallsignSIP
import NIOCore
import NIOEmbedded
import Testing

@Suite("TCP framing of SIP messages (RFC 3261 §18.3)")
struct StreamDecoderTests {
    static let message = "OPTIONS sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
        + "To: <sip:x@example.com>\r\nCall-ID: s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 4\r\n\r\nbody"

    @Test("frames by Content-Length across fragments, pipelined messages and CRLF keep-alives")
    func framing() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SIPStreamDecoder()))
        let bytes = Array(("\r\n\r\n" + Self.message + Self.message).utf8)
        for chunk in stride(from: 0, to: bytes.count, by: 7) {
            try channel.writeInbound(ByteBuffer(bytes: bytes[chunk..<min(chunk + 7, bytes.count)]))
        }
        for _ in 0..<2 {
            let frame = try #require(try channel.readInbound(as: ByteBuffer.self))
            let parsed = try SIPParser().parse(Array(frame.readableBytesView))
            #expect(parsed.body == Array("body".utf8))
        }
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        _ = try channel.finish()
    }

    @Test("a message over the cap or with a bad Content-Length is an error (the connection is closed)")
    func limits() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SIPStreamDecoder(maxMessageBytes: 512)))
        #expect(throws: (any Error).self) {
            try channel.writeInbound(ByteBuffer(bytes: Array(String(repeating: "A", count: 600).utf8)))
        }
        let other = EmbeddedChannel(handler: ByteToMessageHandler(SIPStreamDecoder()))
        #expect(throws: (any Error).self) {
            try other.writeInbound(ByteBuffer(string: Self.message.replacingOccurrences(of: "Content-Length: 4", with: "Content-Length: -4")))
        }
        let huge = EmbeddedChannel(handler: ByteToMessageHandler(SIPStreamDecoder(maxMessageBytes: 1024)))
        #expect(throws: (any Error).self) {
            try huge.writeInbound(ByteBuffer(string: Self.message.replacingOccurrences(of: "Content-Length: 4", with: "Content-Length: 99999")))
        }
    }
}

import Foundation

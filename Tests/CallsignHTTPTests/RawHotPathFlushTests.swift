import CallsignTestSupport
@testable import CallsignHTTP
import Foundation
import NIOCore
import NIOEmbedded
import Testing

/// When the raw hot path hands its answers to the kernel: once per event-loop
/// pass, after every socket read in that pass was answered (BENCHMARKS.md).
@Suite("Raw hot path: answers are flushed once the event loop's pass is done")
struct RawHotPathFlushTests {
    /// A hot request the raw path answers at once from its bytes (415: not JSON).
    static func refused(_ id: String = "r") -> String {
        "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nX-RequestID: \(id)\r\nContent-Length: 2\r\n\r\n{}"
    }

    static func channel() async throws -> EmbeddedChannel {
        let fixture = try await ServerFixture()
        let shared = RESTHotPath(service: fixture.service, now: { 1_700_000_000 })
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([RawHotPathHandler(shared: shared, tracker: nil)])
        return channel
    }

    static func flushed(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let data = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = data else { continue }
            text += String(buffer: buffer)
        }
        return text
    }

    @Test("answers to the requests of one read wait for the pass to end, then are flushed together, in order")
    func flushAfterPass() async throws {
        let channel = try await Self.channel()
        channel.pipeline.fireChannelRead(ByteBuffer(string: Self.refused("a") + Self.refused("b")))
        channel.pipeline.fireChannelReadComplete()
        #expect(try Self.flushed(channel).isEmpty)
        channel.embeddedEventLoop.run()
        let out = try Self.flushed(channel)
        #expect(out.components(separatedBy: "HTTP/1.1 415 ").count - 1 == 2, "\(out)")
        #expect(out.components(separatedBy: "X-RequestID: ").dropFirst().map { $0.prefix(1) } == ["a", "b"])
        _ = try? channel.finish()
    }

    @Test("each pass's answers are flushed when that pass ends; a request split over two passes is answered in the second")
    func oneFlushPerPass() async throws {
        let channel = try await Self.channel()
        channel.pipeline.fireChannelRead(ByteBuffer(string: Self.refused()))
        channel.pipeline.fireChannelReadComplete()
        channel.pipeline.fireChannelRead(ByteBuffer(string: String(Self.refused().prefix(20))))
        channel.pipeline.fireChannelReadComplete()
        channel.embeddedEventLoop.run()
        #expect(try Self.flushed(channel).components(separatedBy: "HTTP/1.1 415 ").count - 1 == 1)
        channel.pipeline.fireChannelRead(ByteBuffer(string: String(Self.refused().dropFirst(20))))
        channel.pipeline.fireChannelReadComplete()
        #expect(try Self.flushed(channel).isEmpty)
        channel.embeddedEventLoop.run()
        #expect(try Self.flushed(channel).components(separatedBy: "HTTP/1.1 415 ").count - 1 == 1)
        _ = try? channel.finish()
    }
}

import CallsignTestSupport
@testable import CallsignApp
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The test's datagrams start with this (tests run in parallel: a stray
/// datagram from another test's peer can reach a port the kernel reassigned).
private let marker = "reuseport-test-\(UInt64.random(in: 0...UInt64.max)) "

/// Echoes each of the test's datagrams and counts what its socket received.
private final class CountingEcho: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>
    let received = Mutex(0)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.data.getString(at: envelope.data.readerIndex, length: marker.utf8.count) == marker else { return }
        received.withLock { $0 += 1 }
        context.writeAndFlush(data, promise: nil)
    }
}

/// Collects the echoes a client socket gets back.
private final class Collector: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let count = Mutex(0)
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.data.getString(at: envelope.data.readerIndex, length: marker.utf8.count) == marker else { return }
        count.withLock { $0 += 1 }
    }
}

@Suite("SIP UDP listener: one SO_REUSEPORT socket per event loop")
struct ReusePortUDPTests {
    #if os(Linux)
    @Test("one peer's datagrams (one 4-tuple) are spread over the per-loop sockets, and every one is answered from the listening port")
    func spreadsOnePeer() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let handlers = [CountingEcho(), CountingEcho()]
        let sockets = try #require(try await ReusePortUDP.bind(host: "127.0.0.1", port: 0, loops: loops) { bootstrap in
            bootstrap.channelInitializer { channel in
                let handler = handlers[loops.firstIndex { $0 === channel.eventLoop } ?? 0]
                return channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
        })
        #expect(sockets.count == 2)
        let port = try #require(sockets[0].localAddress?.port)
        #expect(sockets.allSatisfy { $0.localAddress?.port == port })

        let collector = Collector()
        let client = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) } }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        for i in 0..<200 {
            try await client.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(string: marker + "OPTIONS \(i)"))).get()
        }
        for _ in 0..<200 where collector.count.withLock({ $0 }) < 200 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(collector.count.withLock { $0 } == 200)
        let perSocket = handlers.map { $0.received.withLock { $0 } }
        #expect(perSocket.reduce(0, +) == 200)
        #expect(perSocket.allSatisfy { $0 > 0 }, "all on one socket: \(perSocket)")
        try await client.close()
        for socket in sockets { try await socket.close() }
        try await group.shutdownGracefully()
    }
    #endif

    @Test("one event loop needs no group: the listener falls back to one socket")
    func oneLoopFallsBack() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let sockets = try await ReusePortUDP.bind(host: "127.0.0.1", port: 0, loops: Array(group.makeIterator())) { $0 }
        #expect(sockets == nil)
        try await group.shutdownGracefully()
    }
}

import CallsignSIP
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A redirect listener (UDP and TCP on the same address) as a Service:
/// binds, serves until graceful shutdown, then closes.
struct SIPListener: Service {
    let host: String
    let port: Int
    let service: RedirectService
    var eventLoopAnswers = true
    let logger: Logger

    func run() async throws {
        let tcp = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(120)))
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SIPStreamDecoder()))
                    try channel.pipeline.syncOperations.addHandler(SIPStreamHandler(service: service, eventLoopAnswers: eventLoopAnswers))
                }
            }
            .bind(host: host, port: port).get()
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.datagramVectorReadMessageCount, value: 16)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(SIPUDPHandler(service: service, eventLoopAnswers: eventLoopAnswers,
                                                                                                    spreadOver: MultiThreadedEventLoopGroup.singleton)) }
            }
            .bind(host: host, port: port).get()
        logger.info("SIP \(service.role.rawValue) redirect listener on udp+tcp \(host):\(port)")
        try? await gracefulShutdown()
        try await channel.close()
        try await tcp.close()
    }
}

/// The inline (stateless proxy) face on UDP, as a Service.
struct SIPProxyListener: Service {
    let host: String
    let port: Int
    let proxy: StatelessProxy
    let logger: Logger

    func run() async throws {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(SIPProxyUDPHandler(proxy: proxy)) }
            }
            .bind(host: host, port: port).get()
        logger.info("SIP \(proxy.decisions.role.rawValue) proxy on udp \(host):\(port) → \(proxy.nextHop)")
        try? await gracefulShutdown()
        try await channel.close()
    }
}

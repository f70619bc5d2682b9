import CallsignSIP
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A UDP redirect listener as a Service: binds, serves until graceful
/// shutdown, then closes.
struct SIPListener: Service {
    let host: String
    let port: Int
    let service: RedirectService
    let logger: Logger

    func run() async throws {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.datagramVectorReadMessageCount, value: 16)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(SIPUDPHandler(service: service)) }
            }
            .bind(host: host, port: port).get()
        logger.info("SIP \(service.role.rawValue) redirect listener on udp \(host):\(port)")
        try? await gracefulShutdown()
        try await channel.close()
    }
}

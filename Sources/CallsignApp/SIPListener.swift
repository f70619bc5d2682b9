import CallsignSIP
import CallsignService
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// How a UDP SIP listener reads its address.
public enum SIPUDPSockets: String, Sendable, CaseIterable {
    /// One socket per event loop (`SO_REUSEPORT`, datagrams spread by a BPF
    /// program; Linux), each loop answering on its own socket.
    case perEventLoop = "per-loop"
    /// One socket; its datagrams are handed to the event loops in turn.
    case one
}

/// The bounds of a SIP redirect listener (`serve`'s `--sip-max-in-flight`,
/// `--sip-tcp-max-connections`, `--sip-tcp-idle-timeout`).
public struct SIPListenerLimits: Sendable {
    /// Requests in progress at once over all the listener's UDP sockets and TCP
    /// connections; past it a request is answered `503` with `Retry-After: 1`.
    public var maxInFlight = 2048
    /// TCP connections open at once; one more is closed as it is accepted.
    public var maxTCPConnections = 4096
    /// A TCP connection that sends nothing (not even a CRLF keep-alive, RFC 5626 §3.5.1) for this long is closed.
    public var tcpIdleTimeout: Duration = .seconds(120)

    public init() {}
}

/// A redirect listener (UDP and TCP on the same address) as a Service:
/// binds, serves until graceful shutdown, then closes.
struct SIPListener: Service {
    let host: String
    let port: Int
    let service: RedirectService
    var udpSockets: SIPUDPSockets = .perEventLoop
    var limits = SIPListenerLimits()
    let logger: Logger
    /// Told once both transports are bound.
    var gate: StartupGate?

    /// The listener's name in errors: "SIP signing listener".
    var name: String { "SIP \(service.role.rawValue) listener" }

    func run() async throws {
        let address = authority(host, port)
        let inFlight = InFlightLimit(limit: limits.maxInFlight)
        let connections = InFlightLimit(limit: limits.maxTCPConnections)
        let (service, idle) = (service, TimeAmount(limits.tcpIdleTimeout))
        let tcpBootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: Self.acceptBacklog)
            .childChannelInitializer { channel in
                guard connections.acquire() else {
                    CounterCache.shared.increment("callsign_connections_refused_total", [("listener", "sip-tcp")])
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in connections.release() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle))
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SIPStreamDecoder()))
                    try channel.pipeline.syncOperations.addHandler(SIPStreamHandler(service: service, inFlight: inFlight))
                }
            }
        let tcp: any Channel
        do { tcp = try await tcpBootstrap.bind(host: host, port: port).get() } catch { throw AppError.listener(name, address + " (TCP)", error) }
        let group = MultiThreadedEventLoopGroup.singleton
        // One socket per event loop (see ReusePortUDP); where the platform cannot spread one
        // peer's datagrams over them, or `sip_udp_sockets` is `one`, one socket whose datagrams
        // are handed to the loops in turn.
        var channels: [any Channel] = []
        do {
            if udpSockets == .perEventLoop, let sockets = try await ReusePortUDP.bind(
                host: host, port: port, loops: Array(group.makeIterator()),
                configure: { Self.udp($0, service: service, inFlight: inFlight, spreadOver: nil) })
            {
                channels = sockets
            } else {
                channels = [try await Self.udp(DatagramBootstrap(group: group), service: service, inFlight: inFlight, spreadOver: group).bind(host: host, port: port).get()]
            }
        } catch {
            try? await tcp.close()
            throw AppError.listener(name, address + " (UDP)", error)
        }
        // Linux reports twice the size it keeps for data (socket(7)).
        let granted = (try? await channels.first?.getOption(.socketOption(.so_rcvbuf)).get()).map { Int($0) / 2 } ?? 0
        logger.info("SIP \(service.role.rawValue) redirect listener on udp+tcp \(host):\(port) (\(channels.count) UDP socket\(channels.count == 1 ? "" : "s"), receive buffer \(granted / 1024) KiB each)")
        gate?.bound()
        try? await gracefulShutdown()
        for channel in channels { try? await channel.close() }
        try await tcp.close()
    }

    /// `SO_RCVBUF` asked for each UDP socket: 4 MiB holds ~250 ms of INVITEs at
    /// 7,000 calls/s, so a loop held up for a moment (a busy 2-core host)
    /// answers late instead of the kernel dropping the datagram and the caller
    /// retransmitting after T1 (RFC 3261 §17.1.1.2). Linux caps it at
    /// `net.core.rmem_max` (the granted size is logged at start).
    static let udpReceiveBufferBytes = 4 << 20

    /// Connections the kernel queues before they are accepted (HTTP and SIP over
    /// TCP): a burst of connections is queued, not dropped into SYN
    /// retransmissions. Linux caps it at `net.core.somaxconn` (4096 by default).
    static let acceptBacklog: Int32 = 4096

    /// The largest datagram read whole: a UDP payload is at most 65,507 bytes
    /// (IPv4) or 65,527 (IPv6), and a SIP message at most 64 KiB (``SIPParser/maxMessageBytes``).
    static let maxDatagramBytes = 65_536
    /// Datagrams read by one `recvmmsg`.
    static let vectorReadMessages = 16

    /// The options and handler of a redirect listener's UDP socket.
    static func udp(_ bootstrap: DatagramBootstrap, service: RedirectService, inFlight: InFlightLimit,
                    spreadOver: (any EventLoopGroup)?) -> DatagramBootstrap
    {
        bootstrap
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.datagramVectorReadMessageCount, value: vectorReadMessages)
            .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(udpReceiveBufferBytes))
            // NIO gives each datagram of a vector read an equal slice of this buffer and cuts what
            // does not fit without saying so: each slice holds the largest UDP payload.
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: vectorReadMessages * maxDatagramBytes))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SIPUDPHandler(service: service, inFlight: inFlight, spreadOver: spreadOver))
                }
            }
    }
}

/// The inline (stateless proxy) face on UDP, as a Service.
struct SIPProxyListener: Service {
    let host: String
    let port: Int
    let proxy: StatelessProxy
    let logger: Logger
    /// Told once the socket is bound.
    var gate: StartupGate?

    func run() async throws {
        // No SO_REUSEADDR: on UDP it would let a second process bind the same port and share its datagrams.
        let bootstrap = DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(SIPListener.udpReceiveBufferBytes))
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: SIPListener.maxDatagramBytes))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(SIPProxyUDPHandler(proxy: proxy)) }
            }
        let channel: any Channel
        do { channel = try await bootstrap.bind(host: host, port: port).get() } catch {
            throw AppError.listener("SIP \(proxy.decisions.role.rawValue) proxy", authority(host, port) + " (UDP)", error)
        }
        logger.info("SIP \(proxy.decisions.role.rawValue) proxy on udp \(host):\(port) → \(proxy.nextHop)")
        gate?.bound()
        try? await gracefulShutdown()
        try await channel.close()
    }
}

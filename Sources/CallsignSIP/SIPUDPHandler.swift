public import NIOCore
import Synchronization
import CallsignStore
public import CallsignService
import Metrics

/// The UDP transport of a redirect listener: one datagram = one message
/// (RFC 3261 §18.3). Parsing and answering run on the service; replies go
/// back to the datagram's source. Past `maxInFlight` concurrent requests it
/// answers `503 Service Unavailable` with `Retry-After` instead of queueing.
///
/// What needs no I/O (a verification with a cached credential, a signing
/// whose record the traceback writer commits, retransmissions, OPTIONS,
/// errors) is answered on an event loop without a task. One UDP socket is
/// read by one event loop: the server gives each loop a socket of its own on
/// the same address (`SO_REUSEPORT` with a spreading program, Linux), or —
/// with `spreadOver` — one socket whose datagrams are worked on the group's
/// loops in turn (SIP peers are few addresses: the kernel's default
/// reuse-port hash cannot spread one peer's traffic).
public final class SIPUDPHandler: ChannelInboundHandler, Sendable {
    public typealias InboundIn = AddressedEnvelope<ByteBuffer>
    public typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let service: RedirectService
    let inFlight: InFlightLimit
    let spreadOver: (any EventLoopGroup)?
    /// Between a read and its `channelReadComplete` (touched on the channel's loop only).
    let reading = Atomic(false)
    /// The text of the last few source addresses (SIP peers are few; formatting one costs more than a lookup).
    let sources = Mutex(RecentSources())

    struct RecentSources {
        var entries: [(address: SocketAddress, text: String)] = []
        var next = 0

        mutating func text(of address: SocketAddress) -> String {
            for entry in entries where entry.address == address { return entry.text }
            let text = address.ipAddress ?? ""
            if entries.count < 8 {
                entries.append((address, text))
            } else {
                entries[next] = (address, text)
                next = (next + 1) % entries.count
            }
            return text
        }
    }

    /// What needs no I/O is answered on an event loop; the rest in a task each.
    /// - Parameters:
    ///   - spreadOver: the event loops to work datagrams on in turn (`nil`: the reading loop).
    ///   - inFlight: the listener's bound on requests in progress, shared with its other sockets and its TCP connections.
    public init(service: RedirectService, inFlight: InFlightLimit = InFlightLimit(limit: 2048), spreadOver: (any EventLoopGroup)? = nil) {
        self.service = service
        self.inFlight = inFlight
        self.spreadOver = spreadOver
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reading.store(true, ordering: .relaxed)
        let envelope = unwrapInboundIn(data)
        let remote = envelope.remoteAddress
        let bytes = Array(envelope.data.readableBytesView)
        let channel = context.channel
        if let target = spreadOver?.next(), !target.inEventLoop {
            target.execute { [self] in process(bytes, from: remote, channel: channel, on: target) }
        } else {
            process(bytes, from: remote, channel: channel, on: context.eventLoop)
        }
    }

    /// Flushes the replies written during this read: the datagrams of one
    /// vector read (`recvmmsg`) answered on this loop leave in one `sendmmsg`.
    public func channelReadComplete(context: ChannelHandlerContext) {
        reading.store(false, ordering: .relaxed)
        context.flush()
        context.fireChannelReadComplete()
    }

    private func send(_ bytes: [UInt8], to remote: SocketAddress, channel: any Channel) {
        let envelope = AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: bytes))
        if channel.eventLoop.inEventLoop {
            // Answered inside the channel's read (or a task on its loop): written now, flushed at
            // the read's `channelReadComplete`; a reply from elsewhere in the pass is flushed here.
            channel.write(envelope, promise: nil)
            if !reading.load(ordering: .relaxed) { channel.flush() }
        } else {
            // From another loop it hops to the channel's.
            channel.writeAndFlush(envelope, promise: nil)
        }
    }

    private func process(_ bytes: [UInt8], from remote: SocketAddress, channel: any Channel, on loop: any EventLoop) {
        let source = sources.withLock { $0.text(of: remote) }
        let pending: RedirectService.Pending
        switch service.handleImmediately(datagram: bytes, source: source) {
        case .reply(let reply):
            if let reply { send(reply, to: remote, channel: channel) }
            return
        case .pending(let waiting): pending = waiting
        case .afterCommit(let commit):
            service.commitThenAnswer(commit, on: loop) { [self] reply in send(reply, to: remote, channel: channel) }
            return
        }
        guard inFlight.acquire() else {
            if let busy = service.overloaded(pending: pending, datagram: bytes) { send(busy, to: remote, channel: channel) }
            return
        }
        let service = self.service
        loop.makeFutureWithTask {
            await service.complete(pending)
        }.whenComplete { [self] result in
            inFlight.release()
            guard case .success(let reply?) = result else { return }
            send(reply, to: remote, channel: channel)
        }
    }
}

/// The UDP transport of the inline proxy: each datagram may produce messages
/// to other addresses (next hop, previous hop).
public final class SIPProxyUDPHandler: ChannelInboundHandler, Sendable {
    public typealias InboundIn = AddressedEnvelope<ByteBuffer>
    public typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let proxy: StatelessProxy

    public init(proxy: StatelessProxy) { self.proxy = proxy }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let remote = envelope.remoteAddress
        let bytes = Array(envelope.data.readableBytesView)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let proxy = self.proxy
        context.eventLoop.makeFutureWithTask {
            await proxy.handle(datagram: bytes, from: remote).map { ($0.bytes, $0.to) }
        }.whenSuccess { [self] outputs in
            for (bytes, target) in outputs {
                loopBound.value.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: target, data: ByteBuffer(bytes: bytes))), promise: nil)
            }
            loopBound.value.flush()
        }
    }
}

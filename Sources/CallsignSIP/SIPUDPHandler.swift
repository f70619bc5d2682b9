public import NIOCore
import Synchronization
import CallsignStore
import Metrics

/// The UDP transport of a redirect listener: one datagram = one message
/// (RFC 3261 §18.3). Parsing and answering run on the service; replies go
/// back to the datagram's source. Past `maxInFlight` concurrent requests it
/// answers `503 Service Unavailable` with `Retry-After` instead of queueing.
public final class SIPUDPHandler: ChannelInboundHandler, Sendable {
    public typealias InboundIn = AddressedEnvelope<ByteBuffer>
    public typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let service: RedirectService
    let maxInFlight: Int
    let inFlight = Mutex(0)

    let eventLoopAnswers: Bool

    /// - Parameter eventLoopAnswers: answer what needs no I/O here on the event
    ///   loop (default); `false` sends every request through a task (for A/B measurements).
    public init(service: RedirectService, maxInFlight: Int = 2048, eventLoopAnswers: Bool = true) {
        self.service = service
        self.maxInFlight = maxInFlight
        self.eventLoopAnswers = eventLoopAnswers
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let remote = envelope.remoteAddress
        let bytes = Array(envelope.data.readableBytesView)
        let source = remote.ipAddress ?? ""
        // Answered here on the event loop when no I/O is needed (warm verification,
        // retransmissions, OPTIONS, errors); a task only for the rest.
        let pending: RedirectService.Pending?
        if eventLoopAnswers {
            switch service.handleImmediately(datagram: bytes, source: source) {
            case .reply(let reply):
                if let reply {
                    context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: reply))),
                                          promise: nil)
                }
                return
            case .pending(let waiting): pending = waiting
            case .afterCommit(let commit):
                answerAfterCommit(commit, to: remote, context: context)
                return
            }
        } else {
            pending = nil
        }
        let admitted = inFlight.withLock { count -> Bool in
            guard count < maxInFlight else { return false }
            count += 1
            return true
        }
        guard admitted else {
            CounterCache.shared.increment("callsign_sip_overload_total")
            if let message = pending?.message ?? (try? SIPParser().parse(bytes)), message.isRequest, message.method != "ACK" {
                let busy = RedirectService.response(to: message, status: 503, reason: "Service Unavailable", extra: [("Retry-After", "1")])
                context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: busy.serialized()))),
                                      promise: nil)
            }
            return
        }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let service = self.service
        context.eventLoop.makeFutureWithTask {
            if let pending { await service.complete(pending) } else { await service.handle(datagram: bytes, source: source) }
        }.whenComplete { [self] result in
            inFlight.withLock { $0 -= 1 }
            guard case .success(let reply?) = result else { return }
            loopBound.value.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: reply))),
                                          promise: nil)
        }
    }
}

extension SIPUDPHandler {
    /// Queues the signed call's traceback record and answers from the event loop once it committed.
    func answerAfterCommit(_ commit: RedirectService.Commit, to remote: SocketAddress, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let service = self.service
        let accepted = service.recorder?.enqueue([commit.record]) { [self] result in
            let reply = service.committed(commit, ok: (try? result.get()) != nil)
            loopBound.eventLoop.execute {
                loopBound.value.writeAndFlush(self.wrapOutboundOut(AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: reply))),
                                              promise: nil)
            }
        } ?? false
        if !accepted {
            // The writer stopped (shutdown): not traceable, so not signed.
            let reply = service.committed(commit, ok: false)
            context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: reply))), promise: nil)
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

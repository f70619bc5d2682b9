import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import CallsignService

/// The bounds of the HTTP listener (`serve`'s `--http-idle-timeout`,
/// `--http-head-timeout`, `--http-max-connections`, `--http-max-in-flight`).
public struct HTTPLimits: Sendable {
    /// A connection with no byte read or written for this long is closed
    /// (between requests, and while a request's body is awaited).
    public var idleTimeout: Duration = .seconds(30)
    /// A request head (RFC 9112 §2.1: request line and fields) must arrive
    /// whole within this long of its first byte; if not, `408` and the connection is closed.
    public var headTimeout: Duration = .seconds(10)
    /// Connections open at once; one more is closed as it is accepted.
    public var maxConnections = 8192
    /// Requests the router works on at once (those answered on the event loop
    /// never wait); past it `503` with `Retry-After: 1`.
    public var maxInFlight = 4096

    public init() {}
}

/// Hummingbird's HTTP/1.1 channel with the listener's bounds: a connection cap,
/// and the ``HTTPConnectionGuard`` next to the socket.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let inner: HTTP1Channel
    let limits: HTTPLimits
    let connections: InFlightLimit

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let admitted = connections.acquire()
        if admitted { channel.closeFuture.whenComplete { [connections] _ in connections.release() } }
        let limits = self.limits
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            // First in the pipeline (after the hot path put its handlers first): it sees every byte read and written.
            try channel.pipeline.syncOperations.addHandler(HTTPConnectionGuard(limits: limits), position: .first)
            if !admitted {
                // Failing the setup would end the server's accept loop: the channel is set up, then closed.
                Counter(label: "callsign_connections_refused_total", dimensions: [("listener", "http")]).increment()
                channel.close(promise: nil)
            }
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with `configuration`, bounded by `limits`.
    static func guardedHTTP1(configuration: HTTP1Channel.Configuration = .init(), limits: HTTPLimits) -> HTTPServerBuilder {
        let connections = InFlightLimit(limit: limits.maxConnections)
        return HTTPServerBuilder { responder in
            GuardedHTTP1Channel(inner: HTTP1Channel(responder: responder, configuration: configuration), limits: limits,
                                connections: connections)
        }
    }
}

/// Closes HTTP connections that hold resources without making progress, in
/// the way of nginx's `client_header_timeout` / `client_body_timeout` /
/// `keepalive_timeout`:
/// - a request head must be complete (its empty line read) within
///   ``HTTPLimits/headTimeout`` of its first byte: a slowloris head gets
///   `408 Request Timeout` and the connection is closed;
/// - otherwise a connection with nothing read or written for
///   ``HTTPLimits/idleTimeout`` is closed.
///
/// One timer per connection, moved only when it fires; reads and writes just
/// note the time.
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = Any
    typealias OutboundOut = Any

    private enum Phase {
        /// Between requests: the next byte read starts a head.
        case idle
        /// Reading a request head that began at `started`.
        case head(started: NIODeadline)
        /// The head is read; its body and answer are awaited (until something is written).
        case request
    }

    private let idle: TimeAmount
    private let head: TimeAmount
    private var phase = Phase.idle
    private var lastActivity = NIODeadline.now()
    /// How much of CR LF CR LF the last bytes read matched (a head's end may span reads).
    private var matched = 0
    private var timer: Scheduled<Void>?

    init(limits: HTTPLimits) {
        idle = TimeAmount(limits.idleTimeout)
        head = TimeAmount(limits.headTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        lastActivity = .now()
        schedule(context, at: lastActivity + min(idle, head))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = NIODeadline.now()
        lastActivity = now
        if case .idle = phase {
            phase = .head(started: now)
            matched = 0
        }
        if case .head = phase, Self.findsHeadEnd(unwrapInboundIn(data), matched: &matched) {
            phase = .request
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // An answer is going out: the request it answers is no longer being read.
        lastActivity = .now()
        phase = .idle
        context.write(data, promise: promise)
    }

    /// Whether `buffer` completes CR LF CR LF, continuing a match of `matched` bytes.
    static func findsHeadEnd(_ buffer: ByteBuffer, matched: inout Int) -> Bool {
        buffer.withUnsafeReadableBytes { bytes in
            for byte in bytes {
                switch (matched, byte) {
                case (0, 13), (2, 13): matched += 1
                case (1, 10): matched = 2
                case (3, 10): matched = 0; return true
                case (_, 13): matched = 1
                default: matched = 0
                }
            }
            return false
        }
    }

    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.check(context)
        }
    }

    private func check(_ context: ChannelHandlerContext) {
        timer = nil
        guard context.channel.isActive else { return }
        let now = NIODeadline.now()
        var deadline = lastActivity + idle
        if case .head(let started) = phase {
            let headDeadline = started + head
            if now >= headDeadline {
                Counter(label: "callsign_http_timeouts_total", dimensions: [("kind", "head")]).increment()
                var answer = context.channel.allocator.buffer(capacity: 96)
                answer.writeString("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                context.writeAndFlush(wrapOutboundOut(answer), promise: nil)
                context.close(promise: nil)
                return
            }
            deadline = min(deadline, headDeadline)
        }
        if now >= deadline {
            Counter(label: "callsign_http_timeouts_total", dimensions: [("kind", "idle")]).increment()
            context.close(promise: nil)
            return
        }
        schedule(context, at: deadline)
    }
}

/// Past ``HTTPLimits/maxInFlight`` requests at work in the router, a request
/// is answered `503 Service Unavailable` with `Retry-After: 1` at once. Health
/// and metrics are always answered, so an overloaded node can still be watched.
struct InFlightMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: InFlightLimit

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == "/healthz" || path == "/metrics" { return try await next(request, context) }
        guard limit.acquire() else {
            Counter(label: "callsign_http_overload_total").increment()
            var response = APIResponse.error("SVC5030", ["1"]).http
            response.headers[.retryAfter] = "1"
            return response
        }
        defer { limit.release() }
        return try await next(request, context)
    }
}

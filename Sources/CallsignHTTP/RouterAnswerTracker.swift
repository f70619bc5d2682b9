import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// Behind NIO's HTTP/1 decoder, in front of the router: counts the requests
/// ``RawHotPathHandler`` handed on and the router's answers to them, and tells
/// the raw handler when every one is answered, so it reads the next request
/// only then (HTTP/1.1 answers go out in request order, RFC 9112 §9.3.2).
final class RouterAnswerTracker: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Requests handed to the router whose answer has not ended yet.
    private var unanswered = 0
    private let shared: RESTHotPath
    /// The ``RawHotPathHandler`` in front.
    private weak var raw: RawHotPathHandler?

    init(shared: RESTHotPath) {
        self.shared = shared
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // In front of NIO's HTTP/1 decoder: the two hot requests are answered from their bytes.
        let raw = RawHotPathHandler(shared: shared, tracker: self)
        if (try? context.pipeline.syncOperations.addHandler(raw, position: .first)) != nil { self.raw = raw }
    }

    /// Every request handed to the router is answered.
    var isIdle: Bool { unanswered == 0 }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { unanswered += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let ended: Bool
        if case .end = unwrapOutboundIn(data) { ended = true } else { ended = false }
        context.write(data, promise: promise)
        guard ended else { return }
        unanswered = max(0, unanswered - 1)
        // In a task of its own, not from inside this write: the raw handler may read and answer on.
        if unanswered == 0, let raw, raw.waitsForRouter {
            context.eventLoop.assumeIsolated().execute { [weak raw] in raw?.routerIdle() }
        }
    }
}

package import NIOCore
package import NIOHTTP1
import NIOPosix
import Synchronization

/// A scriptable HTTP/1.1 server on 127.0.0.1 for the x5u client tests:
/// per path a status, headers, body and delay; it counts requests.
package final class TestHTTPServer: Sendable {
    package struct Route: Sendable {
        package var status: HTTPResponseStatus = .ok
        package var headers: [(String, String)] = []
        package var body: [UInt8] = []
        package var delay: TimeAmount = .zero
        /// A fault in place of the answer.
        package var fault: Fault?

        package init(status: HTTPResponseStatus = .ok, headers: [(String, String)] = [], body: [UInt8] = [],
                     delay: TimeAmount = .zero, fault: Fault? = nil) {
            self.status = status
            self.headers = headers
            self.body = body
            self.delay = delay
            self.fault = fault
        }
    }

    /// Ways a certificate repository misbehaves.
    package enum Fault: Sendable {
        /// The head (Content-Length 1,000) and ten bytes of body, then nothing.
        case stallAfterHeaders
        /// A body of this many bytes, chunked, without Content-Length.
        case flood(Int)
        /// The connection reset (RST) instead of an answer.
        case reset
        /// Bytes that are not HTTP, then the connection closed.
        case garbage
    }

    final class Shared: Sendable {
        let routes: Mutex<[String: Route]> = Mutex([:])
        let counts: Mutex<[String: Int]> = Mutex([:])
        let bodies: Mutex<[String: [[UInt8]]]> = Mutex([:])
        let heads: Mutex<[String: [HTTPHeaders]]> = Mutex([:])
    }

    private let shared = Shared()
    private let channel: any Channel
    package let port: Int

    package init() async throws {
        let shared = self.shared
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(shared: shared))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    package func set(_ path: String, _ route: Route) { shared.routes.withLock { $0[path] = route } }
    package func requests(_ path: String) -> Int { shared.counts.withLock { $0[path] ?? 0 } }
    /// The request bodies received at `path`, in order.
    package func bodies(_ path: String) -> [[UInt8]] { shared.bodies.withLock { $0[path] ?? [] } }
    /// The request headers received at `path`, in order.
    package func headers(_ path: String) -> [HTTPHeaders] { shared.heads.withLock { $0[path] ?? [] } }
    package var totalRequests: Int { shared.counts.withLock { $0.values.reduce(0, +) } }
    package func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    package func stop() async throws { try await channel.close() }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        func misbehave(_ fault: Fault, context: ChannelHandlerContext) {
            switch fault {
            case .stallAfterHeaders:
                let headers = HTTPHeaders([("Content-Length", "1000")])
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: [UInt8](repeating: 0x41, count: 10))))), promise: nil)
            case .flood(let total):
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: HTTPHeaders()))), promise: nil)
                let chunk = ByteBuffer(bytes: [UInt8](repeating: 0x41, count: 64 * 1024))
                var sent = 0
                while sent < total, context.channel.isActive {
                    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
                    sent += chunk.readableBytes
                }
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case .reset:
                // SO_LINGER 0: the close sends RST.
                let channel = context.channel
                if let provider = channel as? any SocketOptionProvider {
                    provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
                } else {
                    channel.close(promise: nil)
                }
            case .garbage:
                // Written below the HTTP encoder, as raw bytes.
                if let encoder = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self) {
                    encoder.writeAndFlush(NIOAny(ByteBuffer(string: "NOT HTTP AT ALL\r\n\u{0}\u{1}\r\n\r\n")), promise: nil)
                }
                context.close(promise: nil)
            }
        }

        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let shared: Shared
        var path = "/"
        var body: [UInt8] = []

        init(shared: Shared) {
            self.shared = shared
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                path = head.uri
                body = []
                // Headers first: a caller that sees the count sees the headers too.
                shared.heads.withLock { $0[head.uri, default: []].append(head.headers) }
                shared.counts.withLock { $0[head.uri, default: 0] += 1 }
            case .body(let buffer):
                if body.count < 1 << 20 { body.append(contentsOf: buffer.readableBytesView) }
            case .end:
                let path = self.path
                let received = body
                shared.bodies.withLock { $0[path, default: []].append(received) }
                let route = shared.routes.withLock { $0[path] } ?? Route(status: .notFound)
                var headers = HTTPHeaders(route.headers)
                headers.replaceOrAdd(name: "Content-Length", value: String(route.body.count))
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                let responseHeaders = headers
                let respond: @Sendable () -> Void = { [self] in
                    let context = loopBound.value
                    if let fault = route.fault {
                        misbehave(fault, context: context)
                        return
                    }
                    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: route.status, headers: responseHeaders))), promise: nil)
                    context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: route.body)))), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                }
                if route.delay > .zero {
                    context.eventLoop.scheduleTask(in: route.delay) { respond() }
                } else {
                    respond()
                }
            }
        }
    }
}

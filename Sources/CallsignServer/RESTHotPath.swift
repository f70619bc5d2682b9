import Callsign
import CallsignStore
import Foundation
public import HummingbirdCore
import CallsignSIP
import Dispatch
import HTTPTypes
import Metrics
import NIOCore
import NIOHTTPTypes
import Synchronization

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

/// HTTP/1.1 response heads of the hot path's answers (RFC 9112 §4), written
/// as bytes: the status line, then the fields Hummingbird's path writes too.
enum HTTPAnswerEncoding {
    /// The request's `X-RequestID` as the answer echoes it: values over 128 bytes are not echoed.
    static func echoedRequestID(_ value: String?) -> String? {
        value.flatMap { $0.utf8.count <= 128 ? $0 : nil }
    }

    static func writeHead(status: Int, contentLength: Int, date: [UInt8], requestID: String?, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("HTTP/1.1 ")
        writeDecimal(status, into: &buffer)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(reasonPhrase(status))
        buffer.writeStaticString("\r\nContent-Type: application/json\r\nContent-Length: ")
        writeDecimal(contentLength, into: &buffer)
        buffer.writeStaticString("\r\nDate: ")
        buffer.writeBytes(date)
        buffer.writeStaticString("\r\nServer: callsign\r\n")
        if let requestID {
            // A request field value as NIO parsed it: no CR, LF or NUL (RFC 9110 §5.5).
            buffer.writeStaticString("X-RequestID: ")
            buffer.writeString(requestID)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
    }

    /// The reason phrases of RFC 9110 §15 for what the two endpoints answer (as NIO's encoder writes them).
    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: HTTPResponse.Status(code: status).reasonPhrase
        }
    }

    private static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        guard value > 0 else {
            buffer.writeInteger(UInt8(ascii: "0"))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { raw in
            while rest > 0, count < 20 {
                raw[19 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[(20 - count)...]))
        }
    }
}


/// The HTTP/1.1 server of `callsign serve`: Hummingbird's, with a
/// ``RawHotPathHandler`` per connection in front of NIO's HTTP/1 decoder
/// (the one fast path of the two POST endpoints) and a ``RouterAnswerTracker``
/// in front of the router. It also holds
/// what the handlers share: the `Date` value of the current second, and the
/// request metrics Hummingbird's `MetricsMiddleware` keeps (`hb.requests`,
/// `http.server.request.duration`, same labels), made once.
public final class RESTHotPath: Sendable {
    private struct Metrics {
        var counter: Counter
        var timer: Timer
        var hot: Counter
    }

    /// Requests answered on the event loop so far (also `callsign_rest_hot_path_total{route}`).
    public var answered: Int { answeredCount.load(ordering: .relaxed) }
    private let answeredCount = Atomic(0)

    private let dateCache = Mutex((second: Int64.min, bytes: [UInt8]()))
    private let metrics = Mutex([Int: Metrics]())
    private let now: @Sendable () -> Int64
    let service: STIService

    /// - Parameters:
    ///   - service: the STI-AS/STI-VS the router also answers with.
    ///   - now: the clock for the `Date` header.
    public init(service: STIService, now: @escaping @Sendable () -> Int64) {
        self.service = service
        self.now = now
    }

    /// What the hot path answers a request of one of the two endpoints with.
    enum HotAnswer {
        case now(APIResponse)
        /// Signed: answer once the record committed (the PostgreSQL store's group commit).
        case afterCommit(SignedCallRecord, APIResponse)
        /// Needs I/O first (a cold x5u, a token not cached…): the router answers it.
        case pass
    }

    /// The answer of `POST /stir/v1/verification` (`verification`) or
    /// `POST /stir/v1/signing` whose request checks passed (ATIS-1000082 §5.2, §5.3).
    func answer(verification: Bool, body: [UInt8], authorization: String?) -> HotAnswer {
        if verification {
            return service.verifyImmediately(body: body).map(HotAnswer.now) ?? .pass
        }
        guard let recorder = service.recorder, recorder.acceptsCallbacks else { return .pass }
        switch service.signImmediately(body: body, bearerToken: HotPathRequestCheck.bearerToken(authorization: authorization)) {
        case nil: return .pass
        case .answer(let response)?: return .now(response)
        case .commit(let record, let response)?:
            // With a journal the record is durable once appended: answered in this pass.
            if let journaled = recorder.recordImmediately([record]) {
                return .now(journaled ? STIService.signed(record, response) : .error("POL5000"))
            }
            return .afterCommit(record, response)
        }
    }

    /// The server to give `Application(router:server:)`, with the default ``HTTPLimits``.
    public var server: HTTPServerBuilder { server(limits: HTTPLimits()) }

    /// The server to give `Application(router:server:)`, bounded by `limits`.
    public func server(limits: HTTPLimits) -> HTTPServerBuilder {
        .guardedHTTP1(configuration: HTTP1Channel.Configuration(additionalChannelHandlers: [RouterAnswerTracker(shared: self)]), limits: limits)
    }

    /// `response` as HTTP/1.1 bytes: the head ``HTTPAnswerEncoding`` writes and the JSON body.
    func answerBytes(_ response: APIResponse, requestID: String?, allocator: ByteBufferAllocator) -> ByteBuffer {
        let body = response.encodedBody
        var buffer = allocator.buffer(capacity: 192 + body.count)
        HTTPAnswerEncoding.writeHead(status: response.status, contentLength: body.count, date: dateBytes(),
                                     requestID: requestID, into: &buffer)
        buffer.writeBytes(body)
        return buffer
    }

    /// The IMF-fixdate of the current second as UTF-8 bytes (RFC 9110 §6.6.1: an origin server with a clock sends Date).
    func dateBytes() -> [UInt8] {
        let second = now()
        return dateCache.withLock { cached in
            if cached.second != second { cached = (second, Array(CivilTime.formatRFC1123(second).utf8)) }
            return cached.bytes
        }
    }

    func record(route: String, status: Int, nanoseconds: UInt64) {
        let key = (route == "/stir/v1/signing" ? 1000 : 0) + status
        let made = metrics.withLock { $0[key] }
        let entry = made ?? {
            let dimensions = [("http.route", route), ("http.request.method", "POST"), ("http.response.status_code", String(status))]
            let entry = Metrics(counter: Counter(label: "hb.requests", dimensions: dimensions),
                                timer: Timer(label: "http.server.request.duration", dimensions: dimensions, preferredDisplayUnit: .seconds),
                                hot: Counter(label: "callsign_rest_hot_path_total", dimensions: [("route", route)]))
            metrics.withLock { if $0.count < 64 { $0[key] = entry } }
            return entry
        }()
        entry.counter.increment()
        entry.hot.increment()
        answeredCount.add(1, ordering: .relaxed)
        entry.timer.recordNanoseconds(Int64(clamping: nanoseconds))
    }
}

/// The request checks of the two ATIS-1000082 POST endpoints (§5.1): body
/// type (415 SVC4004), accepted answer type (406 SVC4002), Content-Length
/// (411 SVC4007). One function for the router and the hot path.
enum HotPathRequestCheck {
    static let requestID = HTTPField.Name("X-RequestID")!
    static let host = HTTPField.Name("Host")!

    /// RFC 9112 §3.2: a request without a Host field, or with more than one, is
    /// answered 400. (The HTTP/1 conversion puts the first Host in
    /// `authority`; a second one stays among the fields.)
    static func hostRefusal(_ request: HTTPRequest) -> APIResponse? {
        guard let authority = request.authority, !authority.isEmpty else { return .error("SVC4001", ["Host"]) }
        if request.headerFields.contains(host) { return .error("SVC4005", ["Host", "More than one Host field"]) }
        return nil
    }

    static func refusal(_ fields: HTTPFields) -> APIResponse? {
        // First values, compared on UTF-8 bytes (`fields[name]` joins every value into a new String).
        refusal(contentType: first(.contentType, in: fields), accept: fields.contains(.accept) ? fields[.accept] : nil,
                hasContentLength: fields.contains(.contentLength))
    }

    /// ``refusal(_:)`` from the values themselves: the first `Content-Type`,
    /// every `Accept` value joined (as `HTTPFields` joins them), whether a `Content-Length` was sent.
    static func refusal(contentType: String?, accept: String?, hasContentLength: Bool) -> APIResponse? {
        // The media type `application/json` (any case), then nothing, or parameters (RFC 9110 §8.3.1): not `application/jsonx`.
        guard let type = contentType, type.utf8.count >= 16,
            type.utf8.prefix(16).elementsEqual("application/json".utf8, by: { $0 | 0x20 == $1 }),
            type.utf8.dropFirst(16).first.map({ $0 == UInt8(ascii: ";") || $0 == 0x20 || $0 == 0x09 }) ?? true
        else {
            return .error("SVC4004", ["application/json"])
        }
        if let accept, !accept.contains("application/json"), !accept.contains("*/*") {
            return .error("SVC4002", [accept])
        }
        guard hasContentLength else { return .error("SVC4007") }
        return nil
    }

    /// The first value of `name`, without joining repeated fields.
    static func first(_ name: HTTPField.Name, in fields: HTTPFields) -> String? {
        for field in fields where field.name == name { return field.value }
        return nil
    }

    /// The token of `Authorization: Bearer <token>`, if any.
    static func bearerToken(_ fields: HTTPFields) -> String? {
        bearerToken(authorization: first(.authorization, in: fields))
    }

    /// The token of an `Authorization` value `Bearer <token>`, if it is one.
    static func bearerToken(authorization: String?) -> String? {
        // On UTF-8 bytes (per signing request): "Bearer" in any case, one space, the token without surrounding blanks.
        guard let authorization else { return nil }
        let utf8 = authorization.utf8
        guard utf8.count > 7, utf8.prefix(6).elementsEqual("bearer".utf8, by: { $0 | 0x20 == $1 }),
            utf8[utf8.index(utf8.startIndex, offsetBy: 6)] == UInt8(ascii: " ")
        else { return nil }
        return String(Substring(authorization)[utf8.index(utf8.startIndex, offsetBy: 7)...].trimmingSpacesAndTabs())
    }
}

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

/// Answers the hot ATIS-1000082 requests — `POST /stir/v1/verification` with
/// a warm certificate cache, `POST /stir/v1/signing` with a cached token — on
/// the event loop that read them, in the Hummingbird pipeline before the
/// router: no task per request, no hop to the concurrency pool and back
/// (measured: the router path costs ~28 µs of CPU per request before any
/// STIR work, BENCHMARKS.md). A signing is answered when its traceback record
/// committed (``GroupCommitRecorder/enqueue(_:completion:)``), never before.
///
/// Everything else passes through untouched to Hummingbird, which answers it
/// as before: other paths and methods, requests that need I/O first (a cold
/// x5u, `div`/`rcd` PASSporTs, a token not in the cache), `Connection: close`,
/// `Expect`, bodies over ``STIService/maxBodyBytes`` (Hummingbird answers
/// 413). Header checks (415, 406, 411) and the answers are the same on both
/// paths (``HotPathRequestCheck``, ``STIService``).
///
/// HTTP/1.1 order is kept: while a request handed to Hummingbird is
/// unanswered, later requests follow it there; while a signing waits for its
/// commit, the handler stops reading and holds what was already read.
final class HotPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        case idle
        /// Collecting the body of a request this handler may answer.
        case collecting(HTTPRequest, ByteBuffer, startedAt: UInt64)
        /// Passing the current request to Hummingbird.
        case passing
    }

    private enum Answer {
        case now(APIResponse)
        case afterCommit(SignedCallRecord, APIResponse)
        case pass
    }

    private var state = State.idle
    /// Requests passed to Hummingbird whose response has not ended yet.
    private var passedUnanswered = 0
    private var needsFlush = false
    /// A signing answer waits for its traceback commit.
    private var waitingForCommit = false
    /// Parts read while waiting (bounded: reading stops once ``maxHeldParts`` are held).
    private var held: [NIOAny] = []
    private var readRequested = false
    private var active = true
    private var quiesceHeld = false
    private let shared: RESTHotPath
    private var service: STIService { shared.service }

    init(shared: RESTHotPath) {
        self.shared = shared
    }

    /// The context of the ``SocketWriteHandler`` this handler put first in the pipeline.
    private var socketContext: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        let socketWriter = SocketWriteHandler()
        if (try? context.pipeline.syncOperations.addHandler(socketWriter, position: .first)) != nil {
            socketContext = try? context.pipeline.syncOperations.context(handler: socketWriter)
        }
        if shared.rawRequests {
            // In front of NIO's HTTP/1 decoder: hot requests answered from their bytes.
            let raw = RawHotPathHandler(shared: shared, downstream: self)
            if (try? context.pipeline.syncOperations.addHandler(raw, position: .first)) != nil { self.raw = raw }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        active = false
        socketContext = nil
    }

    /// Graceful shutdown closes idle connections: a request this handler is
    /// still answering (a signing waiting for its commit) holds the event back
    /// until its answer is written.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, waitingForCommit {
            quiesceHeld = true
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        active = false
        context.fireChannelInactive()
    }

    /// Parts held while waiting before reading stops: a pipelined request or
    /// two (head, body, end each). Reading on below that keeps the socket's
    /// read interest as it is — stopping and resuming it for every signing
    /// cost two `epoll_ctl` calls per request (≈ 2 % of the event loops' CPU).
    static let maxHeldParts = 8

    func read(context: ChannelHandlerContext) {
        if waitingForCommit, held.count >= Self.maxHeldParts {
            readRequested = true
        } else {
            context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if waitingForCommit {
            held.append(data)
            return
        }
        let part = unwrapInboundIn(data)
        switch state {
        case .idle:
            guard case .head(let head) = part else {
                context.fireChannelRead(data)
                return
            }
            if passedUnanswered == 0, Self.isHot(head) {
                let capacity = HotPathRequestCheck.first(.contentLength, in: head.headerFields).flatMap(Int.init).map { min(max($0, 0), STIService.maxBodyBytes) } ?? 0
                state = .collecting(head, context.channel.allocator.buffer(capacity: capacity),
                                    startedAt: DispatchTime.now().uptimeNanoseconds)
            } else {
                state = .passing
                passedUnanswered += 1
                context.fireChannelRead(data)
            }
        case .collecting(let head, var body, let started):
            switch part {
            case .head:
                // Not HTTP/1 as NIO decodes it: Hummingbird gets what was collected, then this.
                passCollected(head, body, then: data, context: context)
                passedUnanswered += 1
            case .body where body.readableBytes + (part.bodyBytes ?? 0) > STIService.maxBodyBytes:
                // Too large: Hummingbird answers 413 as it always did.
                passCollected(head, body, then: data, context: context)
            case .body(var chunk):
                state = .idle  // drop the copy held in `state` so `body` is appended to in place
                body.writeBuffer(&chunk)
                state = .collecting(head, body, startedAt: started)
            case .end:
                state = .idle
                switch answer(head, body: body) {
                case .now(let response):
                    write(response, for: head, started: started, context: context)
                case .afterCommit(let record, let response):
                    waitForCommit(record, response, for: head, started: started, context: context)
                case .pass:
                    passedUnanswered += 1
                    context.fireChannelRead(wrapInboundOut(.head(head)))
                    if body.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.body(body))) }
                    context.fireChannelRead(data)
                }
            }
        case .passing:
            if case .end = part { state = .idle }
            context.fireChannelRead(data)
        }
    }

    /// Hands a request collected so far, and the part that ended its collection, to Hummingbird.
    private func passCollected(_ head: HTTPRequest, _ body: ByteBuffer, then data: NIOAny, context: ChannelHandlerContext) {
        state = .passing
        passedUnanswered += 1
        context.fireChannelRead(wrapInboundOut(.head(head)))
        context.fireChannelRead(wrapInboundOut(.body(body)))
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded(context)
        context.fireChannelReadComplete()
    }

    private func flushIfNeeded(_ context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Only Hummingbird's responses come through here (this handler writes from its own context).
        if case .end = unwrapOutboundIn(data) {
            passedUnanswered = max(0, passedUnanswered - 1)
            context.write(data, promise: promise)
            notifyRawIfIdle(context)
            return
        }
        context.write(data, promise: promise)
    }

    /// The two POST endpoints, with nothing that asks for the full path.
    static func isHot(_ head: HTTPRequest) -> Bool {
        guard head.method == .post, head.path == "/stir/v1/verification" || head.path == "/stir/v1/signing" else { return false }
        if head.headerFields.contains(.connection), let connection = head.headerFields[.connection], connection.lowercased().contains("close") { return false }
        if head.headerFields.contains(.expect) { return false }
        return HotPathRequestCheck.hostRefusal(head) == nil
    }

    private func answer(_ head: HTTPRequest, body: ByteBuffer) -> Answer {
        if let refusal = HotPathRequestCheck.refusal(head.headerFields) { return .now(refusal) }
        switch shared.answer(verification: head.path == "/stir/v1/verification", body: Array(body.readableBytesView),
                             authorization: HotPathRequestCheck.first(.authorization, in: head.headerFields)) {
        case .now(let response): return .now(response)
        case .afterCommit(let record, let response): return .afterCommit(record, response)
        case .pass: return .pass
        }
    }

    /// The ``RawHotPathHandler`` in front, told when every request it handed on is answered.
    weak var raw: RawHotPathHandler?

    /// Nothing in progress: no request collected, passed on or waiting for its commit.
    var isIdle: Bool {
        guard case .idle = state else { return false }
        return passedUnanswered == 0 && !waitingForCommit && held.isEmpty
    }

    /// Tells the raw handler, in a task of its own (not from inside this
    /// handler's read or write), that the requests it handed on are answered.
    private func notifyRawIfIdle(_ context: ChannelHandlerContext) {
        guard isIdle, let raw, raw.waitsForDownstream else { return }
        context.eventLoop.assumeIsolated().execute { [weak raw] in raw?.downstreamIdle() }
    }

    private func waitForCommit(_ record: SignedCallRecord, _ response: APIResponse, for head: HTTPRequest, started: UInt64,
                               context: ChannelHandlerContext)
    {
        waitingForCommit = true
        guard let recorder = service.recorder else {
            committed(.error("POL5000"), for: head, started: started, context: context)  // not reached: checked in answer()
            return
        }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let outcome = recorder.enqueueDeferringWake([record]) { result in
            bound.eventLoop.execute {
                let (handler, context) = bound.value
                let answer = (try? result.get()) != nil ? STIService.signed(record, response) : APIResponse.error("POL5000")
                handler.committed(answer, for: head, started: started, context: context)
            }
        }
        switch outcome {
        case .refused:
            // The writer stopped (shutdown): this call cannot be traced back, so it is not signed.
            committed(.error("POL5000"), for: head, started: started, context: context)
        case .queued:
            break  // a write in progress, or a wake another caller scheduled, takes it
        case .wakeOwed:
            // Tasks run after the event loop handled everything it read in this pass: the
            // signings read together go in one transaction (one writer wake-up for them all).
            context.eventLoop.execute { recorder.wakeDeferredWriter() }
        }
    }

    /// The commit is done: answer, then go on with what was read meanwhile.
    private func committed(_ response: APIResponse, for head: HTTPRequest, started: UInt64, context: ChannelHandlerContext) {
        waitingForCommit = false
        guard active else {
            held.removeAll()
            return
        }
        write(response, for: head, started: started, context: context)
        flushIfNeeded(context)
        // Requests read meanwhile, in order (one that must wait in turn holds the rest again).
        let parts = held
        held.removeAll()
        for part in parts { channelRead(context: context, data: part) }
        flushIfNeeded(context)
        // Replayed outside a socket read: what was passed on to Hummingbird needs its own
        // read-complete (its async channel delivers what it was given only then).
        if !parts.isEmpty { context.fireChannelReadComplete() }
        if !waitingForCommit, quiesceHeld {
            quiesceHeld = false
            context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        if !waitingForCommit, readRequested {
            readRequested = false
            context.read()
        }
        notifyRawIfIdle(context)
    }

    private func write(_ response: APIResponse, for head: HTTPRequest, started: UInt64, context: ChannelHandlerContext) {
        let requestID = HTTPAnswerEncoding.echoedRequestID(HotPathRequestCheck.first(HotPathRequestCheck.requestID, in: head.headerFields))
        if let socket = socketContext {
            // One buffer, already HTTP/1.1, written below Hummingbird's encoders (same head fields as they write).
            let buffer = shared.answerBytes(response, requestID: requestID, allocator: context.channel.allocator)
            socket.write(NIOAny(IOData.byteBuffer(buffer)), promise: nil)
        } else {
            let body = response.encodedBody
            var fields: HTTPFields = [
                .contentType: "application/json",
                .contentLength: String(body.count),
                .date: shared.date(),
                .server: "callsign",
            ]
            if let requestID { fields[HotPathRequestCheck.requestID] = requestID }
            let status = HTTPResponse.Status(code: response.status)
            context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
            context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
        }
        needsFlush = true
        shared.record(route: head.path ?? "", status: response.status, nanoseconds: DispatchTime.now().uptimeNanoseconds - started)
    }
}

/// First in the pipeline, next to the socket: the hot path writes its answers
/// through this handler's context, already encoded as HTTP/1.1, so they skip
/// the HTTPTypes conversion and NIO's response encoder (one buffer and one
/// `write` instead of three parts and a `writev`). Passes everything through.
final class SocketWriteHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
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

extension HTTPRequestPart {
    fileprivate var bodyBytes: Int? {
        if case .body(let buffer) = self { return buffer.readableBytes }
        return nil
    }
}

/// The HTTP/1.1 server of `callsign serve`: Hummingbird's, with a
/// ``HotPathHandler`` per connection in front of the router. It also holds
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

    /// Of ``answered``, those read from bytes by ``RawHotPathHandler`` (the rest came through NIO's decoder).
    public var answeredFromBytes: Int { fromBytesCount.load(ordering: .relaxed) }
    private let fromBytesCount = Atomic(0)

    func countAnsweredFromBytes() { fromBytesCount.add(1, ordering: .relaxed) }

    private let dateCache = Mutex((second: Int64.min, text: "", bytes: [UInt8]()))
    private let metrics = Mutex([Int: Metrics]())
    private let now: @Sendable () -> Int64
    let service: STIService

    /// - Parameters:
    ///   - service: the STI-AS/STI-VS the router also answers with.
    ///   - now: the clock for the `Date` header.
    public init(service: STIService, rawRequests: Bool = true, now: @escaping @Sendable () -> Int64) {
        self.service = service
        self.rawRequests = rawRequests
        self.now = now
    }

    /// Whether hot requests are parsed from their bytes in front of NIO's
    /// HTTP/1 decoder (``RawHotPathHandler``); `false` keeps them to ``HotPathHandler``.
    public let rawRequests: Bool

    /// What the hot path answers a request of one of the two endpoints with.
    enum HotAnswer {
        case now(APIResponse)
        /// Signed: answer once the record committed (no journal).
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
        .guardedHTTP1(configuration: HTTP1Channel.Configuration(additionalChannelHandlers: [HotPathHandler(shared: self)]), limits: limits)
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

    /// The IMF-fixdate of the current second (RFC 9110 §6.6.1: an origin server with a clock sends Date).
    func date() -> String {
        let second = now()
        return dateCache.withLock { cached in
            if cached.second != second { cached = (second, CivilTime.formatRFC1123(second), Array(CivilTime.formatRFC1123(second).utf8)) }
            return cached.text
        }
    }

    /// ``date()`` as UTF-8 bytes.
    func dateBytes() -> [UInt8] {
        let second = now()
        return dateCache.withLock { cached in
            if cached.second != second { cached = (second, CivilTime.formatRFC1123(second), Array(CivilTime.formatRFC1123(second).utf8)) }
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

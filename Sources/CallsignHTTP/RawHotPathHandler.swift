import Callsign
import CallsignStore
import Dispatch
import NIOCore

/// The one fast path of the two ATIS-1000082 POST endpoints: first in a REST
/// connection's pipeline, in front of NIO's HTTP/1 decoder, it answers
/// `POST /stir/v1/verification` (warm certificate cache) and
/// `POST /stir/v1/signing` (cached token) straight from their bytes, on the
/// event loop that read them: no NIO request head, no `HTTPRequest`
/// conversion, no task per request (BENCHMARKS.md). Each request is parsed
/// and signed once. A signing is answered once its traceback record is
/// durable: at once with the SQLite store's journal, after the group commit
/// with PostgreSQL (reading pauses meanwhile, so answers stay in order).
///
/// Strict on purpose: a request it does not fully understand is handed to
/// NIO's decoder and the router, NIO staying the reference for HTTP/1.1.
/// - Another method or path, HTTP/1.0, `Expect`, `Upgrade`, `Connection:
///   close`, a repeated field it reads, a body over ``STIService/maxBodyBytes``,
///   or a request needing I/O first (a cold x5u, an uncached token): the
///   request's bytes (head and `Content-Length` body) are handed on, and the
///   handler waits — buffering what follows — until ``RouterAnswerTracker``
///   says every request handed on is answered.
/// - Anything whose framing it cannot vouch for (`Transfer-Encoding`, two
///   `Content-Length`s, a malformed line, obs-fold, control or non-ASCII bytes
///   in the head, a head over 16 KiB, more than 64 KiB buffered while waiting
///   for the router): everything from there on is handed to NIO for the rest
///   of the connection.
final class RawHotPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private enum Mode {
        /// Reading requests from ``pending``.
        case parsing
        /// Handing on the rest of a request: this many bytes more.
        case forwarding(Int)
        /// A request handed to the router is not answered yet.
        case waitingForRouter
        /// A signing waits for its traceback record's group commit.
        case waitingForCommit
        /// Everything goes to NIO's decoder, for good.
        case passThrough
    }

    private var mode = Mode.parsing
    private var pending: ByteBuffer?
    private var needsFlush = false
    private var flushScheduled = false
    /// Between a socket read and its `channelReadComplete`.
    private var inReadCycle = false
    /// Something was handed on since the last `channelReadComplete` passed on.
    private var handedOnSinceReadComplete = false
    /// A `read` held back while a commit is awaited with ``maxBufferedBytes`` buffered.
    private var readHeld = false
    /// Graceful shutdown's quiesce event, held until the awaited answer is written.
    private var quiesceHeld = false
    private var context: ChannelHandlerContext?
    private let shared: RESTHotPath
    private weak var tracker: RouterAnswerTracker?

    /// Longest request head read here; longer ones go to NIO.
    static let maxHeadBytes = 16 * 1024
    /// Most bytes buffered while an answer is awaited.
    static let maxBufferedBytes = 64 * 1024

    init(shared: RESTHotPath, tracker: RouterAnswerTracker?) {
        self.shared = shared
        self.tracker = tracker
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Whether a request handed to the router is awaited (``RouterAnswerTracker`` calls ``routerIdle()`` then).
    var waitsForRouter: Bool {
        if case .waitingForRouter = mode { return true }
        return false
    }

    /// Every request handed to the router is answered: go on with what was read meanwhile.
    func routerIdle() {
        guard case .waitingForRouter = mode, tracker?.isIdle ?? true, let context else { return }
        resume(context)
    }

    /// An awaited answer is out: parse on, pass on what was held.
    private func resume(_ context: ChannelHandlerContext) {
        mode = .parsing
        process(context)
        flushIfNeeded(context)
        // Outside a socket read, a request handed on needs its own read-complete:
        // Hummingbird's async channel delivers what it was given only then.
        if !inReadCycle { passOnReadComplete(context) }
        if readHeld, !isWaiting {
            readHeld = false
            context.read()
        }
        if quiesceHeld, !isWaiting {
            quiesceHeld = false
            context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    private var isWaiting: Bool {
        switch mode {
        case .waitingForRouter, .waitingForCommit: return true
        default: return false
        }
    }

    /// Hands bytes on to NIO's decoder.
    private func handOn(_ context: ChannelHandlerContext, _ data: NIOAny) {
        handedOnSinceReadComplete = true
        context.fireChannelRead(data)
    }

    /// Passes on `channelReadComplete` when something was handed on since the last
    /// one; a read answered here whole costs the handlers behind nothing.
    private func passOnReadComplete(_ context: ChannelHandlerContext) {
        guard handedOnSinceReadComplete else { return }
        handedOnSinceReadComplete = false
        context.fireChannelReadComplete()
    }

    /// While a signing waits for its commit with a full buffer, the socket is not read.
    func read(context: ChannelHandlerContext) {
        if case .waitingForCommit = mode, (pending?.readableBytes ?? 0) >= Self.maxBufferedBytes {
            readHeld = true
        } else {
            context.read()
        }
    }

    /// Graceful shutdown closes idle connections: a signing waiting for its
    /// commit holds the event back until its answer is written.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, case .waitingForCommit = mode {
            quiesceHeld = true
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inReadCycle = true
        var buffer = unwrapInboundIn(data)
        switch mode {
        case .passThrough:
            handOn(context, data)
        case .forwarding(let remaining):
            if buffer.readableBytes <= remaining {
                let left = remaining - buffer.readableBytes
                mode = left == 0 ? .waitingForRouter : .forwarding(left)
                handOn(context, data)
                if left == 0, resumeIfAnswered() { process(context) }
            } else if let rest = buffer.readSlice(length: remaining) {
                mode = .waitingForRouter
                handOn(context, wrapInboundOut(rest))
                append(&buffer)
                if resumeIfAnswered() { process(context) }
            }
        case .waitingForRouter:
            append(&buffer)
            if (pending?.readableBytes ?? 0) > Self.maxBufferedBytes { giveUp(context) }
        case .waitingForCommit:
            append(&buffer)  // bounded by ``read(context:)``
        case .parsing:
            append(&buffer)
            process(context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inReadCycle = false
        if needsFlush, !flushScheduled {
            // Flushed in a task: tasks run once the event loop has handled every
            // socket ready in this pass, so the answers to all the connections read
            // together reach the kernel back to back and wake the client once, not
            // once per answer (verification +18–24 % req/s, BENCHMARKS.md).
            flushScheduled = true
            context.eventLoop.assumeIsolated().execute { [weak self] in
                guard let self else { return }
                flushScheduled = false
                if let context = self.context { flushIfNeeded(context) }
            }
        }
        passOnReadComplete(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        pending = nil
        context.fireChannelInactive()
    }

    private func append(_ buffer: inout ByteBuffer) {
        if pending == nil || pending?.readableBytes == 0 {
            pending = buffer
        } else {
            pending?.writeBuffer(&buffer)
        }
    }

    private func flushIfNeeded(_ context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
    }

    /// A request handed on may have been answered at once (a refusal): reading
    /// goes on. Only sets the mode — ``process(_:)`` loops on, so pipelined
    /// requests never nest calls (a flood of tiny requests must not grow the stack).
    @discardableResult
    private func resumeIfAnswered() -> Bool {
        guard case .waitingForRouter = mode, tracker?.isIdle ?? true else { return false }
        mode = .parsing
        return true
    }

    /// Hands everything on to NIO's decoder from here on.
    private func giveUp(_ context: ChannelHandlerContext) {
        mode = .passThrough
        if let rest = pending, rest.readableBytes > 0 { handOn(context, wrapInboundOut(rest)) }
        pending = nil
    }

    /// Answers or hands on the complete requests in ``pending``.
    private func process(_ context: ChannelHandlerContext) {
        while case .parsing = mode, var buffer = pending, buffer.readableBytes > 0 {
            let started = DispatchTime.now().uptimeNanoseconds
            let parsed = buffer.withUnsafeReadableBytes { RawRequestHead.parse($0, maxHeadBytes: Self.maxHeadBytes) }
            switch parsed {
            case .incomplete:
                return
            case .unusable:
                giveUp(context)
                return
            case .head(let head):
                let total = head.headLength + head.contentLength
                if head.hot, head.contentLength <= STIService.maxBodyBytes {
                    guard buffer.readableBytes >= total else { return }
                    let body = buffer.getBytes(at: buffer.readerIndex + head.headLength, length: head.contentLength) ?? []
                    switch answer(head, body: body) {
                    case .now(let response):
                        buffer.moveReaderIndex(forwardBy: total)
                        pending = buffer
                        write(response, head: head, started: started, context: context)
                        continue
                    case .afterCommit(let record, let response):
                        buffer.moveReaderIndex(forwardBy: total)
                        pending = buffer
                        waitForCommit(record, response, head: head, started: started, context: context)
                        continue  // the loop ends here: the mode is waitingForCommit
                    case .pass:
                        break
                    }
                }
                // Handed on whole (or as it arrives), then wait for its answer.
                if buffer.readableBytes >= total, let request = buffer.readSlice(length: total) {
                    pending = buffer
                    mode = .waitingForRouter
                    handOn(context, wrapInboundOut(request))
                    resumeIfAnswered()  // the loop goes on when it was answered at once
                } else {
                    pending = nil
                    mode = .forwarding(total - buffer.readableBytes)
                    handOn(context, wrapInboundOut(buffer))
                }
            }
        }
    }

    /// What this handler does with a hot request: the request checks, then the service.
    private func answer(_ head: RawRequestHead, body: [UInt8]) -> RESTHotPath.HotAnswer {
        if let refusal = HotPathRequestCheck.refusal(contentType: head.contentType, accept: head.accept,
                                                     hasContentLength: head.hasContentLength) {
            return .now(refusal)
        }
        return shared.answer(verification: head.verification, body: body, authorization: head.authorization)
    }

    /// Queues a signing's record on the group commit; the answer is written
    /// when its transaction ended (POL5000 when it failed: a call that cannot
    /// be traced back is not signed), and reading goes on then.
    private func waitForCommit(_ record: SignedCallRecord, _ response: APIResponse, head: RawRequestHead, started: UInt64,
                               context: ChannelHandlerContext)
    {
        guard let recorder = shared.service.recorder else {
            write(.error("POL5000"), head: head, started: started, context: context)
            return
        }
        mode = .waitingForCommit
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let outcome = recorder.enqueueDeferringWake([record]) { result in
            bound.eventLoop.execute {
                let (handler, context) = bound.value
                let answer = (try? result.get()) != nil ? STIService.signed(record, response) : APIResponse.error("POL5000")
                handler.committed(answer, head: head, started: started, context: context)
            }
        }
        switch outcome {
        case .refused:
            // The writer stopped (shutdown): this call cannot be traced back, so it is not signed.
            committed(.error("POL5000"), head: head, started: started, context: context)
        case .queued:
            break  // a write in progress, or a wake another caller owes, takes it
        case .wakeOwed:
            // Tasks run after the event loop handled everything it read in this pass: the
            // signings read together go in one transaction (one writer wake-up for them all).
            context.eventLoop.execute { recorder.wakeDeferredWriter() }
        }
    }

    private func committed(_ response: APIResponse, head: RawRequestHead, started: UInt64, context: ChannelHandlerContext) {
        guard self.context != nil else { return }  // the connection closed meanwhile
        write(response, head: head, started: started, context: context)
        flushIfNeeded(context)
        resume(context)
    }

    private func write(_ response: APIResponse, head: RawRequestHead, started: UInt64, context: ChannelHandlerContext) {
        let buffer = shared.answerBytes(response, requestID: HTTPAnswerEncoding.echoedRequestID(head.requestID),
                                        allocator: context.channel.allocator)
        context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
        needsFlush = true
        shared.record(route: head.verification ? "/stir/v1/verification" : "/stir/v1/signing", status: response.status,
                      nanoseconds: DispatchTime.now().uptimeNanoseconds - started)
    }
}

/// A request head read from bytes (RFC 9112 §2–§6), with what the hot path
/// needs of it. Strict: anything unusual is `.unusable` (NIO decides) or not `hot`.
struct RawRequestHead: Equatable {
    enum Parsed: Equatable {
        /// No end of the head yet.
        case incomplete
        /// Not something to frame here: hand the connection to NIO.
        case unusable
        case head(RawRequestHead)
    }

    /// Bytes up to and including the empty line.
    var headLength = 0
    var contentLength = 0
    var hasContentLength = false
    /// `POST /stir/v1/verification` or `/stir/v1/signing` over HTTP/1.1, with nothing that asks for NIO.
    var hot = false
    var verification = false
    var contentType: String?
    /// Every `Accept` value, joined with ", " as `HTTPFields` joins them.
    var accept: String?
    var authorization: String?
    var requestID: String?

    static func parse(_ bytes: UnsafeRawBufferPointer, maxHeadBytes: Int) -> Parsed {
        // The end of the head: CR LF CR LF.
        let limit = min(bytes.count, maxHeadBytes)
        var end = -1
        var index = 3
        while index < limit {
            if bytes[index] == 0x0A, bytes[index - 1] == 0x0D, bytes[index - 2] == 0x0A, bytes[index - 3] == 0x0D {
                end = index + 1
                break
            }
            index += 1
        }
        guard end > 0 else { return bytes.count >= maxHeadBytes ? .unusable : .incomplete }
        var head = RawRequestHead()
        head.headLength = end
        // Request line: method SP target SP version CRLF.
        guard let lineEnd = crlf(bytes, from: 0, to: end), let firstSpace = find(0x20, bytes, 0, lineEnd),
              let secondSpace = find(0x20, bytes, firstSpace + 1, lineEnd)
        else { return .unusable }
        for i in 0..<firstSpace where !(bytes[i] >= 0x41 && bytes[i] <= 0x5A) { return .unusable }
        guard firstSpace > 0, secondSpace > firstSpace + 1 else { return .unusable }
        for i in (firstSpace + 1)..<secondSpace where !(bytes[i] >= 0x21 && bytes[i] <= 0x7E) { return .unusable }
        let version = UnsafeRawBufferPointer(rebasing: bytes[(secondSpace + 1)..<lineEnd])
        let http11 = version.elementsEqual("HTTP/1.1".utf8)
        guard http11 || version.elementsEqual("HTTP/1.0".utf8) else { return .unusable }
        let method = UnsafeRawBufferPointer(rebasing: bytes[0..<firstSpace])
        let target = UnsafeRawBufferPointer(rebasing: bytes[(firstSpace + 1)..<secondSpace])
        head.verification = target.elementsEqual("/stir/v1/verification".utf8)
        head.hot = http11 && method.elementsEqual("POST".utf8) && (head.verification || target.elementsEqual("/stir/v1/signing".utf8))
        var acceptValues: [String] = []
        var seen: UInt8 = 0  // a bit per field that may appear once (no set allocated per request)
        // Field lines: name ":" OWS value OWS CRLF.
        var start = lineEnd + 2
        while start < end - 2 {
            guard let stop = crlf(bytes, from: start, to: end) else { return .unusable }
            guard let colon = find(0x3A, bytes, start, stop), colon > start else { return .unusable }
            for i in start..<colon where !isTokenCharacter(bytes[i]) { return .unusable }  // also rules out obs-fold
            var valueStart = colon + 1
            var valueEnd = stop
            while valueStart < valueEnd, bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09 { valueStart += 1 }
            while valueEnd > valueStart, bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            for i in valueStart..<valueEnd where !((bytes[i] >= 0x20 && bytes[i] <= 0x7E) || bytes[i] == 0x09) { return .unusable }
            let name = UnsafeRawBufferPointer(rebasing: bytes[start..<colon])
            let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])
            func named(_ text: StaticString) -> Bool {
                name.count == text.utf8CodeUnitCount
                    && name.elementsEqual(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)) { $0 | 0x20 == $1 }
            }
            func once(_ bit: UInt8) -> Bool {
                defer { seen |= 1 << bit }
                return seen & (1 << bit) == 0
            }
            if named("content-length") {
                // Digits between spaces only: NIO's decoder refuses a tab around them, and this reader must
                // never frame a request NIO would refuse (found by the `rest` fuzz harness).
                for i in (colon + 1)..<stop where bytes[i] == 0x09 { return .unusable }
                guard once(1), value.count >= 1, value.count <= 9, value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return .unusable }
                head.contentLength = value.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                head.hasContentLength = true
            } else if named("transfer-encoding") {
                return .unusable
            } else if named("content-type") {
                if !once(2) { head.hot = false }
                head.contentType = String(decoding: value, as: UTF8.self)
            } else if named("accept") {
                acceptValues.append(String(decoding: value, as: UTF8.self))
            } else if named("authorization") {
                if !once(3) { head.hot = false }
                head.authorization = String(decoding: value, as: UTF8.self)
            } else if named("x-requestid") {
                if !once(4) { head.hot = false }
                head.requestID = String(decoding: value, as: UTF8.self)
            } else if named("host") {
                if !once(5) { head.hot = false }
            } else if named("expect") || named("upgrade") {
                head.hot = false
            } else if named("connection") {
                if value.count >= 5, (0...(value.count - 5)).contains(where: { offset in
                    UnsafeRawBufferPointer(rebasing: value[offset..<(offset + 5)]).elementsEqual("close".utf8) { $0 | 0x20 == $1 }
                }) {
                    head.hot = false
                }
            }
            start = stop + 2
        }
        // RFC 9112 §3.2: exactly one Host; without it, or with two, the router answers 400.
        if seen & (1 << 5) == 0 { head.hot = false }
        if !acceptValues.isEmpty { head.accept = acceptValues.joined(separator: ", ") }
        return .head(head)
    }

    /// The index of the CR of the CR LF ending the line at `from`; `nil` for a bare CR or LF.
    private static func crlf(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> Int? {
        var i = from
        while i < to - 1 {
            if bytes[i] == 0x0D { return bytes[i + 1] == 0x0A ? i : nil }
            if bytes[i] == 0x0A { return nil }
            i += 1
        }
        return nil
    }

    private static func find(_ byte: UInt8, _ bytes: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Int? {
        var i = from
        while i < to {
            if bytes[i] == byte { return i }
            i += 1
        }
        return nil
    }

    /// RFC 9110 §5.6.2 `tchar`.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: return true
        default: return false
        }
    }
}

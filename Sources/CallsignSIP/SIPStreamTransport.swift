public import NIOCore
import Synchronization
import CallsignStore
public import CallsignService

/// Frames SIP messages on a stream (TCP, RFC 3261 §18.3): headers up to the
/// empty line, then exactly Content-Length bytes of body. CRLF keep-alives
/// between messages (RFC 5626 §3.5.1) are skipped. A message larger than
/// `maxMessageBytes` closes the connection. A Content-Length that is not a
/// decimal number up to `maxMessageBytes` loses the framing: the head alone is
/// passed on (the parser answers it 400) and the connection is closed.
public struct SIPStreamDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer
    public let maxMessageBytes: Int
    /// Set once the framing is lost: everything after is discarded.
    private var failed = false

    public init(maxMessageBytes: Int = 64 * 1024) { self.maxMessageBytes = maxMessageBytes }

    /// The value of a Content-Length header (RFC 3261 §20.14: 1*DIGIT), if it
    /// is one no larger than `limit`; digits are counted before any arithmetic.
    static func contentLength(_ value: some StringProtocol, limit: Int) -> Int? {
        let digits = value.utf8
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        let number = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return number <= limit ? number : nil
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if failed {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        while buffer.readableBytes >= 1, let byte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self), byte == 13 || byte == 10 {
            buffer.moveReaderIndex(forwardBy: 1)
        }
        let view = buffer.readableBytesView
        let limit = min(view.count, maxMessageBytes)
        var headEnd: Int?
        var index = view.startIndex
        let end = view.startIndex + limit
        while index + 3 < end {
            if view[index] == 13, view[index + 1] == 10, view[index + 2] == 13, view[index + 3] == 10 {
                headEnd = index - view.startIndex
                break
            }
            index += 1
        }
        guard let headEnd else {
            if view.count >= maxMessageBytes { throw SIPParseError("stream message head longer than \(maxMessageBytes) bytes") }
            return .needMoreData
        }
        let head = String(decoding: view[view.startIndex..<(view.startIndex + headEnd)], as: UTF8.self)
        var contentLength = 0
        var lengthIsBad = false
        for line in head.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmed().lowercased()
            if name == "content-length" || name == "l" {
                if let value = Self.contentLength(line[line.index(after: colon)...].trimmed(), limit: maxMessageBytes) {
                    contentLength = value
                } else {
                    lengthIsBad = true
                }
            }
        }
        if lengthIsBad {
            // Where this message ends is unknown: its head goes on alone (answered 400), then the connection closes.
            failed = true
            if let frame = buffer.readSlice(length: headEnd + 4) { context.fireChannelRead(wrapInboundOut(frame)) }
            buffer.moveReaderIndex(to: buffer.writerIndex)
            throw SIPParseError("Content-Length is not a number of at most \(maxMessageBytes) bytes")
        }
        let total = headEnd + 4 + contentLength
        guard total <= maxMessageBytes else { throw SIPParseError("stream message longer than \(maxMessageBytes) bytes") }
        guard buffer.readableBytes >= total, let frame = buffer.readSlice(length: total) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

/// Answers framed SIP messages on a stream connection with the redirect
/// service; replies go back on the same connection.
public final class SIPStreamHandler: ChannelInboundHandler, Sendable {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    let service: RedirectService
    let inFlight: InFlightLimit

    /// What needs no I/O is answered here on the event loop; the rest in a task each.
    /// - Parameters:
    ///   - inFlight: the listener's bound on requests in progress (shared with its UDP sockets):
    ///     past it a request is answered `503` with `Retry-After`.
    public init(service: RedirectService, inFlight: InFlightLimit = InFlightLimit(limit: 2048)) {
        self.service = service
        self.inFlight = inFlight
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).readableBytesView)
        let source = context.channel.remoteAddress?.ipAddress ?? ""
        let pending: RedirectService.Pending
        switch service.handleImmediately(datagram: bytes, source: source) {
        case .reply(let reply):
            if let reply { context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: reply)), promise: nil) }
            return
        case .pending(let waiting): pending = waiting
        case .afterCommit(let commit):
            // Thread-safe: the channel hops to its own loop when the commit ends elsewhere.
            let channel = context.channel
            service.commitThenAnswer(commit, on: context.eventLoop) { reply in channel.writeAndFlush(ByteBuffer(bytes: reply), promise: nil) }
            return
        }
        guard inFlight.acquire() else {
            if let busy = service.overloaded(pending: pending, datagram: bytes) {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: busy)), promise: nil)
            }
            return
        }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let service = self.service
        let inFlight = self.inFlight
        context.eventLoop.makeFutureWithTask {
            await service.complete(pending)
        }.whenComplete { [self] result in
            inFlight.release()
            guard case .success(let reply?) = result else { return }
            loopBound.value.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: reply)), promise: nil)
        }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) } else { context.fireUserInboundEventTriggered(event) }
    }
}

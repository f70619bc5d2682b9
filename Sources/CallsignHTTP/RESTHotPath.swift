import Callsign
import CallsignStore
import Foundation
public import HummingbirdCore
import CallsignService
import Dispatch
import HTTPTypes
import Metrics
import NIOCore
import NIOHTTPTypes
import Synchronization

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

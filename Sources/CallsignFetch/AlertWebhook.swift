import AsyncHTTPClient
import FoundationEssentials
public import Logging
import Metrics
import NIOCore
import NIOHTTP1
import Synchronization

/// POSTs each alert's JSON to the operator's webhook (`analytics.webhook`):
/// a bounded queue (the oldest alerts go when it is full), each POST retried
/// up to three times with a growing pause, no redirects, a 5 s deadline.
/// Every POST carries a `webhook-id` (one per alert, the same on its retries,
/// for the receiver to drop duplicates) and `webhook-timestamp`; with a
/// ``WebhookSigningKey`` (`analytics.webhook_secret_file`) also a
/// `webhook-signature` (Standard Webhooks 1.0).
///
/// Counted in `callsign_alert_webhook_total{outcome}`: `sent`, `failed` (after
/// the retries), `dropped` (queue full).
public final class AlertWebhook: Sendable {
    public let url: String
    /// Alerts waiting to be sent.
    public static let maxQueued = 1_000
    private let client: OwnedHTTPClient
    /// Each queued alert's `webhook-id` and JSON.
    private let queue = Mutex<[(id: String, body: [UInt8])]>([])
    /// The sender parked while the queue is empty, and whether it was cancelled (under one lock: no lost wake-up).
    private let wake = Mutex<(parked: CheckedContinuation<Void, Never>?, cancelled: Bool)>((nil, false))
    private let logger: Logger
    private let attempts: Int
    private let pause: Duration
    private let signingKey: WebhookSigningKey?
    /// Unix seconds now, for `webhook-timestamp`.
    private let now: @Sendable () -> Int64

    /// - Parameters:
    ///   - signingKey: signs each POST (`webhook-signature`); `nil`: unsigned.
    ///   - now: the wall clock in Unix seconds (injected for tests); `nil`: the system's.
    public init(url: String, signingKey: WebhookSigningKey? = nil, logger: Logger, attempts: Int = 3, pause: Duration = .milliseconds(500),
                now: (@Sendable () -> Int64)? = nil) {
        self.url = url
        self.signingKey = signingKey
        self.now = now ?? { Int64(Date().timeIntervalSince1970) }
        self.logger = logger
        self.attempts = max(1, attempts)
        self.pause = pause
        client = OwnedHTTPClient(BoundedExchange.makeClient(timeout: .seconds(5)))
    }

    /// Queues one alert's JSON; drops the oldest queued one when full.
    public func enqueue(_ json: [UInt8]) {
        let id = "msg_" + UUID().uuidString.lowercased()
        let dropped = queue.withLock { queue -> Bool in
            var dropped = false
            if queue.count >= Self.maxQueued {
                queue.removeFirst()
                dropped = true
            }
            queue.append((id, json))
            return dropped
        }
        if dropped { Counter(label: "callsign_alert_webhook_total", dimensions: [("outcome", "dropped")]).increment() }
        wake.withLock { state in
            state.parked?.resume()
            state.parked = nil
        }
    }

    /// Sends what is queued until cancelled, then what is left (one try each), and closes the client.
    public func run() async {
        while !Task.isCancelled {
            let batch = queue.withLock { queue in
                let taken = queue
                queue.removeAll()
                return taken
            }
            if batch.isEmpty {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        wake.withLock { state in
                            if state.cancelled || queue.withLock({ !$0.isEmpty }) {
                                continuation.resume()
                            } else {
                                state.parked = continuation
                            }
                        }
                    }
                } onCancel: {
                    wake.withLock { state in
                        state.cancelled = true
                        state.parked?.resume()
                        state.parked = nil
                    }
                }
                continue
            }
            for alert in batch { await send(alert.body, id: alert.id, attempts: attempts) }
        }
        for alert in queue.withLock({ $0 }) { await send(alert.body, id: alert.id, attempts: 1) }
        await client.shutdown()
    }

    private func send(_ body: [UInt8], id: String, attempts: Int) async {
        var delay = pause
        for attempt in 1...attempts {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "callsign")
            let timestamp = now()
            request.headers.add(name: "webhook-id", value: id)
            request.headers.add(name: "webhook-timestamp", value: String(timestamp))
            if let signingKey {
                request.headers.add(name: "webhook-signature", value: signingKey.signature(id: id, timestamp: timestamp, body: body))
            }
            request.body = .bytes(ByteBuffer(bytes: body))
            do {
                let response = try await client.client.execute(request, timeout: .seconds(5))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                if (200..<300).contains(response.status.code) {
                    Counter(label: "callsign_alert_webhook_total", dimensions: [("outcome", "sent")]).increment()
                    return
                }
                logger.warning("alert webhook answered \(response.status.code) (try \(attempt) of \(attempts))")
            } catch {
                logger.warning("alert webhook failed: \(error) (try \(attempt) of \(attempts))")
            }
            guard attempt < attempts else { break }
            do { try await Task.sleep(for: delay) } catch { break }
            delay = delay * 2
        }
        Counter(label: "callsign_alert_webhook_total", dimensions: [("outcome", "failed")]).increment()
    }
}

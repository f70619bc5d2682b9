import CallsignTestSupport
import CallsignFetch
import Crypto
import Foundation
import Logging
import NIOHTTP1
import Testing

@Suite("Alert webhook: Standard Webhooks headers and signature, retries, against a local receiver")
struct AlertWebhookTests {
    /// The Standard Webhooks specification's published test vector (standardwebhooks.com; the same in its reference libraries).
    static let vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let vectorID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    static let vectorTimestamp: Int64 = 1_614_265_330
    static let vectorBody = Array(#"{"test": 2432232314}"#.utf8)
    static let vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

    @Test("the signature matches the specification's test vector, whether the secret has the whsec_ prefix, none, or a trailing newline",
          arguments: [vectorSecret, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", vectorSecret + "\n", "  " + vectorSecret + " \r\n"])
    func testVector(secret: String) throws {
        let key = try #require(WebhookSigningKey(serialized: secret))
        #expect(key.signature(id: Self.vectorID, timestamp: Self.vectorTimestamp, body: Self.vectorBody) == Self.vectorSignature)
        #expect(key.signature(id: Self.vectorID, timestamp: Self.vectorTimestamp + 1, body: Self.vectorBody) != Self.vectorSignature,
                "the timestamp is signed")
    }

    @Test("a secret that is not base64 of 24 to 64 bytes is refused",
          arguments: ["", "whsec_", "whsec_not base64!", "whsec_" + Data(count: 16).base64EncodedString(),
                      Data(count: 23).base64EncodedString(), Data(count: 65).base64EncodedString(), String(repeating: "A", count: 4096)])
    func refusedSecrets(secret: String) {
        #expect(WebhookSigningKey(serialized: secret) == nil)
    }

    @Test("each alert is POSTed with webhook-id, webhook-timestamp from the clock and a signature the receiver can check; its retries keep the id")
    func signedDelivery() async throws {
        let receiver = try await TestHTTPServer()
        receiver.set("/hook", TestHTTPServer.Route(status: .serviceUnavailable))
        let key = try #require(WebhookSigningKey(serialized: Self.vectorSecret))
        let webhook = AlertWebhook(url: receiver.url("/hook"), signingKey: key, logger: Logger(label: "test"), attempts: 2,
                                   pause: .milliseconds(10), now: { Self.vectorTimestamp })
        let alert = Array(#"{"signal":"one-number-many-origins","key":"442079460123","count":10,"threshold":10,"window_s":60,"mode":"report","at":1614265330}"#.utf8)
        try await Self.deliver(alert, with: webhook, until: { receiver.bodies("/hook").count >= 2 })

        let heads = receiver.headers("/hook")
        #expect(heads.count == 2, "one try and one retry")
        #expect(receiver.bodies("/hook").allSatisfy { $0 == alert }, "the body is the alert's JSON, unchanged")
        let ids = heads.map { $0["webhook-id"] }
        #expect(ids[0].count == 1 && ids[0].first?.hasPrefix("msg_") == true && ids[1] == ids[0], "\(ids)")
        for head in heads {
            #expect(head["webhook-timestamp"] == ["1614265330"])
            #expect(head["content-type"] == ["application/json"])
            // The receiver's check, written apart from the sender's: HMAC-SHA256 over id.timestamp.body.
            let id = try #require(head["webhook-id"].first)
            let secret = try #require(Data(base64Encoded: String(Self.vectorSecret.dropFirst(6))))
            let mac = HMAC<SHA256>.authenticationCode(for: Array("\(id).1614265330.".utf8) + alert, using: SymmetricKey(data: secret))
            #expect(head["webhook-signature"] == ["v1," + Data(mac).base64EncodedString()])
        }
        try await receiver.stop()
    }

    @Test("without a secret the POST carries webhook-id and webhook-timestamp but no signature; two alerts get two ids")
    func unsignedDelivery() async throws {
        let receiver = try await TestHTTPServer()
        receiver.set("/hook", TestHTTPServer.Route())
        let webhook = AlertWebhook(url: receiver.url("/hook"), logger: Logger(label: "test"), now: { 1_800_000_000 })
        try await Self.deliver(Array("{}".utf8), Array("[]".utf8), with: webhook, until: { receiver.bodies("/hook").count >= 2 })
        let heads = receiver.headers("/hook")
        #expect(heads.count == 2)
        #expect(heads.allSatisfy { $0["webhook-signature"].isEmpty && $0["webhook-timestamp"] == ["1800000000"] })
        #expect(Set(heads.compactMap { $0["webhook-id"].first }).count == 2)
        try await receiver.stop()
    }

    /// Runs `webhook`, queues `alerts`, waits (10 s at most) until `done`, then stops it.
    static func deliver(_ alerts: [UInt8]..., with webhook: AlertWebhook, until done: @escaping @Sendable () -> Bool) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await webhook.run() }
            for alert in alerts { webhook.enqueue(alert) }
            let deadline = ContinuousClock.now + .seconds(10)
            while !done() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            group.cancelAll()
            try await group.waitForAll()
        }
    }
}

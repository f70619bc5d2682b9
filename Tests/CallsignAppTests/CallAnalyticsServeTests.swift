import CallsignApp
import CallsignService
import CallsignTestSupport
import Foundation
import Synchronization
import ServiceLifecycle
import Testing

/// Signals, alerts, call records and investigations through a running `serve`:
/// the same decision flow for signing and verification, the alert in the
/// store, in `/admin/alerts`, in Prometheus and at the webhook; both sides'
/// records of a number from `/admin/calls` in JSON and CSV.
@Suite("Alerts, call records and /admin/calls through a running serve")
struct CallAnalyticsServeTests {
    @Test("one-source-many-numbers in block mode trips once per side, refuses the next call, posts the documented JSON to the webhook; /admin/calls lists both sides")
    func endToEnd() async throws {
        let receiver = try await TestHTTPServer()
        receiver.set("/hook", TestHTTPServer.Route())
        try await ServeFixture.run(configure: { options in
            options.analytics.triggers = [SignalTrigger(signal: .oneSourceManyNumbers, windowS: 600, threshold: 3, mode: .block)]
            options.analytics.webhook = receiver.url("/hook")
        }) { port, admin, token in
            let iat = Int64(Date().timeIntervalSince1970)
            func get(_ path: String, accept: String = "application/json") async throws -> String {
                try await BuildApplicationTests.exchange(port, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(admin)\r\n"
                                                         + "Accept: \(accept)\r\nConnection: close\r\n\r\n")
            }
            let signedOrigid = Mutex<String?>(nil)
            func sign(_ orig: String) async throws -> String? {
                let body = """
                    {"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\(iat),"orig":{"tn":"\(orig)"},\
                    "origid":"123e4567-e89b-12d3-a456-426655440000"}}
                    """
                let answer = try await BuildApplicationTests.exchange(port, BuildApplicationTests.post("/stir/v1/signing", body, token: token))
                let response = BuildApplicationTests.jsonBody(answer)?["signingResponse"].flatMap { $0 as? [String: Any] }
                if let origid = response?["origid"] as? String { signedOrigid.withLock { $0 = origid } }
                return response?["identity"] as? String
            }
            func verify(_ orig: String, _ identity: String) async throws -> [String: Any]? {
                let body = #"{"verificationRequest":{"from":{"tn":"\#(orig)"},"to":{"tn":["12125551213"]},"time":\#(iat),"identity":"\#(identity)"}}"#
                let answer = try await BuildApplicationTests.exchange(port, BuildApplicationTests.post("/stir/v1/verification", body, token: nil))
                return (BuildApplicationTests.jsonBody(answer)?["verificationResponse"] as? [String: Any])?["policy"] as? [String: Any]
            }
            let first = try #require(try await sign("12155550041"))
            let second = try #require(try await sign("12155550042"))
            #expect(try await verify("12155550041", first)?["action"] as? String == "allow")
            #expect(try await verify("12155550042", second)?["action"] as? String == "allow")
            // The third distinct number trips both sides' windows (the customer's, the origid's); the tripping calls pass.
            let third = try #require(try await sign("12155550043"), "the call that trips the threshold is signed")
            #expect(try await verify("12155550043", third)?["action"] as? String == "allow")
            // Within the window the key's calls are refused: signing (the customer) and verification (the origid).
            #expect(try await sign("12155550044") == nil, "a fourth number from the customer is refused")
            let refused = try #require(try await verify("12155550041", first))
            #expect(refused["action"] as? String == "block" && refused["rule"] as? String == "one-source-many-numbers"
                    && refused["sipcode"] as? Int == 608, "\(refused)")

            let origid = try #require(signedOrigid.withLock { $0 }, "the sample customer's origid")
            // The alerts: stored (newest first), counted, and posted to the webhook with the documented JSON.
            var alerts: [[String: Any]] = []
            for _ in 0..<50 {
                alerts = (BuildApplicationTests.jsonBody(try await get("/admin/alerts"))?["alerts"] as? [[String: Any]]) ?? []
                if alerts.count >= 2 && receiver.bodies("/hook").count >= 2 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(alerts.map { $0["key"] as? String } == ["origid:" + origid, "customer:sample"], "\(alerts)")
            #expect(alerts.allSatisfy { Set($0.keys) == ["signal", "key", "count", "threshold", "window_s", "mode", "at"] })
            #expect(alerts.first?["count"] as? Int == 3 && alerts.first?["threshold"] as? Int == 3 && alerts.first?["window_s"] as? Int == 600
                    && alerts.first?["mode"] as? String == "block")
            let posted = receiver.bodies("/hook").compactMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
            #expect(posted.count == 2)
            #expect(Set(posted.compactMap { $0["key"] as? String }) == ["origid:" + origid, "customer:sample"])
            #expect(posted.allSatisfy { $0["signal"] as? String == "one-source-many-numbers" && Set($0.keys) == Set(alerts[0].keys) })
            let metrics = try await BuildApplicationTests.exchange(port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            // The metrics registry is the process's: other tests in this process add to the counter too.
            let counted = metrics.split(separator: "\n").first {
                $0.hasPrefix("callsign_alerts_total{") && $0.contains(#"signal="one-source-many-numbers""#) && $0.contains(#"mode="block""#)
            }
            #expect((counted?.split(separator: " ").last.flatMap { Double($0) } ?? 0) >= 2, "\(counted ?? "no callsign_alerts_total")")
            // The per-call counters (typed-key tables over the shared cache) reach the same registry.
            for (name, labels) in [("callsign_signing_total", #"face="rest""#), ("callsign_verification_total", #"reason="none""#)] {
                let line = metrics.split(separator: "\n").first { $0.hasPrefix(name + "{") && $0.contains(labels) }
                #expect((line?.split(separator: " ").last.flatMap { Double($0) } ?? 0) >= 1, "\(name): \(line ?? "missing")")
            }

            // Both sides' records of one number: the signing and its two verifications (the refusal recorded as such).
            var calls: [[String: Any]] = []
            for _ in 0..<50 {
                calls = (BuildApplicationTests.jsonBody(try await get("/admin/calls?number=%2B12155550041"))?["calls"] as? [[String: Any]]) ?? []
                if calls.count >= 3 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(calls.compactMap { $0["kind"] as? String }.sorted() == ["signed", "verified", "verified"], "\(calls)")
            let verifiedRecords = calls.filter { $0["kind"] as? String == "verified" }
            #expect(verifiedRecords.contains { ($0["policy"] as? [String: Any])?["rule"] as? String == "one-source-many-numbers" })
            #expect(verifiedRecords.allSatisfy { $0["verstat"] as? String == "TN-Validation-Passed" && $0["source"] as? String == "rest"
                    && $0["origid"] as? String == origid && ($0["x5u"] as? String)?.hasPrefix("http") == true })
            let csv = try await get("/admin/calls?number=12155550041&since=\(iat - 60)&until=\(iat + 600)", accept: "text/csv")
            #expect(csv.contains("Content-Type: text/csv") || csv.lowercased().contains("content-type: text/csv"))
            let lines = csv.components(separatedBy: "\r\n\r\n").last?.split(separator: "\r\n") ?? []
            #expect(lines.first == "kind,time,orig,dest,attest,verstat,origid,spc,x5u,source,customer,identity,attest_rule,reason,policy_action,policy_rule")
            #expect(lines.count == 4, "\(csv)")
            #expect(lines.contains { $0.hasPrefix("signed,") && $0.hasSuffix(",sample,service,owned-number,,allow,") }, "\(csv)")
            let signedRecord = calls.first { $0["kind"] as? String == "signed" }
            #expect((signedRecord?["x5u"] as? String)?.hasPrefix("http") == true, "the signing certificate's x5u: \(signedRecord ?? [:])")
            // The refused fourth signing is recorded as such (for investigations), and is not part of the traceback.
            var attempts: [[String: Any]] = []
            for _ in 0..<50 {
                attempts = (BuildApplicationTests.jsonBody(try await get("/admin/calls?number=12155550044"))?["calls"] as? [[String: Any]]) ?? []
                if !attempts.isEmpty { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(attempts.count == 1)
            #expect(attempts.first?["kind"] as? String == "refused" && attempts.first?["customer"] as? String == "sample"
                    && (attempts.first?["policy"] as? [String: Any])?["rule"] as? String == "one-source-many-numbers"
                    && (attempts.first?["policy"] as? [String: Any])?["action"] as? String == "block", "\(attempts)")
            let traceback = BuildApplicationTests.jsonBody(try await get("/traceback?origid=\(origid)"))
            let traced = (traceback?["calls"] as? [[String: Any]]) ?? []
            #expect(traced.count == 3 && !traced.contains { $0["orig"] as? String == "12155550044" }, "\(traceback ?? [:])")
            #expect(try await get("/admin/calls?number=12155550041&since=yesterday").hasPrefix("HTTP/1.1 400"))
            #expect(try await BuildApplicationTests.exchange(port, "GET /admin/calls?number=12155550041 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                             + "Authorization: Bearer \(token)\r\nConnection: close\r\n\r\n").hasPrefix("HTTP/1.1 401"),
                    "a customer's API token is not the admin token")

        }
        try await receiver.stop()
    }

    @Test("a signing record names its certificate's SPC and x5u (the development identity's SPC is known from the start)")
    func signingRecordSPC() async throws {
        try await ServeFixture.run(configure: { _ in }) { port, admin, token in
            var record: [String: Any]?
            for index in 0..<40 where record?["spc"] == nil {
                let number = "1215555\(String(format: "%04d", 7000 + index))"
                let body = """
                    {"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\(Int64(Date().timeIntervalSince1970)),\
                    "orig":{"tn":"\(number)"},"origid":"123e4567-e89b-12d3-a456-426655440000"}}
                    """
                _ = try await BuildApplicationTests.exchange(port, BuildApplicationTests.post("/stir/v1/signing", body, token: token))
                let answer = try await BuildApplicationTests.exchange(port, "GET /admin/calls?number=\(number) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                                      + "Authorization: Bearer \(admin)\r\nConnection: close\r\n\r\n")
                record = (BuildApplicationTests.jsonBody(answer)?["calls"] as? [[String: Any]])?.first
                if record?["spc"] == nil { try await Task.sleep(for: .milliseconds(250)) }
            }
            #expect(record?["spc"] as? String == "1234", "the development PKI's SPC: \(record ?? [:])")
            #expect((record?["x5u"] as? String)?.hasPrefix("http://127.0.0.1:") == true)
        }
    }
}

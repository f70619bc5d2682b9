import CallsignApp
import CallsignHTTP
import CallsignService
import CallsignStore
import CallsignTestSupport
import Foundation
import ServiceLifecycle
import Testing

/// The operator dashboard: its figures from per-minute counts (pure), its
/// sign-in, and the page as Debian's headless Chromium renders it.
@Suite("The operator dashboard (/dashboard)")
struct DashboardTests {
    static let now: Int64 = 1_796_613_000

    @Test("the figures sum the last 24 hours of per-minute counts: series per attestation and verstat, failure shares, hits, customers")
    func figures() {
        let minute = Self.now - Self.now % 60
        let rollups = [
            CallRollup(minute: minute, series: "sign", key: "A", count: 7),
            CallRollup(minute: minute - 60, series: "sign", key: "B", count: 2),
            CallRollup(minute: minute - 86_400, series: "sign", key: "A", count: 1000),  // older than 24 h: left out
            CallRollup(minute: minute, series: "sign.customer", key: "bank A", count: 7),
            CallRollup(minute: minute, series: "sign.customer", key: "bank B", count: 2),
            CallRollup(minute: minute, series: "verify", key: "TN-Validation-Passed A", count: 5),
            CallRollup(minute: minute, series: "verify", key: "TN-Validation-Failed -", count: 5),
            CallRollup(minute: minute, series: "verify.reason", key: "bad-signature", count: 5),
            CallRollup(minute: minute, series: "verify.spc", key: "7Q2X ok", count: 5),
            CallRollup(minute: minute, series: "verify.spc", key: "9Z9Z fail", count: 5),
            CallRollup(minute: minute, series: "verify.peer", key: "192.0.2.1 ok", count: 5),
            CallRollup(minute: minute, series: "verify.peer", key: "192.0.2.1 fail", count: 5),
            CallRollup(minute: minute, series: "hits", key: "protected-number peer:192.0.2.1", count: 3),
            CallRollup(minute: minute, series: "flagged", key: "442071234567", count: 3),
        ]
        let figures = Dashboard.figures(rollups: rollups, alerts: [], now: Self.now)
        #expect(figures.totalSigned == 9 && figures.totalVerified == 10 && figures.totalFailed == 5)
        #expect(figures.signings.map(\.name) == ["attestation A", "attestation B"])
        #expect(figures.signings.first?.values.last == 7 && figures.signings.first?.values.reduce(0, +) == 7)
        #expect(figures.verifications.map(\.name) == ["passed A", "failed"])
        #expect(figures.spcs.map(\.0) == ["9Z9Z", "7Q2X"], "the worst failure share first")
        #expect(figures.peers.first.map { [$0.1, $0.2] } == [10, 5])
        #expect(figures.customers.first.map { $0.0 } == "bank" && figures.customers.first?.1 == [7, 2, 0])
        #expect(figures.hits.first.map { [$0.rule, $0.source] } == ["protected-number", "peer:192.0.2.1"])
        let page = Dashboard.page(figures, now: Self.now)
        #expect(page.contains(#"data-series="attestation A""#) && page.contains("<svg") && page.contains("+442071234567"))
        #expect(!page.contains("does not parse"))
        #expect(Dashboard.signIn(error: "That is <not> it").contains("That is &lt;not&gt; it"), "text is escaped")
    }

    @Test("sign-in: the form field token, a cookie that is HttpOnly and SameSite=Strict and never the token; a wrong token gets 401")
    func signIn() async throws {
        try await withServe { port, admin, _ in
            func exchange(_ request: String) async throws -> String { try await BuildApplicationTests.exchange(port, request) }
            let form = try await exchange("GET /dashboard HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            #expect(form.hasPrefix("HTTP/1.1 200") && form.contains(#"action="/dashboard/login""#) && form.contains(#"name="token""#))
            let wrong = try await exchange(Self.login("cs_wrong"))
            #expect(wrong.hasPrefix("HTTP/1.1 401") && !wrong.lowercased().contains("set-cookie"))
            let right = try await exchange(Self.login(admin))
            #expect(right.hasPrefix("HTTP/1.1 303"))
            let cookie = try #require(right.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/dashboard")
                    && cookie.contains("Max-Age=43200") && !cookie.contains(admin), "\(cookie)")
            let session = try #require(cookie.split(separator: ";").first?.split(separator: " ").last.map(String.init))
            // The field is form-decoded: a percent-encoded token and other fields around it sign in too.
            let encoded = "other=1&token=" + admin.replacingOccurrences(of: "_", with: "%5F") + "&x=y+z"
            #expect(try await exchange(Self.login(encoded, raw: true)).hasPrefix("HTTP/1.1 303"))
            let page = try await exchange("GET /dashboard HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: \(session)\r\nConnection: close\r\n\r\n")
            #expect(page.hasPrefix("HTTP/1.1 200") && page.contains("<svg") && page.contains("Sign out"))
            #expect(page.lowercased().contains("content-security-policy: default-src 'none'"))
            let forged = try await exchange("GET /dashboard HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: callsign_dashboard=forged\r\nConnection: close\r\n\r\n")
            #expect(forged.contains(#"name="token""#) && !forged.contains("<svg"))
            let out = try await exchange("POST /dashboard/logout HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: \(session)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            #expect(out.hasPrefix("HTTP/1.1 303") && out.contains("Max-Age=0"))
            let after = try await exchange("GET /dashboard HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: \(session)\r\nConnection: close\r\n\r\n")
            #expect(after.contains(#"name="token""#) && !after.contains("<svg"), "signed out: the session is gone")
        }
    }

    @Test("headless Chromium signs in, and the page shows the calls of this test as SVG charts and the alert, with no console errors",
          .enabled(if: Peers.enabled(Peers.which("chromium") != nil), "Debian's chromium is not installed (apt-get install chromium)"))
    func chromium() async throws {
        let chromium = try #require(Peers.which("chromium"), "chromium is not installed")
        try await withServe { port, admin, token in
            // Calls of this test: four signed and verified, one failed verification; the third distinct number trips the trigger.
            let iat = Int64(Date().timeIntervalSince1970)
            for number in ["12155550041", "12155550042", "12155550043", "12155550044"] {
                let body = """
                    {"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\(iat),"orig":{"tn":"\(number)"},\
                    "origid":"123e4567-e89b-12d3-a456-426655440000"}}
                    """
                let signed = try await BuildApplicationTests.exchange(port, BuildApplicationTests.post("/stir/v1/signing", body, token: token))
                let identity = try #require(BuildApplicationTests.jsonBody(signed)?["signingResponse"].flatMap { $0 as? [String: Any] }?["identity"] as? String)
                let verification = #"{"verificationRequest":{"from":{"tn":"\#(number)"},"to":{"tn":["12125551213"]},"time":\#(iat),"identity":"\#(identity)"}}"#
                _ = try await BuildApplicationTests.exchange(port, BuildApplicationTests.post("/stir/v1/verification", verification, token: nil))
            }
            let broken = #"{"verificationRequest":{"from":{"tn":"12155550041"},"to":{"tn":["12125551213"]},"time":\#(iat),"identity":"e30.e30.sig;info=<https://cr.example.net/x.pem>"}}"#
            _ = try await BuildApplicationTests.exchange(port, BuildApplicationTests.post("/stir/v1/verification", broken, token: nil))
            try await Task.sleep(for: .milliseconds(1500))  // the analytics writer stores each second

            // The sign-in form, posted by a page of another loopback port (same site: the Strict cookie is sent after the redirect).
            let helper = try await TestHTTPServer()
            helper.set("/login.html", TestHTTPServer.Route(headers: [("Content-Type", "text/html")], body: Array("""
                <!DOCTYPE html><html><body><form id="f" method="post" action="http://127.0.0.1:\(port)/dashboard/login">
                <input name="token" value="\(admin)"></form><script>document.getElementById("f").submit()</script></body></html>
                """.utf8)))
            let profile = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-chromium-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: profile) }
            let screenshot = profile.appendingPathComponent("dashboard.png").path
            func browse(_ url: String, _ extra: [String] = []) async throws -> ProcessOutput {
                try await run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile.path, "--enable-logging=stderr",
                                         "--log-level=0", "--virtual-time-budget=5000", "--window-size=1400,2200"] + extra + [url],
                              environment: ["HOME": profile.path], timeout: 90)
            }
            let signInPage = try await browse("http://127.0.0.1:\(port)/dashboard", ["--dump-dom"])
            #expect(signInPage.stdout.contains(#"name="token""#), "the sign-in form without a session")
            #expect(Self.consoleLines(signInPage.stderr, port: port).isEmpty, "\(Self.consoleLines(signInPage.stderr, port: port))")

            let dashboard = try await browse(helper.url("/login.html"), ["--dump-dom"])
            let dom = dashboard.stdout
            #expect(dom.contains("Sign out"), "signed in: \(dom.prefix(400))")
            #expect(dom.components(separatedBy: "<svg").count - 1 >= 6, "six charts drawn as SVG")
            #expect(dom.contains(#"data-series="attestation A""#) && dom.contains(#"data-series="passed A""#) && dom.contains(#"data-series="failed""#))
            #expect(dom.contains(#"<b id="signed">4</b>"#), "the four signings of this test")
            #expect(dom.contains("one-source-many-numbers") && dom.contains("customer:sample"), "the alert, newest first")
            let reasons = dom.components(separatedBy: #"id="reasons""#).dropFirst().first?.components(separatedBy: "</section>").first ?? ""
            #expect(reasons.contains(#"class="bar""#), "failures by reason: \(reasons)")
            #expect(!dom.contains(admin), "the admin token is nowhere in the page")
            #expect(Self.consoleLines(dashboard.stderr, port: port).isEmpty, "\(Self.consoleLines(dashboard.stderr, port: port))")

            _ = try await browse(helper.url("/login.html"), ["--screenshot=" + screenshot])
            let size = (try? FileManager.default.attributesOfItem(atPath: screenshot)[.size] as? Int) ?? 0
            #expect(size > 20_000, "a screenshot of the dashboard (\(size) bytes)")
            if let keep = ProcessInfo.processInfo.environment["CALLSIGN_DASHBOARD_SCREENSHOT"] {
                try? FileManager.default.removeItem(atPath: keep)
                try FileManager.default.copyItem(atPath: screenshot, toPath: keep)
            }
            try await helper.stop()
        }
    }

    /// Chromium's console lines (`INFO:CONSOLE`) for pages of the server on `port`.
    static func consoleLines(_ stderr: String, port: Int) -> [String] {
        stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") && $0.contains("127.0.0.1:\(port)") }.map(String.init)
    }

    static func login(_ token: String, raw: Bool = false) -> String {
        let body = raw ? token : "token=" + token
        return "POST /dashboard/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
    }

    /// `serve` with a report trigger on distinct calling numbers.
    func withServe(_ body: @Sendable (Int, String, String) async throws -> Void) async throws {
        try await ServeFixture.run(configure: { $0.analytics.triggers = [SignalTrigger(signal: .oneSourceManyNumbers, windowS: 600, threshold: 3)] }, body)
    }
}

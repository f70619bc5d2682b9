public import CallsignStore
import Callsign
import Mustache
import Synchronization

/// The operator dashboard (`GET /dashboard`): server-rendered HTML with the
/// charts drawn as SVG, read from the per-minute and hourly counts
/// (``CallRollup``) of the last 24 hours and the newest alerts, never from raw call records, so
/// it costs the same with 10 million records as with ten. No JavaScript: a
/// `<meta http-equiv="refresh">` reloads it every minute.
public enum Dashboard {
    /// The figures of one page: what the template renders.
    public struct Figures: Sendable {
        /// Counts per minute, oldest first, over the 24 hours before `now`.
        public var minutes: Int
        public var start: Int64
        public var signings: [(name: String, color: String, values: [Int64])]
        public var verifications: [(name: String, color: String, values: [Int64])]
        public var failuresByReason: [(String, Int64)]
        /// Key, calls, failed calls: ordered by failure share, then volume.
        public var spcs: [(String, Int64, Int64)]
        public var peers: [(String, Int64, Int64)]
        public var flagged: [(String, Int64)]
        public var hits: [(rule: String, source: String, count: Int64)]
        /// Customer, then calls signed A, B, C.
        public var customers: [(String, [Int64])]
        public var refused: [(String, Int64)]
        public var alerts: [CallAlert]
        public var totalSigned: Int64
        public var totalVerified: Int64
        public var totalFailed: Int64
    }

    static let attestationColors = ["A": "#2e7d32", "B": "#1565c0", "C": "#ef6c00"]

    /// Sums the per-minute counts from `now - 24 h` on into the page's figures.
    public static func figures(rollups: [CallRollup], alerts: [CallAlert], now: Int64) -> Figures {
        let minutes = 1440
        let end = now - ((now % 60) + 60) % 60
        let start = end - Int64(minutes - 1) * 60
        var signing: [String: [Int64]] = [:], verifying: [String: [Int64]] = [:]
        var reasons: [String: Int64] = [:], flagged: [String: Int64] = [:], refused: [String: Int64] = [:]
        var spcs: [String: (Int64, Int64)] = [:], peers: [String: (Int64, Int64)] = [:]
        var hits: [String: Int64] = [:], customers: [String: [Int64]] = [:]
        var totalSigned: Int64 = 0, totalVerified: Int64 = 0, totalFailed: Int64 = 0
        func slot(_ minute: Int64) -> Int? {
            guard minute >= start, minute <= end else { return nil }
            return Int((minute - start) / 60)
        }
        func add(_ table: inout [String: [Int64]], _ key: String, _ index: Int, _ count: Int64) {
            table[key, default: Array(repeating: 0, count: minutes)][index] &+= count
        }
        func split(_ key: String) -> (String, String) {
            guard let space = key.lastIndex(of: " ") else { return (key, "") }
            return (String(key[..<space]), String(key[key.index(after: space)...]))
        }
        for rollup in rollups {
            let perMinute = CallRollup.perMinuteSeries.contains(rollup.series)
            // Hourly counts are taken from the hour holding `start` on.
            guard let index = perMinute ? slot(rollup.minute) : rollup.minute > start - 3600 && rollup.minute <= end ? 0 : nil else { continue }
            let count = rollup.count
            switch rollup.series {
            case "sign":
                add(&signing, rollup.key, index, count)
                totalSigned &+= count
            case "sign.refused":
                add(&signing, "refused", index, count)
                refused[rollup.key, default: 0] &+= count
            case "sign.customer":
                let (customer, attestation) = split(rollup.key)
                let column = ["A": 0, "B": 1, "C": 2][attestation] ?? 2
                customers[customer, default: [0, 0, 0]][column] &+= count
            case "verify":
                let (verstat, attestation) = split(rollup.key)
                let name = verstat == Verstat.passed.rawValue ? "passed " + attestation : verstat == Verstat.failed.rawValue ? "failed" : "no validation"
                add(&verifying, name, index, count)
                totalVerified &+= count
                if verstat == Verstat.failed.rawValue { totalFailed &+= count }
            case "verify.reason": reasons[rollup.key, default: 0] &+= count
            case "verify.spc", "verify.peer":
                let (key, outcome) = split(rollup.key)
                var entry = (rollup.series == "verify.spc" ? spcs[key] : peers[key]) ?? (0, 0)
                entry.0 &+= count
                if outcome == "fail" { entry.1 &+= count }
                if rollup.series == "verify.spc" { spcs[key] = entry } else { peers[key] = entry }
            case "hits": hits[rollup.key, default: 0] &+= count
            case "flagged": flagged[rollup.key, default: 0] &+= count
            default: continue
            }
        }
        func byShare(_ table: [String: (Int64, Int64)]) -> [(String, Int64, Int64)] {
            table.map { ($0.key, $0.value.0, $0.value.1) }.sorted {
                let left = Double($0.2) / Double(max(1, $0.1)), right = Double($1.2) / Double(max(1, $1.1))
                return left != right ? left > right : $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0
            }.prefix(10).map { $0 }
        }
        func top(_ table: [String: Int64], _ count: Int = 10) -> [(String, Int64)] {
            table.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(count).map { ($0.key, $0.value) }
        }
        let signingSeries = ["A", "B", "C", "refused"].compactMap { name -> (String, String, [Int64])? in
            guard let values = signing[name] else { return nil }
            return (name == "refused" ? "refused" : "attestation " + name, attestationColors[name] ?? "#c62828", values)
        }
        let verificationColors = ["passed A": "#2e7d32", "passed B": "#1565c0", "passed C": "#ef6c00", "failed": "#c62828", "no validation": "#757575"]
        let verificationSeries = ["passed A", "passed B", "passed C", "passed -", "failed", "no validation"].compactMap { name -> (String, String, [Int64])? in
            guard let values = verifying[name] else { return nil }
            return (name, verificationColors[name] ?? "#6a1b9a", values)
        }
        return Figures(
            minutes: minutes, start: start, signings: signingSeries, verifications: verificationSeries,
            failuresByReason: top(reasons), spcs: byShare(spcs), peers: byShare(peers), flagged: top(flagged),
            hits: top(hits, 20).map { (key, count) in
                let (rule, source) = key.firstIndex(of: " ").map { (String(key[..<$0]), String(key[key.index(after: $0)...])) } ?? (key, "")
                return (rule, source, count)
            },
            customers: customers.sorted { $0.value.reduce(0, &+) != $1.value.reduce(0, &+) ? $0.value.reduce(0, &+) > $1.value.reduce(0, &+) : $0.key < $1.key }
                .prefix(20).map { ($0.key, $0.value) },
            refused: top(refused), alerts: alerts, totalSigned: totalSigned, totalVerified: totalVerified, totalFailed: totalFailed)
    }

    /// The whole page for `figures`, as of `now`.
    public static func page(_ figures: Figures, now: Int64) -> String {
        let shareRows = { (rows: [(String, Int64, Int64)]) in
            rows.map { (label: $0.0, value: Double($0.2) / Double(max(1, $0.1)), text: "\(percent($0.2, $0.1)) of \($0.1)") }
        }
        let context: [String: Any] = [
            "generated": CivilTime.iso8601(now),
            "signed": figures.totalSigned, "verified": figures.totalVerified,
            "failedShare": percent(figures.totalFailed, figures.totalVerified),
            "alertCount": figures.alerts.count,
            "signingChart": SVG.lines(figures.signings, start: figures.start, label: "Signings per minute by attestation, last 24 hours"),
            "verificationChart": SVG.lines(figures.verifications, start: figures.start,
                                           label: "Verifications per minute by verstat and attestation, last 24 hours"),
            "reasonChart": SVG.bars(figures.failuresByReason.map { (label: $0.0, value: Double($0.1), text: "\($0.1)") }, color: "#c62828",
                                    label: "Verification failures by reason"),
            "spcChart": SVG.bars(shareRows(figures.spcs), color: "#c62828", label: "Signer SPCs by failure share", share: true),
            "peerChart": SVG.bars(shareRows(figures.peers), color: "#c62828", label: "Upstream peers by failure share", share: true),
            "customerChart": SVG.stacked(figures.customers, label: "Signing volume and attestation mix per customer"),
            "flagged": figures.flagged.map { ["number": "+" + $0.0, "count": $0.1] },
            "hasFlagged": !figures.flagged.isEmpty,
            "hits": figures.hits.map { ["rule": $0.rule, "source": $0.source, "count": $0.count] },
            "hasHits": !figures.hits.isEmpty,
            "refused": figures.refused.map { ["rule": $0.0, "count": $0.1] },
            "hasRefused": !figures.refused.isEmpty,
            "alerts": figures.alerts.map { alert -> [String: Any] in
                ["at": CivilTime.iso8601(alert.at), "signal": alert.signal, "key": alert.key, "count": alert.count,
                 "threshold": alert.threshold, "window": alert.windowS, "mode": alert.mode, "block": alert.mode == "block"]
            },
            "hasAlerts": !figures.alerts.isEmpty,
        ]
        return template?.render(context) ?? "the dashboard template does not parse"
    }

    /// The sign-in form (`error`: why the last attempt failed).
    public static func signIn(error: String?) -> String {
        signInTemplate?.render(["error": error ?? "", "hasError": error != nil]) ?? "the sign-in template does not parse"
    }

    static func percent(_ part: Int64, _ whole: Int64) -> String {
        guard whole > 0 else { return "0%" }
        let tenths = part * 1000 / whole
        return "\(tenths / 10).\(tenths % 10)%"
    }

    // The templates are parsed once (the dashboard tests render both).
    static let template = try? MustacheTemplate(string: pageTemplate)
    static let signInTemplate = try? MustacheTemplate(string: signInPage)

    static let style = """
        body{font-family:system-ui,sans-serif;margin:0;background:#fafafa;color:#212121}
        header{background:#263238;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:center}
        header h1{font-size:20px;margin:0}header form{margin:0}
        main{padding:16px 24px;display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:16px}
        section{background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:12px 16px}
        section.wide{grid-column:1/-1}h2{font-size:15px;margin:0 0 8px}
        table{border-collapse:collapse;width:100%;font-size:13px}td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #eee}
        .figures{display:flex;gap:32px;font-size:14px}.figures b{font-size:22px;display:block}
        .block{color:#c62828;font-weight:600}.muted{color:#757575;font-size:13px}
        svg text{font-size:11px;fill:#424242}button{cursor:pointer}
        """

    static let pageTemplate = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="60">
        <meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
        <title>Callsign dashboard</title><style>\(style)</style></head>
        <body><header><h1>Callsign</h1><span class="muted" style="color:#cfd8dc">as of {{generated}} (UTC), refreshed every minute</span>
        <form method="post" action="/dashboard/logout"><button type="submit">Sign out</button></form></header>
        <main>
        <section class="wide"><div class="figures">
        <div><b id="signed">{{signed}}</b>calls signed, 24 h</div><div><b id="verified">{{verified}}</b>calls verified, 24 h</div>
        <div><b>{{failedShare}}</b>failed verification</div><div><b id="alert-count">{{alertCount}}</b>recent alerts</div></div></section>
        <section class="wide" id="signings"><h2>Signings per minute by attestation</h2>{{{signingChart}}}</section>
        <section class="wide" id="verifications"><h2>Verifications per minute by verstat and attestation</h2>{{{verificationChart}}}</section>
        <section id="alerts" class="wide"><h2>Alerts, newest first</h2>
        {{#hasAlerts}}<table><tr><th>time</th><th>signal</th><th>key</th><th>count</th><th>threshold</th><th>window</th><th>mode</th></tr>
        {{#alerts}}<tr><td>{{at}}</td><td>{{signal}}</td><td>{{key}}</td><td>{{count}}</td><td>{{threshold}}</td><td>{{window}} s</td><td{{#block}} class="block"{{/block}}>{{mode}}</td></tr>{{/alerts}}
        </table>{{/hasAlerts}}{{^hasAlerts}}<p class="muted">No alerts.</p>{{/hasAlerts}}</section>
        <section id="reasons"><h2>Verification failures by reason</h2>{{{reasonChart}}}</section>
        <section id="customers"><h2>Signing volume and attestation mix per customer</h2>{{{customerChart}}}</section>
        <section id="spcs"><h2>Signer SPCs by failure share</h2>{{{spcChart}}}</section>
        <section id="peers"><h2>Upstream peers by failure share</h2>{{{peerChart}}}</section>
        <section id="flagged"><h2>Top flagged calling numbers</h2>
        {{#hasFlagged}}<table><tr><th>calling number</th><th>calls acted on</th></tr>{{#flagged}}<tr><td>{{number}}</td><td>{{count}}</td></tr>{{/flagged}}</table>{{/hasFlagged}}
        {{^hasFlagged}}<p class="muted">No flagged numbers.</p>{{/hasFlagged}}</section>
        <section id="hits"><h2>DNO and protected-number hits</h2>
        {{#hasHits}}<table><tr><th>rule</th><th>source</th><th>calls</th></tr>{{#hits}}<tr><td>{{rule}}</td><td>{{source}}</td><td>{{count}}</td></tr>{{/hits}}</table>{{/hasHits}}
        {{^hasHits}}<p class="muted">No hits.</p>{{/hasHits}}
        {{#hasRefused}}<h2>Signings refused</h2><table><tr><th>rule or signal</th><th>calls</th></tr>{{#refused}}<tr><td>{{rule}}</td><td>{{count}}</td></tr>{{/refused}}</table>{{/hasRefused}}</section>
        </main></body></html>
        """

    static let signInPage = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <link rel="icon" href="data:,"><title>Callsign dashboard: sign in</title><style>\(style)
        form.signin{max-width:360px;margin:80px auto;background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:24px}
        form.signin input{width:100%;box-sizing:border-box;margin:8px 0 16px;padding:6px}</style></head>
        <body><form class="signin" method="post" action="/dashboard/login"><h1>Callsign dashboard</h1>
        {{#hasError}}<p class="block">{{error}}</p>{{/hasError}}
        <input name="user" type="text" autocomplete="username" value="admin" hidden readonly>
        <label for="token">Admin token (DATA/admin-token)</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required>
        <button type="submit">Sign in</button></form></body></html>
        """
}

/// SVG charts for the dashboard: every label is escaped, every size fixed.
enum SVG {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static func number(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return tenths % 10 == 0 ? String(tenths / 10) : "\(tenths / 10).\(abs(tenths % 10))"
    }

    /// One line per series over the minutes from `start`, with hour marks every 3 hours and a legend.
    static func lines(_ series: [(name: String, color: String, values: [Int64])], start: Int64, label: String) -> String {
        let width = 960.0, height = 220.0, left = 44.0, right = 8.0, top = 10.0, bottom = 40.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let count = series.first?.values.count ?? 1440
        let peak = max(1, series.flatMap(\.values).max() ?? 1)
        func x(_ index: Int) -> Double { left + Double(index) * plotWidth / Double(max(1, count - 1)) }
        func y(_ value: Int64) -> Double { top + plotHeight - Double(value) * plotHeight / Double(peak) }
        var svg = ##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \##(Int(width)) \##(Int(height))" width="100%" role="img" aria-label="\##(escape(label))"><title>\##(escape(label))</title>"##
        for fraction in [0.0, 0.5, 1.0] {
            let value = Int64((Double(peak) * fraction).rounded())
            let level = y(value)
            svg += ##"<line x1="\##(number(left))" y1="\##(number(level))" x2="\##(number(width - right))" y2="\##(number(level))" stroke="#e0e0e0"/>"##
            svg += ##"<text x="\##(number(left - 4))" y="\##(number(level + 4))" text-anchor="end">\##(value)</text>"##
        }
        for index in 0..<count where (start + Int64(index) * 60) % 10_800 == 0 {
            let time = CivilTime.civil(start + Int64(index) * 60)
            svg += ##"<line x1="\##(number(x(index)))" y1="\##(number(top))" x2="\##(number(x(index)))" y2="\##(number(top + plotHeight))" stroke="#f0f0f0"/>"##
            svg += ##"<text x="\##(number(x(index)))" y="\##(number(top + plotHeight + 14))" text-anchor="middle">\##(time.hours < 10 ? "0" : "")\##(time.hours):00</text>"##
        }
        if series.isEmpty {
            svg += ##"<text x="\##(number(left + plotWidth / 2))" y="\##(number(top + plotHeight / 2))" text-anchor="middle">no calls in the last 24 hours</text>"##
        }
        var legendX = left
        for line in series {
            // Runs of equal values are drawn by their ends only: a quiet day is a short path.
            var path = ""
            let values = line.values
            for index in values.indices {
                let changes = index == 0 || index == values.count - 1 || values[index] != values[index - 1] || values[index] != values[index + 1]
                guard changes else { continue }
                path += (path.isEmpty ? "M" : "L") + number(x(index)) + "," + number(y(values[index]))
            }
            let total = values.reduce(0, &+)
            svg += ##"<path class="series" data-series="\##(escape(line.name))" d="\##(path)" fill="none" stroke="\##(line.color)" stroke-width="1.5"/>"##
            svg += ##"<rect x="\##(number(legendX))" y="\##(number(height - 14))" width="10" height="10" fill="\##(line.color)"/>"##
            let text = "\(line.name) (\(total))"
            svg += ##"<text x="\##(number(legendX + 14))" y="\##(number(height - 5))">\##(escape(text))</text>"##
            legendX += 24 + Double(text.count) * 6.2
        }
        return svg + "</svg>"
    }

    /// Horizontal bars, one per row, each with its label and text.
    static func bars(_ rows: [(label: String, value: Double, text: String)], color: String, label: String, share: Bool = false) -> String {
        barRows(rows.map { (label: $0.label, segments: [BarSegment(value: $0.value, color: color, title: nil)], text: $0.text) },
                peak: share ? 1.0 : max(1, rows.map(\.value).max() ?? 1), textSpace: 110, label: label, empty: "no data in the last 24 hours")
    }

    /// One bar per customer, split into its A, B and C signings.
    static func stacked(_ rows: [(String, [Int64])], label: String) -> String {
        let colors = ["#2e7d32", "#1565c0", "#ef6c00"], names = ["A", "B", "C"]
        let peak = max(1, rows.map { $0.1.reduce(0, &+) }.max() ?? 1)
        return barRows(rows.map { row in
            (label: row.0, segments: row.1.enumerated().filter { $0.element > 0 }.map {
                BarSegment(value: Double($0.element), color: colors[$0.offset], title: "\(names[$0.offset]): \($0.element)")
            }, text: String(row.1.reduce(0, &+)))
        }, peak: Double(peak), textSpace: 70, label: label, empty: "no signings in the last 24 hours", legend: Array(zip(names, colors)))
    }

    struct BarSegment {
        var value: Double
        var color: String
        /// Shown on hover.
        var title: String?
    }

    /// Rows of a label, segments side by side scaled to `peak`, and a text after them; a legend below when given.
    static func barRows(_ rows: [(label: String, segments: [BarSegment], text: String)], peak: Double, textSpace: Double, label: String,
                        empty: String, legend: [(String, String)] = []) -> String {
        let width = 460.0, labelWidth = 150.0, rowHeight = 22.0
        let height = max(1, Double(rows.count)) * rowHeight + (legend.isEmpty ? 6 : 24)
        var svg = ##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \##(Int(width)) \##(Int(height))" width="100%" role="img" aria-label="\##(escape(label))"><title>\##(escape(label))</title>"##
        if rows.isEmpty {
            return svg + ##"<text x="4" y="16">\##(escape(empty))</text></svg>"##
        }
        let barSpace = width - labelWidth - textSpace
        for (index, row) in rows.enumerated() {
            let y = 3 + Double(index) * rowHeight
            let shown = row.label.count > 24 ? String(row.label.prefix(23)) + "…" : row.label
            svg += ##"<text x="0" y="\##(number(y + 14))">\##(escape(shown))</text>"##
            var x = labelWidth
            for segment in row.segments {
                let segmentWidth = max(1, segment.value / peak * barSpace)
                let title = segment.title.map { "<title>\(escape($0))</title>" } ?? ""
                svg += ##"<rect class="bar" x="\##(number(x))" y="\##(number(y + 3))" width="\##(number(segmentWidth))" height="14" fill="\##(segment.color)">\##(title)</rect>"##
                x += segmentWidth
            }
            svg += ##"<text x="\##(number(x + 6))" y="\##(number(y + 14))">\##(escape(row.text))</text>"##
        }
        let legendY = 3 + Double(rows.count) * rowHeight + 4
        for (column, (name, color)) in legend.enumerated() {
            svg += ##"<rect x="\##(number(labelWidth + Double(column) * 60))" y="\##(number(legendY))" width="10" height="10" fill="\##(color)"/>"##
            svg += ##"<text x="\##(number(labelWidth + Double(column) * 60 + 14))" y="\##(number(legendY + 9))">\##(escape(name))</text>"##
        }
        return svg + "</svg>"
    }
}

/// Signed-in dashboard sessions: a random identifier in an HttpOnly,
/// SameSite=Strict cookie (never the admin token), in memory, for 12 hours.
/// Bounded: at most 1,000 sessions (the oldest go first), and at most 10
/// failed sign-ins a minute (then 429 until the minute ends).
public final class DashboardSessions: Sendable {
    public static let cookie = "callsign_dashboard"
    public static let lifetime: Int64 = 12 * 3600
    static let maxSessions = 1_000
    static let maxFailuresPerMinute = 10

    private struct State {
        var sessions: [String: Int64] = [:]
        var failureMinute: Int64 = 0
        var failures = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// A new session until `now + lifetime`: its identifier.
    public func create(now: Int64) -> String {
        var generator = SystemRandomNumberGenerator()
        let id = Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        state.withLock { state in
            state.sessions = state.sessions.filter { $0.value > now }
            if state.sessions.count >= Self.maxSessions, let oldest = state.sessions.min(by: { $0.value < $1.value }) {
                state.sessions[oldest.key] = nil
            }
            state.sessions[id] = now + Self.lifetime
        }
        return id
    }

    public func isValid(_ id: String, now: Int64) -> Bool {
        state.withLock { ($0.sessions[id] ?? Int64.min) > now }
    }

    public func remove(_ id: String) {
        _ = state.withLock { $0.sessions.removeValue(forKey: id) }
    }

    /// Counts a failed sign-in; whether sign-ins are refused for the rest of the minute.
    public func failed(now: Int64) -> Bool {
        state.withLock { state in
            let minute = now / 60
            if state.failureMinute != minute {
                state.failureMinute = minute
                state.failures = 0
            }
            state.failures += 1
            return state.failures > Self.maxFailuresPerMinute
        }
    }

    /// Whether sign-ins are refused for the rest of this minute.
    public func isThrottled(now: Int64) -> Bool {
        state.withLock { $0.failureMinute == now / 60 && $0.failures >= Self.maxFailuresPerMinute }
    }
}

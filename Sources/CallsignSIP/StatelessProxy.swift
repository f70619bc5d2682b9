import Crypto
public import NIOCore

/// The inline face (RFC 3261 §16.11 stateless proxy): signing adds the
/// Identity header to INVITEs from configured trunks, verification puts
/// `verstat` in P-Asserted-Identity (or rejects), and everything is
/// forwarded to a configured next hop with this proxy's Via on top;
/// responses are relayed back along the Via path.
public final class StatelessProxy: Sendable {
    public let decisions: RedirectService
    public let nextHop: SocketAddress
    /// The address in this proxy's Via (where responses come back).
    public let viaHost: String
    public let viaPort: Int

    public init(decisions: RedirectService, nextHop: SocketAddress, viaHost: String, viaPort: Int) {
        self.decisions = decisions
        self.nextHop = nextHop
        self.viaHost = viaHost
        self.viaPort = viaPort
    }

    /// Messages to send for one datagram received from `source`.
    public func handle(datagram: [UInt8], from source: SocketAddress) async -> [(bytes: [UInt8], to: SocketAddress)] {
        let message: SIPMessage
        do {
            message = try SIPParser().parse(datagram)
        } catch {
            guard let partial = RedirectService.minimalRequest(datagram) else { return [] }
            return [(RedirectService.response(to: partial, status: 400, reason: "Bad Request").serialized(), source)]
        }
        return message.isRequest ? await forwardRequest(message, from: source) : forwardResponse(message)
    }

    private var ownSentBy: String { "\(viaHost):\(viaPort)" }

    func forwardResponse(_ message: SIPMessage) -> [(bytes: [UInt8], to: SocketAddress)] {
        var vias = message.values("via")
        guard let top = vias.first, top.contains(ownSentBy) else { return [] }  // not ours: drop (RFC 3261 §16.11)
        vias.removeFirst()
        guard let next = vias.first, let target = Self.address(ofVia: next) else { return [] }
        var response = message
        response.headers.removeAll { $0.canonicalName == "via" }
        let insertAt = response.headers.firstIndex { $0.canonicalName != "via" } ?? 0
        response.headers.insert(contentsOf: vias.map { SIPMessage.Header(name: "Via", value: $0) }, at: insertAt)
        return [(response.serialized(), target)]
    }

    func forwardRequest(_ message: SIPMessage, from source: SocketAddress) async -> [(bytes: [UInt8], to: SocketAddress)] {
        var request = message
        let sourceIP = source.ipAddress ?? ""
        if let maxForwards = request.first("max-forwards"), let value = Int(maxForwards) {
            guard value > 0 else {
                return [(RedirectService.response(to: message, status: 483, reason: "Too Many Hops").serialized(), source)]
            }
            request.headers.removeAll { $0.canonicalName == "max-forwards" }
            request.headers.append(SIPMessage.Header(name: "Max-Forwards", value: String(value - 1)))
        } else {
            request.headers.append(SIPMessage.Header(name: "Max-Forwards", value: "70"))
        }
        let isInitialInvite = message.method == "INVITE" && SIPMessage.parameter("tag", in: message.first("to") ?? "") == nil
        if isInitialInvite {
            switch decisions.role {
            case .signing:
                switch await decisions.signingOutcome(message, source: sourceIP) {
                case .refused(let response): return [(response.serialized(), source)]
                case .signed(let identity, _, _):
                    // The trunk's own Identity headers are replaced by ours.
                    request.headers.removeAll { $0.canonicalName == "identity" }
                    request.headers.append(SIPMessage.Header(name: "Identity", value: identity))
                }
            case .verification:
                switch await decisions.verificationOutcome(message, source: sourceIP) {
                case .refused(let response): return [(response.serialized(), source)]
                case .marked(let headers):
                    // Never pass on upstream claims of verification.
                    let replaced: Set<String> = ["p-asserted-identity", "p-attestation-indicator", "p-origination-id", "p-verified-display-name"]
                    request.headers.removeAll { replaced.contains($0.canonicalName) }
                    request.headers += headers.map { SIPMessage.Header(name: $0.0, value: $0.1) }
                }
            }
        }
        // Mark where the request came from (RFC 3261 §18.2.1, RFC 3581) and add our Via.
        var vias = request.values("via")
        guard !vias.isEmpty else { return [] }
        if SIPMessage.parameter("received", in: vias[0]) == nil { vias[0] += ";received=\(sourceIP)" }
        if let port = source.port {
            if vias[0].contains(";rport;") || vias[0].hasSuffix(";rport") {
                vias[0] = vias[0].replacingOccurrences(of: ";rport", with: ";rport=\(port)")
            }
        }
        let branchSeed = (message.topViaBranch ?? "") + (message.method == "ACK" ? "|ACK" : "")
        let hash = SHA256.hash(data: Array(branchSeed.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
        vias.insert("SIP/2.0/UDP \(ownSentBy);branch=z9hG4bK-cs\(hash)", at: 0)
        request.headers.removeAll { $0.canonicalName == "via" }
        request.headers.insert(contentsOf: vias.map { SIPMessage.Header(name: "Via", value: $0) }, at: 0)
        return [(request.serialized(), nextHop)]
    }

    /// Where a response goes for a Via value: `received`/`rport` if present, else sent-by.
    static func address(ofVia via: String) -> SocketAddress? {
        let parts = via.split(separator: ";")
        guard let sentBy = parts.first?.split(separator: " ").last else { return nil }
        var host = String(sentBy)
        var port = 5060
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            let rest = host[host.index(after: close)...]
            if rest.hasPrefix(":"), let p = Int(rest.dropFirst()) { port = p }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":"), let p = Int(host[host.index(after: colon)...]) {
            port = p
            host = String(host[..<colon])
        }
        if let received = SIPMessage.parameter("received", in: via), !received.isEmpty { host = received }
        if let rport = SIPMessage.parameter("rport", in: via), let p = Int(rport) { port = p }
        // A port from the wire: NIO traps on one outside 0–65535 (in_port_t), so it is checked here.
        guard (1...65535).contains(port) else { return nil }
        return try? SocketAddress(ipAddress: host, port: port)
    }
}

import Foundation

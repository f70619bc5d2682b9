import Callsign

/// Typed views of the header fields Callsign uses (RFC 3261 §20, RFC 3326,
/// RFC 7044, RFC 5806). Each is decoded on demand from the raw header.
extension SIPMessage {
    /// A Via value (RFC 3261 §20.42).
    public struct Via: Sendable, Hashable {
        public var transport: String
        public var sentBy: String
        public var branch: String?
        public var received: String?
        public var rport: String?
    }

    /// A name-addr or addr-spec with parameters (From, To, Contact, P-Asserted-Identity, Diversion).
    public struct NameAddress: Sendable, Hashable {
        public var displayName: String?
        public var uri: String
        public var tag: String?
        /// Header parameters after the URI (`;tag=`, `;reason=`, `;counter=`, …), lowercased names.
        public var parameters: [String: String]
    }

    /// A CSeq value (RFC 3261 §20.16).
    public struct CSeq: Sendable, Hashable {
        public var number: UInt32
        public var method: String
    }

    /// A Reason value (RFC 3326), e.g. `SIP ;cause=438 ;text="Invalid Identity Header"`.
    public struct Reason: Sendable, Hashable {
        public var protocolName: String
        public var cause: Int?
        public var text: String?
    }

    public var vias: [Via] {
        values("via").compactMap { value in
            let parts = value.split(separator: ";").map { $0.trimmed() }
            guard let first = parts.first else { return nil }
            let words = first.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2 else { return nil }
            let protocolParts = words.dropLast().joined().split(separator: "/")
            return Via(transport: protocolParts.last.map(String.init) ?? "UDP", sentBy: String(words.last ?? ""),
                       branch: Self.parameter("branch", in: value), received: Self.parameter("received", in: value),
                       rport: Self.parameter("rport", in: value))
        }
    }

    public var from: NameAddress? { first("from").flatMap(Self.nameAddress) }
    public var to: NameAddress? { first("to").flatMap(Self.nameAddress) }
    public var contacts: [NameAddress] { values("contact").compactMap(Self.nameAddress) }
    public var pAssertedIdentities: [NameAddress] { values("p-asserted-identity").flatMap { Self.splitList($0) }.compactMap(Self.nameAddress) }
    /// Diversion entries (RFC 5806), most recent first.
    public var diversions: [NameAddress] { values("diversion").flatMap { Self.splitList($0) }.compactMap(Self.nameAddress) }
    /// History-Info entries (RFC 7044) in order.
    public var historyInfo: [NameAddress] { values("history-info").flatMap { Self.splitList($0) }.compactMap(Self.nameAddress) }
    public var callID: String? { first("call-id") }

    public var cseq: CSeq? {
        guard let parts = first("cseq")?.split(whereSeparator: { $0 == " " || $0 == "\t" }), parts.count == 2,
            let number = UInt32(parts[0])
        else { return nil }
        return CSeq(number: number, method: String(parts[1]))
    }

    public var maxForwards: Int? { first("max-forwards").flatMap { Int($0.trimmed()) } }

    /// The Date header as seconds since the epoch.
    public var date: Int64? { first("date").flatMap(CivilTime.parseRFC1123) }

    public var reasons: [Reason] {
        values("reason").flatMap { Self.splitList($0) }.map { value in
            let protocolName = value.split(separator: ";").first?.trimmed() ?? ""
            var text = Self.parameter("text", in: value)
            if let t = text, t.hasPrefix("\""), t.hasSuffix("\""), t.count >= 2 { text = String(t.dropFirst().dropLast()) }
            return Reason(protocolName: protocolName, cause: Self.parameter("cause", in: value).flatMap { Int($0) }, text: text)
        }
    }

    static func nameAddress(_ value: String) -> NameAddress? {
        var display: String?
        var uri: String
        var rest: Substring
        if let open = value.firstIndex(of: "<"), let close = value[open...].firstIndex(of: ">") {
            let before = value[..<open].trimmed()
            if !before.isEmpty { display = before.hasPrefix("\"") && before.hasSuffix("\"") && before.count >= 2 ? String(before.dropFirst().dropLast()) : before }
            uri = String(value[value.index(after: open)..<close])
            rest = value[value.index(after: close)...]
        } else {
            let parts = value.split(separator: ";", maxSplits: 1)
            guard let first = parts.first else { return nil }
            uri = first.trimmed()
            rest = parts.count > 1 ? ";" + parts[1] : ""
        }
        guard !uri.isEmpty else { return nil }
        var parameters: [String: String] = [:]
        for part in rest.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard let name = pair.first?.trimmed().lowercased(), !name.isEmpty else { continue }
            parameters[name] = pair.count > 1 ? pair[1].trimmed() : ""
        }
        return NameAddress(displayName: display, uri: uri, tag: parameters["tag"], parameters: parameters)
    }
}

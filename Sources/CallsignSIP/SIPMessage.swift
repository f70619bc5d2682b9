/// A SIP message (RFC 3261 §7): start line, header fields in order as
/// received, and body. Header names compare case-insensitively and compact
/// forms (`f`, `t`, `i`, `v`, `m`, `l`, `k`, `y`, …) are expanded.
public struct SIPMessage: Sendable, Hashable {
    public enum StartLine: Sendable, Hashable {
        case request(method: String, uri: String)
        case response(status: Int, reason: String)
    }

    public struct Header: Sendable, Hashable {
        /// The name as received.
        public var name: String
        /// The lowercased full name (compact forms expanded).
        public var canonicalName: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.canonicalName = SIPMessage.canonicalName(name)
            self.value = value
        }
    }

    public var startLine: StartLine
    public var headers: [Header]
    public var body: [UInt8]

    public init(startLine: StartLine, headers: [Header], body: [UInt8] = []) {
        self.startLine = startLine
        self.headers = headers
        self.body = body
    }

    /// RFC 3261 §7.3.3 compact forms (and RFC 8224's `y` for Identity).
    static let compactForms: [String: String] = [
        "a": "accept-contact", "b": "referred-by", "c": "content-type", "d": "request-disposition", "e": "content-encoding",
        "f": "from", "i": "call-id", "j": "reject-contact", "k": "supported", "l": "content-length", "m": "contact",
        "o": "event", "r": "refer-to", "s": "subject", "t": "to", "u": "allow-events", "v": "via", "x": "session-expires",
        "y": "identity",
    ]

    static func canonicalName(_ name: String) -> String {
        let lower = name.lowercased()
        return compactForms[lower] ?? lower
    }

    /// Headers whose values are comma-separated lists that may be split (RFC 3261 §7.3.1).
    static let listHeaders: Set<String> = ["via", "contact", "route", "record-route", "allow", "supported", "require", "identity"]

    /// Every value of a header: repeated fields in order, comma-joined list values split.
    public func values(_ name: String) -> [String] {
        let canonical = Self.canonicalName(name)
        var result: [String] = []
        for header in headers where header.canonicalName == canonical {
            if Self.listHeaders.contains(canonical) {
                result += Self.splitList(header.value).map { $0.trimmed() }
            } else {
                result.append(header.value)
            }
        }
        return result
    }

    /// The first value of a header.
    public func first(_ name: String) -> String? { values(name).first }

    /// The method of a request, or of the CSeq of a response.
    public var method: String? {
        switch startLine {
        case .request(let method, _): return method
        case .response: return first("cseq")?.split(separator: " ").last.map(String.init)
        }
    }

    public var isRequest: Bool {
        if case .request = startLine { return true }
        return false
    }

    /// The Request-URI.
    public var requestURI: String? {
        if case .request(_, let uri) = startLine { return uri }
        return nil
    }

    /// The `branch` parameter of the top Via.
    public var topViaBranch: String? {
        guard let via = values("via").first else { return nil }
        return Self.parameter("branch", in: via)
    }

    /// Value of `;name=value` in a header value (outside `<…>`).
    public static func parameter(_ name: String, in value: String) -> String? {
        var text = Substring(value)
        if let close = text.lastIndex(of: ">") { text = text[text.index(after: close)...] }
        for part in text.split(separator: ";").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.first?.trimmed().lowercased() == name.lowercased() {
                return pair.count > 1 ? String(pair[1]).trimmed() : ""
            }
        }
        return nil
    }

    /// Splits a header value at top-level commas (not inside `<…>` or quotes).
    static func splitList(_ value: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var inAngle = false
        var inQuote = false
        for char in value {
            switch char {
            case "<" where !inQuote: inAngle = true
            case ">" where !inQuote: inAngle = false
            case "\"" where !inAngle: inQuote.toggle()
            case "," where !inAngle && !inQuote:
                parts.append(current)
                current = ""
                continue
            default: break
            }
            current.append(char)
        }
        parts.append(current)
        return parts.filter { !$0.trimmed().isEmpty }
    }

    /// The message in wire form (CRLF line ends, Content-Length set to the body).
    public func serialized() -> [UInt8] {
        var out = ""
        switch startLine {
        case .request(let method, let uri): out += "\(method) \(uri) SIP/2.0\r\n"
        case .response(let status, let reason): out += "SIP/2.0 \(status) \(reason)\r\n"
        }
        for header in headers where header.canonicalName != "content-length" {
            out += "\(header.name): \(header.value)\r\n"
        }
        out += "Content-Length: \(body.count)\r\n\r\n"
        return Array(out.utf8) + body
    }
}

extension StringProtocol {
    func trimmed() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}

/// Why a SIP message was refused, with the response RFC 3261 calls for.
public struct SIPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public var description: String { "400 Bad Request: \(reason)" }
    public init(_ reason: String) { self.reason = reason }
}

/// Parses SIP messages from bytes, with limits (RFC 3261 §7, §18.3).
public struct SIPParser: Sendable {
    public var maxMessageBytes = 64 * 1024
    public var maxHeaders = 128
    public var maxLineBytes = 8 * 1024

    public init() {}

    /// Parses one message (UDP: one datagram). Trailing bytes beyond
    /// Content-Length are ignored (RFC 3261 §18.3); a body shorter than it is an error.
    public func parse(_ bytes: [UInt8]) throws(SIPParseError) -> SIPMessage {
        guard bytes.count <= maxMessageBytes else { throw SIPParseError("message larger than \(maxMessageBytes) bytes") }
        // Split head and body at the first empty line (CRLF CRLF, or LF LF leniently).
        var headEnd = -1
        var bodyStart = -1
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x0A && bytes[i + 1] == 0x0A { headEnd = i; bodyStart = i + 2; break }
            if i + 3 < bytes.count, bytes[i] == 0x0D, bytes[i + 1] == 0x0A, bytes[i + 2] == 0x0D, bytes[i + 3] == 0x0A {
                headEnd = i
                bodyStart = i + 4
                break
            }
            i += 1
        }
        guard headEnd >= 0 else { throw SIPParseError("no end of headers") }
        guard let head = String(validating: bytes[0..<headEnd], as: UTF8.self) else { throw SIPParseError("headers are not UTF-8") }
        var lines: [String] = []
        for raw in head.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            var line = raw
            if line.hasSuffix("\r") { line = line.dropLast() }
            guard line.utf8.count <= maxLineBytes else { throw SIPParseError("line longer than \(maxLineBytes) bytes") }
            if let first = line.first, first == " " || first == "\t", !lines.isEmpty {
                lines[lines.count - 1] += " " + line.trimmed()  // folded line (RFC 3261 §7.3.1)
            } else {
                lines.append(String(line))
            }
        }
        // Leading CRLFs before a request are tolerated (RFC 3261 §7.5).
        while let first = lines.first, first.isEmpty { lines.removeFirst() }
        guard let first = lines.first else { throw SIPParseError("empty message") }
        let startLine = try parseStartLine(first)
        var headers: [SIPMessage.Header] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw SIPParseError("header line without ':'") }
            let name = line[..<colon].trimmed()
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                throw SIPParseError("bad header name")
            }
            headers.append(SIPMessage.Header(name: name, value: line[line.index(after: colon)...].trimmed()))
            guard headers.count <= maxHeaders else { throw SIPParseError("more than \(maxHeaders) headers") }
        }
        var message = SIPMessage(startLine: startLine, headers: headers)
        let available = bytes.count - bodyStart
        let lengths = message.values("content-length")
        if lengths.count > 1, Set(lengths).count > 1 { throw SIPParseError("conflicting Content-Length headers") }
        if let lengthText = lengths.first {
            guard let length = Int(lengthText), length >= 0 else { throw SIPParseError("bad Content-Length") }
            guard length <= available else { throw SIPParseError("body shorter than Content-Length") }
            message.body = Array(bytes[bodyStart..<(bodyStart + length)])
        } else {
            message.body = Array(bytes[bodyStart...])
        }
        // Mandatory headers of requests (RFC 3261 §8.1.1).
        if message.isRequest {
            for name in ["via", "from", "to", "call-id", "cseq"] where message.first(name) == nil {
                throw SIPParseError("missing \(name) header")
            }
            let cseq = message.first("cseq")?.split(separator: " ") ?? []
            guard cseq.count == 2, UInt32(cseq[0]) != nil else { throw SIPParseError("bad CSeq") }
            if case .request(let method, _) = startLine, String(cseq[1]) != method {
                throw SIPParseError("CSeq method differs from the request method")
            }
        }
        return message
    }

    private func parseStartLine(_ line: String) throws(SIPParseError) -> SIPMessage.StartLine {
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw SIPParseError("bad start line") }
        if parts[0] == "SIP/2.0" {
            guard parts[1].count == 3, let status = Int(parts[1]), (100...699).contains(status) else {
                throw SIPParseError("bad status code")
            }
            return .response(status: status, reason: String(parts[2]))
        }
        guard parts[2] == "SIP/2.0" else { throw SIPParseError("unsupported SIP version") }
        let method = String(parts[0])
        // Method = token (RFC 3261 §25.1).
        let tokenPunctuation = Set("-.!%*_+`'~".utf8)
        guard !method.isEmpty, method.utf8.allSatisfy({
            ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || tokenPunctuation.contains($0)
        }) else {
            throw SIPParseError("bad method")
        }
        let uri = String(parts[1])
        guard uri.contains(":"), !uri.contains(where: { $0 == " " || $0 == "\t" }) else { throw SIPParseError("bad Request-URI") }
        return .request(method: method, uri: uri)
    }
}

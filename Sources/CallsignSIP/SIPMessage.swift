import Callsign
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

        /// For names whose canonical form is known (the headers of responses built here).
        init(name: String, canonicalName: String, value: String) {
            self.name = name
            self.canonicalName = canonicalName
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
        // Compact forms are one letter; most names arrive lower case or need only ASCII lowering.
        if name.utf8.count == 1 {
            let lower = name.lowercased()
            return compactForms[lower] ?? lower
        }
        return name.utf8.contains(where: { ($0 >= 0x41 && $0 <= 0x5A) || $0 >= 0x80 }) ? name.lowercased() : name
    }

    /// Whether `canonical` names a header whose value is a comma-separated list
    /// that may be split (RFC 3261 §7.3.1). Compared, not hashed: this runs for every header lookup.
    static func isListHeader(_ canonical: String) -> Bool {
        switch canonical {
        case "via", "contact", "route", "record-route", "allow", "supported", "require", "identity": true
        default: false
        }
    }

    /// Every value of a header: repeated fields in order, comma-joined list values split.
    public func values(_ name: String) -> [String] {
        let canonical = Self.canonicalName(name)
        let isList = Self.isListHeader(canonical)
        var result: [String] = []
        for header in headers where header.canonicalName == canonical {
            if isList {
                result += Self.splitList(header.value).map { $0.trimmed() }
            } else {
                result.append(header.value)
            }
        }
        return result
    }

    /// The first value of a header (of a list header: its first element).
    public func first(_ name: String) -> String? {
        let canonical = Self.canonicalName(name)
        let isList = Self.isListHeader(canonical)
        for header in headers where header.canonicalName == canonical {
            guard isList else { return header.value }
            if let first = Self.firstListElement(header.value) { return first }
        }
        return nil
    }

    /// The first non-blank element of a list value, trimmed: what
    /// `splitList(value).first?.trimmed()` gives, without splitting the rest.
    static func firstListElement(_ value: String) -> String? {
        let utf8 = value.utf8
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        var start = utf8.startIndex
        var index = start
        var inAngle = false, inQuote = false
        while true {
            let atEnd = index == utf8.endIndex
            let byte = atEnd ? 0 : utf8[index]
            if atEnd || (byte == UInt8(ascii: ",") && !inAngle && !inQuote) {
                // The element start..<index, trimmed; a blank one is skipped.
                var lower = start, upper = index
                while lower < upper, isBlank(utf8[lower]) { lower = utf8.index(after: lower) }
                while upper > lower, isBlank(utf8[utf8.index(before: upper)]) { upper = utf8.index(before: upper) }
                if lower < upper {
                    return lower == utf8.startIndex && upper == utf8.endIndex ? value : String(value[lower..<upper])
                }
                if atEnd { return nil }
                start = utf8.index(after: index)
            } else if byte == UInt8(ascii: "<"), !inQuote {
                inAngle = true
            } else if byte == UInt8(ascii: ">"), !inQuote {
                inAngle = false
            } else if byte == UInt8(ascii: "\""), !inAngle {
                inQuote.toggle()
            }
            index = utf8.index(after: index)
        }
    }

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
        guard let via = first("via") else { return nil }
        return Self.parameter("branch", in: via)
    }

    /// Value of `;name=value` in a header value (outside `<…>`); `name` is
    /// matched ignoring ASCII case.
    public static func parameter(_ name: String, in value: String) -> String? {
        // On UTF-8 bytes, without splitting into an array: this runs for several headers of every message.
        var value = value, name = name
        return value.withUTF8 { bytes in name.withUTF8 { wanted in parameter(wanted, in: bytes) } }
    }

    private static func parameter(_ name: UnsafeBufferPointer<UInt8>, in bytes: UnsafeBufferPointer<UInt8>) -> String? {
        func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        let semicolon = UInt8(ascii: ";")
        var index = 0
        if let close = bytes.lastIndex(of: UInt8(ascii: ">")) { index = close + 1 }
        // What precedes the first ';' is not a parameter.
        while index < bytes.count, bytes[index] != semicolon { index += 1 }
        while index < bytes.count {
            index += 1  // the ';'
            let start = index
            while index < bytes.count, bytes[index] != semicolon { index += 1 }
            guard start < index else { continue }  // ";;": no parameter
            var equals = start
            while equals < index, bytes[equals] != UInt8(ascii: "=") { equals += 1 }
            var keyStart = start, keyEnd = equals
            while keyStart < keyEnd, isBlank(bytes[keyStart]) { keyStart += 1 }
            while keyEnd > keyStart, isBlank(bytes[keyEnd - 1]) { keyEnd -= 1 }
            guard keyEnd - keyStart == name.count,
                  (0..<name.count).allSatisfy({ lower(bytes[keyStart + $0]) == lower(name[$0]) })
            else { continue }
            guard equals < index else { return "" }
            var valueStart = equals + 1, valueEnd = index
            while valueStart < valueEnd, isBlank(bytes[valueStart]) { valueStart += 1 }
            while valueEnd > valueStart, isBlank(bytes[valueEnd - 1]) { valueEnd -= 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[valueStart..<valueEnd]), as: UTF8.self)
        }
        return nil
    }


    /// Splits a header value at top-level commas (not inside `<…>` or quotes).
    static func splitList(_ value: String) -> [String] {
        // The same rule as Identity values (commas inside <…> and quotes do not split), on bytes.
        IdentityHeader.splitCommaJoined(value).map(String.init)
    }

    /// The message in wire form (CRLF line ends, Content-Length set to the body).
    public func serialized() -> [UInt8] {
        // Appended as UTF-8 bytes into one buffer sized up front (no String building, one copy of the body).
        var size = 64 + body.count
        for header in headers { size += header.name.utf8.count + header.value.utf8.count + 4 }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        switch startLine {
        case .request(let method, let uri):
            out += method.utf8
            out.append(0x20)
            out += uri.utf8
            out += " SIP/2.0\r\n".utf8
        case .response(let status, let reason):
            out += "SIP/2.0 ".utf8
            out += String(status).utf8
            out.append(0x20)
            out += reason.utf8
            out += "\r\n".utf8
        }
        for header in headers where header.canonicalName != "content-length" {
            out += header.name.utf8
            out += ": ".utf8
            out += header.value.utf8
            out += "\r\n".utf8
        }
        out += "Content-Length: ".utf8
        out += String(body.count).utf8
        out += "\r\n\r\n".utf8
        out += body
        return out
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    func trimmed() -> String { String(Substring(self).trimmingSpacesAndTabs()) }
}

/// Why a SIP message was refused, with the response RFC 3261 calls for.
public struct SIPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    /// The response a request refused for this gets: 400 Bad Request, or
    /// 505 Version Not Supported for another SIP version (RFC 3261 §21.5.7).
    public var status: Int
    public var description: String { "\(status) \(reasonPhrase): \(reason)" }
    public var reasonPhrase: String { status == 505 ? "Version Not Supported" : "Bad Request" }
    public init(_ reason: String, status: Int = 400) {
        self.reason = reason
        self.status = status
    }
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
        // Heads are nearly always ASCII: checked byte by byte; anything else is validated as UTF-8.
        // Control characters other than HTAB, CR and LF (NUL, DEL…) are in no header (RFC 3261 §25.1: TEXT-UTF8).
        var nonASCII = false
        for byte in bytes[0..<headEnd] where byte >= 0x7F || byte < 0x20 {
            if byte >= 0x80 { nonASCII = true } else if byte != 0x09 && byte != 0x0D && byte != 0x0A {
                throw SIPParseError("control character in the headers")
            }
        }
        if nonASCII, String(validating: bytes[0..<headEnd], as: UTF8.self) == nil {
            throw SIPParseError("headers are not UTF-8")
        }
        // Lines and header fields are found on bytes (Character iteration over a
        // 1 KB head costs more than the rest of the parse). Slices split at ASCII
        // bytes of valid UTF-8 are valid UTF-8.
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        func text(_ range: Range<Int>) -> String {
            var lower = range.lowerBound, upper = range.upperBound
            while lower < upper, isSpace(bytes[lower]) { lower += 1 }
            while upper > lower, isSpace(bytes[upper - 1]) { upper -= 1 }
            return String(decoding: bytes[lower..<upper], as: UTF8.self)
        }
        var lines: [Range<Int>] = []
        lines.reserveCapacity(32)
        var continuations: [Int: String] = [:]  // line index → its folded continuation lines, each after one space
        var lineStart = 0
        while lineStart <= headEnd {
            var lineEnd = lineStart
            while lineEnd < headEnd, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            let next = lineEnd + 1
            if lineEnd > lineStart, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            guard lineEnd - lineStart <= maxLineBytes else { throw SIPParseError("line longer than \(maxLineBytes) bytes") }
            if lineEnd > lineStart, isSpace(bytes[lineStart]), let last = lines.indices.last {
                // Folded line (RFC 3261 §7.3.1): joined to the previous one with one space.
                continuations[last, default: ""] += " " + text(lineStart..<lineEnd)
            } else {
                lines.append(lineStart..<lineEnd)
            }
            lineStart = next
        }
        func continuation(_ line: Int) -> String? { continuations.isEmpty ? nil : continuations[line] }
        // Leading CRLFs before a request are tolerated (RFC 3261 §7.5).
        var firstLine = 0
        while firstLine < lines.count, lines[firstLine].isEmpty, continuation(firstLine) == nil { firstLine += 1 }
        guard firstLine < lines.count else { throw SIPParseError("empty message") }
        let startLine: SIPMessage.StartLine
        if let folded = continuation(firstLine) {
            // Untrimmed: "SIP/2.0 100 " (empty reason phrase) keeps its last space.
            startLine = try parseStartLine(ArraySlice(Array(bytes[lines[firstLine]]) + Array(folded.utf8)))
        } else {
            startLine = try parseStartLine(bytes[lines[firstLine]])
        }
        var headers: [SIPMessage.Header] = []
        headers.reserveCapacity(min(lines.count, maxHeaders + 1))
        // What the checks below need, noted while the headers are read.
        var contentLength: String?  // the first Content-Length value
        var contentLengthsDiffer = false
        var present: UInt8 = 0  // bits: Via (with a non-blank element), From, To, Call-ID, CSeq
        var cseq: String?  // the first CSeq value
        for index in (firstLine + 1)..<max(firstLine + 1, lines.count) {
            let line = lines[index]
            guard let colon = bytes[line].firstIndex(of: UInt8(ascii: ":")) else { throw SIPParseError("header line without ':'") }
            let name = text(line.lowerBound..<colon)
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw SIPParseError("bad header name")
            }
            var value = text((colon + 1)..<line.upperBound)
            if let folded = continuation(index) { value = (value + folded).trimmed() }
            let header = SIPMessage.Header(name: name, value: value)
            switch header.canonicalName {
            case "content-length":
                if let first = contentLength { contentLengthsDiffer = contentLengthsDiffer || first != value } else { contentLength = value }
            case "via": if present & 1 == 0, SIPMessage.firstListElement(value) != nil { present |= 1 }
            case "from": present |= 2
            case "to": present |= 4
            case "call-id": present |= 8
            case "cseq":
                present |= 16
                if cseq == nil { cseq = value }
            default: break
            }
            headers.append(header)
            guard headers.count <= maxHeaders else { throw SIPParseError("more than \(maxHeaders) headers") }
        }
        var message = SIPMessage(startLine: startLine, headers: headers)
        let available = bytes.count - bodyStart
        if contentLengthsDiffer { throw SIPParseError("conflicting Content-Length headers") }
        if let lengthText = contentLength {
            guard let length = Int(lengthText), length >= 0 else { throw SIPParseError("bad Content-Length") }
            guard length <= available else { throw SIPParseError("body shorter than Content-Length") }
            message.body = Array(bytes[bodyStart..<(bodyStart + length)])
        } else {
            message.body = Array(bytes[bodyStart...])
        }
        // Mandatory headers of requests (RFC 3261 §8.1.1).
        if case .request(let method, _) = startLine {
            if present != 31 {
                for (bit, name) in [(1, "via"), (2, "from"), (4, "to"), (8, "call-id"), (16, "cseq")] as [(UInt8, StaticString)]
                where present & bit == 0 {
                    throw SIPParseError("missing \(name) header")
                }
            }
            // CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16), as space-separated words.
            let words = (cseq ?? "").utf8.split(separator: 0x20)
            guard words.count == 2, UInt32(Substring(words[0])) != nil else { throw SIPParseError("bad CSeq") }
            guard words[1].elementsEqual(method.utf8) else { throw SIPParseError("CSeq method differs from the request method") }
        }
        return message
    }

    /// The start line (RFC 3261 §7.1, §7.2), on its bytes: `Method SP Request-URI SP SIP/2.0`
    /// or `SIP/2.0 SP Status-Code SP Reason-Phrase`.
    private func parseStartLine(_ line: ArraySlice<UInt8>) throws(SIPParseError) -> SIPMessage.StartLine {
        let parts = line.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw SIPParseError("bad start line") }
        let version = "SIP/2.0".utf8
        if parts[0].elementsEqual(version) {
            guard parts[1].count == 3, parts[1].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let status = Int(String(decoding: parts[1], as: UTF8.self)), (100...699).contains(status)
            else {
                throw SIPParseError("bad status code")
            }
            return .response(status: status, reason: String(decoding: parts[2], as: UTF8.self))
        }
        guard parts[2].elementsEqual(version) else {
            throw SIPParseError("unsupported SIP version", status: parts[2].starts(with: "SIP/".utf8) ? 505 : 400)
        }
        // Method = token (RFC 3261 §25.1).
        guard !parts[0].isEmpty, parts[0].allSatisfy(Self.isTokenByte) else { throw SIPParseError("bad method") }
        let uri = parts[1]
        guard uri.contains(UInt8(ascii: ":")), !uri.contains(where: { $0 == 0x20 || $0 == 0x09 }) else {
            throw SIPParseError("bad Request-URI")
        }
        return .request(method: String(decoding: parts[0], as: UTF8.self), uri: String(decoding: uri, as: UTF8.self))
    }

    /// token characters (RFC 3261 §25.1): alphanumerics and `-.!%*_+`'~`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "!"), UInt8(ascii: "%"), UInt8(ascii: "*"), UInt8(ascii: "_"),
             UInt8(ascii: "+"), UInt8(ascii: "`"), UInt8(ascii: "'"), UInt8(ascii: "~"): true
        default: false
        }
    }
}

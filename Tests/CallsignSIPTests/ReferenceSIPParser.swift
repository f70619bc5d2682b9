import Callsign
import CallsignSIP

/// The SIP parser as it was before it read the start line, CSeq and
/// Content-Length on bytes (session 14): the reference the byte parser is
/// compared with over generated messages.
struct ReferenceSIPParser {
    var maxMessageBytes = 64 * 1024
    var maxHeaders = 128
    var maxLineBytes = 8 * 1024

    func parse(_ bytes: [UInt8]) throws(SIPParseError) -> SIPMessage {
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
        if bytes[0..<headEnd].contains(where: { ($0 < 0x20 && $0 != 0x09 && $0 != 0x0D && $0 != 0x0A) || $0 == 0x7F }) {
            throw SIPParseError("control character in the headers")
        }
        guard String(validating: bytes[0..<headEnd], as: UTF8.self) != nil else { throw SIPParseError("headers are not UTF-8") }
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
        // Leading CRLFs before a request are tolerated (RFC 3261 §7.5).
        var firstLine = 0
        while firstLine < lines.count, lines[firstLine].isEmpty, continuations[firstLine] == nil { firstLine += 1 }
        guard firstLine < lines.count else { throw SIPParseError("empty message") }
        // Untrimmed: "SIP/2.0 100 " (empty reason phrase) keeps its last space.
        let startLine = try parseStartLine(String(decoding: bytes[lines[firstLine]], as: UTF8.self) + (continuations[firstLine] ?? ""))
        var headers: [SIPMessage.Header] = []
        headers.reserveCapacity(min(lines.count, maxHeaders + 1))
        for index in (firstLine + 1)..<max(firstLine + 1, lines.count) {
            let line = lines[index]
            guard let colon = bytes[line].firstIndex(of: UInt8(ascii: ":")) else { throw SIPParseError("header line without ':'") }
            let name = text(line.lowerBound..<colon)
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw SIPParseError("bad header name")
            }
            var value = text((colon + 1)..<line.upperBound)
            if let continuation = continuations[index] { value = (value + continuation).trimmedForReference() }
            headers.append(SIPMessage.Header(name: name, value: value))
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
            for name in ["via", "from", "to", "call-id", "cseq"] where Self.first(name, in: message) == nil {
                throw SIPParseError("missing \(name) header")
            }
            let cseq = Self.first("cseq", in: message)?.split(separator: " ") ?? []
            guard cseq.count == 2, UInt32(cseq[0]) != nil else { throw SIPParseError("bad CSeq") }
            if case .request(let method, _) = startLine, String(cseq[1]) != method {
                throw SIPParseError("CSeq method differs from the request method")
            }
        }
        return message
    }

    /// `SIPMessage.first` as it was: the whole list value split, its first element trimmed.
    static func first(_ name: String, in message: SIPMessage) -> String? {
        let canonical = SIPMessage.Header(name: name, value: "").canonicalName
        let lists: Set<String> = ["via", "contact", "route", "record-route", "allow", "supported", "require", "identity"]
        for header in message.headers where header.canonicalName == canonical {
            guard lists.contains(canonical) else { return header.value }
            if let first = IdentityHeader.splitCommaJoined(header.value).first { return first.trimmedForReference() }
        }
        return nil
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
        guard parts[2] == "SIP/2.0" else { throw SIPParseError("unsupported SIP version", status: parts[2].hasPrefix("SIP/") ? 505 : 400) }
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

extension StringProtocol {
    func trimmedForReference() -> String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, first == " " || first == "\t" { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}

/// The SIP `Identity` header field (RFC 8224 §4):
/// `signed-identity-digest ;info=<URL> ;alg=ES256 ;ppt=shaken *(;param)`.
///
/// The digest is a PASSporT in full form (`header.claims.signature`) or in
/// compact form (`..signature`, RFC 8225 §7). Parameters keep their order;
/// unknown ones are kept too. `ppt="shaken"` (quoted) is accepted and
/// unquoted on read; the header name may be the compact `y` (RFC 8224 §4).
public struct IdentityHeader: Sendable, Hashable, CustomStringConvertible {
    /// One `;name[=value]` parameter, with its value as written (brackets and quotes included).
    public struct Parameter: Sendable, Hashable {
        public var name: String
        public var rawValue: String?
        public init(name: String, rawValue: String?) {
            self.name = name
            self.rawValue = rawValue
        }
    }

    /// Limits for parsing.
    public struct Limits: Sendable, Hashable {
        /// Maximum length of one header value, in bytes.
        public var maxHeaderBytes: Int
        /// Maximum number of parameters.
        public var maxParameters: Int
        /// Maximum number of Identity headers considered in one request.
        public var maxHeaders: Int
        public init(maxHeaderBytes: Int = 10 * 1024, maxParameters: Int = 16, maxHeaders: Int = 8) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxParameters = maxParameters
            self.maxHeaders = maxHeaders
        }
    }

    /// The signed identity digest: a full-form PASSporT or `..signature`.
    public var token: String
    /// Every parameter in order.
    public var parameters: [Parameter]

    /// Builds a header for a signed PASSporT in full form (ATIS-1000074 §5.3.3).
    public init(passport: SignedPASSporT, info: String) {
        self.init(token: passport.compact, parameters: Self.signingParameters(info: info, ppt: passport.passport.header.ppt))
    }

    /// The parameters a signer adds after the digest (RFC 8224 §4.1,
    /// ATIS-1000074 §5.3.3): `info=<URL>`, `alg=ES256` and, when the PASSporT
    /// has one, `ppt`. The same for every call a signing identity signs, so a
    /// signer builds them once.
    public static func signingParameters(info: String, ppt: String?) -> [Parameter] {
        var parameters: [Parameter] = []
        parameters.reserveCapacity(3)
        parameters.append(Parameter(name: "info", rawValue: "<" + info + ">"))
        parameters.append(Parameter(name: "alg", rawValue: "ES256"))
        if let ppt { parameters.append(Parameter(name: "ppt", rawValue: ppt)) }
        return parameters
    }

    /// Builds a header from its parts.
    public init(token: String, parameters: [Parameter]) {
        self.token = token
        self.parameters = parameters
    }

    /// The `info` URI without its angle brackets, if present and bracketed.
    public var info: String? {
        guard let raw = parameter("info") else { return nil }
        return Self.unwrapped(raw, open: UInt8(ascii: "<"), close: UInt8(ascii: ">"), orRaw: false)
    }

    /// `raw` without its first and last byte when they are `open` and `close`
    /// (ASCII, so the cut stays on scalar boundaries); otherwise `raw` itself
    /// (`orRaw`) or nil. On UTF-8 bytes: no grapheme counting per lookup.
    static func unwrapped(_ raw: String, open: UInt8, close: UInt8, orRaw: Bool) -> String? {
        let utf8 = raw.utf8
        guard utf8.count >= 2, utf8.first == open, utf8.last == close else { return orRaw ? raw : nil }
        let inner = utf8.index(after: utf8.startIndex)..<utf8.index(before: utf8.endIndex)
        return String(raw[inner])
    }

    /// Whether an `info` parameter is present at all (even malformed).
    public var hasInfo: Bool { parameter("info") != nil }

    /// The `alg` parameter.
    public var alg: String? { parameter("alg") }

    /// The `ppt` parameter, unquoted.
    public var ppt: String? {
        guard let raw = parameter("ppt") else { return nil }
        return Self.unwrapped(raw, open: UInt8(ascii: "\""), close: UInt8(ascii: "\""), orRaw: true)
    }

    /// Whether the digest is the compact form `..signature` (RFC 8225 §7).
    public var isCompactForm: Bool { token.hasPrefix("..") }

    /// The raw value of a parameter (names compare case-insensitively, RFC 3261 §7.3.1).
    public func parameter(_ name: String) -> String? {
        // Names are RFC 3261 tokens (ASCII): compared ignoring ASCII case, without a lowercased copy per lookup.
        for parameter in parameters where parameter.name.equalsIgnoringASCIICase(name) {
            return parameter.rawValue
        }
        return nil
    }

    /// The header field value, `token;name=value;…`.
    public var value: String {
        // One buffer, sized first: the value of every signed call's header is built here.
        var size = token.utf8.count
        for parameter in parameters { size += 2 + parameter.name.utf8.count + (parameter.rawValue?.utf8.count ?? 0) }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        out.append(contentsOf: token.utf8)
        for parameter in parameters {
            out.append(UInt8(ascii: ";"))
            out.append(contentsOf: parameter.name.utf8)
            if let raw = parameter.rawValue {
                out.append(UInt8(ascii: "="))
                out.append(contentsOf: raw.utf8)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { value }

    /// Parses one Identity header field value (without the header name).
    /// - Throws: ``VerificationError`` `malformedIdentityHeader` (438) on bad
    ///   syntax or limits, `badInfo` (436) when `info` is not `<URI>`.
    public init(parsing text: some StringProtocol, limits: Limits = Limits()) throws(VerificationError) {
        // One memcpy when the text is contiguous (a Substring's UTF-8 view copies byte by byte otherwise).
        let bytes = text.utf8.withContiguousStorageIfAvailable { Array($0) } ?? Array(text.utf8)
        guard bytes.count <= limits.maxHeaderBytes else {
            throw VerificationError(.malformedIdentityHeader, "Identity header longer than \(limits.maxHeaderBytes) bytes")
        }
        var index = 0
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
        func skipSpace() { while index < bytes.count, isSpace(bytes[index]) { index += 1 } }
        func isTokenChar(_ byte: UInt8) -> Bool {
            // RFC 3261 §25.1 token characters.
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "-.!%*_+`'~".utf8.contains(byte)
            }
        }
        skipSpace()
        let tokenStart = index
        while index < bytes.count {
            let byte = bytes[index]
            let isDigestChar: Bool
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                isDigestChar = true
            default:
                isDigestChar = false
            }
            if !isDigestChar { break }
            index += 1
        }
        guard index > tokenStart else {
            throw VerificationError(.malformedIdentityHeader, "Identity header has no signed-identity-digest")
        }
        let token = String(decoding: bytes[tokenStart..<index], as: UTF8.self)
        var parameters: [Parameter] = []
        parameters.reserveCapacity(4)  // info, alg, ppt and one more without growing
        skipSpace()
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: ";") else {
                throw VerificationError(.malformedIdentityHeader, "unexpected character after the digest or a parameter")
            }
            index += 1
            skipSpace()
            let nameStart = index
            while index < bytes.count, isTokenChar(bytes[index]) { index += 1 }
            guard index > nameStart else { throw VerificationError(.malformedIdentityHeader, "empty parameter name") }
            let name = String(decoding: bytes[nameStart..<index], as: UTF8.self)
            skipSpace()
            var rawValue: String?
            if index < bytes.count, bytes[index] == UInt8(ascii: "=") {
                index += 1
                skipSpace()
                guard index < bytes.count else { throw VerificationError(.malformedIdentityHeader, "parameter \(name) has no value") }
                let valueStart = index
                if bytes[index] == UInt8(ascii: "<") {
                    while index < bytes.count, bytes[index] != UInt8(ascii: ">") {
                        if bytes[index] < 0x21 || bytes[index] >= 0x7F {
                            throw VerificationError(.badInfo, "parameter \(name): invalid character inside <…>")
                        }
                        index += 1
                    }
                    guard index < bytes.count else { throw VerificationError(.badInfo, "parameter \(name): missing '>'") }
                    index += 1
                } else if bytes[index] == UInt8(ascii: "\"") {
                    index += 1
                    while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                        if bytes[index] == UInt8(ascii: "\\") { index += 1 }
                        index += 1
                    }
                    guard index < bytes.count else { throw VerificationError(.malformedIdentityHeader, "unterminated quoted string") }
                    index += 1
                } else {
                    while index < bytes.count, isTokenChar(bytes[index]) || bytes[index] == UInt8(ascii: ":")
                        || bytes[index] == UInt8(ascii: "/") || bytes[index] == UInt8(ascii: "[")
                        || bytes[index] == UInt8(ascii: "]")
                    {
                        index += 1
                    }
                    guard index > valueStart else {
                        throw VerificationError(.malformedIdentityHeader, "parameter \(name) has an empty value")
                    }
                }
                rawValue = String(decoding: bytes[valueStart..<index], as: UTF8.self)
            }
            if parameters.contains(where: { $0.name.equalsIgnoringASCIICase(name) }) {
                throw VerificationError(.malformedIdentityHeader, "parameter \(name) appears twice")
            }
            parameters.append(Parameter(name: name, rawValue: rawValue))
            guard parameters.count <= limits.maxParameters else {
                throw VerificationError(.malformedIdentityHeader, "more than \(limits.maxParameters) parameters")
            }
            skipSpace()
        }
        self.token = token
        self.parameters = parameters
        if parameter("info") != nil, info == nil {
            throw VerificationError(.badInfo, "info parameter is not a URI in <…>")
        }
    }

    /// Parses a header line with its name: `Identity: …` or the compact `y: …`
    /// (RFC 8224 §4). Text without a header name is parsed as a bare value.
    public init(line: some StringProtocol, limits: Limits = Limits()) throws(VerificationError) {
        // A String or a Substring is sliced in place: no copy of the line.
        let text: Substring = (line as? Substring) ?? (line as? String)?[...] ?? Substring(String(line))
        try self.init(parsing: Self.stripHeaderName(text), limits: limits)
    }

    /// Removes a leading `Identity:` or `y:` header name, if any.
    public static func stripHeaderName(_ line: String) -> Substring { stripHeaderName(line[...]) }

    /// Removes a leading `Identity:` or `y:` header name, if any.
    public static func stripHeaderName(_ text: Substring) -> Substring {
        // On UTF-8 bytes, stopping at the first byte that cannot be part of a
        // header name: the value (base64url, then `;info=<https:…`) is never scanned whole.
        let utf8 = text.utf8
        var index = utf8.startIndex
        while index < utf8.endIndex, utf8[index] == 0x20 || utf8[index] == 0x09 { index = utf8.index(after: index) }
        let nameStart = index
        var nameEnd = index
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: ":") {
                let name = text[nameStart..<nameEnd]
                if name.equalsIgnoringASCIICase("identity") || name.equalsIgnoringASCIICase("y") {
                    return text[utf8.index(after: index)...]
                }
                break
            }
            let isName = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || byte == UInt8(ascii: "-")
            let isSpace = byte == 0x20 || byte == 0x09
            guard isName || isSpace else { break }
            index = utf8.index(after: index)
            if isName { nameEnd = index }
        }
        return text[nameStart...]
    }

    /// Splits one header field value that holds several comma-joined
    /// Identity values (RFC 3261 §7.3.1), ignoring commas inside `<…>` and quotes.
    public static func splitCommaJoined(_ text: some StringProtocol) -> [Substring] {
        let string = Substring(text)
        let utf8 = string.utf8
        // Nearly every Identity field holds one value: no comma at all, found on contiguous bytes.
        let single = utf8.withContiguousStorageIfAvailable { bytes -> Bool? in
            guard !bytes.contains(UInt8(ascii: ",")) else { return nil }
            return !bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 }  // false: blank, no value
        }
        if let single = single ?? nil { return single ? [string] : [] }
        var parts: [Substring] = []
        var start = utf8.startIndex
        var inAngle = false
        var inQuote = false
        var index = utf8.startIndex
        while index < utf8.endIndex {
            switch utf8[index] {
            case UInt8(ascii: "<") where !inQuote: inAngle = true
            case UInt8(ascii: ">") where !inQuote: inAngle = false
            case UInt8(ascii: "\"") where !inAngle: inQuote.toggle()
            case UInt8(ascii: ",") where !inAngle && !inQuote:
                parts.append(string[start..<index])
                start = utf8.index(after: index)
            default: break
            }
            index = utf8.index(after: index)
        }
        parts.append(string[start...])
        return parts.filter { !$0.utf8.allSatisfy { $0 == 0x20 || $0 == 0x09 } }
    }
}

extension StringProtocol {
    /// Whether the two are equal ignoring ASCII case, compared on UTF-8 bytes
    /// without lowercased copies: for names that are ASCII tokens (SIP header and
    /// parameter names, RFC 3261 §7.3.1 and §25.1).
    package func equalsIgnoringASCIICase(_ other: some StringProtocol) -> Bool {
        func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
        return utf8.count == other.utf8.count && utf8.elementsEqual(other.utf8) { lower($0) == lower($1) }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (the blanks of RFC 3261
    /// §25.1 LWS and RFC 9110 §5.6.3 OWS), found on UTF-8 bytes: both are ASCII,
    /// so the result's bounds stay on scalar boundaries.
    public func trimmingSpacesAndTabs() -> Substring {
        let utf8 = self.utf8
        guard let first = utf8.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }),
            let last = utf8.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })
        else { return self[endIndex...] }
        return self[first..<utf8.index(after: last)]
    }

    func trimmingTrailingSpaces() -> Substring {
        var s = self
        while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
        return s
    }
}

/// A JSON value as it appears in a PASSporT header or claims set.
///
/// PASSporTs are small JSON objects (RFC 8225 §4–§5); this type keeps every
/// member, including ones Callsign does not understand, so that unknown
/// claims survive decoding and re-encoding. Objects keep their members in
/// the order received; ``JSONWriter`` sorts them when producing the
/// deterministic form of RFC 8225 §9.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// An integer that fits in 64 bits (JWT NumericDate, RFC 7519 §2).
    case integer(Int64)
    /// Any other JSON number, kept as its exact source text.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The object, if this is an object.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The array, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The integer, if this is an integer number.
    public var integerValue: Int64? {
        if case .integer(let i) = self { return i }
        return nil
    }

    /// A short name of the JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer, .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// A JSON object with its members in order; keys are unique.
public struct JSONObject: Sendable, Hashable {
    /// One member of an object.
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSONValue
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// The members, in the order they were received or inserted.
    public private(set) var members: [Member]

    public init() { members = [] }

    public init(_ pairs: KeyValuePairs<String, JSONValue>) {
        members = []
        for (key, value) in pairs { self[key] = value }
    }

    /// Members are looked up linearly: PASSporT objects hold a handful of keys.
    public subscript(key: String) -> JSONValue? {
        get { members.first(where: { $0.key == key })?.value }
        set {
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append(Member(key: key, value: newValue))
            }
        }
    }

    /// Removes the member `key` and returns its value (one search, where
    /// reading and then setting nil takes two).
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let index = members.firstIndex(where: { $0.key == key }) else { return nil }
        return members.remove(at: index).value
    }

    /// The keys, in order.
    public var keys: [String] { members.map(\.key) }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
}

/// Limits that bound the work and memory of ``JSONParser``.
public struct JSONLimits: Sendable, Hashable {
    /// Maximum nesting of arrays and objects.
    public var maxDepth: Int
    /// Maximum number of members in one object, elements in one array.
    public var maxContainerCount: Int
    /// Maximum length in bytes of the document.
    public var maxBytes: Int

    public init(maxDepth: Int = 16, maxContainerCount: Int = 256, maxBytes: Int = 16 * 1024) {
        self.maxDepth = maxDepth
        self.maxContainerCount = maxContainerCount
        self.maxBytes = maxBytes
    }
}

/// A strict RFC 8259 JSON parser with limits. Duplicate object keys are
/// refused (RFC 7515 §5.2 lets a JWS recipient reject them; with claims they
/// would be ambiguous), invalid UTF-8 is refused, and trailing data is refused.
public struct JSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private let limits: JSONLimits

    private init(bytes: UnsafeBufferPointer<UInt8>, limits: JSONLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    /// Parses one JSON document.
    /// - Throws: ``CallsignError`` when the text is not valid JSON or breaks a limit.
    public static func parse<Bytes: Collection>(_ input: Bytes, limits: JSONLimits = JSONLimits()) throws(CallsignError) -> JSONValue
    where Bytes.Element == UInt8 {
        if input.count > limits.maxBytes {
            throw CallsignError(.json, "invalid JSON at byte 0: document larger than \(limits.maxBytes) bytes")
        }
        let result: Result<JSONValue, CallsignError>? = input.withContiguousStorageIfAvailable { buffer in
            Result { () throws(CallsignError) -> JSONValue in try parseBuffer(buffer, limits: limits) }
        }
        if let result { return try result.get() }
        let copy = Array(input)
        return try copy.withUnsafeBufferPointer { buffer in
            Result { () throws(CallsignError) -> JSONValue in try parseBuffer(buffer, limits: limits) }
        }.get()
    }

    private static func parseBuffer(_ buffer: UnsafeBufferPointer<UInt8>, limits: JSONLimits) throws(CallsignError) -> JSONValue {
        var parser = JSONParser(bytes: buffer, limits: limits)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.index != buffer.count { throw parser.error("trailing data after the document") }
        return value
    }

    /// The error for `reason` at the current byte (the reason never contains the document's values).
    private func error(_ reason: String) -> CallsignError { CallsignError(.json, "invalid JSON at byte \(index): \(reason)") }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func expect(_ literal: StaticString) throws(CallsignError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("truncated literal") }
        let start = literal.utf8Start
        for offset in 0..<count where bytes[index + offset] != start[offset] {
            throw error("invalid literal")
        }
        index += count
    }

    private mutating func parseValue(depth: Int) throws(CallsignError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return .object(try parseObject(depth: depth + 1))
        case UInt8(ascii: "["): return .array(try parseArray(depth: depth + 1))
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character")
        }
    }

    private mutating func parseObject(depth: Int) throws(CallsignError) -> JSONObject {
        if depth > limits.maxDepth { throw error("nested deeper than \(limits.maxDepth)") }
        index += 1  // {
        var object = JSONObject()
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return object
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let key = try parseString()
            if object[key] != nil { throw error("duplicate member name") }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            if object.count >= limits.maxContainerCount { throw error("too many members") }
            object[key] = value
            skipWhitespace()
            guard index < bytes.count else { throw error("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return object
            }
            throw error("expected ',' or '}'")
        }
    }

    private mutating func parseArray(depth: Int) throws(CallsignError) -> [JSONValue] {
        if depth > limits.maxDepth { throw error("nested deeper than \(limits.maxDepth)") }
        index += 1  // [
        var array: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return array
        }
        while true {
            skipWhitespace()
            let value = try parseValue(depth: depth)
            if array.count >= limits.maxContainerCount { throw error("too many elements") }
            array.append(value)
            skipWhitespace()
            guard index < bytes.count else { throw error("unterminated array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return array
            }
            throw error("expected ',' or ']'")
        }
    }

    /// The byte a one-character escape (RFC 8259 §7) stands for: `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`.
    static func shortEscape(_ escape: UInt8) -> UInt8? {
        switch escape {
        case UInt8(ascii: "\""): 0x22
        case UInt8(ascii: "\\"): 0x5C
        case UInt8(ascii: "/"): 0x2F
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private mutating func parseHex4() throws(CallsignError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = Self.hexValue(bytes[index]) else { throw error("invalid \\u escape") }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private mutating func parseString() throws(CallsignError) -> String {
        index += 1  // opening quote
        let start = index
        var highBits: UInt8 = 0
        // Fast path: no escapes.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                // ASCII (nearly every PASSporT string) needs no validation; `String(validating:)`
                // is generic over the encoding and cost a metadata lookup per string.
                if highBits & 0x80 == 0 { return String(decoding: slice, as: UTF8.self) }
                guard let string = String(validating: slice, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                return string
            }
            highBits |= byte
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("control character in string") }
            index += 1
        }
        // Slow path with escapes.
        var utf8 = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                guard let string = String(validating: utf8, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                return string
            }
            if byte < 0x20 { throw error("control character in string") }
            if byte != UInt8(ascii: "\\") {
                utf8.append(byte)
                index += 1
                continue
            }
            index += 1
            guard index < bytes.count else { throw error("truncated escape") }
            let escape = bytes[index]
            index += 1
            if let byte = Self.shortEscape(escape) {
                utf8.append(byte)
                continue
            }
            guard escape == UInt8(ascii: "u") else { throw error("invalid escape") }
            var scalar = try parseHex4()
            if (0xD800...0xDBFF).contains(scalar) {
                guard index + 2 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                else { throw error("unpaired surrogate") }
                index += 2
                let low = try parseHex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw error("unpaired surrogate")
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid code point") }
            utf8.append(contentsOf: UTF8.encode(unicode).map { Array($0) } ?? [])
        }
        throw error("unterminated string")
    }

    private mutating func parseNumber() throws(CallsignError) -> JSONValue {
        let start = index
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw error("truncated number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(bytes[index]) {
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        } else {
            throw error("invalid number")
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            let digits = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            if index == digits { throw error("invalid number") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            let digits = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            if index == digits { throw error("invalid number") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, text.utf8.count <= 20, let value = Int64(text) { return .integer(value) }
        if text.utf8.count > 64 { throw error("number too long") }
        return .number(text)
    }
}

/// Writes JSON. The default is the deterministic form of RFC 8225 §9: object
/// keys sorted by Unicode code point at every level, no whitespace.
public enum JSONWriter {
    /// Serializes `value` in the deterministic form (RFC 8225 §9).
    public static func canonical(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out, indent: nil)
        return out
    }

    /// Serializes `value` with sorted keys and two-space indentation, for people.
    public static func pretty(_ value: JSONValue) -> String {
        var out: [UInt8] = []
        write(value, into: &out, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    /// The members in code-point order of their keys. UTF-8 bytes sort as
    /// their code points do, so keys are compared as bytes; members already in
    /// order (objects this code builds list them so) are returned as they are.
    static func sortedMembers(_ object: JSONObject) -> [JSONObject.Member] {
        let members = object.members
        var inOrder = true
        for index in members.indices.dropFirst() where !precedes(members[index - 1].key, members[index].key) {
            inOrder = false
            break
        }
        if inOrder { return members }
        return members.sorted { precedes($0.key, $1.key) }
    }

    private static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    static func write(_ value: JSONValue, into out: inout [UInt8], indent: Int?) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .integer(let i): out.append(contentsOf: String(i).utf8)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .string(let s): writeString(s, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(into: &out, indent: indent.map { $0 + 1 })
                write(element, into: &out, indent: indent.map { $0 + 1 })
            }
            if !elements.isEmpty { newline(into: &out, indent: indent) }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            let members = sortedMembers(object)
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(into: &out, indent: indent.map { $0 + 1 })
                writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                if indent != nil { out.append(UInt8(ascii: " ")) }
                write(member.value, into: &out, indent: indent.map { $0 + 1 })
            }
            if !members.isEmpty { newline(into: &out, indent: indent) }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(into out: inout [UInt8], indent: Int?) {
        guard let indent else { return }
        out.append(0x0A)
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * 2))
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Writes a JSON string: `"` and `\` escaped, control characters as the
    /// short escapes or `\u00xx`, everything else (including `/` and non-ASCII
    /// UTF-8) as is.
    public static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Runs without escapes are copied whole (an Identity value is ~600 such bytes).
        var copy = string
        copy.withUTF8 { bytes in
            var runStart = 0
            for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                runStart = index + 1
                switch byte {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                default:
                    out.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    out.append(hex[Int(byte >> 4)])
                    out.append(hex[Int(byte & 0x0F)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// A forward-only reader for request bodies of a known, shallow shape (the
/// ATIS-1000082 §5.2.1 `signingRequest` and §5.3.1 `verificationRequest`),
/// read without building a ``JSONValue`` tree.
///
/// It reads a strict subset of RFC 8259 — strings of ASCII with the short
/// escapes (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`; not `\u`), integers
/// without fraction or exponent of at most 18 digits — and answers `nil` for
/// anything else. A caller that gets `nil` parses the document again with
/// ``JSONParser``, whose answer (value or error) stands; a document the
/// scanner reads whole (``isAtEnd``) is one ``JSONParser`` accepts with the
/// same values, provided the caller refuses repeated keys as it does.
public struct JSONScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    public init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// Skips whitespace and reads `byte` (a structural character), or reads nothing.
    public mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// After a member or element: `true` for `,` (another follows), `false` for
    /// `closing` (`}` or `]`), `nil` for anything else.
    public mutating func next(closing: UInt8) -> Bool? {
        if consume(UInt8(ascii: ",")) { return true }
        if consume(closing) { return false }
        return nil
    }

    /// Whether only whitespace is left.
    public mutating func isAtEnd() -> Bool {
        skipWhitespace()
        return index == bytes.count
    }

    /// A member name and its `:`; compare it with ``JSONScanner/Key/is(_:)``.
    public mutating func key() -> Key? {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let start = index + 1
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: "\"") {
            // Names with escapes or non-ASCII bytes are left to JSONParser.
            guard bytes[end] >= 0x20, bytes[end] < 0x80, bytes[end] != UInt8(ascii: "\\") else { return nil }
            end += 1
        }
        guard end < bytes.count else { return nil }
        index = end + 1
        guard consume(UInt8(ascii: ":")) else { return nil }
        return Key(bytes: UnsafeBufferPointer(rebasing: bytes[start..<end]))
    }

    /// A member name as read (no escapes in it).
    public struct Key {
        let bytes: UnsafeBufferPointer<UInt8>

        /// Whether the name is `name`.
        public func `is`(_ name: StaticString) -> Bool {
            guard bytes.count == name.utf8CodeUnitCount else { return false }
            let start = name.utf8Start
            for offset in 0..<bytes.count where bytes[offset] != start[offset] { return false }
            return true
        }
    }

    /// A string value.
    public mutating func string() -> String? {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let start = index + 1
        var end = start
        var escaped = false
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") { break }
            guard byte >= 0x20, byte < 0x80 else { return nil }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                end += 2
            } else {
                end += 1
            }
        }
        guard end < bytes.count else { return nil }
        let raw = UnsafeBufferPointer(rebasing: bytes[start..<end])
        index = end + 1
        if !escaped { return String(decoding: raw, as: UTF8.self) }
        var unescaped: [UInt8] = []
        unescaped.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            guard raw[i] == UInt8(ascii: "\\") else {
                unescaped.append(raw[i])
                i += 1
                continue
            }
            // In bounds: the scan above stepped over escapes in pairs and stopped at a quote.
            // \u and invalid escapes: JSONParser decides.
            guard let byte = JSONParser.shortEscape(raw[i + 1]) else { return nil }
            unescaped.append(byte)
            i += 2
        }
        return String(decoding: unescaped, as: UTF8.self)
    }

    /// `{…}`: each member is handed to `read` after its name, to read its value;
    /// `read` answers `false` for a member it does not take (unknown, repeated,
    /// of another shape), which ends the scan. `false` unless the whole object was read.
    public mutating func members(_ read: (inout JSONScanner, Key) -> Bool) -> Bool {
        guard consume(UInt8(ascii: "{")) else { return false }
        var more = true
        while more {
            guard let key = key(), read(&self, key), let another = next(closing: UInt8(ascii: "}")) else { return false }
            more = another
        }
        return true
    }

    /// `{"tn":"…"}`: an `orig` (RFC 8225 §5.2.1) or a `from` (ATIS-1000082 §5.3.1) telephone number.
    public mutating func tn() -> String? {
        guard consume(UInt8(ascii: "{")), key()?.is("tn") == true, let tn = string(), consume(UInt8(ascii: "}")) else { return nil }
        return tn
    }

    /// `{"tn":["…", …]}` with 1 to `max` strings: a `dest` (RFC 8225 §5.2.1) or `to` list.
    public mutating func tnList(max: Int = 32) -> [String]? {
        guard consume(UInt8(ascii: "{")), key()?.is("tn") == true, consume(UInt8(ascii: "[")) else { return nil }
        var numbers: [String] = []
        var more = true
        while more {
            guard numbers.count < max, let tn = string(), let another = next(closing: UInt8(ascii: "]")) else { return nil }
            numbers.append(tn)
            more = another
        }
        guard consume(UInt8(ascii: "}")) else { return nil }
        return numbers
    }

    /// Stores a member's value read by a scan: `false` (the scan ends) when the
    /// member was already read (``JSONParser`` refuses repeated names) or is not of its shape.
    public static func take<Value>(_ slot: inout Value?, _ value: Value?) -> Bool {
        guard slot == nil, let value else { return false }
        slot = value
        return true
    }

    /// An integer value: `-`? then `0` or a digit string without a leading zero, at most 18 digits.
    public mutating func integer() -> Int64? {
        skipWhitespace()
        var i = index
        let negative = i < bytes.count && bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        let digitsStart = i
        var value: Int64 = 0
        while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
            // 18 digits stay below Int64.max (9.2e18): the 19th is refused before it is multiplied in.
            if i - digitsStart == 18 { return nil }
            value = value * 10 + Int64(bytes[i] - UInt8(ascii: "0"))
            i += 1
        }
        let digits = i - digitsStart
        guard digits > 0, digits == 1 || bytes[digitsStart] != UInt8(ascii: "0") else { return nil }
        // A fraction or an exponent makes it a JSONParser number.
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            return nil
        }
        index = i
        return negative ? -value : value
    }
}

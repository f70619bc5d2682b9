import Callsign
import Testing

@Suite("JSON: strict parser and RFC 8225 §9 deterministic writer")
struct JSONTests {
    func parse(_ text: String, limits: JSONLimits = JSONLimits()) throws(CallsignError) -> JSONValue {
        try JSONParser.parse(Array(text.utf8), limits: limits)
    }

    @Test("removing a member returns its value once and keeps the others in order")
    func removeValue() {
        var object = JSONObject(["a": .integer(1), "b": .string("x"), "c": .bool(true)])
        #expect(object.removeValue(forKey: "b") == .string("x"))
        #expect(object.removeValue(forKey: "b") == nil)
        #expect(object.removeValue(forKey: "B") == nil)
        #expect(object.keys == ["a", "c"])
        #expect(object["c"] == .bool(true))
    }

    @Test("writes keys in code-point order at every level with no whitespace")
    func canonicalOrder() throws {
        let value = try parse(#"{ "orig" : {"tn":"1"}, "dest": {"uri":["x"],"tn":["2"]}, "attest":"A", "iat": 5 }"#)
        #expect(String(decoding: JSONWriter.canonical(value), as: UTF8.self)
            == #"{"attest":"A","dest":{"tn":["2"],"uri":["x"]},"iat":5,"orig":{"tn":"1"}}"#)
    }

    @Test("does not escape '/' (x5u URLs are written as is)")
    func slashNotEscaped() throws {
        let value = try parse(#"{"x5u":"https:\/\/a.example\/c.pem"}"#)
        #expect(String(decoding: JSONWriter.canonical(value), as: UTF8.self) == #"{"x5u":"https://a.example/c.pem"}"#)
    }

    @Test("round-trips escapes, control characters and non-ASCII text")
    func escapes() throws {
        let value = try parse(#"{"nam":"Caf\u00e9 \"Bob\"\n\t\u0001 \ud83d\ude00"}"#)
        #expect(value.objectValue?["nam"]?.stringValue == "Café \"Bob\"\n\t\u{1} 😀")
        let written = JSONWriter.canonical(value)
        #expect(try JSONParser.parse(written) == value)
        #expect(String(decoding: written, as: UTF8.self) == "{\"nam\":\"Café \\\"Bob\\\"\\n\\t\\u0001 😀\"}")
    }

    @Test("keeps integers as integers and other numbers as their text")
    func numbers() throws {
        #expect(try parse("1443208345") == .integer(1_443_208_345))
        #expect(try parse("-0") == .integer(0))
        #expect(try parse("1.5e3") == .number("1.5e3"))
        #expect(try parse("99999999999999999999") == .number("99999999999999999999"))
    }

    @Test("refuses malformed documents", arguments: [
        "", "{", "{\"a\":1,}", "[1,]", "{\"a\" 1}", "{'a':1}", "01", "1.", "-", "tru", "\"abc", "\"\u{1}\"",
        "{\"a\":1}x", "{\"a\":1,\"a\":2}", "\"\\ud800\"", "\"\\x\"", "nul", "[1 2]", "+1",
    ])
    func refusesMalformed(_ text: String) {
        #expect(throws: CallsignError.self) { try parse(text) }
    }

    @Test("refuses invalid UTF-8")
    func refusesInvalidUTF8() {
        #expect(throws: CallsignError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test("enforces the depth, member-count and size limits")
    func limits() {
        let deep = String(repeating: "[", count: 20) + String(repeating: "]", count: 20)
        #expect(throws: CallsignError.self) { try parse(deep, limits: JSONLimits(maxDepth: 16)) }
        let wide = "[" + Array(repeating: "1", count: 300).joined(separator: ",") + "]"
        #expect(throws: CallsignError.self) { try parse(wide, limits: JSONLimits(maxContainerCount: 256)) }
        #expect(throws: CallsignError.self) { try parse("[1]", limits: JSONLimits(maxBytes: 2)) }
        let veryDeep = String(repeating: "[", count: 100_000)
        #expect(throws: CallsignError.self) { try parse(veryDeep, limits: JSONLimits(maxBytes: 200_000)) }
    }
}

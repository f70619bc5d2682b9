import Callsign
import Testing

@Suite("SIP Identity header (RFC 8224 §4)")
struct IdentityHeaderTests {
    @Test("parses the vector's full-form header: token, info, alg, ppt")
    func parsesFullForm() throws {
        let vector = try Vectors.json("shaken-test-pki/passport-valid.json")
        let value = try #require(vector["identity_header_value"] as? String)
        let header = try IdentityHeader(parsing: value)
        #expect(header.token == vector["jws_compact"] as? String)
        #expect(header.info == "https://cert.example.org/shaken-test/ee-chain.pem")
        #expect(header.alg == "ES256")
        #expect(header.ppt == "shaken")
        #expect(!header.isCompactForm)
        #expect(header.value == value)
    }

    @Test("accepts quoted ppt, spaces around ';' and '=', and keeps unknown parameters in order")
    func lenientSyntax() throws {
        let header = try IdentityHeader(parsing: "  abc.def.ghi ; info = <https://x.example/c.pem> ;alg=ES256; ppt=\"shaken\";x-foo=bar;flag  ")
        #expect(header.ppt == "shaken")
        #expect(header.info == "https://x.example/c.pem")
        #expect(header.parameters.map(\.name) == ["info", "alg", "ppt", "x-foo", "flag"])
        #expect(header.parameter("x-foo") == "bar")
        #expect(header.value == "abc.def.ghi;info=<https://x.example/c.pem>;alg=ES256;ppt=\"shaken\";x-foo=bar;flag")
        // Serialization round-trips.
        #expect(try IdentityHeader(parsing: header.value) == header)
    }

    @Test("parameter names match in any ASCII case (RFC 3261 §7.3.1 tokens), and only whole names")
    func parameterNamesIgnoreCase() throws {
        let header = try IdentityHeader(parsing: "abc.def.ghi;INFO=<https://x.example/c.pem>;Alg=ES256;pPt=shaken;X-Foo=bar;inf=1")
        #expect(header.info == "https://x.example/c.pem")
        #expect(header.alg == "ES256")
        #expect(header.ppt == "shaken")
        #expect(header.parameter("x-foo") == "bar")
        #expect(header.parameter("in") == nil && header.parameter("inf") == "1" && header.parameter("infos") == nil)
        // A name repeated in another case is the same parameter twice (438).
        #expect(throws: VerificationError(.malformedIdentityHeader, "")) {
            try IdentityHeader(parsing: "abc.def.ghi;info=<https://x.example/c.pem>;alg=ES256;ALG=ES256")
        }
        // Brackets and quotes are taken off whole: an empty <> is an empty URI, a lone quote stays.
        #expect(try IdentityHeader(parsing: "a.b.c;info=<>;ppt=\"\"").info == "")
        #expect(try IdentityHeader(parsing: "a.b.c;info=<>;ppt=\"\"").ppt == "")
        let built = IdentityHeader(token: "a.b.c", parameters: [.init(name: "ppt", rawValue: "\""), .init(name: "info", rawValue: "<")])
        #expect(built.ppt == "\"" && built.info == nil && built.hasInfo)
    }

    @Test("accepts the header name Identity or its compact form y")
    func headerNames() throws {
        for line in ["Identity: a.b.c;info=<https://x>", "identity:a.b.c;info=<https://x>", "y: a.b.c;info=<https://x>",
                     "IDENTITY :a.b.c;info=<https://x>", "Y:a.b.c;info=<https://x>", "a.b.c;info=<https://x>"]
        {
            let header = try IdentityHeader(line: line)
            #expect(header.token == "a.b.c")
            // The same line as a slice of a longer text (as SIP parsing hands it on).
            let text = "Via: x\n" + line + "\n"
            let slice = text.dropFirst(7).dropLast(1)
            #expect(try IdentityHeader(line: slice) == header)
        }
        // Another header's name is not stripped: its value is no digest.
        #expect(throws: VerificationError.self) { try IdentityHeader(line: "Identityx: a.b.c;info=<https://x>") }
    }

    @Test("recognizes the compact form ..signature (RFC 8225 §7)")
    func compactForm() throws {
        let header = try IdentityHeader(parsing: "..c2lnbmF0dXJl;info=<https://x.example/c.pem>;alg=ES256;ppt=shaken")
        #expect(header.isCompactForm)
        #expect(header.token == "..c2lnbmF0dXJl")
    }

    @Test("splits comma-joined header values, not commas inside <…> or quotes")
    func commaJoined() {
        let parts = IdentityHeader.splitCommaJoined("a.b.c;info=<https://x/a,b>;ppt=\"x,y\", d.e.f;info=<https://y>")
        #expect(parts.count == 2)
        #expect(parts[1].hasPrefix(" d.e.f"))
    }

    @Test("a field with one value (no comma) is that value; a blank field holds none", arguments: [
        ("a.b.c;info=<https://x/a>;ppt=shaken", ["a.b.c;info=<https://x/a>;ppt=shaken"]),
        (" \t ", []),
        ("", []),
        ("a.b.c, ", ["a.b.c"]),
    ] as [(String, [String])])
    func singleValue(_ text: String, _ expected: [String]) {
        #expect(IdentityHeader.splitCommaJoined(text).map(String.init) == expected)
        #expect(IdentityHeader.splitCommaJoined(text[...]).map(String.init) == expected)
    }

    @Test("refuses malformed headers with 438, and a bad info with 436", arguments: [
        ("", VerificationError.Code.malformedIdentityHeader),
        (";info=<https://x>", .malformedIdentityHeader),
        ("a+b.c.d;info=<https://x>", .malformedIdentityHeader),
        ("a.b.c info=<https://x>", .malformedIdentityHeader),
        ("a.b.c;info=<https://x>;alg=ES256;alg=ES256", .malformedIdentityHeader),
        ("a.b.c;=x", .malformedIdentityHeader),
        ("a.b.c;ppt=\"shaken", .malformedIdentityHeader),
        ("a.b.c;info=https://x", .badInfo),
        ("a.b.c;info=<https://x", .badInfo),
        ("a.b.c;info=<https://x y>", .badInfo),
    ])
    func refusesMalformed(_ text: String, _ code: VerificationError.Code) {
        #expect(throws: VerificationError(code, "")) { try IdentityHeader(parsing: text) }
    }

    @Test("refuses headers over the size limit and with too many parameters")
    func limits() {
        let long = String(repeating: "a", count: 11_000) + ";info=<https://x>"
        #expect(throws: VerificationError(.malformedIdentityHeader, "")) { try IdentityHeader(parsing: long) }
        let many = "a.b.c" + (0..<20).map { ";p\($0)=1" }.joined()
        #expect(throws: VerificationError(.malformedIdentityHeader, "")) { try IdentityHeader(parsing: many) }
    }
}

import CallsignSIP
import Testing

let invite = """
    INVITE sip:+12125551213@sbc.example;user=phone SIP/2.0\r
    Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r
    v: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK-2, SIP/2.0/UDP 192.0.2.3;branch=z9hG4bK-3\r
    Max-Forwards: 70\r
    f: "Bank" <sip:+12155551212@carrier.example;user=phone>;tag=1928301774\r
    t: <sip:+12125551213@sbc.example;user=phone>\r
    i: a84b4c76e66710@pc33.example\r
    CSeq: 314159 INVITE\r
    Subject: folded\r
     header value\r
    y: a.b.c;info=<https://cr.example/x.pem>;alg=ES256;ppt=shaken\r
    Identity: d.e.f;info=<https://cr.example/y.pem>;alg=ES256;ppt=div\r
    l: 4\r
    \r
    v=0

    """

@Suite("SIP message parser (RFC 3261 §7) with limits")
struct SIPMessageTests {
    @Test("parses start line, compact and repeated headers, folded lines and the body by Content-Length")
    func parses() throws {
        let message = try SIPParser().parse(Array(invite.utf8))
        #expect(message.method == "INVITE")
        #expect(message.requestURI == "sip:+12125551213@sbc.example;user=phone")
        #expect(message.values("via").count == 3)
        #expect(message.topViaBranch == "z9hG4bK776asdhds")
        #expect(message.first("from")?.hasPrefix("\"Bank\"") == true)
        #expect(message.first("call-id") == "a84b4c76e66710@pc33.example")
        #expect(message.first("subject") == "folded header value")
        #expect(message.values("identity").count == 2)
        #expect(message.body == Array("v=0\n".utf8))
    }

    @Test("serializes and parses back to the same message")
    func roundTrip() throws {
        let message = try SIPParser().parse(Array(invite.utf8))
        let again = try SIPParser().parse(message.serialized())
        #expect(again.values("via") == message.values("via"))
        #expect(again.values("identity") == message.values("identity"))
        #expect(again.body == message.body)
    }

    static let malformed: [String] = [
        "",
        "garbage",
        "INVITE sip:a@b SIP/2.0\r\nVia: x\r\n",  // no end of headers
        "INVITE sip:a@b SIP/3.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\n\r\n",
        "INVITE sip:a@b SIP/2.0\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\n\r\n",  // no Via
        "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: 1\r\nCSeq: x INVITE\r\n\r\n",
        "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: 1\r\nCSeq: 1 BYE\r\n\r\n",
        "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\nContent-Length: 50\r\n\r\nshort",
        "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\nContent-Length: -1\r\n\r\n",
        "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\nContent-Length: 4\r\n\r\n",
        "INVITE sip:a@b SIP/2.0\r\nno colon here\r\n\r\n",
        "INV ITE sip:a@b SIP/2.0\r\n\r\n",
        "SIP/2.0 99 Too Small\r\n\r\n",
        "INVITE a b SIP/2.0\r\n\r\n",
    ]

    @Test("refuses malformed messages with a reason", arguments: malformed)
    func refuses(_ text: String) {
        #expect(throws: SIPParseError.self) { try SIPParser().parse(Array(text.utf8)) }
    }

    @Test("refuses oversized messages, too many headers and overlong lines")
    func limits() {
        var parser = SIPParser()
        parser.maxHeaders = 10
        let many = "OPTIONS sip:a@b SIP/2.0\r\n" + (0..<20).map { "X-H\($0): v\r\n" }.joined() + "\r\n"
        #expect(throws: SIPParseError.self) { try parser.parse(Array(many.utf8)) }
        let long = "OPTIONS sip:a@b SIP/2.0\r\nX: " + String(repeating: "a", count: 9000) + "\r\n\r\n"
        #expect(throws: SIPParseError.self) { try SIPParser().parse(Array(long.utf8)) }
        #expect(throws: SIPParseError.self) { try SIPParser().parse(Array(repeating: 0x41, count: 70_000)) }
    }

    @Test("binary junk never crashes the parser")
    func junk() {
        var generator = SystemRandomNumberGenerator()
        let base = Array(invite.utf8)
        for _ in 0..<2000 {
            var bytes = base
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? SIPParser().parse(bytes)
            _ = try? SIPParser().parse(Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &generator))))
        }
    }
}

@Suite("Typed header views")
struct TypedHeaderTests {
    @Test("Via, From/To, CSeq, Max-Forwards, Date, Reason, Diversion and History-Info decode")
    func typed() throws {
        let text = "INVITE sip:+12125551213@sbc.example SIP/2.0\r\n"
            + "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1;received=198.51.100.1;rport=5062\r\n"
            + "From: \"Bank\" <sip:+12155551212@example.com;user=phone>;tag=abc\r\nTo: <sip:+12125551213@sbc.example>\r\n"
            + "Call-ID: x@y\r\nCSeq: 42 INVITE\r\nMax-Forwards: 69\r\nDate: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
            + "Reason: SIP ;cause=438 ;text=\"Invalid Identity Header\"\r\n"
            + "Diversion: <sip:+12125550000@example.com>;reason=unconditional;counter=1\r\n"
            + "History-Info: <sip:+12125550000@example.com>;index=1, <sip:+12125551213@sbc.example>;index=1.1\r\n"
            + "Content-Length: 0\r\n\r\n"
        let message = try SIPParser().parse(Array(text.utf8))
        let via = try #require(message.vias.first)
        #expect(via.transport == "UDP")
        #expect(via.sentBy == "192.0.2.1:5060")
        #expect(via.branch == "z9hG4bK-1")
        #expect(via.received == "198.51.100.1")
        #expect(via.rport == "5062")
        #expect(message.from?.displayName == "Bank")
        #expect(message.from?.uri == "sip:+12155551212@example.com;user=phone")
        #expect(message.from?.tag == "abc")
        #expect(message.to?.tag == nil)
        #expect(message.cseq?.number == 42)
        #expect(message.cseq?.method == "INVITE")
        #expect(message.maxForwards == 69)
        #expect(message.date == 1_289_690_940)
        #expect(message.reasons.first?.cause == 438)
        #expect(message.reasons.first?.text == "Invalid Identity Header")
        #expect(message.diversions.first?.parameters["reason"] == "unconditional")
        #expect(message.historyInfo.count == 2)
        #expect(message.historyInfo.last?.parameters["index"] == "1.1")
    }
}

@Suite("Header parameters and lookups")
struct HeaderParameterTests {
    @Test("a parameter after a name-addr is found: the To tag of a request inside a dialog")
    func parameterAfterNameAddr() {
        #expect(SIPMessage.parameter("tag", in: "<sip:+12125551213@sbc.example;user=phone>;tag=a6c85cf") == "a6c85cf")
        #expect(SIPMessage.parameter("tag", in: "\"Bank\" <sip:+12155551212@example.com> ; tag = 1928 ") == "1928")
        // Parameters inside <…> belong to the URI, not to the header.
        #expect(SIPMessage.parameter("user", in: "<sip:+12125551213@sbc.example;user=phone>") == nil)
        #expect(SIPMessage.parameter("tag", in: "<sip:+12125551213@sbc.example>") == nil)
    }

    /// The earlier `parameter(_:in:)`, split into an array of parts: the reference the byte scan must agree with.
    static func referenceParameter(_ name: String, in value: String) -> String? {
        func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
        func trim(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
            var slice = bytes
            while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
            while let last = slice.last, last == 0x20 || last == 0x09 { slice = slice.dropLast() }
            return slice
        }
        var bytes = Array(value.utf8)[...]
        if let close = bytes.lastIndex(of: UInt8(ascii: ">")) { bytes = bytes[(close + 1)...] }
        var parts = bytes.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: true)[...]
        if bytes.first != UInt8(ascii: ";") { parts = parts.dropFirst() }
        for part in parts {
            let equals = part.firstIndex(of: UInt8(ascii: "="))
            let key = trim(part[..<(equals ?? part.endIndex)])
            guard key.count == name.utf8.count, zip(key, name.utf8).allSatisfy({ lower($0) == lower($1) }) else { continue }
            guard let equals else { return "" }
            return String(decoding: trim(part[(equals + 1)...]), as: UTF8.self)
        }
        return nil
    }

    @Test("the byte scan finds what splitting into parts finds, over 30,000 generated header values")
    func parameterAgreesWithReference() {
        var state: UInt64 = 3_261
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        let pieces = [";", ";", "=", " ", "\t", "<", ">", "branch", "BRANCH", "tag", "rport", "z9hG4bK", "sip:a@b", "é", "x", "1"]
        for _ in 0..<30_000 {
            let value = (0..<next(12)).map { _ in pieces[next(pieces.count)] }.joined()
            for name in ["branch", "tag", "rport", "x"] {
                #expect(SIPMessage.parameter(name, in: value) == Self.referenceParameter(name, in: value), "\(name) in \(value)")
            }
        }
    }

    @Test("canonical header names are the lowercased names (compact forms expanded), ASCII or not")
    func canonicalNames() {
        for name in ["Via", "via", "P-Asserted-Identity", "CONTENT-LENGTH", "X-Custom_Header.1", "Identity", "f", "V", "Ünïcode-Ñame", "a-Ä"] {
            let expected = name.utf8.count == 1 ? SIPMessage.Header(name: name.lowercased(), value: "").canonicalName : name.lowercased()
            #expect(SIPMessage.Header(name: name, value: "").canonicalName == expected, "\(name)")
        }
        #expect(SIPMessage.Header(name: "V", value: "").canonicalName == "via")
    }

    @Test("a message serializes to its start line, its headers as received with a recomputed Content-Length, and the body")
    func serializedBytes() {
        let message = SIPMessage(startLine: .response(status: 302, reason: "Moved Temporarily"),
                                 headers: [.init(name: "Via", value: "SIP/2.0/UDP h;branch=z9hG4bK-1"), .init(name: "content-length", value: "99"),
                                           .init(name: "P-Asserted-Identity", value: "<tel:+12155550042;verstat=TN-Validation-Passed>")],
                                 body: Array("é\r\n".utf8))
        let expected = "SIP/2.0 302 Moved Temporarily\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-1\r\n"
            + "P-Asserted-Identity: <tel:+12155550042;verstat=TN-Validation-Passed>\r\nContent-Length: 4\r\n\r\né\r\n"
        #expect(message.serialized() == Array(expected.utf8))
        let request = SIPMessage(startLine: .request(method: "OPTIONS", uri: "sip:a@b"), headers: [])
        #expect(request.serialized() == Array("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n".utf8))
    }

    @Test("parameter names match ignoring case; a flag parameter has an empty value; the first token is not a parameter")
    func parameterNames() {
        let via = "SIP/2.0/UDP 192.0.2.1:5060;Branch=z9hG4bK-1;rport;received=198.51.100.1"
        #expect(SIPMessage.parameter("branch", in: via) == "z9hG4bK-1")
        #expect(SIPMessage.parameter("RPORT", in: via) == "")
        #expect(SIPMessage.parameter("received", in: via) == "198.51.100.1")
        #expect(SIPMessage.parameter("SIP/2.0/UDP 192.0.2.1:5060", in: via) == nil)
        #expect(SIPMessage.parameter("tag", in: "sip:a@b;tag=x") == "x")
    }

    @Test("first() is the first element of a list header and the first field of others, in any name case")
    func firstValues() throws {
        let message = try SIPParser().parse(Array(invite.utf8))
        #expect(message.first("VIA") == "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds")
        #expect(message.values("via").count == 3)
        #expect(message.first("i") == "a84b4c76e66710@pc33.example")
        #expect(message.first("Identity") == message.values("identity").first)
        #expect(message.topViaBranch == "z9hG4bK776asdhds")
        #expect(message.first("x-absent") == nil)
    }
}

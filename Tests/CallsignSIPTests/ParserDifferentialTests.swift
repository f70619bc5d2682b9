import CallsignSIP
import Testing

@Suite("SIP parser on bytes agrees with the reference parser")
struct ParserDifferentialTests {
    /// A deterministic generator (the same values every run).
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    /// Pieces inserted into messages: line ends, blanks, separators, start-line and
    /// header words, non-ASCII and invalid UTF-8.
    static let pieces: [[UInt8]] = [
        "\r\n", "\n", "\r\n\r\n", " ", "\t", ":", ",", ";", "<", ">", "\"", "SIP/2.0", "SIP/2.0 ", " SIP/2.0", "INVITE", "ACK",
        "200", "99", "1000", "+1", "-1", "Content-Length: 3\r\n", "l: 4\r\n", "l:4\r\n", "CSeq: 1 INVITE\r\n", "CSeq: 1  INVITE",
        "Via: ,\r\n", "v: SIP/2.0/UDP a;branch=z9hG4bK-9\r\n", "From: <sip:x@y>\r\n", "i: c\r\n", "t: x\r\n", " folded\r\n",
        "sip:a@b", "é", "ü:", "x", "0", "4294967296",
    ].map { Array($0.utf8) } + [[0xFF], [0xC3], [0x00]]

    static let base: [[UInt8]] = [
        Array(invite.utf8),
        Array("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n".utf8),
        Array("OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK-1\r\nf: a\r\nt: b\r\ni: c\r\nCSeq: 7 OPTIONS\r\nl: 0\r\n\r\n".utf8),
    ]

    static func mutate(_ message: [UInt8], _ random: inout Generator) -> [UInt8] {
        var bytes = message
        for _ in 0..<(1 + random.next(4)) {
            let at = random.next(bytes.count + 1)
            switch random.next(3) {
            case 0: bytes.insert(contentsOf: pieces[random.next(pieces.count)], at: at)
            case 1: bytes.removeSubrange(at..<min(bytes.count, at + 1 + random.next(8)))
            default: bytes.replaceSubrange(at..<min(bytes.count, at + 1 + random.next(3)), with: pieces[random.next(pieces.count)])
            }
        }
        return bytes
    }

    static func outcome(_ parse: () throws(SIPParseError) -> SIPMessage) -> Result<SIPMessage, SIPParseError> {
        do throws(SIPParseError) { return .success(try parse()) } catch { return .failure(error) }
    }

    @Test("the same message or the same refusal, over 3 × 20,000 mutated messages; first() agrees too", arguments: 0..<3)
    func agreesOverMutations(base index: Int) {
        var random = Generator(state: 3_261 + UInt64(index))
        var parsed = 0
        for _ in 0..<20_000 {
            let bytes = Self.mutate(Self.base[index], &random)
            let new = Self.outcome { () throws(SIPParseError) in try SIPParser().parse(bytes) }
            let old = Self.outcome { () throws(SIPParseError) in try ReferenceSIPParser().parse(bytes) }
            #expect(new == old, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
            guard case .success(let message) = new else { continue }
            parsed += 1
            for name in ["via", "VIA", "v", "identity", "call-id", "cseq", "from", "content-length", "contact"] {
                #expect(message.first(name) == ReferenceSIPParser.first(name, in: message), "\(name)")
            }
        }
        #expect(parsed > 1_000, "enough of the mutations still parse to compare messages")
    }
}

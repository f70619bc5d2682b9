import CallsignTestSupport
import Callsign
@testable import CallsignHTTP
import Testing

/// The signing and verification request bodies read without a JSON tree
/// (``JSONScanner``) must mean what ``JSONParser`` reads from them, and
/// anything the scanner does not read whole must go to ``JSONParser``.
@Suite("REST request bodies: the scan agrees with the parser")
struct RequestBodyScanTests {
    static let signing = #"{"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":1700000000,"orig":{"tn":"12155550042"},"origid":"de305d54-75b4-431b-adb2-eb6b9e546014"}}"#
    static let verification = #"{"verificationRequest":{"from":{"tn":"12155550042"},"to":{"tn":["12125551213"]},"time":1700000000,"identity":"eyJhbGciOiJFUzI1NiJ9.e30.c2ln;info=<https://cr.example/sp.pem>;alg=ES256;ppt=\"shaken\""}}"#

    /// The members as text, from either reader (`nil`: the scanner did not read it).
    static func signingValues(_ fields: SigningFields) -> String {
        func text<T>(_ result: Result<T, APIResponse>) -> String {
            switch result {
            case .success(let value): "\(value)"
            case .failure(let response): "error \(response.status) \(response.body)"
            }
        }
        return [text(fields.attest), text(fields.dest), text(fields.iat), text(fields.orig), text(fields.origid)].joined(separator: "|")
    }

    static func parsedSigning(_ body: [UInt8]) -> String? {
        guard case .success(let object) = STIService.parseBody(body, wrapper: "signingRequest") else { return nil }
        return signingValues(SigningFields(object))
    }

    static func parsedVerification(_ body: [UInt8]) -> String? {
        guard case .success(let request) = STIService.parseVerificationRequestFromTree(body) else { return nil }
        return "\(request.call.orig)|\(request.call.dest)|\(request.call.date.map { String($0) } ?? "none")|\(request.identity)"
    }

    static func scannedVerification(_ body: [UInt8]) -> String? {
        VerificationFields.scan(body).map { "\($0.from)|\($0.to)|\($0.time)|\($0.identity)" }
    }

    @Test("the common bodies are scanned, with the parser's values", arguments: [
        signing,
        #" { "signingRequest" : { "origid":"de305d54-75b4-431b-adb2-eb6b9e546014", "orig":{"tn":"+1 215 555 0042"},"iat":-0,"dest":{"tn":["12125551213","12125551214"]},"attest":"C" } } "#,
        "{\"signingRequest\":{\"attest\":\"B\",\n\"dest\":{\"tn\":[\"1212\\/5551213\"]},\"iat\":0,\"orig\":{\"tn\":\"tel:\\\"x\\\\\"},\"origid\":\"u\"}}\r\n",
    ])
    func scansCommonSigning(_ text: String) throws {
        let body = Array(text.utf8)
        let scanned = try #require(SigningFields.scan(body))
        #expect(Self.signingValues(scanned) == Self.parsedSigning(body))
    }

    @Test("the common verification bodies are scanned, with the parser's values", arguments: [
        verification,
        #"{"verificationRequest":{"identity":"a;ppt=shaken","time":17,"to":{"tn":["1","2"]},"from":{"tn":"+12155550042"}}}"#,
    ])
    func scansCommonVerification(_ text: String) throws {
        let body = Array(text.utf8)
        let scanned = try #require(Self.scannedVerification(body))
        #expect(scanned == Self.parsedVerification(body))
    }

    @Test("bodies the scan does not read whole go to the parser", arguments: [
        #"{"signingRequest":{"attest":"A","attest":"B","dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"},"origid":"u"}}"#,  // repeated member
        #"{"signingRequest":{"attest":"A","dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"},"origid":"u","x":1}}"#,  // another member
        #"{"signingRequest":{"attest":"A","dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"}}}"#,  // a member missing
        #"{"signingRequest":{"attest":"A","dest":{"tn":[]},"iat":1,"orig":{"tn":"1"},"origid":"u"}}"#,  // empty dest
        #"{"signingRequest":{"attest":"A","dest":{"tn":["1"]},"iat":1.5,"orig":{"tn":"1"},"origid":"u"}}"#,  // not an integer
        #"{"signingRequest":{"attest":"A","dest":{"tn":["1"]},"iat":1e3,"orig":{"tn":"1"},"origid":"u"}}"#,
        #"{"signingRequest":{"attest":"A","dest":{"tn":["1"]},"iat":01,"orig":{"tn":"1"},"origid":"u"}}"#,  // invalid JSON
        #"{"signingRequest":{"attest":"A","dest":{"tn":["1"]},"iat":1234567890123456789,"orig":{"tn":"1"},"origid":"u"}}"#,
        #"{"signingRequest":{"attest":"\u0041","dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"},"origid":"u"}}"#,  // \u escape
        #"{"signingRequest":{"attest":"é","dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"},"origid":"u"}}"#,  // non-ASCII
        #"{"signingRequest":{"attest":1,"dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"},"origid":"u"}}"#,  // another type
        #"{"signingRequest":{"attest":"A","dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"},"origid":"u"}} x"#,  // trailing data
        #"{"signingRequest":{"attest":"A","dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"},"origid":"u"},"other":{}}"#,
        #"{"signingRequest":{"attest":"A","dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"},"origid":"u"}"#,  // unterminated
        #"{"signingRequest":{"attest":"A","dest":{"tn":["1"],"x":0},"iat":1,"orig":{"tn":"1"},"origid":"u"}}"#,
        #"{"signingRequest":{"attest":"A\"#,
    ])
    func leavesOddSigningToParser(_ text: String) {
        #expect(SigningFields.scan(Array(text.utf8)) == nil)
    }

    @Test("a dest of more than 32 numbers goes to the parser, which reads it (the service then refuses the count)")
    func longDestToParser() {
        let many = (0..<33).map { "\"1212555\($0)\"" }.joined(separator: ",")
        let text = #"{"signingRequest":{"attest":"A","dest":{"tn":["# + many + #"]},"iat":1,"orig":{"tn":"1"},"origid":"u"}}"#
        #expect(SigningFields.scan(Array(text.utf8)) == nil)
        #expect(Self.parsedSigning(Array(text.utf8)) != nil)
    }

    /// A small deterministic generator (tests use no unseeded randomness).
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func mutations(of text: String, count: Int, seed: UInt64) -> [[UInt8]] {
        var random = SplitMix(state: seed)
        let alphabet = Array(#"{}[]":,\ -0123456789.eEatnulfrAB"#.utf8) + [0x00, 0x0A, 0xC3, 0xA9, 0xFF]
        let original = Array(text.utf8)
        return (0..<count).map { _ in
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[at] = alphabet.randomElement(using: &random) ?? 0
                case 1: bytes.remove(at: at)
                default: bytes.insert(alphabet.randomElement(using: &random) ?? 0, at: at)
                }
                if bytes.isEmpty { bytes = original }
            }
            return bytes
        }
    }

    @Test("over 20,000 mutated bodies of each kind: whatever the scan reads, the parser reads the same", arguments: [true, false])
    func mutations(signing: Bool) {
        func scan(_ body: [UInt8]) -> String? {
            signing ? SigningFields.scan(body).map { Self.signingValues($0) } : Self.scannedVerification(body)
        }
        func parse(_ body: [UInt8]) -> String? { signing ? Self.parsedSigning(body) : Self.parsedVerification(body) }
        var scanned = 0
        for body in Self.mutations(of: signing ? Self.signing : Self.verification, count: 20_000, seed: signing ? 8_225 : 8_224) {
            guard let fields = scan(body) else { continue }
            scanned += 1
            #expect(fields == parse(body), "\(String(decoding: body, as: UTF8.self))")
        }
        #expect(scanned > 1_000)  // the mutations reach the scanned shape, not only its refusals
    }
}

@testable import Callsign
import Testing

/// PASSporTs of the common SHAKEN shape are read without JSON trees; every
/// token must decode to what the tree path decodes, or fail with its error.
@Suite("PASSporT decoding: the scanned path agrees with the JSON tree path")
struct PASSporTScanTests {
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    static let header = #"{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cr.example.org/sp.pem"}"#
    static let payloads = [
        shakenClaims(),
        #"{"attest":"B","dest":{"tn":["12125551213","12125551214"]},"iat":0,"orig":{"tn":"1215"},"origid":"x"}"#,
        #"{"dest":{"tn":["1"]},"iat":1,"orig":{"tn":"2"}}"#,
        #"{"attest":"A","dest":{"tn":["12125551213"]},"div":{"tn":"1"},"iat":1800000000,"orig":{"tn":"12155551212"},"origid":"o"}"#,
    ]
    /// Inserted into the JSON: structure, other types, escapes, other members, odd numbers.
    static let pieces = [
        "{", "}", "[", "]", ",", ":", "\"", " ", "\\n", "\\u0041", "\\\"", "\\/", "-", "0", "1.5", "1e3", "-0", "00",
        "123456789012345678901", "null", "true", "\"\"", "[]", "{}", "\"tn\"", "\"uri\"", "\"iat\"", "\"alg\"", "\"typ\"",
        "\"crit\"", "\"dest\"", "\"orig\"", "é", "\"none\"", "\"ES256\"", "\"passport\"", "\"x5u\":\"y\",", "\"mky\":1,",
    ]

    static func mutate(_ text: String, _ random: inout Generator) -> String {
        var characters = Array(text)
        for _ in 0..<(1 + random.next(3)) {
            let at = random.next(characters.count + 1)
            switch random.next(3) {
            case 0: characters.insert(contentsOf: pieces[random.next(pieces.count)], at: at)
            case 1: characters.removeSubrange(at..<min(characters.count, at + 1 + random.next(6)))
            default: characters.replaceSubrange(at..<min(characters.count, at + 1 + random.next(4)), with: pieces[random.next(pieces.count)])
            }
        }
        return String(characters)
    }

    static func token(_ header: String, _ payload: String, signatureBytes: Int = 64) -> String {
        Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8)) + "."
            + Base64URL.encode([UInt8](repeating: 7, count: signatureBytes))
    }

    /// The outcome as comparable text: the decoded PASSporT, or the error's code and detail.
    static func outcome(_ decode: () throws(VerificationError) -> SignedPASSporT) -> String {
        do throws(VerificationError) {
            let signed = try decode()
            return "\(signed.passport) \(signed.signingInput) \(signed.signature)"
        } catch {
            return "error \(error.code) \(error.detail)"
        }
    }

    @Test("the common SHAKEN header and claims are scanned; extensions and odd values are not")
    func commonShapeIsScanned() {
        let limits = PASSporTLimits().json
        #expect(PASSporT.Header.scan(Array(Self.header.utf8), limits: limits) != nil)
        for payload in Self.payloads.prefix(3) { #expect(PASSporT.Claims.scan(Array(payload.utf8), limits: limits) != nil, "\(payload)") }
        for odd in [Self.payloads[3], #"{"dest":{"tn":[""]},"iat":1,"orig":{"tn":"2"}}"#, #"{"dest":{"tn":["1"]},"iat":-1,"orig":{"tn":"2"}}"#,
                    #"{"dest":{"tn":["1"]},"iat":1,"iat":2,"orig":{"tn":"2"}}"#, #"{"dest":{"tn":["1"]},"iat":1,"orig":{"tn":"2"}} x"#] {
            #expect(PASSporT.Claims.scan(Array(odd.utf8), limits: limits) == nil, "\(odd)")
        }
        let tight = JSONLimits(maxDepth: 2, maxContainerCount: 64)
        #expect(PASSporT.Claims.scan(Array(Self.payloads[0].utf8), limits: tight) == nil, "too deep for the limits: the tree path decides")
    }

    @Test("the same PASSporT or the same error as the tree path, over 2 × 20,000 mutated tokens", arguments: [false, true])
    func agreesOverMutations(mutateHeader: Bool) {
        var random = Generator(state: mutateHeader ? 8_225 : 8_588)
        var decoded = 0
        for _ in 0..<20_000 {
            var header = Self.header, payload = Self.payloads[random.next(Self.payloads.count)]
            if mutateHeader { header = Self.mutate(header, &random) } else { payload = Self.mutate(payload, &random) }
            let token = Self.token(header, payload, signatureBytes: random.next(20) == 0 ? 63 : 64)
            let scanned = Self.outcome { () throws(VerificationError) in try SignedPASSporT(compact: token) }
            let tree = Self.outcome { () throws(VerificationError) in try SignedPASSporT(jws: CompactJWS(token)) }
            #expect(scanned == tree, "\(header) \(payload)")
            if !scanned.hasPrefix("error") { decoded += 1 }
        }
        #expect(decoded > 500, "enough mutated tokens still decode to compare values")
    }
}

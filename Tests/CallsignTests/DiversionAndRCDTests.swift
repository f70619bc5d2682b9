import Callsign
import Crypto
import Foundation
import Testing

@Suite("Diverted calls (RFC 8946), Rich Call Data (RFC 9795), replay flag")
struct DiversionAndRCDTests {
    let key: P256.Signing.PrivateKey
    let resolver: PinnedCertificateResolver

    init() throws {
        key = try Vectors.eeKey()
        resolver = try PinnedCertificateResolver(certificate: try Vectors.eeCertificate())
    }

    func divHeader(orig: String = "12155551212", from: String, to: String, iat: Int64 = fixedNow) throws -> String {
        identity(try signRaw(header: #"{"alg":"ES256","ppt":"div","typ":"passport","x5u":"\#(testX5U)"}"#,
                             claims: #"{"dest":{"tn":["\#(to)"]},"div":{"tn":"\#(from)"},"iat":\#(iat),"orig":{"tn":"\#(orig)"}}"#, key: key),
                 params: ";info=<\(testX5U)>;alg=ES256;ppt=div")
    }

    var shaken: String {
        get throws { identity(try signRaw(header: shakenHeader(), claims: shakenClaims(dest: "12125551213"), key: key)) }
    }

    @Test("a call forwarded twice verifies through its div chain")
    func twoHops() async throws {
        let headers = [try shaken, try divHeader(from: "12125551213", to: "33140000001"), try divHeader(from: "33140000001", to: "33612345678")]
        let verdict = await Verifier().verify(identityHeaders: headers, call: CallContext(orig: "12155551212", dest: "33612345678"),
                                              now: fixedNow, resolver: resolver)
        #expect(verdict.verstat == .passed, "\(verdict.diagnostics)")
        #expect(verdict.diversions == 2)
        // Header order does not matter.
        let shuffled = await Verifier().verify(identityHeaders: [headers[2], headers[0], headers[1]],
                                               call: CallContext(orig: "12155551212", dest: "33612345678"), now: fixedNow, resolver: resolver)
        #expect(shuffled.verstat == .passed)
    }

    @Test("a broken link (a hop diverting from a number that was never called) fails with 438")
    func brokenLink() async throws {
        let headers = [try shaken, try divHeader(from: "12125551213", to: "33140000001"), try divHeader(from: "33199999999", to: "33612345678")]
        let verdict = await Verifier().verify(identityHeaders: headers, call: CallContext(orig: "12155551212", dest: "33612345678"),
                                              now: fixedNow, resolver: resolver)
        #expect(verdict.verstat == .failed)
        #expect(verdict.error?.sipStatus == 438)
    }

    @Test("a hop that changes orig, or whose signature is bad, breaks the chain")
    func badHop() async throws {
        let changedOrig = [try shaken, try divHeader(orig: "19995550000", from: "12125551213", to: "33612345678")]
        let first = await Verifier().verify(identityHeaders: changedOrig, call: CallContext(orig: "12155551212", dest: "33612345678"),
                                            now: fixedNow, resolver: resolver)
        #expect(first.error?.sipStatus == 438)
        var tampered = try divHeader(from: "12125551213", to: "33612345678")
        tampered = tampered.replacingOccurrences(of: ".eyJ", with: ".eyK")
        let second = await Verifier().verify(identityHeaders: [try shaken, tampered],
                                             call: CallContext(orig: "12155551212", dest: "33612345678"), now: fixedNow, resolver: resolver)
        #expect(second.verstat == .failed)
    }

    static func rcdClaims(name: String, rcdi: String) -> String {
        #"{"attest":"A","crn":"Your appointment","dest":{"tn":["12125551213"]},"iat":\#(fixedNow),"orig":{"tn":"12155551212"},"origid":"\#(testOrigid)","rcd":{"nam":"\#(name)"},"rcdi":{"/nam":"\#(rcdi)"}}"#
    }

    static func digest(_ name: String) -> String {
        let canonical = JSONWriter.canonical(.string(name))
        let hash = Data(SHA256.hash(data: canonical)).base64EncodedString()
        return "sha256-" + hash
    }

    @Test("a branded call returns its verified display name and reason; a tampered rcdi fails")
    func richCallData() async throws {
        let call = CallContext(orig: "12155551212", dest: "12125551213")
        let good = identity(try signRaw(header: shakenHeader(), claims: Self.rcdClaims(name: "Example Bank", rcdi: Self.digest("Example Bank")), key: key))
        let verdict = await Verifier().verify(identityHeaders: [good], call: call, now: fixedNow, resolver: resolver)
        #expect(verdict.verstat == .passed, "\(verdict.diagnostics)")
        #expect(verdict.displayName == "Example Bank")
        #expect(verdict.callReason == "Your appointment")
        let bad = identity(try signRaw(header: shakenHeader(), claims: Self.rcdClaims(name: "Example Bank", rcdi: Self.digest("Other Bank")), key: key))
        let refused = await Verifier().verify(identityHeaders: [bad], call: call, now: fixedNow, resolver: resolver)
        #expect(refused.verstat == .failed)
        #expect(refused.error?.sipStatus == 438)
        #expect(refused.displayName == nil)
    }

    @Test("a separate rcd PASSporT adds the verified name to a verified SHAKEN call")
    func separateRCDPassport() async throws {
        let call = CallContext(orig: "12155551212", dest: "12125551213")
        let rcd = identity(try signRaw(header: #"{"alg":"ES256","ppt":"rcd","typ":"passport","x5u":"\#(testX5U)"}"#,
                                       claims: #"{"dest":{"tn":["12125551213"]},"iat":\#(fixedNow),"orig":{"tn":"12155551212"},"rcd":{"nam":"Example Bank"}}"#,
                                       key: key), params: ";info=<\(testX5U)>;alg=ES256;ppt=rcd")
        let verdict = await Verifier().verify(identityHeaders: [try shaken, rcd], call: call, now: fixedNow, resolver: resolver)
        #expect(verdict.verstat == .passed)
        #expect(verdict.displayName == "Example Bank")
    }

    @Test("the same PASSporT seen twice within its window is flagged (or refused when configured)")
    func replay() async throws {
        var options = VerificationOptions()
        options.replayCache = ReplayCache(capacity: 100)
        let header = try shaken
        let call = CallContext(orig: "12155551212", dest: "12125551213")
        let first = await Verifier(options: options).verify(identityHeaders: [header], call: call, now: fixedNow, resolver: resolver)
        #expect(!first.replayed)
        let second = await Verifier(options: options).verify(identityHeaders: [header], call: call, now: fixedNow + 5, resolver: resolver)
        #expect(second.replayed)
        #expect(second.verstat == .passed)
        options.rejectReplays = true
        let third = await Verifier(options: options).verify(identityHeaders: [header], call: call, now: fixedNow + 6, resolver: resolver)
        #expect(third.error?.code == .replay)
        // Bounded: capacity is respected.
        let cache = ReplayCache(capacity: 10)
        for i in 0..<100 { _ = cache.seen([UInt8(i)], signature: [], until: fixedNow + 60, now: fixedNow) }
        #expect(cache.count <= 10)
    }
}

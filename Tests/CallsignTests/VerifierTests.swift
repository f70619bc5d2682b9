import Callsign
import Crypto
import Foundation
import X509
import Testing

/// A resolver that must not be reached (to prove a check fails before the credential step).
struct UnreachableResolver: CertificateResolver {
    func resolve(x5u: String, at time: Int64) async throws(VerificationError) -> ResolvedCredential {
        throw VerificationError(.certificateUnavailable, "resolver called")
    }
}

@Suite("STI-VS verification procedure (RFC 8224 §6.2, ATIS-1000074 §5.4)")
struct VerifierTests {
    let key: P256.Signing.PrivateKey
    let resolver: PinnedCertificateResolver
    let call = CallContext(orig: "sip:+12155551212@example.com;user=phone", dest: "tel:+12125551213")

    init() throws {
        key = try Vectors.eeKey()
        resolver = try PinnedCertificateResolver(certificate: try Vectors.eeCertificate())
    }

    func verify(_ headers: [String], call: CallContext? = nil, now: Int64 = fixedNow,
                options: VerificationOptions = VerificationOptions()) async -> Verdict {
        await Verifier(options: options).verify(identityHeaders: headers, call: call ?? self.call, now: now, resolver: resolver)
    }

    func validToken(iat: Int64 = fixedNow) throws -> String {
        try signRaw(header: shakenHeader(), claims: shakenClaims(iat: iat), key: key)
    }

    @Test("a valid SHAKEN PASSporT passes with its attestation and origid")
    func validPasses() async throws {
        let result = await verify([identity(try validToken())])
        #expect(result.verstat == .passed)
        #expect(result.error == nil)
        #expect(result.attestation == .full)
        #expect(result.origid == testOrigid)
    }

    @Test("a header made by the Signer verifies (same code path as `callsign sign`)")
    func signerRoundTrip() async throws {
        let signer = Signer(key: key, x5u: testX5U, numbering: .nanp)
        let header = try signer.sign(SigningRequest(orig: "2155551212", dest: ["(212) 555-1213"], attestation: .partial,
                                                    origid: testOrigid, iat: fixedNow - 5))
        let result = await verify([header.value])
        #expect(result.verstat == .passed)
        #expect(result.attestation == .partial)
    }

    @Test("the vector header verifies when the clock is set to its iat (cert validity is the resolver's business)")
    func vectorVerifies() async throws {
        let vector = try Vectors.json("shaken-test-pki/passport-valid.json")
        let value = try #require(vector["identity_header_value"] as? String)
        let keyOnly = PinnedCertificateResolver(publicKey: try Vectors.eeCertificate().publicKey.p256())
        let result = await Verifier().verify(identityHeaders: [value], call: call, now: 1_443_208_350, resolver: keyOnly)
        #expect(result.verstat == .passed)
        let tampered = try #require(vector["tampered_orig_jws"] as? String)
        let bad = await Verifier().verify(
            identityHeaders: [tampered + ";info=<https://cert.example.org/shaken-test/ee-chain.pem>;alg=ES256;ppt=shaken"],
            call: CallContext(orig: "12155559999", dest: "12125551213"), now: 1_443_208_350, resolver: keyOnly)
        #expect(bad.error?.sipStatus == 438)
        #expect(bad.error?.code == .badSignature)
    }

    @Test("no Identity header gives No-TN-Validation, or 428 when one is required")
    func missingIdentity() async {
        let lenient = await verify([])
        #expect(lenient.verstat == .noValidation)
        #expect(lenient.error == nil)
        var options = VerificationOptions()
        options.requireIdentity = true
        let strict = await verify([], options: options)
        #expect(strict.error?.sipStatus == 428)
        #expect(strict.error?.reasonPhrase == "Use Identity Header")
    }

    /// Each failure: what is sent, and the SIP code expected (shaken-procedures.md §5).
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var header: @Sendable (P256.Signing.PrivateKey) throws -> String
        var code: VerificationError.Code
        var status: Int
        var call: CallContext? = nil
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "bad signature", header: { key in
            let t = try signRaw(header: shakenHeader(), claims: shakenClaims(), key: key)
            let sig = t.split(separator: ".")[2]
            let flipped = (sig.first == "A" ? "B" : "A") + sig.dropFirst()
            return identity(t.split(separator: ".")[0...1].joined(separator: ".") + "." + flipped)
        }, code: .badSignature, status: 438),
        Case(name: "signed by another key", header: { _ in
            identity(try signRaw(header: shakenHeader(), claims: shakenClaims(), key: P256.Signing.PrivateKey()))
        }, code: .badSignature, status: 438),
        Case(name: "alg none", header: { key in
            identity(try signRaw(header: #"{"alg":"none","ppt":"shaken","typ":"passport","x5u":"\#(testX5U)"}"#, claims: shakenClaims(), key: key))
        }, code: .unsupportedAlgorithm, status: 437),
        Case(name: "alg HS256", header: { key in
            identity(try signRaw(header: #"{"alg":"HS256","ppt":"shaken","typ":"passport","x5u":"\#(testX5U)"}"#, claims: shakenClaims(), key: key))
        }, code: .unsupportedAlgorithm, status: 437),
        Case(name: "Identity alg parameter not ES256", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: shakenClaims(), key: key), params: ";info=<\(testX5U)>;alg=XX564;ppt=shaken")
        }, code: .unsupportedAlgorithm, status: 437),
        Case(name: "typ not passport", header: { key in
            identity(try signRaw(header: #"{"alg":"ES256","ppt":"shaken","typ":"JWT","x5u":"\#(testX5U)"}"#, claims: shakenClaims(), key: key))
        }, code: .wrongType, status: 437),
        Case(name: "PASSporT header without ppt", header: { key in
            identity(try signRaw(header: #"{"alg":"ES256","typ":"passport","x5u":"\#(testX5U)"}"#, claims: shakenClaims(), key: key))
        }, code: .missingExtension, status: 436),
        Case(name: "PASSporT ppt not shaken", header: { key in
            identity(try signRaw(header: #"{"alg":"ES256","ppt":"hey","typ":"passport","x5u":"\#(testX5U)"}"#, claims: shakenClaims(), key: key), params: ";info=<\(testX5U)>;alg=ES256;ppt=hey")
        }, code: .wrongExtension, status: 438),
        Case(name: "Identity ppt parameter not shaken", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: shakenClaims(), key: key), params: ";info=<\(testX5U)>;alg=ES256;ppt=hey")
        }, code: .wrongExtension, status: 438),
        Case(name: "Identity header without ppt parameter", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: shakenClaims(), key: key), params: ";info=<\(testX5U)>;alg=ES256")
        }, code: .wrongExtension, status: 438),
        Case(name: "attest not A/B/C", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: shakenClaims(attest: "W"), key: key))
        }, code: .invalidAttestation, status: 438),
        Case(name: "attest missing", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: #"{"dest":{"tn":["12125551213"]},"iat":\#(fixedNow),"orig":{"tn":"12155551212"},"origid":"\#(testOrigid)"}"#, key: key))
        }, code: .missingClaim, status: 438),
        Case(name: "origid missing", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: #"{"attest":"A","dest":{"tn":["12125551213"]},"iat":\#(fixedNow),"orig":{"tn":"12155551212"}}"#, key: key))
        }, code: .missingClaim, status: 438),
        Case(name: "origid not a UUID", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: #"{"attest":"A","dest":{"tn":["12125551213"]},"iat":\#(fixedNow),"orig":{"tn":"12155551212"},"origid":"trunk-7"}"#, key: key))
        }, code: .invalidClaim, status: 438),
        Case(name: "iat missing", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: #"{"attest":"A","dest":{"tn":["12125551213"]},"orig":{"tn":"12155551212"},"origid":"\#(testOrigid)"}"#, key: key))
        }, code: .missingClaim, status: 438),
        Case(name: "orig missing", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: #"{"attest":"A","dest":{"tn":["12125551213"]},"iat":\#(fixedNow),"origid":"\#(testOrigid)"}"#, key: key))
        }, code: .missingClaim, status: 438),
        Case(name: "dest missing", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: #"{"attest":"A","iat":\#(fixedNow),"orig":{"tn":"12155551212"},"origid":"\#(testOrigid)"}"#, key: key))
        }, code: .missingClaim, status: 438),
        Case(name: "info differs from x5u", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: shakenClaims(), key: key), params: ";info=<https://evil.example/c.pem>;alg=ES256;ppt=shaken")
        }, code: .infoMismatch, status: 436),
        Case(name: "no info parameter", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: shakenClaims(), key: key), params: ";alg=ES256;ppt=shaken")
        }, code: .missingInfo, status: 436),
        Case(name: "info not in angle brackets", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: shakenClaims(), key: key), params: ";info=\(testX5U);alg=ES256;ppt=shaken")
        }, code: .badInfo, status: 436),
        Case(name: "no x5u in the PASSporT", header: { key in
            identity(try signRaw(header: #"{"alg":"ES256","ppt":"shaken","typ":"passport"}"#, claims: shakenClaims(), key: key))
        }, code: .badInfo, status: 436),
        Case(name: "iat 61 s old", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: shakenClaims(iat: fixedNow - 61), key: key))
        }, code: .staleIat, status: 403),
        Case(name: "iat an hour in the future", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: shakenClaims(iat: fixedNow + 3600), key: key))
        }, code: .futureIat, status: 403),
        Case(name: "Date header 2 minutes old", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: shakenClaims(), key: key))
        }, code: .staleDate, status: 403,
             call: CallContext(orig: "12155551212", dest: "12125551213", date: fixedNow - 120)),
        Case(name: "orig differs from From/PAI", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: shakenClaims(orig: "12155559999"), key: key))
        }, code: .origMismatch, status: 438),
        Case(name: "dest differs from To", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: shakenClaims(dest: "12125559999"), key: key))
        }, code: .destMismatch, status: 438),
        Case(name: "calling number in the request unreadable (++4)", header: { key in
            identity(try signRaw(header: shakenHeader(), claims: shakenClaims(), key: key))
        }, code: .unusableRequestNumber, status: 400, call: CallContext(orig: "++4", dest: "12125551213")),
        Case(name: "compact form (SHAKEN requires full form)", header: { key in
            let t = try signRaw(header: shakenHeader(), claims: shakenClaims(), key: key)
            return identity(".." + t.split(separator: ".")[2])
        }, code: .compactFormNotAllowed, status: 438),
        Case(name: "truncated token", header: { key in
            let t = try signRaw(header: shakenHeader(), claims: shakenClaims(), key: key)
            return identity(String(t.prefix(t.count / 2)))
        }, code: .malformedPASSporT, status: 438),
        Case(name: "invalid base64url in the claims", header: { key in
            let parts = try signRaw(header: shakenHeader(), claims: shakenClaims(), key: key).split(separator: ".")
            return identity(parts[0] + "." + parts[1].dropLast(3) + "A.A" + "." + parts[2])
        }, code: .malformedPASSporT, status: 438),
        Case(name: "oversized token", header: { _ in
            identity(String(repeating: "eyJh", count: 2500) + ".e30.AAAA")
        }, code: .malformedPASSporT, status: 438),
        Case(name: "oversized header", header: { _ in
            identity("a.b.c", params: ";info=<https://x/" + String(repeating: "a", count: 11_000) + ">")
        }, code: .malformedIdentityHeader, status: 438),
    ]

    @Test("each failure gets the right SIP code and TN-Validation-Failed", arguments: cases)
    func failures(_ testCase: Case) async throws {
        let header = try testCase.header(key)
        let result = await verify([header], call: testCase.call)
        #expect(result.verstat == .failed)
        #expect(result.error?.code == testCase.code)
        #expect(result.error?.sipStatus == testCase.status)
    }

    @Test("with several Identity headers, one valid SHAKEN PASSporT suffices (RFC 8224 §6.2)")
    func severalHeaders() async throws {
        let bad = identity(try signRaw(header: shakenHeader(), claims: shakenClaims(orig: "19995550000"), key: key))
        let good = identity(try validToken())
        let result = await verify([bad, "garbage", good])
        #expect(result.verstat == .passed)
        // Comma-joined in one header field.
        let joined = await verify([bad + ", " + good])
        #expect(joined.verstat == .passed)
        // None valid: the SHAKEN header's failure is reported.
        let none = await verify(["garbage", bad])
        #expect(none.error?.code == .origMismatch)
    }

    @Test("an expired or not-yet-valid certificate gives 437")
    func certificateValidity() async throws {
        let token = identity(try validToken(iat: 2_200_000_000))
        let result = await verify([token], now: 2_200_000_000)
        #expect(result.error?.code == .certificateInvalid)
        #expect(result.error?.sipStatus == 437)
        let early = await verify([identity(try validToken(iat: 1_600_000_000))], now: 1_600_000_000)
        #expect(early.error?.sipStatus == 437)
    }

    @Test("checks run before the credential is fetched: a stale PASSporT never reaches the resolver")
    func orderOfChecks() async throws {
        let stale = identity(try validToken(iat: fixedNow - 600))
        let result = await Verifier().verify(identityHeaders: [stale], call: call, now: fixedNow, resolver: UnreachableResolver())
        #expect(result.error?.code == .staleIat)
    }

    @Test("compact form verifies when allowed, rebuilt from the request (RFC 8225 §7)")
    func compactFormAllowed() async throws {
        // A non-SHAKEN PASSporT can be rebuilt from SIP; SHAKEN claims (attest, origid) cannot.
        let passport = PASSporT(header: PASSporT.Header(alg: "ES256", typ: "passport", ppt: "shaken", x5u: testX5U),
                                claims: PASSporT.Claims(dest: PASSporT.Destination(tn: ["12125551213"]), iat: fixedNow,
                                                        orig: .tn("12155551212")))
        let signed = try SignedPASSporT.sign(passport, with: key)
        let compact = ".." + Base64URL.encode(signed.signature) + ";info=<\(testX5U)>;alg=ES256;ppt=shaken"
        var options = VerificationOptions()
        options.allowCompactForm = true
        let result = await verify([compact], call: CallContext(orig: "12155551212", dest: "12125551213", date: fixedNow),
                                  options: options)
        // Rebuilt and signature-checked; then refused for lacking SHAKEN claims.
        #expect(result.diagnostics.contains("compact form rebuilt from the request (RFC 8225 §7)"))
        #expect(result.error?.code == .missingClaim)
    }

    @Test("the French MAN profile requires alg (437) and refuses extra parameters (438)")
    func frenchProfile() async throws {
        let token = try validToken()
        let call = CallContext(orig: "12155551212", dest: "12125551213")
        let noAlg = await verify([identity(token, params: ";info=<\(testX5U)>;ppt=shaken")], call: call, options: .strictFrench)
        #expect(noAlg.error?.sipStatus == 437)
        let extra = await verify([identity(token, params: ";info=<\(testX5U)>;alg=ES256;ppt=shaken;toto=titi")], call: call,
                                 options: .strictFrench)
        #expect(extra.error?.sipStatus == 438)
        // The default (ATIS) profile accepts both.
        #expect(await verify([identity(token, params: ";info=<\(testX5U)>;ppt=shaken")]).verstat == .passed)
        #expect(await verify([identity(token, params: ";info=<\(testX5U)>;alg=ES256;ppt=shaken;toto=titi")]).verstat == .passed)
    }

    @Test("quoted ppt and national-format numbers with a numbering policy verify")
    func nationalNumbers() async throws {
        var options = VerificationOptions()
        options.numbering = .nanp
        let token = try validToken()
        let result = await verify([identity(token, params: ";info=<\(testX5U)>;alg=ES256;ppt=\"shaken\"")],
                                  call: CallContext(orig: "(215) 555-1212", dest: "sip:2125551213@example.com;user=phone"),
                                  options: options)
        #expect(result.verstat == .passed)
    }

    @Test("a French called number carrying a portability routing prefix still matches dest")
    func frenchPortability() async throws {
        var options = VerificationOptions.strictFrench
        options.rejectUnknownParameters = false
        let token = try signRaw(header: shakenHeader(), claims: shakenClaims(orig: "33140000000", dest: "33612345678"), key: key)
        let verdict = await verify([identity(token)], call: CallContext(orig: "0140000000", dest: "tel:+336001612345678"), options: options)
        #expect(verdict.verstat == .passed, "\(verdict.diagnostics)")
        let plain = await verify([identity(token)], call: CallContext(orig: "0140000000", dest: "0612345678"), options: options)
        #expect(plain.verstat == .passed)
    }

    @Test("random mutations of a valid header never crash and never pass")
    func mutationsNeverCrash() async throws {
        let valid = identity(try validToken())
        var generator = SystemRandomNumberGenerator()
        let bytes = Array(valid.utf8)
        let verifier = Verifier()
        for _ in 0..<1500 {
            var mutated = bytes
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let position = Int.random(in: 0..<mutated.count, using: &generator)
                switch Int.random(in: 0...2, using: &generator) {
                case 0: mutated[position] = UInt8.random(in: 0...255, using: &generator)
                case 1: mutated.remove(at: position)
                default: mutated.insert(UInt8.random(in: 0...255, using: &generator), at: position)
                }
            }
            let text = String(decoding: mutated, as: UTF8.self)
            let result = await verifier.verify(identityHeaders: [text], call: call, now: fixedNow, resolver: resolver)
            if result.verstat == .passed {
                // Only changes that leave the signed bytes and parameters meaningfully intact may pass.
                let header = try IdentityHeader(parsing: text)
                #expect(header.token == (try IdentityHeader(parsing: valid)).token)
            }
        }
        for _ in 0..<300 {
            let junk = String(decoding: (0..<Int.random(in: 0...600, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }, as: UTF8.self)
            let result = await verifier.verify(identityHeaders: [junk], call: call, now: fixedNow, resolver: resolver)
            #expect(result.verstat != .passed)
        }
    }
}

extension Certificate.PublicKey {
    func p256() throws -> P256.Signing.PublicKey {
        try #require(P256.Signing.PublicKey(self))
    }
}

import Callsign
import CallsignLab
import Crypto
import Foundation
import Testing
import X509

/// The warm path transports take on the event loop must give exactly the
/// verdict of the full procedure, and must step aside whenever it needs I/O.
@Suite("Verification without suspending (warm cache path)")
struct CachedVerificationTests {
    let key: P256.Signing.PrivateKey
    let pinned: PinnedCertificateResolver
    let call = CallContext(orig: "sip:+12155551212@example.com;user=phone", dest: "tel:+12125551213")

    init() throws {
        key = try Vectors.eeKey()
        pinned = try PinnedCertificateResolver(certificate: try Vectors.eeCertificate())
    }

    static func same(_ a: Verdict, _ b: Verdict) {
        #expect(a.verstat == b.verstat)
        #expect(a.error?.code == b.error?.code)
        #expect(a.error?.sipStatus == b.error?.sipStatus)
        #expect(a.attestation == b.attestation)
        #expect(a.origid == b.origid)
        #expect(a.diagnostics == b.diagnostics)
    }

    @Test("every failure case of the procedure gets the same verdict on the cached path", arguments: VerifierTests.cases)
    func failuresMatch(_ testCase: VerifierTests.Case) async throws {
        let header = try testCase.header(key)
        let call = testCase.call ?? self.call
        let full = await Verifier().verify(identityHeaders: [header], call: call, now: fixedNow, resolver: pinned)
        let cached = try #require(Verifier().verifyCached(identityHeaders: [header], call: call, now: fixedNow, resolver: pinned))
        Self.same(cached, full)
        #expect(cached.error?.code == testCase.code)
    }

    @Test("a valid PASSporT, a missing header and a required header get the same verdicts on both paths")
    func validAndMissingMatch() async throws {
        let valid = identity(try signRaw(header: shakenHeader(), claims: shakenClaims(), key: key))
        for (headers, options) in [([valid], VerificationOptions()), ([], VerificationOptions()),
                                   ([], { var o = VerificationOptions(); o.requireIdentity = true; return o }())] {
            let verifier = Verifier(options: options)
            let full = await verifier.verify(identityHeaders: headers, call: call, now: fixedNow, resolver: pinned)
            let cached = try #require(verifier.verifyCached(identityHeaders: headers, call: call, now: fixedNow, resolver: pinned))
            Self.same(cached, full)
        }
        let cached = Verifier().verifyCached(identityHeaders: [valid], call: call, now: fixedNow, resolver: pinned)
        #expect(cached?.verstat == .passed)
        #expect(cached?.attestation == .full)
    }

    @Test("several Identity headers, div and rcd PASSporTs and Rich Call Data claims go to the full procedure")
    func stepsAsideForTheFullProcedure() throws {
        let valid = identity(try signRaw(header: shakenHeader(), claims: shakenClaims(), key: key))
        let verifier = Verifier()
        #expect(verifier.verifyCached(identityHeaders: [valid, valid], call: call, now: fixedNow, resolver: pinned) == nil)
        #expect(verifier.verifyCached(identityHeaders: [valid + "," + valid], call: call, now: fixedNow, resolver: pinned) == nil)
        let div = identity(try signRaw(header: #"{"alg":"ES256","ppt":"div","typ":"passport","x5u":"\#(testX5U)"}"#,
                                       claims: shakenClaims(), key: key), params: ";info=<\(testX5U)>;ppt=div")
        #expect(verifier.verifyCached(identityHeaders: [div], call: call, now: fixedNow, resolver: pinned) == nil)
        let rcdClaims = #"{"attest":"A","dest":{"tn":["12125551213"]},"iat":\#(fixedNow),"orig":{"tn":"12155551212"},"origid":"\#(testOrigid)","rcd":{"nam":"Bank"}}"#
        let rcd = identity(try signRaw(header: shakenHeader(), claims: rcdClaims, key: key))
        #expect(verifier.verifyCached(identityHeaders: [rcd], call: call, now: fixedNow, resolver: pinned) == nil)
    }

    @Test("a resolver without a cached path sends every verification to the full procedure")
    func noCachedPath() throws {
        let valid = identity(try signRaw(header: shakenHeader(), claims: shakenClaims(), key: key))
        #expect(Verifier().verifyCached(identityHeaders: [valid], call: call, now: fixedNow, resolver: UnreachableResolver()) == nil)
    }

    @Test("with x5u: nil while the chain is cold, the cached chain after one full verification, a cached failure too")
    func chainCacheWarmPath() async throws {
        let pki = try ResolverTests.LabPKI()
        let repository = try pki.repository()
        let resolver = ChainValidatingResolver(policy: X5UPolicy(), repository: repository,
                                               validator: ChainValidator(roots: [pki.root], mode: .strict, requireCRL: true))
        let x5u = pki.base + "/chain.pem"
        let header = try signRaw(header: shakenHeader(x5u: x5u), claims: shakenClaims(), key: pki.eeKey)
        let value = identity(header, params: ";info=<\(x5u)>;alg=ES256;ppt=shaken")
        let verifier = Verifier()
        #expect(verifier.verifyCached(identityHeaders: [value], call: call, now: fixedNow, resolver: resolver) == nil)
        let full = await verifier.verify(identityHeaders: [value], call: call, now: fixedNow, resolver: resolver)
        #expect(full.verstat == .passed)
        let cached = try #require(verifier.verifyCached(identityHeaders: [value], call: call, now: fixedNow + 1, resolver: resolver))
        #expect(cached.verstat == .passed)
        #expect(cached.diagnostics.contains("certificate chain from cache"))

        // A chain that failed validation is remembered: the cached path answers 437 without validating again.
        let other = try ResolverTests.LabPKI()
        let untrusting = ChainValidatingResolver(policy: X5UPolicy(), repository: repository,
                                                 validator: ChainValidator(roots: [other.root], mode: .strict, requireCRL: true))
        #expect(verifier.verifyCached(identityHeaders: [value], call: call, now: fixedNow, resolver: untrusting) == nil)
        let refused = await verifier.verify(identityHeaders: [value], call: call, now: fixedNow, resolver: untrusting)
        #expect(refused.error?.sipStatus == 437)
        let cachedRefusal = try #require(verifier.verifyCached(identityHeaders: [value], call: call, now: fixedNow + 1, resolver: untrusting))
        #expect(cachedRefusal.error?.code == refused.error?.code)
    }

    @Test("an x5u the URL policy refuses is refused on the cached path too (436, no fetch)")
    func urlPolicyOnCachedPath() throws {
        let pki = try ResolverTests.LabPKI()
        let repository = try pki.repository()
        let resolver = ChainValidatingResolver(policy: X5UPolicy(), repository: repository,
                                               validator: ChainValidator(roots: [pki.root], mode: .strict, requireCRL: true))
        let x5u = "http://127.0.0.1/chain.pem"
        let header = try signRaw(header: shakenHeader(x5u: x5u), claims: shakenClaims(), key: pki.eeKey)
        let verdict = Verifier().verifyCached(identityHeaders: [identity(header, params: ";info=<\(x5u)>;alg=ES256;ppt=shaken")],
                                              call: call, now: fixedNow, resolver: resolver)
        #expect(verdict?.error?.sipStatus == 436)
        #expect(repository.fetches == 0)
    }

    @Test("IMF-fixdate formatting round-trips through the parser and names the weekday")
    func rfc1123() {
        #expect(CivilTime.formatRFC1123(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(CivilTime.formatRFC1123(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        for t: Int64 in [951_782_400, 1_709_208_000, fixedNow, 4_102_444_799] {
            #expect(CivilTime.parseRFC1123(CivilTime.formatRFC1123(t)) == t)
        }
    }
}

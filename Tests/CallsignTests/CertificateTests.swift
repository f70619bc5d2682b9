import Callsign
import Foundation
import Testing
import X509

@Suite("STI certificates: profile lints and chain validation (ATIS-1000080, RFC 5280)")
struct CertificateTests {
    func chain(_ path: String) throws -> [Certificate] { try KeyLoading.certificates(pem: try Vectors.text(path)) }

    @Test("the TransNexus 733J production certificate has no profile errors")
    func transnexusClean() throws {
        let certificate = try #require(try chain("real-certs/ee-SHAKEN-733J-transnexus.pem").first)
        let findings = STICertificateProfile.findings(for: certificate, role: .endEntity)
        #expect(findings.filter { $0.severity == .error }.isEmpty, "\(findings)")
    }

    @Test("the legacy Sansay 9157 certificate gets the policy-OID and CN findings")
    func legacyFindings() throws {
        let certificate = try #require(try chain("real-certs/ee-SHAKEN-9157-sansay-legacy.pem").first)
        let lints = Set(STICertificateProfile.findings(for: certificate, role: .endEntity).map(\.lint))
        #expect(lints.contains("e_shaken_certificate_policies_id"))
        #expect(lints.contains("e_atis_subject_cn_spc"))
    }

    @Test("the legacy certificate passes the lenient profile with its deviations as findings, and is rejected by the strict one")
    func legacyStrictVersusLenient() async throws {
        // Its issuing chain is not public, so the profile decision is checked on the certificate alone.
        let legacy = try chain("real-certs/ee-SHAKEN-9157-sansay-legacy.pem")
        #expect(STICertificateProfile.rejection(of: legacy, mode: .lenient) == nil)
        let reason = try #require(STICertificateProfile.rejection(of: legacy, mode: .strict))
        #expect(reason.contains("e_"))
        let clean = try chain("real-certs/ee-SHAKEN-733J-transnexus.pem")
        #expect(STICertificateProfile.rejection(of: clean, mode: .strict) == nil)
    }

    @Test("the vector chain validates to its root, with the key and TNAuthList of the end entity")
    func vectorChainValidates() async throws {
        let roots = try chain("shaken-test-pki/root.pem")
        let validator = ChainValidator(roots: roots)
        let validated = try await validator.validate(chain: try chain("shaken-test-pki/ee-chain.pem"), crls: [], at: fixedNow)
        #expect(validated.certificates.count == 3)
        #expect(validated.tnAuthList.spcs == ["TEST"])
        #expect(validated.findings.filter { $0.severity == .error }.isEmpty, "\(validated.findings)")
        #expect(validated.validUntil <= 2_082_758_400)  // 2036-01-01
        // strict accepts it too
        _ = try await ChainValidator(roots: roots, mode: .strict).validate(chain: try chain("shaken-test-pki/ee-chain.pem"), crls: [], at: fixedNow)
    }

    @Test("a chain to another root is untrusted (437)")
    func untrusted() async throws {
        let otherRoot = try chain("real-certs/ee-SHAKEN-733J-transnexus.pem")
        let validator = ChainValidator(roots: otherRoot)
        await #expect(throws: VerificationError(.certificateUntrusted, "")) {
            try await validator.validate(chain: try chain("shaken-test-pki/ee-chain.pem"), crls: [], at: fixedNow)
        }
    }

    @Test("outside its validity the chain is refused (437)")
    func expired() async throws {
        let validator = ChainValidator(roots: try chain("shaken-test-pki/root.pem"))
        await #expect(throws: VerificationError(.certificateInvalid, "")) {
            try await validator.validate(chain: try chain("shaken-test-pki/ee-chain.pem"), crls: [], at: 2_200_000_000)
        }
        await #expect(throws: VerificationError(.certificateInvalid, "")) {
            try await validator.validate(chain: try chain("shaken-test-pki/ee-chain.pem"), crls: [], at: 1_600_000_000)
        }
    }

    @Test("a certificate whose TNAuthList is a bare string is refused as not authorized (437)")
    func badTNAuthList() async throws {
        let bad = try chain("negative/libstirshaken-sp-bad-tnauthlist.pem")
        let validator = ChainValidator(roots: bad)
        let now = Int64(try #require(bad.first).notValidBefore.timeIntervalSince1970) + 10
        await #expect(throws: VerificationError(.certificateNotAuthorized, "")) {
            try await validator.validate(chain: bad, crls: [], at: now)
        }
    }

    @Test("the chain cache returns a validated chain until it expires and evicts the least recently used")
    func cache() throws {
        let cache = ChainCache(capacity: 2)
        let certificates = try chain("shaken-test-pki/ee-chain.pem")
        let validated = ValidatedSTIChain(certificates: certificates, publicKey: try KeyLoading.publicKey(of: certificates[0]),
                                          tnAuthList: try TNAuthorizationList([.spc("TEST")]), findings: [],
                                          validUntil: 2000, validFrom: 1000)
        let a = ChainCache.key(for: Array("a".utf8))
        let b = ChainCache.key(for: Array("b".utf8))
        let c = ChainCache.key(for: Array("c".utf8))
        cache.store(validated, for: a)
        #expect(cache.lookup(a, at: 1500) != nil)
        #expect(cache.lookup(a, at: 2001) == nil)  // expired: dropped
        cache.store(validated, for: a)
        cache.store(validated, for: b)
        _ = cache.lookup(a, at: 1500)
        cache.store(validated, for: c)  // evicts b, the least recently used
        #expect(cache.lookup(b, at: 1500) == nil)
        #expect(cache.lookup(a, at: 1500) != nil)
        #expect(cache.statistics.count == 2)
    }
}

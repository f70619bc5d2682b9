import CallsignLab
@testable import Callsign
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@Suite("Chain-validating resolver: fetch, CRL, validation, cache")
struct ResolverTests {
    /// A lab PKI built in memory: root → intermediate → SPC end entity, with CRLs.
    struct LabPKI {
        let rootKey = P256.Signing.PrivateKey()
        let interKey = P256.Signing.PrivateKey()
        let eeKey = P256.Signing.PrivateKey()
        let root: Certificate
        let inter: Certificate
        let ee: Certificate
        let base = "https://cr.example.net"

        init(now: Int64 = fixedNow, organization: String = "Lab") throws {
            root = try LabCertificateAuthority.makeRoot(key: rootKey, organization: organization, notBefore: now - 86_400, notAfter: now + 86_400 * 3650)
            inter = try LabCertificateAuthority.makeIntermediate(key: interKey, issuer: root, issuerKey: rootKey, organization: organization,
                                                                 crlURL: base + "/root.crl", notBefore: now - 86_400, notAfter: now + 86_400 * 1000)
            ee = try LabCertificateAuthority.issueEndEntity(publicKey: eeKey.publicKey, tnAuthList: try TNAuthorizationList([.spc("1234")]),
                                                            issuer: inter, issuerKey: interKey, organization: organization,
                                                            crlURL: base + "/inter.crl", notBefore: now - 86_400, notAfter: now + 86_400 * 30)
        }

        func repository(revoked: Bool = false, now: Int64 = fixedNow) throws -> MemoryCertificateRepository {
            let chain = try ee.serializeAsPEM().pemString + "\n" + (try inter.serializeAsPEM().pemString) + "\n"
            return MemoryCertificateRepository([
                base + "/chain.pem": Array(chain.utf8),
                base + "/inter.crl": try CertificateRevocationList.make(issuer: inter, issuerKey: interKey,
                                                                         revoked: revoked ? [(ee.serialNumber, now)] : [],
                                                                         thisUpdate: now - 60, nextUpdate: now + 3600, crlNumber: 1),
                base + "/root.crl": try CertificateRevocationList.make(issuer: root, issuerKey: rootKey, revoked: [],
                                                                        thisUpdate: now - 60, nextUpdate: now + 86_400, crlNumber: 1),
            ])
        }
    }

    @Test("the first call validates the chain; later calls use the cache until the CRL's nextUpdate")
    func cacheUntilNextUpdate() async throws {
        let pki = try LabPKI()
        let repository = try pki.repository()
        let cache = ChainCache()
        let resolver = ChainValidatingResolver(policy: X5UPolicy(), repository: repository,
                                               validator: ChainValidator(roots: [pki.root], mode: .strict, requireCRL: true), cache: cache)
        let first = try await resolver.resolve(x5u: pki.base + "/chain.pem", at: fixedNow)
        #expect(first.diagnostics.first == "certificate chain validated")
        #expect(first.tnAuthList?.spcs == ["1234"])
        let second = try await resolver.resolve(x5u: pki.base + "/chain.pem", at: fixedNow + 10)
        #expect(second.diagnostics.first == "certificate chain from cache")
        #expect(cache.statistics.hits == 1)
        // Past the CRL's nextUpdate the chain is validated again (with a fresh CRL).
        repository.set(pki.base + "/inter.crl", try CertificateRevocationList.make(
            issuer: pki.inter, issuerKey: pki.interKey, revoked: [], thisUpdate: fixedNow + 3000, nextUpdate: fixedNow + 9000, crlNumber: 2))
        let third = try await resolver.resolve(x5u: pki.base + "/chain.pem", at: fixedNow + 3700)
        #expect(third.diagnostics.first == "certificate chain validated")
    }

    @Test("a revoked certificate is refused with 437 and never cached")
    func revoked() async throws {
        let pki = try LabPKI()
        let resolver = ChainValidatingResolver(policy: X5UPolicy(), repository: try pki.repository(revoked: true),
                                               validator: ChainValidator(roots: [pki.root]))
        await #expect(throws: VerificationError(.certificateRevoked, "")) {
            try await resolver.resolve(x5u: pki.base + "/chain.pem", at: fixedNow)
        }
        #expect(resolver.cache.statistics.count == 0)
    }

    @Test("a failed chain is remembered for 30 s: the same content is not validated (nor its CRLs fetched) again until then")
    func failureRemembered() async throws {
        let pki = try LabPKI()
        let repository = try pki.repository(revoked: true)
        let resolver = ChainValidatingResolver(policy: X5UPolicy(), repository: repository,
                                               validator: ChainValidator(roots: [pki.root], requireCRL: true))
        for offset in [0, 10, 29] {
            await #expect(throws: VerificationError(.certificateRevoked, "")) {
                try await resolver.resolve(x5u: pki.base + "/chain.pem", at: fixedNow + Int64(offset))
            }
        }
        #expect(repository.fetches == 3 + 2, "x5u fetched per call, the two CRLs only for the first validation")
        // After the lifetime, and with the certificate no longer listed, it validates again.
        repository.set(pki.base + "/inter.crl", try CertificateRevocationList.make(
            issuer: pki.inter, issuerKey: pki.interKey, revoked: [], thisUpdate: fixedNow, nextUpdate: fixedNow + 3600, crlNumber: 2))
        let later = try await resolver.resolve(x5u: pki.base + "/chain.pem", at: fixedNow + 31)
        #expect(later.diagnostics.first == "certificate chain validated")
    }

    @Test("with requireCRL an intermediate's missing CRL fails the chain when the intermediate names a distribution point")
    func requireCRLForIntermediateWithDistributionPoint() async throws {
        let pki = try LabPKI()
        let repository = try pki.repository()
        repository.set(pki.base + "/root.crl", Array("not a CRL".utf8))
        let strict = ChainValidatingResolver(policy: X5UPolicy(), repository: repository,
                                             validator: ChainValidator(roots: [pki.root], requireCRL: true))
        await #expect(throws: VerificationError(.certificateInvalid, "")) {
            try await strict.resolve(x5u: pki.base + "/chain.pem", at: fixedNow)
        }
        let lenient = ChainValidatingResolver(policy: X5UPolicy(), repository: repository, validator: ChainValidator(roots: [pki.root]))
        #expect(try await lenient.resolve(x5u: pki.base + "/chain.pem", at: fixedNow).diagnostics.first == "certificate chain validated")
    }

    @Test("a missing x5u gives 436; a body that is not a certificate gives 436; an SSRF URL is refused before any fetch")
    func unavailable() async throws {
        let pki = try LabPKI()
        let repository = try pki.repository()
        repository.set(pki.base + "/junk.pem", Array("hello".utf8))
        let resolver = ChainValidatingResolver(policy: X5UPolicy(), repository: repository, validator: ChainValidator(roots: [pki.root]))
        await #expect(throws: VerificationError(.certificateUnavailable, "")) { try await resolver.resolve(x5u: pki.base + "/nope.pem", at: fixedNow) }
        await #expect(throws: VerificationError(.certificateUnavailable, "")) { try await resolver.resolve(x5u: pki.base + "/junk.pem", at: fixedNow) }
        let before = repository.fetches
        await #expect(throws: VerificationError(.badInfo, "")) { try await resolver.resolve(x5u: "https://169.254.169.254/latest", at: fixedNow) }
        #expect(repository.fetches == before)
    }

    @Test("the full procedure with x5u: a PASSporT signed with the lab key verifies; the SIP code for an untrusted chain is 437")
    func fullProcedure() async throws {
        let pki = try LabPKI()
        let signer = Signer(key: pki.eeKey, x5u: pki.base + "/chain.pem")
        let header = try signer.sign(SigningRequest(orig: "12155551212", dest: ["12155553434"], attestation: .full,
                                                    origid: testOrigid, iat: fixedNow))
        let call = CallContext(orig: "12155551212", dest: "12155553434")
        let resolver = ChainValidatingResolver(policy: X5UPolicy(), repository: try pki.repository(),
                                               validator: ChainValidator(roots: [pki.root], mode: .strict, requireCRL: true))
        let verdict = await Verifier().verify(identityHeaders: [header.value], call: call, now: fixedNow, resolver: resolver)
        #expect(verdict.verstat == .passed, "\(verdict.diagnostics)")
        let other = try LabPKI()
        let untrusted = ChainValidatingResolver(policy: X5UPolicy(), repository: try pki.repository(),
                                                validator: ChainValidator(roots: [other.root]))
        let bad = await Verifier().verify(identityHeaders: [header.value], call: call, now: fixedNow, resolver: untrusted)
        #expect(bad.error?.sipStatus == 437)
        #expect(bad.error?.code == .certificateUntrusted)
    }

    /// A repository whose CRL answers wait 100 ms: validations started together overlap.
    struct SlowCRLRepository: CertificateRepository {
        let inner: MemoryCertificateRepository
        func fetch(_ url: String, target: X5UPolicy.Target) async throws(VerificationError) -> [UInt8] {
            if url.hasSuffix(".crl") { try? await Task.sleep(for: .milliseconds(100)) }
            return try await inner.fetch(url, target: target)
        }
    }

    @Test("calls for one chain that arrive while it is validated wait for that validation: its CRLs are fetched once", arguments: [false, true])
    func concurrentCallsValidateOnce(revoked: Bool) async throws {
        let pki = try LabPKI()
        let repository = try pki.repository(revoked: revoked)
        let resolver = ChainValidatingResolver(policy: X5UPolicy(), repository: SlowCRLRepository(inner: repository),
                                               validator: ChainValidator(roots: [pki.root], requireCRL: true))
        let calls = 50
        let outcomes = await withTaskGroup(of: String.self) { group in
            for _ in 0..<calls {
                group.addTask {
                    do throws(VerificationError) { return try await resolver.resolve(x5u: pki.base + "/chain.pem", at: fixedNow).diagnostics.first ?? "" }
                    catch { return error.code.rawValue }
                }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(repository.fetches == calls + 2, "x5u fetched per call, the two CRLs once")
        #expect(Set(outcomes) == (revoked ? [VerificationError.Code.certificateRevoked.rawValue] : ["certificate chain validated"]))
        #expect(resolver.flights.running == 0)
    }
}

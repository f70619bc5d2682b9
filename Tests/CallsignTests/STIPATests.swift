import CallsignLab
@testable import Callsign
import Crypto
import Foundation
import Testing
import X509

/// Two STI-CAs (each a root → intermediate → end entity, as the STI-PA lists
/// STI-CA roots) and a lab STI-PA, all at the fixed clock.
struct STIPAWorld {
    let stiPA: LabSTIPAAuthority
    let caA: ResolverTests.LabPKI
    let caB: ResolverTests.LabPKI
    let signerURL = "https://sti-pa.example.net/cert/signer.pem"
    let crlSignerURL = "https://sti-pa.example.net/cert/crl-signer.pem"

    init() throws {
        stiPA = try LabSTIPAAuthority.create(notBefore: fixedNow - 86_400)
        caA = try ResolverTests.LabPKI(organization: "Carrier A CA")
        caB = try ResolverTests.LabPKI(organization: "Carrier B CA")
    }

    var signerChain: [Certificate] { [stiPA.signer] }
    var crlSignerChain: [Certificate] { [stiPA.crlSigner] }

    func list(_ cas: [Certificate], sequence: Int64 = 5, expires: Int64 = fixedNow + 86_400) throws -> STIPATrustList {
        try STIPATrustList(compact: try stiPA.trustList(cas, sequence: sequence, expires: expires, signerURL: signerURL))
    }
}

@Suite("STI-PA trust list, CRL and SPC token: every check refuses what it must")
struct STIPATests {
    @Test("a list signed by the STI-PA signer, chaining to the pinned root, current and not rolled back, is accepted")
    func goodList() async throws {
        let world = try STIPAWorld()
        let list = try world.list([world.caA.root, world.caB.root])
        try await list.check(signerChain: world.signerChain, roots: [world.stiPA.root], at: fixedNow, previousSequence: 5)
        #expect(list.certificates == [world.caA.root, world.caB.root])
        #expect(list.sequence == 5)
        #expect(list.signerURL == world.signerURL)
    }

    @Test("a list with a bad signature is refused")
    func badSignature() async throws {
        let world = try STIPAWorld()
        let good = try world.list([world.caA.root]).compact
        let other = try world.list([world.caA.root, world.caB.root]).compact
        // The payload of one list with the signature of another.
        let parts = good.split(separator: ".")
        let forged = parts[0] + "." + other.split(separator: ".")[1] + "." + parts[2]
        let list = try STIPATrustList(compact: String(forged))
        await #expect(throws: CallsignError(.stiPA, "trust list: bad signature")) {
            try await list.check(signerChain: world.signerChain, roots: [world.stiPA.root], at: fixedNow, previousSequence: nil)
        }
    }

    @Test("a list whose signer does not chain to the pinned root is refused, whoever signed it")
    func signerOutsideRoot() async throws {
        let world = try STIPAWorld()
        let rogue = try LabSTIPAAuthority.create(notBefore: fixedNow - 86_400)
        let list = try STIPATrustList(compact: try rogue.trustList([world.caA.root], sequence: 9, expires: fixedNow + 3600,
                                                                  signerURL: world.signerURL))
        let error = await #expect(throws: CallsignError.self) {
            try await list.check(signerChain: [rogue.signer], roots: [world.stiPA.root], at: fixedNow, previousSequence: nil)
        }
        #expect(error?.detail.contains("does not chain to the pinned STI-PA root") == true)
        // The right chain with the rogue's signature fails on the signature.
        await #expect(throws: CallsignError(.stiPA, "trust list: bad signature")) {
            try await list.check(signerChain: world.signerChain, roots: [world.stiPA.root], at: fixedNow, previousSequence: nil)
        }
    }

    @Test("an expired list is refused")
    func expired() async throws {
        let world = try STIPAWorld()
        let list = try world.list([world.caA.root], expires: fixedNow - 1)
        let error = await #expect(throws: CallsignError.self) {
            try await list.check(signerChain: world.signerChain, roots: [world.stiPA.root], at: fixedNow, previousSequence: nil)
        }
        #expect(error?.detail.contains("expired") == true)
    }

    @Test("a list with a lower sequence than the last accepted is a rollback and is refused; an equal one is accepted")
    func rollback() async throws {
        let world = try STIPAWorld()
        let list = try world.list([world.caA.root], sequence: 4)
        let error = await #expect(throws: CallsignError.self) {
            try await list.check(signerChain: world.signerChain, roots: [world.stiPA.root], at: fixedNow, previousSequence: 5)
        }
        #expect(error?.detail.contains("rollback") == true)
        try await list.check(signerChain: world.signerChain, roots: [world.stiPA.root], at: fixedNow, previousSequence: 4)
    }

    @Test("malformed lists are refused with a reason, never a crash",
          arguments: ["", "a.b", "e30.e30.", "eyJhbGciOiJub25lIn0.e30.AA", String(repeating: "A", count: 3 << 20)])
    func malformed(_ text: String) {
        #expect(throws: CallsignError.self) { try STIPATrustList(compact: text) }
    }

    @Test("the STI-PA CRL is indirect: an entry matches by issuer and serial, so another STI-CA's certificate with the same serial is not revoked")
    func indirectCRLMatchesIssuerAndSerial() async throws {
        let world = try STIPAWorld()
        let serial = LabCertificateAuthority.randomSerial()
        let key = P256.Signing.PrivateKey()
        let list = try TNAuthorizationList([.spc("1234")])
        let revokedEE = try LabCertificateAuthority.issueEndEntity(
            publicKey: key.publicKey, tnAuthList: list, issuer: world.caA.inter, issuerKey: world.caA.interKey, organization: "A",
            crlURL: "https://a.example.net/crl", notBefore: fixedNow - 60, notAfter: fixedNow + 86_400, serial: serial)
        let sameSerialEE = try LabCertificateAuthority.issueEndEntity(
            publicKey: key.publicKey, tnAuthList: list, issuer: world.caB.inter, issuerKey: world.caB.interKey, organization: "B",
            crlURL: "https://b.example.net/crl", notBefore: fixedNow - 60, notAfter: fixedNow + 86_400, serial: serial)
        let der = try world.stiPA.crl(revoking: [world.caB.ee, revokedEE], at: fixedNow - 60, nextUpdate: fixedNow + 43_200,
                                      signerURL: world.crlSignerURL, number: 1)
        let crl = try CertificateRevocationList(derEncoded: der)
        try await crl.checkSTIPA(signerChain: world.crlSignerChain, roots: [world.stiPA.root], at: fixedNow)
        #expect(crl.isIndirect)
        #expect(crl.signerCertificateURLs == [world.crlSignerURL])
        #expect(crl.revokes(revokedEE))
        #expect(crl.revokes(world.caB.ee))
        #expect(!crl.revokes(sameSerialEE), "same serial, other STI-CA")
        #expect(!crl.revokes(world.caA.ee))

        // Through the chain validator: 437 revoked for one, valid for the other.
        let trust = TrustStore(roots: [world.caA.root, world.caB.root], crls: [crl])
        let validator = ChainValidator(roots: [], trust: trust)
        let error = await #expect(throws: VerificationError.self) {
            try await validator.validate(chain: [revokedEE, world.caA.inter], crls: [], at: fixedNow)
        }
        #expect(error?.code == .certificateRevoked)
        #expect(error?.sipStatus == 437)
        _ = try await validator.validate(chain: [sameSerialEE, world.caB.inter], crls: [], at: fixedNow)
    }

    @Test("an STI-PA CRL with a bad signature, a signer outside the STI-PA root, another issuer or past nextUpdate is refused")
    func crlRefusals() async throws {
        let world = try STIPAWorld()
        let der = try world.stiPA.crl(revoking: [world.caA.ee], at: fixedNow - 60, nextUpdate: fixedNow + 3600,
                                      signerURL: world.crlSignerURL, number: 1)
        // Bad signature: flip a byte of the signature (the last bytes of the DER).
        var tampered = der
        tampered[tampered.count - 3] ^= 0x01
        let badSignature = try CertificateRevocationList(derEncoded: tampered)
        await #expect(throws: CallsignError(.stiPA, "STI-PA CRL: bad signature")) {
            try await badSignature.checkSTIPA(signerChain: world.crlSignerChain, roots: [world.stiPA.root], at: fixedNow)
        }
        // A signer under another root, with the STI-PA CRL's name.
        let rogue = try LabSTIPAAuthority.create(notBefore: fixedNow - 86_400)
        let rogueDER = try rogue.crl(revoking: [world.caA.ee], at: fixedNow - 60, nextUpdate: fixedNow + 3600,
                                     signerURL: world.crlSignerURL, number: 1)
        let rogueCRL = try CertificateRevocationList(derEncoded: rogueDER)
        let outside = await #expect(throws: CallsignError.self) {
            try await rogueCRL.checkSTIPA(signerChain: [rogue.crlSigner], roots: [world.stiPA.root], at: fixedNow)
        }
        #expect(outside?.detail.contains("does not chain") == true)
        // The trust-list signer (right root, wrong subject) is not the CRL's issuer.
        let crl = try CertificateRevocationList(derEncoded: der)
        let wrongSigner = await #expect(throws: CallsignError.self) {
            try await crl.checkSTIPA(signerChain: world.signerChain, roots: [world.stiPA.root], at: fixedNow)
        }
        #expect(wrongSigner?.detail.contains("its signer is") == true)
        // Past nextUpdate.
        await #expect(throws: CallsignError(.stiPA, "STI-PA CRL: past its nextUpdate")) {
            try await crl.checkSTIPA(signerChain: world.crlSignerChain, roots: [world.stiPA.root], at: fixedNow + 3601)
        }
    }

    @Test("an STI-CA removed from the list stops verifying once the new list is in force and the chain cache is emptied")
    func removedSTICA() async throws {
        let world = try STIPAWorld()
        let trust = TrustStore(roots: try world.list([world.caA.root, world.caB.root]).certificates)
        let cache = ChainCache()
        let resolver = ChainValidatingResolver(policy: X5UPolicy(), repository: try world.caB.repository(),
                                               validator: ChainValidator(roots: [], trust: trust), cache: cache)
        _ = try await resolver.resolve(x5u: world.caB.base + "/chain.pem", at: fixedNow)
        let next = try world.list([world.caA.root], sequence: 6)
        try await next.check(signerChain: world.signerChain, roots: [world.stiPA.root], at: fixedNow, previousSequence: 5)
        trust.replaceRoots(next.certificates)
        cache.removeAll()
        let error = await #expect(throws: VerificationError.self) {
            try await resolver.resolve(x5u: world.caB.base + "/chain.pem", at: fixedNow + 1)
        }
        #expect(error?.code == .certificateUntrusted)
        #expect(resolver.cachedCredential(x5u: world.caB.base + "/chain.pem", at: fixedNow + 2).map { (try? $0.get()) == nil } == true)
    }

    @Test("an SPC token is checked: signature, chain to the STI-PA root, exp and the atc asked for (818H → MAigBhYEODE4SA==)")
    func spcToken() async throws {
        let world = try STIPAWorld()
        let accountKey = P256.Signing.PrivateKey()
        let atc = try SPCTokenAuthority(spc: "818H", accountKey: accountKey.publicKey)
        #expect(atc.value == "MAigBhYEODE4SA==")
        #expect(atc.fingerprint.hasPrefix("SHA256 ") && atc.fingerprint.split(separator: ":").count == 32)
        let compact = try world.stiPA.token(atc, issuer: "lab", expires: fixedNow + 3600, signerURL: world.signerURL)
        let token = try SPCToken(compact: compact)
        try await token.check(signerChain: world.signerChain, roots: [world.stiPA.root], at: fixedNow, expected: atc)
        #expect(try token.authority.tnAuthList().spcs == ["818H"])

        let other = try SPCTokenAuthority(spc: "818H", accountKey: P256.Signing.PrivateKey().publicKey)
        let mismatch = await #expect(throws: CallsignError.self) {
            try await token.check(signerChain: world.signerChain, roots: [world.stiPA.root], at: fixedNow, expected: other)
        }
        #expect(mismatch?.detail.contains("not the one asked for") == true)
        let expired = await #expect(throws: CallsignError.self) {
            try await token.check(signerChain: world.signerChain, roots: [world.stiPA.root], at: fixedNow + 3600, expected: atc)
        }
        #expect(expired?.detail.contains("expired") == true)
        let rogue = try LabSTIPAAuthority.create(notBefore: fixedNow - 86_400)
        let forged = try SPCToken(compact: try rogue.token(atc, issuer: "lab", expires: fixedNow + 3600, signerURL: world.signerURL))
        await #expect(throws: CallsignError(.stiPA, "SPC token: bad signature")) {
            try await forged.check(signerChain: world.signerChain, roots: [world.stiPA.root], at: fixedNow, expected: atc)
        }
    }
}

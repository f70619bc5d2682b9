import Benchmark
import Callsign
import CallsignLab
import Crypto
import SwiftASN1
import X509

/// Certificate layer: verification with a warm chain cache costs no chain
/// validation; a cold cache pays for it on every call.
struct CertificateFixture {
    let now: Int64 = 1_800_000_000
    let base = "https://cr.example.net"
    let root: Certificate
    let identity: String
    let repository: MemoryCertificateRepository
    let call = CallContext(orig: "12155551212", dest: "12155553434")
    let tnAuthListDER: [UInt8]

    init() throws {
        let rootKey = P256.Signing.PrivateKey()
        let interKey = P256.Signing.PrivateKey()
        let eeKey = P256.Signing.PrivateKey()
        root = try LabCertificateAuthority.makeRoot(key: rootKey, organization: "Bench", notBefore: now - 86_400, notAfter: now + 86_400 * 3650)
        let inter = try LabCertificateAuthority.makeIntermediate(key: interKey, issuer: root, issuerKey: rootKey, organization: "Bench",
                                                                 crlURL: base + "/root.crl", notBefore: now - 86_400, notAfter: now + 86_400 * 1000)
        let list = try TNAuthorizationList([.spc("1234")])
        tnAuthListDER = try list.derBytes()
        let ee = try LabCertificateAuthority.issueEndEntity(publicKey: eeKey.publicKey, tnAuthList: list, issuer: inter, issuerKey: interKey,
                                                            organization: "Bench", crlURL: base + "/inter.crl",
                                                            notBefore: now - 86_400, notAfter: now + 86_400 * 30)
        let chain = try ee.serializeAsPEM().pemString + "\n" + (try inter.serializeAsPEM().pemString) + "\n"
        repository = MemoryCertificateRepository([
            base + "/chain.pem": Array(chain.utf8),
            base + "/inter.crl": try CertificateRevocationList.make(issuer: inter, issuerKey: interKey, revoked: [], thisUpdate: now - 60,
                                                                     nextUpdate: now + 86_400, crlNumber: 1),
            base + "/root.crl": try CertificateRevocationList.make(issuer: root, issuerKey: rootKey, revoked: [], thisUpdate: now - 60,
                                                                    nextUpdate: now + 86_400, crlNumber: 1),
        ])
        identity = try Signer(key: eeKey, x5u: base + "/chain.pem").sign(
            SigningRequest(orig: "12155551212", dest: ["12155553434"], attestation: .full,
                           origid: "123e4567-e89b-12d3-a456-426655440000", iat: now)).value
    }

    func resolver(cache: ChainCache) -> ChainValidatingResolver {
        ChainValidatingResolver(policy: X5UPolicy(), repository: repository,
                                validator: ChainValidator(roots: [root], mode: .strict, requireCRL: true), cache: cache)
    }
}

func certificateBenchmarks() {
    guard let fixture = try? CertificateFixture() else { fatalError("benchmark fixture") }
    let verifier = Verifier()

    Benchmark("Verification with x5u, warm chain cache (no chain validation)") { benchmark in
        let resolver = fixture.resolver(cache: ChainCache())
        _ = await verifier.verify(identityHeaders: [fixture.identity], call: fixture.call, now: fixture.now, resolver: resolver)
        for _ in benchmark.scaledIterations {
            blackHole(await verifier.verify(identityHeaders: [fixture.identity], call: fixture.call, now: fixture.now, resolver: resolver))
        }
    }

    Benchmark("Verification with x5u, warm chain cache, without suspending (event-loop path)") { benchmark in
        let resolver = fixture.resolver(cache: ChainCache())
        _ = await verifier.verify(identityHeaders: [fixture.identity], call: fixture.call, now: fixture.now, resolver: resolver)
        for _ in benchmark.scaledIterations {
            blackHole(verifier.verifyCached(identityHeaders: [fixture.identity], call: fixture.call, now: fixture.now, resolver: resolver))
        }
    }

    Benchmark("Verification with x5u, cold cache (chain + CRL validation every call)") { benchmark in
        for _ in benchmark.scaledIterations {
            let resolver = fixture.resolver(cache: ChainCache(capacity: 1))
            blackHole(await verifier.verify(identityHeaders: [fixture.identity], call: fixture.call, now: fixture.now, resolver: resolver))
        }
    }

    var dno = DNOList()
    for i in 0..<1_000_000 { dno.add(number: "4420" + String(10_000_000 + i)) }
    dno.add(prefix: "1800555")
    let dnoList = dno
    var probes: [String] = []
    for i in 0..<1024 {
        if i % 2 == 0 {
            probes.append("4420" + String(10_000_000 + i * 97))
        } else {
            probes.append("1212555" + String(1000 + i))
        }
    }

    let probeList = probes
    Benchmark("DNO lookup, 1M entries + prefixes (hit and miss mix)") { benchmark in
        for i in benchmark.scaledIterations {
            blackHole(dnoList.contains(probeList[i & 1023]))
        }
    }

    Benchmark("TNAuthList decode") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try TNAuthorizationList(derEncoded: fixture.tnAuthListDER))
        }
    }
}

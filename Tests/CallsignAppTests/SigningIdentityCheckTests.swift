import Callsign
@testable import CallsignApp
import CallsignService
import Crypto
import Logging
import Synchronization
import Testing

@Suite("Signing identities' certificates read from their x5u (SigningIdentityCheck)")
struct SigningIdentityCheckTests {
    /// Answers every x5u with `key` and a TNAuthList of `spc`, or fails while `failing`.
    final class FixedResolver: CertificateResolver {
        let key: P256.Signing.PublicKey
        let spc: String
        let failing = Mutex(true)
        let asked = Mutex<[String]>([])

        init(key: P256.Signing.PublicKey, spc: String) {
            self.key = key
            self.spc = spc
        }

        func resolve(x5u: String, at time: Int64) async throws(VerificationError) -> ResolvedCredential {
            asked.withLock { $0.append(x5u) }
            if failing.withLock({ $0 }) { throw VerificationError(.certificateUnavailable, "not listening yet") }
            return ResolvedCredential(publicKey: key, tnAuthList: try? TNAuthorizationList([.spc(spc)]))
        }
    }

    @Test("an identity learns its certificate's SPC once the x5u answers; customers sharing an x5u learn it too; each x5u is fetched once a pass")
    func learnsSPC() async throws {
        let key = P256.Signing.PrivateKey()
        let identities = SigningIdentities(service: .init(name: "service", key: key, x5u: "https://cr.example.net/sp.pem"),
                                           customers: ["bank": .init(name: "customer:bank", key: key, x5u: "https://cr.example.net/sp.pem")])
        let resolver = FixedResolver(key: key.publicKey, spc: "7Q2X")
        let check = SigningIdentityCheck(identities: identities, resolver: resolver, logger: Logger(label: "test"), now: { 1_800_000_000 })
        var warned: Set<String> = []
        #expect(await check.check(warned: &warned), "the x5u does not answer yet: still pending")
        #expect(identities.all.allSatisfy { $0.spc == nil })
        resolver.failing.withLock { $0 = false }
        #expect(await check.check(warned: &warned) == false)
        #expect(identities.all.map(\.spc) == ["7Q2X", "7Q2X"])
        #expect(resolver.asked.withLock { $0 } == ["https://cr.example.net/sp.pem", "https://cr.example.net/sp.pem"])
        #expect(await check.check(warned: &warned) == false)
        #expect(resolver.asked.withLock { $0.count } == 2, "nothing left to read")
    }

    @Test("a certificate that does not hold the identity's key leaves the SPC unknown and is warned about once")
    func keyMismatch() async throws {
        let identities = SigningIdentities(service: .init(name: "service", key: P256.Signing.PrivateKey(), x5u: "https://cr.example.net/sp.pem"))
        let resolver = FixedResolver(key: P256.Signing.PrivateKey().publicKey, spc: "7Q2X")
        resolver.failing.withLock { $0 = false }
        let check = SigningIdentityCheck(identities: identities, resolver: resolver, logger: Logger(label: "test"), now: { 1_800_000_000 })
        var warned: Set<String> = []
        #expect(await check.check(warned: &warned))
        #expect(await check.check(warned: &warned))
        #expect(identities.service?.spc == nil)
        #expect(warned == ["key https://cr.example.net/sp.pem"])
    }
}

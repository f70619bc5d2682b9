import Callsign
import CallsignApp
import CallsignFetch
import CallsignLab
import CallsignService
import CallsignStore
import CallsignTestSupport
import Crypto
import Foundation
import Logging
import ServiceLifecycle
import SwiftASN1
import Synchronization
import Testing
import X509

/// The lab STI-CA's ACME directory (`ca serve-acme`) and an ACME renewer on
/// one fixed, stepped clock.
@Suite("ACME renewal on a fixed clock, against the lab ACME directory")
struct ACMERenewalTests {
    static let start: Int64 = 1_800_000_000

    /// A `callsign ca init`-like directory, the lab STI-PA's signer served over HTTP, the lab ACME on a port.
    struct World {
        let directory: String
        let clock = SteppedClock(ACMERenewalTests.start)
        let stiPA: LabSTIPAAuthority
        let repository: TestHTTPServer
        let acme: LabACME
        let acmePort: Int
        let eabKid = "lab-kid"
        let eabKey = (0..<32).map { UInt8($0) }

        init() async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-renewal-\(UUID().uuidString)").path
            self.directory = directory
            try FileManager.default.createDirectory(atPath: directory + "/ca", withIntermediateDirectories: true)
            let ca = try LabSTICA("Lab STI-CA", now: ACMERenewalTests.start)
            let write = { (name: String, text: String) throws in try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/" + name)) }
            try write("ca/inter-ca.pem", try ca.inter.serializeAsPEM().pemString + "\n")
            try write("ca/inter-ca.key", ca.interKey.pemRepresentation + "\n")
            try write("ca/ca.json", #"{"base_url": "http://127.0.0.1:1/certs", "organization": "Lab"}"#)
            try write("eab.key", Base64URL.encode((0..<32).map { UInt8($0) }) + "\n")
            stiPA = try LabSTIPAAuthority.create(notBefore: ACMERenewalTests.start - 86_400)
            repository = try await TestHTTPServer()
            repository.set("/signer.pem", .init(body: Array((try stiPA.signer.serializeAsPEM().pemString + "\n").utf8)))
            acmePort = TestPorts.take()
            let clock = self.clock
            acme = try LabACME(caDirectory: directory + "/ca", baseURL: "http://127.0.0.1:\(acmePort)", stiPARoots: [stiPA.root],
                               labAllow: [repository.url("/")], eabKeys: [eabKid: eabKey], lifetimeDays: 90, now: { clock.now })
        }

        var options: ACMEIdentityOptions {
            var options = ACMEIdentityOptions(directory: "http://127.0.0.1:\(acmePort)/acme/directory", spc: "818H")
            options.eabKid = eabKid
            options.eabKeyFile = directory + "/eab.key"
            return options
        }

        /// SPC tokens from the lab STI-PA for the asked authority.
        var tokens: @Sendable (SPCTokenAuthority) async throws(ACMEError) -> String {
            let stiPA = self.stiPA
            let clock = self.clock
            let signer = repository.url("/signer.pem")
            return { authority throws(ACMEError) in
                do {
                    return try stiPA.token(authority, issuer: "lab", expires: clock.now + 3600, signerURL: signer)
                } catch {
                    throw ACMEError("token", "cannot make a token")
                }
            }
        }
    }

    /// The publication of chains: an x5u answers with the file once the test lets it (a CDN's delay).
    final class Publication: Sendable {
        let directory: String
        let base = "https://cr.example.net/certs"
        private let visible = Mutex(true)
        let fetches = Mutex(0)

        init(_ directory: String) { self.directory = directory }

        func allow(_ allowed: Bool) { visible.withLock { $0 = allowed } }

        var fetch: @Sendable (String) async -> [UInt8]? {
            { [self] url in
                fetches.withLock { $0 += 1 }
                guard visible.withLock({ $0 }), url.hasPrefix(base + "/") else { return nil }
                return FileManager.default.contents(atPath: directory + "/" + url.dropFirst(base.count + 1)).map(Array.init)
            }
        }
    }

    @Test("first issuance, renewal 29 days before expiry signed with the new certificate only once its x5u serves it, and a failed renewal keeps the old certificate and raises the alert metric")
    func renewal() async throws {
        // The process's metrics registry, as `serve` sets it up before anything is counted.
        _ = CallsignServe.metricsText()
        let world = try await World()
        defer { try? FileManager.default.removeItem(atPath: world.directory) }
        let publication = Publication(world.directory + "/publish")
        let identities = SigningIdentities(service: nil, serviceSignsForOthers: false)
        let accountKey = P256.Signing.PrivateKey()
        let options = world.options
        let clientPort = Mutex(world.acmePort)
        let renewer = ACMERenewer(
            target: .customer("carrier"), options: options, identities: identities, stateDirectory: world.directory + "/state",
            publishDirectory: world.directory + "/publish", x5uBase: publication.base,
            client: { () throws(ACMEError) -> ACMEClient in
                var configuration = ACMEConfiguration(directoryURL: "http://127.0.0.1:\(clientPort.withLock { $0 })/acme/directory",
                                                      policy: X5UPolicy(labAllowPrefixes: ["http://127.0.0.1:\(clientPort.withLock { $0 })/"]))
                configuration.pollInterval = .milliseconds(50)
                configuration.timeout = .seconds(2)
                return try ACMEClient(configuration: configuration, accountKey: accountKey, logger: Logger(label: "test"))
            },
            token: world.tokens, fetch: publication.fetch, logger: Logger(label: "test"), now: { world.clock.now },
            publishChecks: 2, publishWait: .milliseconds(20))
        renewer.loadSaved()
        #expect(identities.identity(for: "carrier") == nil, "nothing signs before the first certificate")

        let service = try world.acme.service(host: "127.0.0.1", port: world.acmePort, logger: Logger(label: "lab-acme"))
        let group = ServiceGroup(configuration: .init(services: [service], logger: Logger(label: "lab-acme")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await TestPorts.waitForListener(world.acmePort)

            // First issuance: ordered, published, fetchable, in force.
            let first = await renewer.check()
            guard case .switched(let serial1) = first else {
                Issue.record("first issuance: \(first)")
                return
            }
            let certificate1 = try #require(renewer.current)
            #expect(identities.identity(for: "carrier")?.x5u == certificate1.x5u)
            #expect(certificate1.x5u.hasPrefix(publication.base + "/818H-\(serial1)"))
            #expect(certificate1.notAfter == ACMERenewalTests.start + 90 * 86_400)

            // A day later nothing is due.
            world.clock.advance(86_400)
            #expect(await renewer.check() == .current)

            // 29 days before expiry: renewed and published, but its x5u does not serve it yet: still signing with the old one.
            world.clock.advance(certificate1.notAfter - 29 * 86_400 - world.clock.now)
            publication.allow(false)
            let waiting = await renewer.check()
            guard case .waitingForPublication(let serial2) = waiting else {
                Issue.record("renewal: \(waiting)")
                return
            }
            #expect(serial2 != serial1)
            #expect(FileManager.default.fileExists(atPath: world.directory + "/publish/818H-\(serial2).pem"), "the new chain is published")
            #expect(identities.identity(for: "carrier")?.x5u == certificate1.x5u)
            let flow = SigningFlow(identities: identities, policy: PolicySet())
            let customer = Customer(id: "carrier", name: "Carrier", origid: "11111111-1111-4111-8111-111111111111")
            guard case .signed(let before) = flow.sign(customer: customer, orig: "12155552000", dest: ["12125551213"], requested: nil,
                                                       iat: world.clock.now, time: world.clock.now, source: nil, face: .rest)
            else {
                Issue.record("signing before the switch failed")
                return
            }
            #expect(before.identity.value.contains(certificate1.x5u))

            // Once the x5u serves the new chain, the next pass switches.
            publication.allow(true)
            #expect(await renewer.check() == .switched(serial: serial2))
            let certificate2 = try #require(renewer.current)
            guard case .signed(let after) = flow.sign(customer: customer, orig: "12155552000", dest: ["12125551213"], requested: nil,
                                                      iat: world.clock.now, time: world.clock.now, source: nil, face: .rest)
            else {
                Issue.record("signing after the switch failed")
                return
            }
            #expect(after.identity.value.contains(certificate2.x5u))
            #expect(after.record.identity == "customer:carrier")
            // The new key verifies against the new chain.
            let chain = try KeyLoading.certificates(pem: try String(contentsOfFile: certificate2.chainPath, encoding: .utf8))
            let signed = try SignedPASSporT(compact: after.identity.value.prefix { $0 != ";" })
            let leaf = try #require(chain.first)
            let leafKey = try #require(P256.Signing.PublicKey(leaf.publicKey))
            #expect(signed.isValidSignature(for: leafKey))

            // A failed renewal (the STI-CA unreachable) keeps the certificate in force and raises the alert.
            world.clock.advance(certificate2.notAfter - 29 * 86_400 - world.clock.now)
            clientPort.withLock { $0 = TestPorts.take() }  // nothing listens there
            let failed = await renewer.check()
            guard case .failed = failed else {
                Issue.record("expected a failure: \(failed)")
                return
            }
            #expect(renewer.current == certificate2)
            #expect(identities.identity(for: "carrier")?.x5u == certificate2.x5u)
            let text = CallsignServe.metricsText()
            #expect(text.contains(#"callsign_acme_renewal_failing{identity="customer:carrier"} 1"#), "\(text.split(separator: "\n").filter { $0.contains("acme") })")
            #expect(text.contains(#"callsign_signing_certificate_days_left{identity="customer:carrier"} 29"#))

            // A restart loads the certificate in force from disk.
            let restarted = SigningIdentities(service: nil, serviceSignsForOthers: false)
            let again = ACMERenewer(target: .customer("carrier"), options: options, identities: restarted,
                                    stateDirectory: world.directory + "/state", publishDirectory: world.directory + "/publish",
                                    x5uBase: publication.base, client: { () throws(ACMEError) -> ACMEClient in throw ACMEError("test", "unused") },
                                    token: world.tokens, fetch: publication.fetch, logger: Logger(label: "test"), now: { world.clock.now })
            again.loadSaved()
            #expect(restarted.identity(for: "carrier")?.x5u == certificate2.x5u)

            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await world.repository.stop()
    }

    @Test("the lab ACME refuses an SPC token for another SPC, for another account key, or signed outside the STI-PA root")
    func tokenRefusals() async throws {
        let world = try await World()
        defer { try? FileManager.default.removeItem(atPath: world.directory) }
        let service = try world.acme.service(host: "127.0.0.1", port: world.acmePort, logger: Logger(label: "lab-acme"))
        let group = ServiceGroup(configuration: .init(services: [service], logger: Logger(label: "lab-acme")))
        let rogue = try LabSTIPAAuthority.create(notBefore: ACMERenewalTests.start - 86_400)
        world.repository.set("/rogue.pem", .init(body: Array((try rogue.signer.serializeAsPEM().pemString + "\n").utf8)))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await TestPorts.waitForListener(world.acmePort)
            func order(_ token: @escaping @Sendable (P256.Signing.PublicKey) throws -> String) async -> ACMEError? {
                let accountKey = P256.Signing.PrivateKey()
                var configuration = ACMEConfiguration(directoryURL: "http://127.0.0.1:\(world.acmePort)/acme/directory",
                                                      policy: X5UPolicy(labAllowPrefixes: ["http://127.0.0.1:\(world.acmePort)/"]))
                configuration.pollInterval = .milliseconds(50)
                guard let client = try? ACMEClient(configuration: configuration, accountKey: accountKey, logger: Logger(label: "test")) else {
                    return ACMEError("test", "no client")
                }
                let result: ACMEError?
                do throws(ACMEError) {
                    try await client.register(eab: (world.eabKid, world.eabKey))
                    let text = (try? token(accountKey.publicKey)) ?? ""
                    _ = try await client.orderSTICertificate(tnAuthList: try ACMERenewalTests.list("818H"), certificateKey: P256.Signing.PrivateKey(),
                                                             organization: "Lab") { _ throws(ACMEError) in text }
                    result = nil
                } catch {
                    result = error
                }
                await client.shutdown()
                return result
            }
            let signer = world.repository.url("/signer.pem")
            let now = world.clock.now
            let good = await order { key in
                try world.stiPA.token(try SPCTokenAuthority(spc: "818H", accountKey: key), issuer: "lab", expires: now + 3600, signerURL: signer)
            }
            #expect(good == nil, "\(String(describing: good))")
            let otherSPC = await order { key in
                try world.stiPA.token(try SPCTokenAuthority(spc: "999X", accountKey: key), issuer: "lab", expires: now + 3600, signerURL: signer)
            }
            #expect(otherSPC?.type == "authorization", "\(String(describing: otherSPC))")
            let otherKey = await order { _ in
                try world.stiPA.token(try SPCTokenAuthority(spc: "818H", accountKey: P256.Signing.PrivateKey().publicKey), issuer: "lab",
                                      expires: now + 3600, signerURL: signer)
            }
            #expect(otherKey?.type == "authorization")
            let forged = await order { key in
                try rogue.token(try SPCTokenAuthority(spc: "818H", accountKey: key), issuer: "lab", expires: now + 3600,
                                signerURL: world.repository.url("/rogue.pem"))
            }
            #expect(forged?.type == "authorization")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await world.repository.stop()
    }

    static func list(_ spc: String) throws(ACMEError) -> TNAuthorizationList {
        do { return try TNAuthorizationList([.spc(spc)]) } catch { throw ACMEError("test", "bad SPC") }
    }
}

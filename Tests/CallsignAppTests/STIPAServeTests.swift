import Callsign
import CallsignApp
import CallsignFetch
import CallsignLab
import CallsignTestSupport
import Crypto
import Foundation
import Logging
import ServiceLifecycle
import SwiftASN1
import Synchronization
import Testing
import X509

/// A clock the test steps.
final class SteppedClock: Sendable {
    private let value: Mutex<Int64>
    init(_ start: Int64) { value = Mutex(start) }
    var now: Int64 { value.withLock { $0 } }
    func advance(_ seconds: Int64) { value.withLock { $0 += seconds } }
}

/// A lab STI-CA in memory: root → intermediate → SHAKEN end entity for an SPC.
struct LabSTICA {
    let rootKey = P256.Signing.PrivateKey()
    let interKey = P256.Signing.PrivateKey()
    let root: Certificate
    let inter: Certificate

    init(_ organization: String, now: Int64) throws {
        root = try LabCertificateAuthority.makeRoot(key: rootKey, organization: organization, notBefore: now - 86_400,
                                                   notAfter: now + 3650 * 86_400)
        inter = try LabCertificateAuthority.makeIntermediate(key: interKey, issuer: root, issuerKey: rootKey, organization: organization,
                                                             crlURL: "https://crl.invalid/root.crl", notBefore: now - 86_400,
                                                             notAfter: now + 1000 * 86_400)
    }

    /// An end entity for `spc` with `serial`, and its key.
    func issue(spc: String, serial: Certificate.SerialNumber = LabCertificateAuthority.randomSerial(), now: Int64) throws
        -> (P256.Signing.PrivateKey, Certificate)
    {
        let key = P256.Signing.PrivateKey()
        let certificate = try LabCertificateAuthority.issueEndEntity(
            publicKey: key.publicKey, tnAuthList: try TNAuthorizationList([.spc(spc)]), issuer: inter, issuerKey: interKey,
            organization: "SP \(spc)", crlURL: "https://crl.invalid/inter.crl", notBefore: now - 3600, notAfter: now + 30 * 86_400,
            serial: serial)
        return (key, certificate)
    }

    func chainPEM(_ certificate: Certificate) throws -> [UInt8] {
        Array((try certificate.serializeAsPEM().pemString + "\n" + (try inter.serializeAsPEM().pemString) + "\n").utf8)
    }
}

@Suite("The STI-PA in force: the lab STI-PA over HTTP, the refresher, and serve's verification")
struct STIPAServeTests {
    static let start: Int64 = 1_800_000_000

    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-sti-pa-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func write(_ path: String, _ certificate: Certificate) throws {
        try Data((try certificate.serializeAsPEM().pemString + "\n").utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test("the refresher puts the list and CRL in force, refuses a rollback and keeps the last good list, drops a removed STI-CA, and reloads from disk")
    func refresherOverHTTP() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = SteppedClock(Self.start)
        let caA = try LabSTICA("Carrier A CA", now: Self.start)
        let caB = try LabSTICA("Carrier B CA", now: Self.start)
        // The lab STI-PA's clock is the test's, so its list, CRL and certificates share the fixed time.
        let labDirectory = directory + "/sti-pa"
        let port = TestPorts.take()
        let lab = try LabSTIPA(directory: labDirectory, baseURL: "http://127.0.0.1:\(port)", now: { clock.now })
        try Self.write(labDirectory + "/sti-cas/a.pem", caA.root)
        try Self.write(labDirectory + "/sti-cas/b.pem", caB.root)
        let service = try lab.service(host: "127.0.0.1", port: port, logger: Logger(label: "lab-sti-pa"))
        let group = ServiceGroup(configuration: .init(services: [service], logger: Logger(label: "lab-sti-pa")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await TestPorts.waitForListener(port)
            let password = try String(contentsOfFile: labDirectory + "/password", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let settings = STIPASettings(baseURL: lab.baseURL, roots: [lab.root], user: "lab", password: password, crlURL: lab.crlURL)
            let client = STIPAClient(settings: settings, policy: X5UPolicy(labAllowPrefixes: [lab.baseURL + "/"]), now: { clock.now })
            let trust = TrustStore()
            let cache = ChainCache()
            let state = directory + "/state"
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            let refresher = STIPATrustRefresher(client: client, trust: trust, cache: cache, stateDirectory: state,
                                                logger: Logger(label: "test"), now: { clock.now })
            #expect(refresher.problems(at: clock.now).first?.contains("no STI-PA trust list") == true)

            #expect(await refresher.refreshList())
            #expect(await refresher.refreshCRL())
            #expect(refresher.status.sequence == 1)
            #expect(trust.snapshot.roots.count == 2)
            #expect(refresher.problems(at: clock.now).isEmpty)

            // A chain of each STI-CA validates; revoking one of A's certificates (same serial as one of B's) hits only A's.
            let serial = LabCertificateAuthority.randomSerial()
            let (_, revokedA) = try caA.issue(spc: "111A", serial: serial, now: clock.now)
            let (_, sameSerialB) = try caB.issue(spc: "222B", serial: serial, now: clock.now)
            let validator = ChainValidator(roots: [], trust: trust)
            _ = try await validator.validate(chain: [revokedA, caA.inter], crls: [], at: clock.now)
            try Self.write(labDirectory + "/revoked/a-111A.pem", revokedA)
            clock.advance(60)
            #expect(await refresher.refreshCRL())
            #expect(refresher.status.crlEntries == 1)
            await #expect(throws: VerificationError(.certificateRevoked, "")) {
                try await validator.validate(chain: [revokedA, caA.inter], crls: [], at: clock.now)
            }
            _ = try await validator.validate(chain: [sameSerialB, caB.inter], crls: [], at: clock.now)

            // B leaves the list: the next refresh drops it (sequence 2).
            try FileManager.default.removeItem(atPath: labDirectory + "/sti-cas/b.pem")
            clock.advance(60)
            #expect(await refresher.refreshList())
            #expect(refresher.status.sequence == 2)
            await #expect(throws: VerificationError(.certificateUntrusted, "")) {
                try await validator.validate(chain: [sameSerialB, caB.inter], crls: [], at: clock.now)
            }

            // A rollback (the STI-PA serving a lower sequence) is refused; the list in force stays.
            try Data(#"{"sequence": 0, "digest": "x"}"#.utf8).write(to: URL(fileURLWithPath: labDirectory + "/state.json"))
            try Self.write(labDirectory + "/sti-cas/b.pem", caB.root)
            #expect(await refresher.refreshList() == false)
            #expect(refresher.status.sequence == 2)
            #expect(refresher.status.lastListError?.contains("rollback") == true)
            #expect(trust.snapshot.roots == [caA.root])

            // Past the list's exp and the CRL's nextUpdate, /healthz's problems name both.
            let later = clock.now + 3 * 86_400
            #expect(refresher.problems(at: later).count == 2)

            // A new process reloads the last good list and CRL from disk.
            let restarted = TrustStore()
            let again = STIPATrustRefresher(client: client, trust: restarted, cache: ChainCache(), stateDirectory: state,
                                            logger: Logger(label: "test"), now: { clock.now })
            await again.loadSaved()
            #expect(again.status.sequence == 2)
            #expect(restarted.snapshot.roots == [caA.root])
            #expect(restarted.snapshot.crls.first?.revokes(revokedA) == true)

            await client.shutdown()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("serve with sti_pa verifies over REST: an approved STI-CA's call passes, the one revoked by the STI-PA CRL gets 437, the same serial from another STI-CA passes")
    func serveVerifiesWithTheSTIPA() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = SteppedClock(Self.start)
        let caA = try LabSTICA("Carrier A CA", now: Self.start)
        let caB = try LabSTICA("Carrier B CA", now: Self.start)
        let labPort = TestPorts.take()
        let labDirectory = directory + "/sti-pa"
        let lab = try LabSTIPA(directory: labDirectory, baseURL: "http://127.0.0.1:\(labPort)", now: { clock.now })
        try Self.write(labDirectory + "/sti-cas/a.pem", caA.root)
        try Self.write(labDirectory + "/sti-cas/b.pem", caB.root)
        let serial = LabCertificateAuthority.randomSerial()
        let (keyA, revokedA) = try caA.issue(spc: "111A", serial: serial, now: clock.now)
        let (keyB, sameSerialB) = try caB.issue(spc: "222B", serial: serial, now: clock.now)
        let (keyA2, goodA) = try caA.issue(spc: "111A", now: clock.now)
        try Self.write(labDirectory + "/revoked/a.pem", revokedA)

        // The certificate repository of both carriers.
        let repository = try await TestHTTPServer()
        repository.set("/a-revoked.pem", .init(body: try caA.chainPEM(revokedA)))
        repository.set("/b.pem", .init(body: try caB.chainPEM(sameSerialB)))
        repository.set("/a.pem", .init(body: try caA.chainPEM(goodA)))

        let port = TestPorts.take()
        var options = ServeOptions()
        options.dataDirectory = directory + "/data"
        options.port = port
        options.sipSign = nil
        options.sipVerify = nil
        options.labAllow = [lab.baseURL + "/", repository.url("/")]
        options.stiPA = STIPAOptions(url: lab.baseURL, rootPath: labDirectory + "/root.pem", user: "lab",
                                     passwordFile: labDirectory + "/password", crlURL: lab.crlURL)
        let labService = try lab.service(host: "127.0.0.1", port: labPort, logger: Logger(label: "lab-sti-pa"))
        let labGroup = ServiceGroup(configuration: .init(services: [labService], logger: Logger(label: "lab-sti-pa")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await labGroup.run() }
            try await TestPorts.waitForListener(labPort)
            let banners = Mutex<[String]>([])
            let app = try await CallsignServe.buildApplication(options, now: { clock.now }, banner: { text in
                banners.withLock { $0.append(text) }
            })
            tasks.addTask { try await app.run() }
            let deadline = ContinuousClock.now + .seconds(30)
            while banners.withLock({ $0.isEmpty }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }

            func verify(_ key: P256.Signing.PrivateKey, x5u: String) async throws -> [String: Any]? {
                let passport = PASSporT(header: PASSporT.Header(alg: "ES256", typ: "passport", ppt: "shaken", x5u: x5u),
                                        claims: PASSporT.Claims(attest: "A", dest: PASSporT.Destination(tn: ["12125551213"]),
                                                                iat: clock.now, orig: .tn("12155552000"),
                                                                origid: "123e4567-e89b-12d3-a456-426655440000"))
                let identity = try SignedPASSporT.sign(passport, with: key).compact + ";info=<\(x5u)>;alg=ES256;ppt=shaken"
                let body = """
                    {"verificationRequest":{"from":{"tn":"12155552000"},"to":{"tn":["12125551213"]},"time":\(clock.now),\
                    "identity":"\(identity)"}}
                    """
                let answer = try await BuildApplicationTests.exchange(port, BuildApplicationTests.post("/stir/v1/verification", body, token: nil))
                return BuildApplicationTests.jsonBody(answer)?["verificationResponse"] as? [String: Any]
            }
            let good = try await verify(keyA2, x5u: repository.url("/a.pem"))
            #expect(good?["verstat"] as? String == "TN-Validation-Passed", "\(String(describing: good))")
            let revoked = try await verify(keyA, x5u: repository.url("/a-revoked.pem"))
            #expect(revoked?["verstat"] as? String == "TN-Validation-Failed")
            #expect(revoked?["reasoncode"] as? Int == 437, "\(String(describing: revoked))")
            let other = try await verify(keyB, x5u: repository.url("/b.pem"))
            #expect(other?["verstat"] as? String == "TN-Validation-Passed", "\(String(describing: other))")

            let health = try await BuildApplicationTests.exchange(port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            #expect(health.contains(#""status":"ok""#), "\(health)")

            await app.triggerGracefulShutdown()
            await labGroup.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await repository.stop()
    }
}

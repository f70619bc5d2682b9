import Callsign
import CallsignApp
import CallsignLab
import CallsignStore
import CallsignTestSupport
import Crypto
import Foundation
import ServiceLifecycle
import Synchronization
import SwiftASN1
import Testing
import X509

/// FCC 24-120: a signing service signs each provider's calls with that
/// provider's own certificate. `serve` with two customers that each carry a
/// `signing` identity, and the service's identity not shared.
@Suite("Signing identities per customer")
struct SigningIdentitiesTests {
    struct Carrier {
        let id: String
        let spc: String
        let origid: String
        let key: P256.Signing.PrivateKey
        let certificate: Certificate
        let token = APIToken.generate()
    }

    @Test("each customer's calls are signed with its own certificate (secsipidx verifies both), never the other's; a customer without one is refused; the record names the identity and the rule")
    func twoCustomers() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-identities-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let start = now()
        let ca = try LabSTICA("Shared STI-CA", now: start)
        func carrier(_ id: String, _ spc: String, _ origid: String) throws -> Carrier {
            let (key, certificate) = try ca.issue(spc: spc, now: start)
            try Data((key.pemRepresentation + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/\(id).key"))
            return Carrier(id: id, spc: spc, origid: origid, key: key, certificate: certificate)
        }
        let a = try carrier("carrier-a", "111A", "11111111-1111-4111-8111-111111111111")
        let b = try carrier("carrier-b", "222B", "22222222-2222-4222-8222-222222222222")
        let c = Carrier(id: "carrier-c", spc: "", origid: "33333333-3333-4333-8333-333333333333", key: P256.Signing.PrivateKey(),
                        certificate: a.certificate)
        let repository = try await TestHTTPServer()
        repository.set("/a.pem", .init(body: try ca.chainPEM(a.certificate)))
        repository.set("/b.pem", .init(body: try ca.chainPEM(b.certificate)))
        try Data((try ca.root.serializeAsPEM().pemString + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/root.pem"))
        try Data((try ca.inter.serializeAsPEM().pemString + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/inter.pem"))

        // Customers and their API tokens in the store serve will open.
        let customers = [a, b, c].map { Customer(id: $0.id, name: $0.id, origid: $0.origid, numbers: [NumberBlock(start: "12155552000", count: 100)]) }
        do {
            let store = try SQLiteStore(path: directory + "/data/callsign.sqlite")
            for (customer, carrier) in zip(customers, [a, b, c]) {
                try await store.saveCustomer(customer)
                try await store.addToken(hash: APIToken.hash(carrier.token), customerID: carrier.id, now: start)
            }
        }

        let port = TestPorts.take()
        var options = ServeOptions()
        options.dataDirectory = directory + "/data"
        options.port = port
        options.sipSign = nil
        options.sipVerify = nil
        options.customers = customers
        options.customerSigning = ["carrier-a": SigningIdentityOptions(keyPath: directory + "/carrier-a.key", x5u: repository.url("/a.pem")),
                                   "carrier-b": SigningIdentityOptions(keyPath: directory + "/carrier-b.key", x5u: repository.url("/b.pem"))]
        options.signingShared = false
        let banners = Mutex<[String]>([])
        let app = try await CallsignServe.buildApplication(options, banner: { text in banners.withLock { $0.append(text) } })
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await app.run() }
            try await TestPorts.waitForListener(port)

            func sign(_ carrier: Carrier) async throws -> (String, [String: Any]?) {
                let body = """
                    {"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\(now()),"orig":{"tn":"12155552042"},\
                    "origid":"\(carrier.origid)"}}
                    """
                let answer = try await BuildApplicationTests.exchange(port, BuildApplicationTests.post("/stir/v1/signing", body, token: carrier.token))
                return (answer, BuildApplicationTests.jsonBody(answer))
            }
            let (answerA, bodyA) = try await sign(a)
            let identityA = try #require((bodyA?["signingResponse"] as? [String: Any])?["identity"] as? String, "\(answerA)")
            let (_, bodyB) = try await sign(b)
            let identityB = try #require((bodyB?["signingResponse"] as? [String: Any])?["identity"] as? String)
            #expect(identityA.contains("info=<\(repository.url("/a.pem"))>"))
            #expect(identityB.contains("info=<\(repository.url("/b.pem"))>"))

            // secsipidx checks each against its own certificate, and refuses it against the other's.
            if Peers.enabled(Peers.haveSecsipidx) {
                let secsipidx = try #require(Peers.which("secsipidx"), "secsipidx is required (CALLSIGN_REQUIRE_PEERS=1)")
                func check(_ identity: String, _ path: String) async throws -> ProcessOutput {
                    let out = try await run(secsipidx, ["-check", "-identity", identity, "-fpubkey", repository.url(path), "-expire", "60",
                                                        "-cert-verify", "13", "-ca-file", directory + "/root.pem",
                                                        "-ca-inter", directory + "/inter.pem"], timeout: 30)
                    return out
                }
                let checkA = try await check(identityA, "/a.pem")
                #expect(checkA.status == 0, "\(checkA.stdout) \(checkA.stderr)")
                let checkB = try await check(identityB, "/b.pem")
                #expect(checkB.status == 0, "\(checkB.stdout) \(checkB.stderr)")
                #expect(try await check(identityA, "/b.pem").status != 0, "A's call does not verify with B's certificate")
            }

            // A customer without an identity of its own is refused: the service's identity is not shared.
            let (answerC, bodyC) = try await sign(c)
            #expect(answerC.hasPrefix("HTTP/1.1 403"), "\(answerC.prefix(200))")
            #expect("\(bodyC ?? [:])".contains("signing-identity"))

            // The traceback record names the identity that signed and the rule behind the attestation.
            let admin = try String(contentsOfFile: directory + "/data/admin-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let trace = try await BuildApplicationTests.exchange(
                port, "GET /traceback?origid=\(a.origid) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(admin)\r\nConnection: close\r\n\r\n")
            #expect(trace.contains(#""identity":"customer:carrier-a""#), "\(trace.suffix(400))")
            #expect(trace.contains(#""attestation_rule":"owned-number""#), "\(trace.suffix(400))")

            await app.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await repository.stop()
    }
}

import CallsignTestSupport
import CallsignLab
import Callsign
import CallsignHTTP
import CallsignService
import CallsignStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Prometheus
import SwiftASN1
import Testing
import X509

/// A `callsign serve` service on a temporary SQLite store and an in-memory
/// lab PKI whose repository is served by a local HTTP server.
struct ServerFixture {
    let store: SQLiteStore
    var service: STIService
    let eeKey: P256.Signing.PrivateKey
    let root: Certificate
    let chainPEM: [UInt8]
    let server: TestHTTPServer
    let bankToken = APIToken.generate()
    let gatewayToken = APIToken.generate()
    let adminToken = APIToken.generate()
    let bank = Customer(id: "bank", name: "Bank", origid: "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b",
                        numbers: [NumberBlock(start: "12155550000", count: 100)])
    let gateway = Customer(id: "gw", name: "Gateway", origid: "11111111-2222-4333-8444-555555555555", kind: .gateway)

    init() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try SQLiteStore(path: dir.appendingPathComponent("db.sqlite").path)
        try await store.saveCustomer(bank)
        try await store.saveCustomer(gateway)
        try await store.addToken(hash: APIToken.hash(bankToken), customerID: "bank", now: now())
        try await store.addToken(hash: APIToken.hash(gatewayToken), customerID: "gw", now: now())
        server = try await TestHTTPServer()
        let base = "http://127.0.0.1:\(server.port)"
        let rootKey = P256.Signing.PrivateKey()
        let interKey = P256.Signing.PrivateKey()
        eeKey = P256.Signing.PrivateKey()
        let t = now()
        root = try LabCertificateAuthority.makeRoot(key: rootKey, organization: "T", notBefore: t - 600, notAfter: t + 86_400 * 365)
        let inter = try LabCertificateAuthority.makeIntermediate(key: interKey, issuer: root, issuerKey: rootKey, organization: "T",
                                                                 crlURL: base + "/root.crl", notBefore: t - 600, notAfter: t + 86_400 * 300)
        let ee = try LabCertificateAuthority.issueEndEntity(publicKey: eeKey.publicKey, tnAuthList: try TNAuthorizationList([.spc("1234")]),
                                                            issuer: inter, issuerKey: interKey, organization: "T", crlURL: base + "/inter.crl",
                                                            notBefore: t - 600, notAfter: t + 86_400 * 30)
        chainPEM = Array((try ee.serializeAsPEM().pemString + "\n" + (try inter.serializeAsPEM().pemString) + "\n").utf8)
        server.set("/chain.pem", .init(body: chainPEM))
        server.set("/inter.crl", .init(body: try CertificateRevocationList.make(issuer: inter, issuerKey: interKey, revoked: [],
                                                                               thisUpdate: t - 60, nextUpdate: t + 3600, crlNumber: 1)))
        server.set("/root.crl", .init(body: try CertificateRevocationList.make(issuer: root, issuerKey: rootKey, revoked: [],
                                                                              thisUpdate: t - 60, nextUpdate: t + 3600, crlNumber: 1)))
        let resolver = ChainValidatingResolver(policy: X5UPolicy(labAllowPrefixes: [base + "/"]), repository: MemoryCertificateRepository(),
                                               validator: ChainValidator(roots: [root], mode: .strict, requireCRL: true))
        var fetchingResolver = resolver
        fetchingResolver.repository = HTTPRepositoryBox.make()
        service = STIService(signingKey: eeKey, x5u: base + "/chain.pem", store: store, verifier: Verifier(),
                             resolver: fetchingResolver, now: { now() })
    }

    var x5u: String { service.identities.service?.x5u ?? "" }

    func with(service: STIService) -> ServerFixture {
        var copy = self
        copy.service = service
        return copy
    }

    func application() -> some ApplicationProtocol {
        let router = buildRouter(service: service, configuration: HTTPFaceConfiguration(adminTokenHash: APIToken.hash(adminToken)),
                                 registry: PrometheusCollectorRegistry())
        return Application(router: router)
    }

    static func signingBody(orig: String = "12155550042", dest: String = "12125551213", attest: String = "A", iat: Int64 = now(),
                            origid: String = "de305d54-75b4-431b-adb2-eb6b9e546014") -> String {
        #"{"signingRequest":{"attest":"\#(attest)","dest":{"tn":["\#(dest)"]},"iat":\#(iat),"orig":{"tn":"\#(orig)"},"origid":"\#(origid)"}}"#
    }
}

import CallsignFetch

/// The HTTP repository used by the fixture (x5u over real loopback HTTP).
enum HTTPRepositoryBox {
    static func make() -> HTTPCertificateRepository { HTTPCertificateRepository(now: { now() }) }
}

func json(_ buffer: ByteBuffer) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
}

func post(_ client: some TestClientProtocol, _ uri: String, _ body: String?, token: String? = nil,
          headers extra: HTTPFields = [:]) async throws -> TestResponse {
    var headers: HTTPFields = [.contentType: "application/json"]
    if let token { headers[.authorization] = "Bearer \(token)" }
    for field in extra { headers[field.name] = field.value }
    let buffer = body.map { ByteBuffer(string: $0) }
    headers[.contentLength] = String(buffer?.readableBytes ?? 0)
    return try await client.execute(uri: uri, method: .post, headers: headers, body: buffer)
}

@Suite("callsign serve: ATIS-1000082 REST API", .serialized)
struct ServerTests {
    @Test("the example signing request signs; the identity verifies through /stir/v1/verification")
    func signThenVerify() async throws {
        let fixture = try await ServerFixture()
        try await fixture.application().test(.router) { client in
            let response = try await post(client, "/stir/v1/signing", ServerFixture.signingBody(), token: fixture.bankToken,
                                          headers: [HTTPField.Name("X-RequestID")!: "req-42"])
            #expect(response.status == .ok)
            #expect(response.headers[HTTPField.Name("X-RequestID")!] == "req-42")
            let signing = try #require(try json(response.body)["signingResponse"] as? [String: Any])
            let identity = try #require(signing["identity"] as? String)
            #expect(identity.hasSuffix(";info=<\(fixture.x5u)>;alg=ES256;ppt=shaken"))
            #expect(signing["attest"] as? String == "A")
            #expect(signing["origid"] as? String == fixture.bank.origid)

            let body = #"{"verificationRequest":{"from":{"tn":"12155550042"},"to":{"tn":["12125551213"]},"time":\#(now()),"identity":"\#(identity)"}}"#
            let verified = try await post(client, "/stir/v1/verification", body)
            #expect(verified.status == .ok)
            let verdict = try #require(try json(verified.body)["verificationResponse"] as? [String: Any])
            #expect(verdict["verstat"] as? String == "TN-Validation-Passed", "\(verdict)")

            // Tampered: a 200 with verstat failed and the SIP code.
            let parts = identity.split(separator: ".", maxSplits: 2).map(String.init)
            let tampered = parts[0] + "." + parts[1] + "." + (parts[2].first == "A" ? "B" : "A") + parts[2].dropFirst()
            let bad = try await post(client, "/stir/v1/verification",
                                     #"{"verificationRequest":{"from":{"tn":"12155550042"},"to":{"tn":["12125551213"]},"time":\#(now()),"identity":"\#(tampered)"}}"#)
            #expect(bad.status == .ok)
            let failed = try #require(try json(bad.body)["verificationResponse"] as? [String: Any])
            #expect(failed["verstat"] as? String == "TN-Validation-Failed")
            #expect(failed["reasoncode"] as? Int == 438)
            #expect(failed["reasontext"] as? String == "Invalid Identity Header")
        }
        try await fixture.server.stop()
    }

    @Test("the same request signs A, B or C depending only on the configured ownership; traceback finds each call")
    func attestationByOwnership() async throws {
        let fixture = try await ServerFixture()
        try await fixture.application().test(.router) { client in
            func attest(_ orig: String, token: String, requested: String = "A") async throws -> String? {
                let response = try await post(client, "/stir/v1/signing", ServerFixture.signingBody(orig: orig, attest: requested), token: token)
                return (try json(response.body)["signingResponse"] as? [String: Any])?["attest"] as? String
            }
            #expect(try await attest("12155550042", token: fixture.bankToken) == "A")
            #expect(try await attest("12155559999", token: fixture.bankToken) == "B")
            #expect(try await attest("12155550042", token: fixture.gatewayToken) == "C")
            #expect(try await attest("12155550042", token: fixture.bankToken, requested: "B") == "B")

            let trace = try await client.execute(uri: "/traceback?origid=\(fixture.bank.origid)", method: .get,
                                                 headers: [.authorization: "Bearer \(fixture.adminToken)"])
            #expect(trace.status == .ok)
            let calls = try #require(try json(trace.body)["calls"] as? [[String: Any]])
            #expect(calls.count == 3)
            #expect(Set(calls.compactMap { $0["attest"] as? String }) == ["A", "B"])
            #expect(calls.allSatisfy { $0["customer"] as? String == "bank" })
            let denied = try await client.execute(uri: "/traceback?origid=\(fixture.bank.origid)", method: .get,
                                                  headers: [.authorization: "Bearer \(fixture.bankToken)"])
            #expect(denied.status == .unauthorized)
        }
        let records = try await fixture.store.traceback(origid: fixture.gateway.origid, since: nil, until: nil, limit: 10)
        #expect(records.count == 1)
        try await fixture.server.stop()
    }

    @Test("signing without a token, with a wrong token or a revoked token is refused (401) and signs nothing")
    func refusesUnauthenticated() async throws {
        let fixture = try await ServerFixture()
        let revoked = APIToken.generate()
        try await fixture.store.addToken(hash: APIToken.hash(revoked), customerID: "bank", now: now())
        try await fixture.store.revokeToken(hash: APIToken.hash(revoked), now: now())
        try await fixture.application().test(.router) { client in
            for token in [nil, "cs_wrong", revoked] as [String?] {
                let response = try await post(client, "/stir/v1/signing", ServerFixture.signingBody(), token: token)
                #expect(response.status == .unauthorized)
                let error = try #require((try json(response.body)["requestError"] as? [String: Any])?["policyException"] as? [String: Any])
                #expect(error["messageId"] as? String == "POL4001")
                #expect(!String(buffer: response.body).contains("identity"))
            }
        }
        #expect(try await fixture.store.traceback(origid: fixture.bank.origid, since: nil, until: nil, limit: 10).isEmpty)
        try await fixture.server.stop()
    }

    @Test("API errors use the ATIS-1000082 envelope, ids and HTTP codes", arguments: [
        ("", "SVC4000", 400, nil as String?),
        ("{not json", "SVC4006", 400, nil),
        (#"{"nope":{}}"#, "SVC4001", 400, "signingRequest"),
        (ServerFixture.signingBody(attest: "D"), "SVC4005", 400, "attest"),
        (ServerFixture.signingBody().replacingOccurrences(of: #"["12125551213"]"#, with: #""12125551213""#), "SVC4005", 400, "dest.tn"),
        (ServerFixture.signingBody().replacingOccurrences(of: #","origid":"de305d54-75b4-431b-adb2-eb6b9e546014""#, with: ""), "SVC4001", 400, "origid"),
        (ServerFixture.signingBody(origid: "not-a-uuid"), "SVC4005", 400, "origid"),
        (ServerFixture.signingBody(iat: 1_000), "SVC4005", 400, "iat"),
        (ServerFixture.signingBody(orig: "12a"), "SVC4005", 400, "orig.tn"),
    ])
    func errors(_ body: String, _ id: String, _ status: Int, _ variable: String?) async throws {
        let fixture = try await ServerFixture()
        try await fixture.application().test(.router) { client in
            let response = try await post(client, "/stir/v1/signing", body.isEmpty ? nil : body, token: fixture.bankToken)
            #expect(response.status.code == status)
            let error = try #require((try json(response.body)["requestError"] as? [String: Any])?["serviceException"] as? [String: Any])
            #expect(error["messageId"] as? String == id)
            if let variable { #expect((error["variables"] as? [String])?.first == variable) }
        }
        try await fixture.server.stop()
    }

    @Test("wrong content type is 415, GET is 405, a refused Accept is 406, verification errors use the envelope")
    func protocolErrors() async throws {
        let fixture = try await ServerFixture()
        try await fixture.application().test(.router) { client in
            let text = try await client.execute(uri: "/stir/v1/signing", method: .post,
                                                headers: [.contentType: "text/plain", .contentLength: "2", .authorization: "Bearer \(fixture.bankToken)"],
                                                body: ByteBuffer(string: "{}"))
            #expect(text.status.code == 415)
            let get = try await client.execute(uri: "/stir/v1/verification", method: .get)
            #expect(get.status.code == 405)
            #expect(String(buffer: get.body).contains("POL4050"))
            let accept = try await post(client, "/stir/v1/verification", "{}", headers: [.accept: "text/html"])
            #expect(accept.status.code == 406)
            let missing = try await post(client, "/stir/v1/verification", #"{"verificationRequest":{"from":{"tn":"1"},"to":{"tn":"2"},"time":1,"identity":"x"}}"#)
            #expect(String(buffer: missing.body).contains("to.tn"))
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            let openapi = try await client.execute(uri: "/openapi.yaml", method: .get)
            let file = try String(contentsOf: Peers.repositoryRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8)
            #expect(String(buffer: openapi.body) == file)
        }
        try await fixture.server.stop()
    }

    @Test("the error table matches the ATIS-1000082 vector's ids, codes and texts")
    func errorTable() throws {
        let url = Peers.repositoryRoot.appendingPathComponent("Tests/CallsignTests/Vectors/api/atis-1000082-examples.json")
        let vector = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        for entry in try #require(vector["error_codes"] as? [[String: Any]]) {
            let id = try #require(entry["messageId"] as? String)
            let ours = try #require(APIResponse.messages[id], "\(id) missing")
            #expect(ours.0 == entry["http"] as? Int, "\(id)")
            #expect(ours.1 == entry["text"] as? String, "\(id)")
        }
    }

    @Test("a PASSporT signed through /stir/v1/signing verifies with secsipidx; one signed by secsipidx verifies through /stir/v1/verification",
          .enabled(if: Peers.enabled(Peers.which("secsipidx") != nil), "secsipidx not installed"))
    func secsipidxInterop() async throws {
        let fixture = try await ServerFixture()
        let secsipidx = try #require(Peers.which("secsipidx"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-sx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let rootPath = dir.appendingPathComponent("root.pem").path
        try (try fixture.root.serializeAsPEM().pemString + "\n").write(toFile: rootPath, atomically: true, encoding: .utf8)
        let keyPath = dir.appendingPathComponent("sp.key").path
        try (fixture.eeKey.pemRepresentation + "\n").write(toFile: keyPath, atomically: true, encoding: .utf8)
        try await fixture.application().test(.router) { client in
            let response = try await post(client, "/stir/v1/signing", ServerFixture.signingBody(), token: fixture.bankToken)
            let identity = try #require((try json(response.body)["signingResponse"] as? [String: Any])?["identity"] as? String)
            let check = try await run(secsipidx, ["-check", "-identity", identity, "-fpubkey", fixture.x5u, "-expire", "60",
                                            "-cert-verify", "5", "-ca-file", rootPath], timeout: 30)
            #expect(check.status == 0, "\(check.stdout) \(check.stderr)")

            let signed = try await run(secsipidx, ["-sign-full", "-orig-tn", "12155550042", "-dest-tn", "12125551213", "-attest", "B",
                                             "-x5u", fixture.x5u, "-k", keyPath], timeout: 30)
            try #require(signed.status == 0, "\(signed.stderr)")
            let theirs = signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let verified = try await post(client, "/stir/v1/verification",
                                          #"{"verificationRequest":{"from":{"tn":"12155550042"},"to":{"tn":["12125551213"]},"time":\#(now()),"identity":"\#(theirs)"}}"#)
            let verdict = try #require(try json(verified.body)["verificationResponse"] as? [String: Any])
            #expect(verdict["verstat"] as? String == "TN-Validation-Passed", "\(verdict)")
            #expect(verdict["attest"] as? String == "B")
        }
        try await fixture.server.stop()
    }
}

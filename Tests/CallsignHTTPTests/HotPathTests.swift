import CallsignTestSupport
import Callsign
import CallsignService
import CallsignHTTP
import CallsignStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Prometheus
import Synchronization
import Testing

/// The event-loop answers of the two hot endpoints, over a real loopback
/// server (Hummingbird's live test client), against the router's answers.
@Suite("REST hot path: answers on the event loop match the router's", .serialized)
struct HotPathTests {
    struct Live {
        let fixture: ServerFixture
        let hotPath: RESTHotPath
        let recorder: GroupCommitRecorder

        /// - Parameters:
        ///   - journal: signings made durable by the store's traceback journal (the SQLite store's path in `serve`)
        ///     instead of group commits (the PostgreSQL store's path).
        init(journal: Bool = false, signer: (any IdentitySigning)? = nil) async throws {
            var fixture = try await ServerFixture()
            if let signer { fixture.service.identities = SigningIdentities(service: .init(name: "service", signer: signer, x5u: fixture.x5u)) }
            let recorder = GroupCommitRecorder(store: fixture.store, journal: journal ? try fixture.store.openJournal() : nil)
            fixture.service.recorder = recorder
            // An hour, not the server's 5 s: on a loaded machine a test can outlast 5 s, and an expired
            // token sends a signing (and what is pipelined behind it) to the router.
            fixture.service.tokenCache = CustomerCache(lifetime: 3_600)
            self.fixture = fixture
            self.recorder = recorder
            hotPath = RESTHotPath(service: fixture.service, now: { now() })
        }

        func application() -> some ApplicationProtocol {
            let router = buildRouter(service: fixture.service,
                                     configuration: HTTPFaceConfiguration(adminTokenHash: APIToken.hash(fixture.adminToken)),
                                     registry: PrometheusCollectorRegistry())
            return Application(router: router, server: hotPath.server)
        }

        /// Runs `body` against the live server with the traceback writer running.
        func run(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await recorder.run() }
                while !recorder.acceptsCallbacks { try await Task.sleep(for: .milliseconds(1)) }
                try await application().test(.live) { client in try await body(client) }
                group.cancelAll()
            }
            try await fixture.server.stop()
        }
    }

    static func verificationBody(_ identity: String, from: String = "12155550042") -> String {
        #"{"verificationRequest":{"from":{"tn":"\#(from)"},"to":{"tn":["12125551213"]},"time":\#(now()),"identity":"\#(identity)"}}"#
    }

    @Test("a signing with a cached token is answered on the event loop after its traceback record is durable; it verifies there once the chain is warm",
          arguments: [false, true])
    func signAndVerifyOnTheEventLoop(journal: Bool) async throws {
        let live = try await Live(journal: journal)
        let fixture = live.fixture
        try await live.run { client in
            // First signing: the token is not cached yet, so the router answers (and caches it).
            let first = try await post(client, "/stir/v1/signing", ServerFixture.signingBody(), token: fixture.bankToken)
            #expect(first.status == .ok)
            #expect(live.hotPath.answered == 0)
            let second = try await post(client, "/stir/v1/signing", ServerFixture.signingBody(orig: "12155550043"), token: fixture.bankToken,
                                        headers: [HTTPField.Name("X-RequestID")!: "req-7"])
            #expect(second.status == .ok)
            #expect(live.hotPath.answered == 1)
            #expect(second.headers[HTTPField.Name("X-RequestID")!] == "req-7")
            #expect(second.headers[.contentType] == "application/json")
            #expect(second.headers[.date] != nil)
            let signing = try #require(try json(second.body)["signingResponse"] as? [String: Any])
            #expect(signing["attest"] as? String == "A")
            #expect(signing["origid"] as? String == fixture.bank.origid)
            let identity = try #require(signing["identity"] as? String)
            // Answered only after the record is readable for traceback.
            let traced = try await fixture.store.traceback(origid: fixture.bank.origid, since: nil, until: nil, limit: 10)
            #expect(Set(traced.map(\.orig)) == ["12155550042", "12155550043"])

            // Verification: the chain is cold first (router), then warm (event loop); same answer.
            let cold = try await post(client, "/stir/v1/verification", Self.verificationBody(identity, from: "12155550043"))
            #expect(live.hotPath.answered == 1)
            let warm = try await post(client, "/stir/v1/verification", Self.verificationBody(identity, from: "12155550043"))
            #expect(live.hotPath.answered == 2)
            #expect(cold.status == .ok && warm.status == .ok)
            #expect(String(buffer: cold.body) == String(buffer: warm.body))
            let verdict = try #require(try json(warm.body)["verificationResponse"] as? [String: Any])
            #expect(verdict["verstat"] as? String == "TN-Validation-Passed")

            // A failure (orig mismatch) on the hot path: 200 with the SIP code, as the router says it.
            let mismatch = try await post(client, "/stir/v1/verification", Self.verificationBody(identity, from: "12155550099"))
            #expect(live.hotPath.answered == 3)
            let failed = try #require(try json(mismatch.body)["verificationResponse"] as? [String: Any])
            #expect(failed["verstat"] as? String == "TN-Validation-Failed")
            #expect(failed["reasoncode"] as? Int == 438)
        }
    }

    /// Counts the signatures made through it.
    final class CountingSigner: IdentitySigning {
        let inner: any IdentitySigning
        let count = Atomic(0)

        init(_ inner: any IdentitySigning) { self.inner = inner }

        func sign(_ request: SigningRequest) throws -> IdentityHeader {
            count.add(1, ordering: .relaxed)
            return try inner.sign(request)
        }
    }

    @Test("each REST signing is ES256-signed exactly once, through the router and on the fast path, with the journal (the SQLite store's path) and with group commits (the PostgreSQL store's path)",
          arguments: [true, false])
    func oneSignaturePerSigning(journal: Bool) async throws {
        let fixture = try await ServerFixture()
        let counting = CountingSigner(try #require(fixture.service.identities.service).signer)
        try await fixture.server.stop()
        let live = try await Live(journal: journal, signer: counting)
        try await live.run { client in
            for index in 0..<20 {
                let orig = "1215555" + String(format: "%04d", 2000 + index)
                let signed = try await post(client, "/stir/v1/signing", ServerFixture.signingBody(orig: orig), token: live.fixture.bankToken)
                #expect(signed.status == .ok)
            }
            #expect(live.hotPath.answered == 19, "the first signing (token not cached) goes through the router, the rest on the fast path")
            let traced = try await live.fixture.store.traceback(origid: live.fixture.bank.origid, since: nil, until: nil, limit: 100)
            #expect(traced.count == 20)
        }
        #expect(counting.count.load(ordering: .relaxed) == 20)
    }

    @Test("request errors get the router's status and envelope on the hot path", arguments: [
        ("415", "/stir/v1/verification", [HTTPField.Name.contentType: "text/plain"], "{}", 415, "SVC4004"),
        ("406", "/stir/v1/verification", [HTTPField.Name.accept: "text/html"], "{}", 406, "SVC4002"),
        ("no body", "/stir/v1/verification", [:], "", 400, "SVC4000"),
        ("unparseable", "/stir/v1/verification", [:], "{", 400, "SVC4006"),
        ("missing member", "/stir/v1/verification", [:], #"{"verificationRequest":{}}"#, 400, "SVC4001"),
        ("no token", "/stir/v1/signing", [:], "{}", 401, "POL4001"),
    ] as [(String, String, HTTPFields, String, Int, String)])
    func errorsMatchTheRouter(_ name: String, _ path: String, _ headers: HTTPFields, _ body: String, _ status: Int, _ id: String) async throws {
        let live = try await Live()
        let routerOnly = live.fixture.application()
        let routerAnswer = Mutex("")
        try await routerOnly.test(.router) { client in
            let response = try await post(client, path, body, headers: headers)
            #expect(response.status.code == status)
            routerAnswer.withLock { $0 = String(buffer: response.body) }
        }
        try await live.run { client in
            let response = try await post(client, path, body, headers: headers)
            #expect(response.status.code == status, "\(name)")
            #expect(String(buffer: response.body) == routerAnswer.withLock { $0 })
            #expect(String(buffer: response.body).contains(id))
            #expect(live.hotPath.answered == 1)
        }
    }

    @Test("a body over 16 KiB still gets the router's 413; other paths and methods are the router's")
    func passesThrough() async throws {
        let live = try await Live()
        try await live.run { client in
            let big = #"{"verificationRequest":{"identity":""# + String(repeating: "a", count: 17_000) + #""}}"#
            let response = try await post(client, "/stir/v1/verification", big)
            #expect(response.status.code == 413)
            let get = try await client.execute(uri: "/stir/v1/verification", method: .get)
            #expect(get.status.code == 405)
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            #expect(live.hotPath.answered == 0)
        }
    }

    /// Sends `requests` in one write on one connection and reads until `count` responses ended (raw HTTP/1.1, pipelined).
    static func pipelined(port: Int, _ requests: [String], count: Int, pieceSize: Int? = nil) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array(requests.joined().utf8)
        if let pieceSize {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            for start in stride(from: 0, to: bytes.count, by: pieceSize) {
                let piece = Array(bytes[start..<min(bytes.count, start + pieceSize)])
                _ = piece.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                usleep(200)
            }
        } else {
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while String(decoding: received, as: UTF8.self).components(separatedBy: "HTTP/1.1 ").count - 1 < count
            || !String(decoding: received, as: UTF8.self).hasSuffix("}\n")
        {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }

    static func raw(_ path: String, _ body: String, id: String, token: String? = nil) -> String {
        "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-RequestID: \(id)\r\n"
            + (token.map { "Authorization: Bearer \($0)\r\n" } ?? "") + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
    }

    @Test("pipelined requests are answered in order: behind one the router is answering, and behind a signing waiting for its commit")
    func pipeliningKeepsOrder() async throws {
        let live = try await Live()
        let fixture = live.fixture
        try await live.run { client in
            let port = try #require(client.port)
            // Cache the token (router path).
            _ = try await post(client, "/stir/v1/signing", ServerFixture.signingBody(), token: fixture.bankToken)
            let signed = try await post(client, "/stir/v1/signing", ServerFixture.signingBody(), token: fixture.bankToken)
            let identity = try #require((try json(signed.body)["signingResponse"] as? [String: Any])?["identity"] as? String)
            #expect(live.hotPath.answered == 1)
            // Cold x5u first (the router fetches the chain), then the same verification pipelined behind it.
            let verify = Self.verificationBody(identity)
            let first = try Self.pipelined(port: port, [Self.raw("/stir/v1/verification", verify, id: "A"),
                                                        Self.raw("/stir/v1/verification", verify, id: "B")], count: 2)
            let a = try #require(first.range(of: "X-RequestID: A")), b = try #require(first.range(of: "X-RequestID: B"))
            #expect(a.lowerBound < b.lowerBound)
            #expect(first.components(separatedBy: "TN-Validation-Passed").count == 3)
            // A went to the router; B waited for A's answer, and then (the chain warm) was answered on the hot path.
            #expect(live.hotPath.answered == 2)
            // Two signings pipelined on the hot path: the second waits behind the first one's commit.
            let body = ServerFixture.signingBody(orig: "12155550044")
            let second = try Self.pipelined(port: port, [Self.raw("/stir/v1/signing", body, id: "S1", token: fixture.bankToken),
                                                         Self.raw("/stir/v1/signing", body, id: "S2", token: fixture.bankToken),
                                                         Self.raw("/stir/v1/verification", verify, id: "V3")], count: 3)
            let s1 = try #require(second.range(of: "X-RequestID: S1")), s2 = try #require(second.range(of: "X-RequestID: S2"))
            let v3 = try #require(second.range(of: "X-RequestID: V3"))
            #expect(s1.lowerBound < s2.lowerBound && s2.lowerBound < v3.lowerBound)
            #expect(live.hotPath.answered == 5)
        }
    }

    @Test("requests the raw path does not frame itself are handed to NIO in order: a GET, a chunked body, then hot requests again")
    func rawPathHandsOn() async throws {
        let live = try await Live(journal: true)
        let fixture = live.fixture
        try await live.run { client in
            let port = try #require(client.port)
            _ = try await post(client, "/stir/v1/signing", ServerFixture.signingBody(), token: fixture.bankToken)  // caches the token
            let signed = try await post(client, "/stir/v1/signing", ServerFixture.signingBody(), token: fixture.bankToken)
            let identity = try #require((try json(signed.body)["signingResponse"] as? [String: Any])?["identity"] as? String)
            let verify = Self.verificationBody(identity)
            _ = try await post(client, "/stir/v1/verification", verify)  // warms the chain (router)
            let before = live.hotPath.answered
            let chunks = String(verify.utf8.count, radix: 16) + "\r\n" + verify + "\r\n0\r\n\r\n"
            let chunked = "POST /stir/v1/verification HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "X-RequestID: C\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
            let out = try Self.pipelined(port: port, [
                "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-RequestID: G\r\n\r\n",
                Self.raw("/stir/v1/verification", verify, id: "V1"),
                chunked,
                Self.raw("/stir/v1/verification", verify, id: "V2"),
            ], count: 4)
            let order = ["X-RequestID: G", "X-RequestID: V1", "X-RequestID: C", "X-RequestID: V2"].map { out.range(of: $0)?.lowerBound }
            #expect(order.allSatisfy { $0 != nil })
            #expect(zip(order, order.dropFirst()).allSatisfy { ($0.0 ?? out.endIndex) < ($0.1 ?? out.startIndex) }, "\(out)")
            #expect(out.components(separatedBy: "TN-Validation-Passed").count == 3, "\(out)")
            // ATIS-1000082 §5.1 asks for Content-Length: a chunked body gets 411 SVC4007, as it always did.
            #expect(out.contains("HTTP/1.1 411 Length Required") && out.contains("SVC4007"))
            // V1 from bytes; C and V2 by the router (the connection is NIO's after the chunked body).
            #expect(live.hotPath.answered == before + 1)
        }
    }

    @Test("requests the router answers, pipelined in one write behind a signing, are all answered in order (none waits for more bytes)",
          arguments: [true, false])
    func routerRequestsPipelined(journal: Bool) async throws {
        let live = try await Live(journal: journal)
        let fixture = live.fixture
        try await live.run { client in
            let port = try #require(client.port)
            _ = try await post(client, "/stir/v1/signing", ServerFixture.signingBody(), token: fixture.bankToken)  // caches the token
            // Each GET is handed on to NIO and the router, the second and third only once the one before is
            // answered - outside a socket read; with group commits the GETs also wait for the signing's commit.
            let requests = [Self.raw("/stir/v1/signing", ServerFixture.signingBody(), id: "S", token: fixture.bankToken)]
                + (1...3).map { "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-RequestID: G\($0)\r\n\r\n" }
            let started = ContinuousClock.now
            let out = try Self.pipelined(port: port, requests, count: 4)
            let order = ["S", "G1", "G2", "G3"].map { out.range(of: "X-RequestID: \($0)")?.lowerBound }
            #expect(order.allSatisfy { $0 != nil }, "\(out)")
            #expect(zip(order, order.dropFirst()).allSatisfy { ($0.0 ?? out.endIndex) < ($0.1 ?? out.startIndex) }, "\(out)")
            #expect(ContinuousClock.now - started < .seconds(5))  // answered, not released by the client's 10 s timeout
        }
    }

    @Test("a hot request arriving a few bytes at a time gets the same answer as one arriving whole")
    func rawPathReassembles() async throws {
        let live = try await Live(journal: true)
        let fixture = live.fixture
        try await live.run { client in
            let port = try #require(client.port)
            _ = try await post(client, "/stir/v1/signing", ServerFixture.signingBody(), token: fixture.bankToken)
            let request = Self.raw("/stir/v1/signing", ServerFixture.signingBody(orig: "12155550045"), id: "P", token: fixture.bankToken)
            let before = live.hotPath.answered
            let out = try Self.pipelined(port: port, [request], count: 1, pieceSize: 7)
            #expect(out.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(out)")
            #expect(out.contains("X-RequestID: P") && out.contains("\"signingResponse\""))
            #expect(live.hotPath.answered == before + 1)
            let traced = try await fixture.store.traceback(origid: fixture.bank.origid, since: nil, until: nil, limit: 10)
            #expect(traced.contains { $0.orig == "12155550045" })
        }
    }

    @Test("a thousand pipelined requests handed on and answered at once downstream are all answered, in order")
    func manyHandedOn() async throws {
        let live = try await Live(journal: true)
        try await live.run { client in
            let port = try #require(client.port)
            // Two Content-Type fields: not answered from bytes; the handler behind NIO's decoder refuses each (415) at once.
            let requests = (0..<1_000).map { index in
                "POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Type: text/plain\r\nX-RequestID: \(index)\r\n"
                    + "Content-Length: 2\r\n\r\n{}"
            }
            let out = try Self.pipelined(port: port, requests, count: 1_000)
            #expect(out.components(separatedBy: "HTTP/1.1 415 ").count - 1 == 1_000)
            let ids = out.components(separatedBy: "X-RequestID: ").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
            #expect(ids == Array(0..<1_000))
        }
    }
}

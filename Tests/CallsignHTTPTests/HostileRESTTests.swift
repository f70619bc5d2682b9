import CallsignTestSupport
import Callsign
import CallsignHTTP
import CallsignStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Prometheus
import Testing

/// REST bodies from the adversarial probe of issue 20: numbers out of range
/// are SVC4005 on every path (scanned body, JSON tree, event loop), never a trap.
@Suite("Hostile REST bodies get SVC4005, never a crash", .serialized)
struct HostileRESTTests {
    static let times = ["9223372036854775808", "99999999999999999999", "9223372036854775807", "-9223372036854775808", "-1",
                        "253402300800"]

    static func verificationBody(time: String, spaced: Bool) -> [UInt8] {
        // `spaced`: a member order and spacing the scan still reads; otherwise an extra member sends it to the tree path.
        let extra = spaced ? "" : #","x":1"#
        return Array(#"{"verificationRequest":{"from":{"tn":"12155550042"},"to":{"tn":["12125551213"]},"time":\#(time),"identity":"a.b.c"\#(extra)}}"#.utf8)
    }

    @Test("a verification `time` outside 1970–9999 is SVC4005, scanned or parsed, on the event loop or the router",
          arguments: times)
    func verificationTime(time: String) async throws {
        let fixture = try await ServerFixture()
        for spaced in [true, false] {
            let body = Self.verificationBody(time: time, spaced: spaced)
            for response in [await fixture.service.verify(body: body), fixture.service.verifyImmediately(body: body)] {
                let answer = try #require(response)
                #expect(answer.status == 400, "\(time)")
                #expect(String(decoding: answer.encodedBody, as: UTF8.self).contains("SVC4005"), "\(time)")
            }
        }
        try await fixture.server.stop()
    }

    @Test("a signing `iat` outside 1970–9999 is SVC4005", arguments: times)
    func signingIat(iat: String) async throws {
        let fixture = try await ServerFixture()
        let body = Array(#"{"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\#(iat),"orig":{"tn":"12155550042"},"origid":"\#(fixture.bank.origid)"}}"#.utf8)
        let answer = await fixture.service.sign(body: body, bearerToken: fixture.bankToken)
        #expect(answer.status == 400)
        #expect(String(decoding: answer.encodedBody, as: UTF8.self).contains("SVC4005"))
        try await fixture.server.stop()
    }

    @Test("HTTP/1.1 without Host, or with two, is answered 400 on both endpoints (RFC 9112 §3.2)", arguments: [
        "Content-Type: application/json\r\n", "Host: a\r\nHost: b\r\nContent-Type: application/json\r\n",
    ])
    func hostFields(fields: String) async throws {
        try await HTTPLimitsTests.run(HTTPLimits()) { port in
            for path in ["/stir/v1/verification", "/stir/v1/signing"] {
                let connection = try TestConnection(port: port)
                connection.send(TestConnection.post(path, fields))
                let answer = await connection.read(until: "}}")
                #expect(answer.hasPrefix("HTTP/1.1 400"), "\(path): \(answer)")
            }
        }
    }

    @Test("Content-Type application/jsonx is 415; application/json with parameters is read")
    func mediaType() async throws {
        try await HTTPLimitsTests.run(HTTPLimits()) { port in
            let connection = try TestConnection(port: port)
            connection.send(TestConnection.post("/stir/v1/verification", "Host: x\r\nContent-Type: application/jsonx\r\n"))
            let refused = await connection.read(until: "}}")
            #expect(refused.hasPrefix("HTTP/1.1 415"))
            #expect(refused.contains("SVC4004"))
            connection.send(TestConnection.post("/stir/v1/verification", "Host: x\r\nContent-Type: application/json; charset=utf-8\r\n"))
            #expect(await connection.read(until: "}}").contains("SVC4001"), "read, and refused for its missing members")
        }
    }

    @Test("`Bearer` followed by two spaces is read alike on signing and on the admin endpoints (RFC 6750 §2.1: 1*SP)")
    func bearerSpacing() async throws {
        let fixture = try await ServerFixture()
        let router = buildRouter(service: fixture.service,
                                 configuration: HTTPFaceConfiguration(adminTokenHash: APIToken.hash(fixture.adminToken)),
                                 registry: PrometheusCollectorRegistry())
        let app = Application(router: router, server: RESTHotPath(service: fixture.service, now: { now() }).server)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let connection = try TestConnection(port: port)
            connection.send("GET /traceback?origid=\(fixture.bank.origid) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer  \(fixture.adminToken)\r\n\r\n")
            #expect(await connection.read(until: "}").hasPrefix("HTTP/1.1 200"))
            let body = #"{"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\#(now()),"orig":{"tn":"12155550042"},"origid":"\#(fixture.bank.origid)"}}"#
            connection.send(TestConnection.post("/stir/v1/signing", "Host: x\r\nContent-Type: application/json\r\nAuthorization: Bearer  \(fixture.bankToken)\r\n", body: body))
            #expect(await connection.read(until: "}}").hasPrefix("HTTP/1.1 200"))
        }
        try await fixture.server.stop()
    }
}

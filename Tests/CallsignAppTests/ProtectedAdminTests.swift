import CallsignApp
import CallsignTestSupport
import Foundation
import ServiceLifecycle
import Testing

/// The managed number lists (protected numbers, DNO) through the admin API of
/// a running `serve`: what is posted is in force for the next call, and
/// removing it lifts it.
@Suite("Number lists through /admin/protected and /admin/dno")
struct ProtectedAdminTests {
    /// One request with a bearer token to the server on `port`; the whole answer.
    static func request(_ port: Int, _ method: String, _ path: String, _ body: String, token: String) async throws -> String {
        try await BuildApplicationTests.exchange(port, "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
                                                 + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
    }

    @Test("POST /admin/protected blocks a number signed by another SPC at the next verification (policy names protected-number); DELETE lifts it")
    func adminAPI() async throws {
        try await ServeFixture.run { port, admin, token in
            func request(_ method: String, _ path: String, _ body: String = "", token: String) async throws -> String {
                try await Self.request(port, method, path, body, token: token)
            }
            func verify() async throws -> [String: Any]? {
                let iat = now()
                let signing = """
                    {"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\(iat),"orig":{"tn":"12155550042"},\
                    "origid":"123e4567-e89b-12d3-a456-426655440000"}}
                    """
                let signed = try await BuildApplicationTests.exchange(port, BuildApplicationTests.post("/stir/v1/signing", signing, token: token))
                let identity = try #require(BuildApplicationTests.jsonBody(signed)?["signingResponse"].flatMap { $0 as? [String: Any] }?["identity"] as? String)
                let body = #"{"verificationRequest":{"from":{"tn":"12155550042"},"to":{"tn":["12125551213"]},"time":\#(iat),"identity":"\#(identity)"}}"#
                let verified = try await BuildApplicationTests.exchange(port, BuildApplicationTests.post("/stir/v1/verification", body, token: nil))
                return BuildApplicationTests.jsonBody(verified)?["verificationResponse"] as? [String: Any]
            }
            #expect(((try await verify())?["policy"] as? [String: Any])?["action"] as? String == "allow")

            // The sample customer may still sign it, but the development certificate's SPC is not the protected
            // number's: the next call is blocked at verification.
            let posted = try await request("POST", "/admin/protected", "number,spc,label,customers\n+12155550042,7Q2X,Example Bank,sample\n",
                                           token: admin)
            #expect(posted.hasPrefix("HTTP/1.1 200"), "\(posted)")
            #expect(try await request("POST", "/admin/protected", "number,spc\n+1,x\n", token: token).hasPrefix("HTTP/1.1 401"),
                    "the API token of a signing customer is not the admin token")
            let listed = try await request("GET", "/admin/protected", token: admin)
            #expect(listed.contains(#""number":"12155550042""#) && listed.contains(#""label":"Example Bank""#), "\(listed)")
            let blocked = try #require(try await verify()?["policy"] as? [String: Any])
            #expect(blocked["action"] as? String == "block")
            #expect(blocked["rule"] as? String == "protected-number")

            #expect(try await request("DELETE", "/admin/protected/12155550042", token: admin).hasPrefix("HTTP/1.1 200"))
            #expect(try await request("DELETE", "/admin/protected/12155550042", token: admin).hasPrefix("HTTP/1.1 404"))
            #expect(((try await verify())?["policy"] as? [String: Any])?["action"] as? String == "allow")

        }
    }

    @Test("POST /admin/dno refuses the next signing from a listed number; a bad CSV, a bad number and a missing entry are refused; DELETE lifts it")
    func dnoAdminAPI() async throws {
        try await ServeFixture.run { port, admin, token in
            func request(_ method: String, _ path: String, _ body: String = "", token: String) async throws -> String {
                try await Self.request(port, method, path, body, token: token)
            }
            func sign() async throws -> String {
                let body = """
                    {"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\(now()),"orig":{"tn":"12155550042"},\
                    "origid":"123e4567-e89b-12d3-a456-426655440000"}}
                    """
                return try await BuildApplicationTests.exchange(port, BuildApplicationTests.post("/stir/v1/signing", body, token: token))
            }
            #expect(try await sign().hasPrefix("HTTP/1.1 200"))
            let posted = try await request("POST", "/admin/dno", "number,label\n+12155550042,Tax office inbound\n", token: admin)
            #expect(posted.contains(#""imported":1"#), "\(posted)")
            #expect(try await request("GET", "/admin/dno", token: token).hasPrefix("HTTP/1.1 401"))
            let listed = try await request("GET", "/admin/dno", token: admin)
            #expect(listed.contains(#""value":"12155550042""#) && listed.contains(#""label":"Tax office inbound""#), "\(listed)")
            let refused = try await sign()
            #expect(refused.hasPrefix("HTTP/1.1 403") && refused.contains("POL4003") && refused.contains("do-not-originate"), "\(refused)")

            #expect(try await request("POST", "/admin/dno", "number\nnot-a-number\n", token: admin).contains("SVC4005"))
            #expect(try await request("DELETE", "/admin/dno/abc", token: admin).hasPrefix("HTTP/1.1 400"))
            #expect(try await request("DELETE", "/admin/dno/12155550042", token: admin).hasPrefix("HTTP/1.1 200"))
            #expect(try await request("DELETE", "/admin/dno/12155550042", token: admin).hasPrefix("HTTP/1.1 404"))
            #expect(try await sign().hasPrefix("HTTP/1.1 200"))
        }
    }
}

import CallsignTestSupport
import Callsign
@testable import CallsignHTTP
import NIOCore
import Testing

/// The hot path writes its answers as HTTP/1.1 bytes below Hummingbird's
/// encoders; these are the bytes (the live-server tests in HotPathTests parse
/// them with a real client).
@Suite("HTTP/1.1 answer heads written as bytes by the hot path")
struct HTTPAnswerEncodingTests {
    static let date = Array("Tue, 01 Dec 2026 10:00:00 GMT".utf8)

    static func head(status: Int, length: Int, requestID: String?) -> String {
        var buffer = ByteBuffer()
        HTTPAnswerEncoding.writeHead(status: status, contentLength: length, date: date, requestID: requestID, into: &buffer)
        return String(buffer: buffer)
    }

    @Test("a 200 carries the status line, the JSON type, the length, Date, Server and the request's X-RequestID")
    func okHead() {
        #expect(Self.head(status: 200, length: 1234, requestID: "req-7") == """
            HTTP/1.1 200 OK\r
            Content-Type: application/json\r
            Content-Length: 1234\r
            Date: Tue, 01 Dec 2026 10:00:00 GMT\r
            Server: callsign\r
            X-RequestID: req-7\r
            \r

            """)
    }

    @Test("error statuses get their reason phrase; no X-RequestID when the request had none; lengths of 0 and 10 digits")
    func errorHeads() {
        #expect(Self.head(status: 401, length: 0, requestID: nil).hasPrefix("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 0\r\n"))
        #expect(!Self.head(status: 401, length: 0, requestID: nil).contains("X-RequestID"))
        #expect(Self.head(status: 415, length: 9_876_543_210, requestID: nil).hasPrefix("HTTP/1.1 415 Unsupported Media Type\r\nContent-Type: application/json\r\nContent-Length: 9876543210\r\n"))
        #expect(Self.head(status: 406, length: 7, requestID: nil).hasSuffix("Server: callsign\r\n\r\n"))
    }

    @Test("a signing answer's bytes are the canonical JSON of its body and a newline, escapes included", arguments: [
        ("eyJhbGciOiJFUzI1NiJ9.e30.sig;info=<https://cr.example/c.pem>;alg=ES256;ppt=shaken", "A", "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"),
        ("quote \" backslash \\ tab \t nl \n", "C", "caf\u{e9} \u{1}"),
        ("", "", ""),
    ])
    func signedResponseBytes(identity: String, attest: String, origid: String) {
        let response = APIResponse.signed(identity: identity, attest: attest, origid: origid)
        #expect(response.status == 200)
        #expect(response.encodedBody == JSONWriter.canonical(.object(response.body)) + [0x0A])
        #expect(response.body["signingResponse"]?.objectValue?["identity"]?.stringValue == identity)
        #expect(response.body["signingResponse"]?.objectValue?.members.map(\.key) == ["attest", "identity", "origid"])
    }

    static let verificationAnswers: [APIResponse.VerificationAnswer] = [
        .init(verstat: "TN-Validation-Passed", attest: "A", origid: "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b", policy: PolicyDecision(action: .allow)),
        .init(verstat: "No-TN-Validation", policy: PolicyDecision(action: .block, rule: "protected-number", reason: "Example \"Bank\"",
                                                                   tags: ["a", "b\\"], sipStatus: 608),
              error: (code: 438, text: "Invalid Identity Header", description: "bad-signature: signature does not verify")),
        .init(verstat: "TN-Validation-Passed", attest: "B", origid: "x", displayName: "caf\u{e9}", callReason: "Delivery \u{1}",
              diversions: 2, policy: PolicyDecision(action: .tag, tags: ["unsigned-national"])),
        .init(verstat: "TN-Validation-Passed", displayName: "only name", policy: PolicyDecision(action: .allow)),
        .init(verstat: "", callReason: "only reason", policy: PolicyDecision(action: .allow, reason: "")),
    ]

    @Test("a verification answer's bytes are the canonical JSON of its body and a newline, every member and escape included",
          arguments: verificationAnswers)
    func verifiedResponseBytes(answer: APIResponse.VerificationAnswer) {
        let response = APIResponse.verified(answer)
        #expect(response.status == 200)
        #expect(String(decoding: response.encodedBody, as: UTF8.self)
            == String(decoding: JSONWriter.canonical(.object(response.body)) + [0x0A], as: UTF8.self))
        #expect(response.body["verificationResponse"]?.objectValue?["verstat"]?.stringValue == answer.verstat)
    }
}

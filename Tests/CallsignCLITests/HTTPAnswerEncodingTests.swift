@testable import CallsignServer
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
}

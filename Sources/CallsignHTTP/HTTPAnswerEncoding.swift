import HTTPTypes
import NIOCore

/// HTTP/1.1 response heads of the hot path's answers (RFC 9112 §4), written
/// as bytes: the status line, then the fields Hummingbird's path writes too.
enum HTTPAnswerEncoding {
    /// The request's `X-RequestID` as the answer echoes it: values over 128 bytes are not echoed.
    static func echoedRequestID(_ value: String?) -> String? {
        value.flatMap { $0.utf8.count <= 128 ? $0 : nil }
    }

    static func writeHead(status: Int, contentLength: Int, date: [UInt8], requestID: String?, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("HTTP/1.1 ")
        writeDecimal(status, into: &buffer)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(reasonPhrase(status))
        buffer.writeStaticString("\r\nContent-Type: application/json\r\nContent-Length: ")
        writeDecimal(contentLength, into: &buffer)
        buffer.writeStaticString("\r\nDate: ")
        buffer.writeBytes(date)
        buffer.writeStaticString("\r\nServer: callsign\r\n")
        if let requestID {
            // A request field value as NIO parsed it: no CR, LF or NUL (RFC 9110 §5.5).
            buffer.writeStaticString("X-RequestID: ")
            buffer.writeString(requestID)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
    }

    /// The reason phrases of RFC 9110 §15 for what the two endpoints answer (as NIO's encoder writes them).
    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: HTTPResponse.Status(code: status).reasonPhrase
        }
    }

    private static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        guard value > 0 else {
            buffer.writeInteger(UInt8(ascii: "0"))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { raw in
            while rest > 0, count < 20 {
                raw[19 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[(20 - count)...]))
        }
    }
}

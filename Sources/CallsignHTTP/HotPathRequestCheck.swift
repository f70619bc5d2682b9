import Callsign
import HTTPTypes

/// The request checks of the two ATIS-1000082 POST endpoints (§5.1): body
/// type (415 SVC4004), accepted answer type (406 SVC4002), Content-Length
/// (411 SVC4007). One function for the router and the hot path.
enum HotPathRequestCheck {
    /// Field names as `HTTPField.Name` (valid tokens, so never `nil`; no force unwrap on a server path).
    static let requestID = HTTPField.Name("X-RequestID")
    static let host = HTTPField.Name("Host")

    /// RFC 9112 §3.2: a request without a Host field, or with more than one, is
    /// answered 400. (The HTTP/1 conversion puts the first Host in
    /// `authority`; a second one stays among the fields.)
    static func hostRefusal(_ request: HTTPRequest) -> APIResponse? {
        guard let authority = request.authority, !authority.isEmpty else { return .error("SVC4001", ["Host"]) }
        if let host, request.headerFields.contains(host) { return .error("SVC4005", ["Host", "More than one Host field"]) }
        return nil
    }

    static func refusal(_ fields: HTTPFields) -> APIResponse? {
        // First values, compared on UTF-8 bytes (`fields[name]` joins every value into a new String).
        refusal(contentType: first(.contentType, in: fields), accept: fields.contains(.accept) ? fields[.accept] : nil,
                hasContentLength: fields.contains(.contentLength))
    }

    /// ``refusal(_:)`` from the values themselves: the first `Content-Type`,
    /// every `Accept` value joined (as `HTTPFields` joins them), whether a `Content-Length` was sent.
    static func refusal(contentType: String?, accept: String?, hasContentLength: Bool) -> APIResponse? {
        // The media type `application/json` (any case), then nothing, or parameters (RFC 9110 §8.3.1): not `application/jsonx`.
        guard let type = contentType, type.utf8.count >= 16,
            type.utf8.prefix(16).elementsEqual("application/json".utf8, by: { $0 | 0x20 == $1 }),
            type.utf8.dropFirst(16).first.map({ $0 == UInt8(ascii: ";") || $0 == 0x20 || $0 == 0x09 }) ?? true
        else {
            return .error("SVC4004", ["application/json"])
        }
        if let accept, !accept.contains("application/json"), !accept.contains("*/*") {
            return .error("SVC4002", [accept])
        }
        guard hasContentLength else { return .error("SVC4007") }
        return nil
    }

    /// The first value of `name`, without joining repeated fields.
    static func first(_ name: HTTPField.Name, in fields: HTTPFields) -> String? {
        for field in fields where field.name == name { return field.value }
        return nil
    }

    /// The token of `Authorization: Bearer <token>`, if any.
    static func bearerToken(_ fields: HTTPFields) -> String? {
        bearerToken(authorization: first(.authorization, in: fields))
    }

    /// The token of an `Authorization` value `Bearer <token>`, if it is one.
    static func bearerToken(authorization: String?) -> String? {
        // On UTF-8 bytes (per signing request): "Bearer" in any case, one space, the token without surrounding blanks.
        guard let authorization else { return nil }
        let utf8 = authorization.utf8
        guard utf8.count > 7, utf8.prefix(6).elementsEqual("bearer".utf8, by: { $0 | 0x20 == $1 }),
            utf8[utf8.index(utf8.startIndex, offsetBy: 6)] == UInt8(ascii: " ")
        else { return nil }
        return String(Substring(authorization)[utf8.index(utf8.startIndex, offsetBy: 7)...].trimmingSpacesAndTabs())
    }
}

public import Callsign

/// An API answer independent of the HTTP framework: status and JSON body.
public struct APIResponse: Error, Sendable {
    public var status: Int

    private enum Storage: Sendable {
        case object(JSONObject)
        /// A `signingResponse` (ATIS-1000082 §5.2.2), kept as its three values:
        /// every signing answers one, written without building a JSON tree.
        case signing(identity: String, attest: String, origid: String)
    }

    private var storage: Storage

    /// The JSON body.
    public var body: JSONObject {
        get {
            switch storage {
            case .object(let object): return object
            case .signing(let identity, let attest, let origid):
                return JSONObject([
                    "signingResponse": .object(JSONObject([
                        "attest": .string(attest), "identity": .string(identity), "origid": .string(origid),
                    ])),
                ])
            }
        }
        set { storage = .object(newValue) }
    }

    public init(status: Int, body: JSONObject) {
        self.status = status
        storage = .object(body)
    }

    /// The 200 `signingResponse` of ATIS-1000082 §5.2.2: the Identity header value, attestation and origid.
    public static func signed(identity: String, attest: String, origid: String) -> APIResponse {
        var response = APIResponse(status: 200, body: JSONObject())
        response.storage = .signing(identity: identity, attest: attest, origid: origid)
        return response
    }

    /// The body as sent: deterministic JSON (RFC 8225 §9 key order) and a newline.
    public var encodedBody: [UInt8] {
        var bytes: [UInt8]
        switch storage {
        case .object(let object):
            bytes = JSONWriter.canonical(.object(object))
        case .signing(let identity, let attest, let origid):
            // The bytes JSONWriter.canonical writes for `body`, written directly.
            bytes = []
            bytes.reserveCapacity(64 + identity.utf8.count + origid.utf8.count)
            bytes.append(contentsOf: #"{"signingResponse":{"attest":"#.utf8)
            JSONWriter.writeString(attest, into: &bytes)
            bytes.append(contentsOf: #","identity":"#.utf8)
            JSONWriter.writeString(identity, into: &bytes)
            bytes.append(contentsOf: #","origid":"#.utf8)
            JSONWriter.writeString(origid, into: &bytes)
            bytes.append(contentsOf: "}}".utf8)
        }
        bytes.append(0x0A)
        return bytes
    }

    /// The ATIS-1000082 message ids: HTTP status and text (POL4001 is Callsign's
    /// addition for unauthenticated signing).
    public static let messages: [String: (Int, String)] = [
        "SVC4000": (400, "Missing request body"),
        "SVC4001": (400, "Missing mandatory parameter \u{2018}%1\u{2019}"),
        "SVC4002": (406, "Requested response body type \u{2018}%1\u{2019} is not supported"),
        "SVC4003": (404, "Requested resource was not found"),
        "SVC4004": (415, "Unsupported request body type, expected \u{2018}%1\u{2018}"),
        "SVC4005": (400, "Invalid \u{2018}%1\u{2019} parameter value: %2"),
        "SVC4006": (400, "Failed to parse received message body: %1"),
        "SVC4007": (411, "Missing mandatory Content-Length header"),
        "POL4001": (401, "Authentication required: %1"),
        "POL4003": (403, "Signing refused by policy: %1"),
        "POL4050": (405, "Method not allowed"),
        "POL5000": (500, "Internal Server Error. Please try again later"),
        "SVC5030": (503, "Service Unavailable: too many requests in progress; retry after %1 s"),
    ]

    /// The error envelope for a message id, with its standard status and text.
    public static func error(_ id: String, _ variables: [String] = [], status: Int? = nil) -> APIResponse {
        let (defaultStatus, text) = messages[id] ?? (500, "Internal Server Error. Please try again later")
        return error(id, status ?? defaultStatus, text, variables)
    }

    /// The ATIS-1000082 error envelope (`requestError` with a
    /// `serviceException` for SVC ids, `policyException` for POL ids).
    public static func error(_ id: String, _ status: Int, _ text: String, _ variables: [String] = []) -> APIResponse {
        let kind = id.hasPrefix("POL") ? "policyException" : "serviceException"
        return APIResponse(status: status, body: JSONObject([
            "requestError": .object(JSONObject([
                kind: .object(JSONObject([
                    "messageId": .string(id),
                    "text": .string(text),
                    "variables": .array(variables.map { .string($0) }),
                ])),
            ])),
        ]))
    }

    static func missing(_ name: String) -> APIResponse { error("SVC4001", [name]) }
    static func invalid(_ name: String, _ why: String) -> APIResponse { error("SVC4005", [name, why]) }
}

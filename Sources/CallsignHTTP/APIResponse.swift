public import Callsign

/// An API answer independent of the HTTP framework: status and JSON body.
public struct APIResponse: Error, Sendable {
    public var status: Int

    private enum Storage: Sendable {
        case object(JSONObject)
        /// A `signingResponse` (ATIS-1000082 §5.2.2), kept as its three values:
        /// every signing answers one, written without building a JSON tree.
        case signing(identity: String, attest: String, origid: String)
        /// A `verificationResponse` (ATIS-1000082 §5.3.2), kept as its values:
        /// every verification answers one, written without building a JSON tree.
        case verification(VerificationAnswer)
    }

    /// The values of a `verificationResponse` (ATIS-1000082 §5.3.2) and
    /// Callsign's `policy` member: what ``encodedBody`` writes directly, in
    /// the key order of RFC 8225 §9, and ``body`` as a JSON tree.
    public struct VerificationAnswer: Sendable {
        public var verstat: String
        public var attest: String?
        public var origid: String?
        /// Rich Call Data (RFC 9795): `rcd` with `nam` / `crn` when either is present.
        public var displayName: String?
        public var callReason: String?
        public var diversions: Int?
        public var policy: PolicyDecision
        /// `reasoncode`, `reasontext`, `reasondesc`, for a failed verification.
        public var error: (code: Int, text: String, description: String)?

        public init(verstat: String, attest: String? = nil, origid: String? = nil, displayName: String? = nil,
                    callReason: String? = nil, diversions: Int? = nil, policy: PolicyDecision,
                    error: (code: Int, text: String, description: String)? = nil)
        {
            self.verstat = verstat
            self.attest = attest
            self.origid = origid
            self.displayName = displayName
            self.callReason = callReason
            self.diversions = diversions
            self.policy = policy
            self.error = error
        }

        /// The answer as a JSON tree.
        var json: JSONObject {
            var response = JSONObject(["verstat": .string(verstat)])
            if let attest { response["attest"] = .string(attest) }
            if let origid { response["origid"] = .string(origid) }
            if displayName != nil || callReason != nil {
                var rcd = JSONObject()
                if let displayName { rcd["nam"] = .string(displayName) }
                if let callReason { rcd["crn"] = .string(callReason) }
                response["rcd"] = .object(rcd)
            }
            if let diversions { response["diversions"] = .integer(Int64(diversions)) }
            var result = JSONObject(["action": .string(policy.action.rawValue)])
            if let rule = policy.rule { result["rule"] = .string(rule) }
            if let reason = policy.reason { result["reason"] = .string(reason) }
            if let status = policy.sipStatus { result["sipcode"] = .integer(Int64(status)) }
            if !policy.tags.isEmpty { result["tags"] = .array(policy.tags.map { .string($0) }) }
            response["policy"] = .object(result)
            if let error {
                response["reasoncode"] = .integer(Int64(error.code))
                response["reasontext"] = .string(error.text)
                response["reasondesc"] = .string(error.description)
            }
            return JSONObject(["verificationResponse": .object(response)])
        }

        /// The bytes `JSONWriter.canonical` writes for ``json``, written
        /// directly (members in code-point order of their keys).
        func write(into bytes: inout [UInt8]) {
            bytes.reserveCapacity(160 + verstat.utf8.count + (origid?.utf8.count ?? 0))
            bytes.append(contentsOf: #"{"verificationResponse":{"#.utf8)
            var first = true
            func key(_ name: StaticString) {
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                bytes.append(UInt8(ascii: "\""))
                name.withUTF8Buffer { bytes.append(contentsOf: $0) }
                bytes.append(contentsOf: #"":"#.utf8)
            }
            if let attest { key("attest"); JSONWriter.writeString(attest, into: &bytes) }
            if let diversions { key("diversions"); bytes.append(contentsOf: String(diversions).utf8) }
            if let origid { key("origid"); JSONWriter.writeString(origid, into: &bytes) }
            key("policy")
            bytes.append(contentsOf: #"{"action":"#.utf8)
            JSONWriter.writeString(policy.action.rawValue, into: &bytes)
            if let reason = policy.reason { bytes.append(contentsOf: #","reason":"#.utf8); JSONWriter.writeString(reason, into: &bytes) }
            if let rule = policy.rule { bytes.append(contentsOf: #","rule":"#.utf8); JSONWriter.writeString(rule, into: &bytes) }
            if let status = policy.sipStatus { bytes.append(contentsOf: #","sipcode":"#.utf8); bytes.append(contentsOf: String(status).utf8) }
            if !policy.tags.isEmpty {
                bytes.append(contentsOf: #","tags":["#.utf8)
                for (index, tag) in policy.tags.enumerated() {
                    if index > 0 { bytes.append(UInt8(ascii: ",")) }
                    JSONWriter.writeString(tag, into: &bytes)
                }
                bytes.append(UInt8(ascii: "]"))
            }
            bytes.append(UInt8(ascii: "}"))
            if displayName != nil || callReason != nil {
                key("rcd")
                bytes.append(UInt8(ascii: "{"))
                if let callReason { bytes.append(contentsOf: #""crn":"#.utf8); JSONWriter.writeString(callReason, into: &bytes) }
                if let displayName {
                    if callReason != nil { bytes.append(UInt8(ascii: ",")) }
                    bytes.append(contentsOf: #""nam":"#.utf8)
                    JSONWriter.writeString(displayName, into: &bytes)
                }
                bytes.append(UInt8(ascii: "}"))
            }
            if let error {
                key("reasoncode"); bytes.append(contentsOf: String(error.code).utf8)
                key("reasondesc"); JSONWriter.writeString(error.description, into: &bytes)
                key("reasontext"); JSONWriter.writeString(error.text, into: &bytes)
            }
            key("verstat")
            JSONWriter.writeString(verstat, into: &bytes)
            bytes.append(contentsOf: "}}".utf8)
        }
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
            case .verification(let answer):
                return answer.json
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

    /// The 200 `verificationResponse` of ATIS-1000082 §5.3.2, with Callsign's `policy`.
    public static func verified(_ answer: VerificationAnswer) -> APIResponse {
        var response = APIResponse(status: 200, body: JSONObject())
        response.storage = .verification(answer)
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
        case .verification(let answer):
            bytes = []
            answer.write(into: &bytes)
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

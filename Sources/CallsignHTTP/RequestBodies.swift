import Callsign

/// The members of a `signingRequest` (ATIS-1000082 §5.2.1), each with the
/// refusal its presence or JSON type earns. ``STIService`` checks their
/// values in member order, so a request gets the same answer whether it was
/// read by ``scan(_:)`` or from a ``JSONParser`` tree.
struct SigningFields {
    var attest: Result<String, APIResponse>
    /// `dest.tn`: the elements, `nil` where one is not a string.
    var dest: Result<[String?], APIResponse>
    var iat: Result<Int64, APIResponse>
    /// `orig.tn`.
    var orig: Result<String, APIResponse>
    var origid: Result<String, APIResponse>

    /// From the `signingRequest` object of a parsed body.
    init(_ request: JSONObject) {
        if let value = request["attest"] {
            attest = value.stringValue.map { .success($0) } ?? .failure(.invalid("attest", "Must be 'A', 'B' or 'C'"))
        } else {
            attest = .failure(.missing("attest"))
        }
        if let value = request["dest"] {
            if let object = value.objectValue {
                if let tn = object["tn"] {
                    dest = tn.arrayValue.map { .success($0.map(\.stringValue)) } ?? .failure(.invalid("dest.tn", "Must be an array"))
                } else {
                    dest = .failure(.missing("dest.tn"))
                }
            } else {
                dest = .failure(.invalid("dest", "Must be an object"))
            }
        } else {
            dest = .failure(.missing("dest"))
        }
        if let value = request["iat"] {
            iat = value.integerValue.map { .success($0) } ?? .failure(.invalid("iat", "Must be an integer (seconds since the epoch)"))
        } else {
            iat = .failure(.missing("iat"))
        }
        if let value = request["orig"] {
            if let object = value.objectValue {
                if let tn = object["tn"] {
                    orig = tn.stringValue.map { .success($0) } ?? .failure(.invalid("orig.tn", "Not a telephone number"))
                } else {
                    orig = .failure(.missing("orig.tn"))
                }
            } else {
                orig = .failure(.invalid("orig", "Must be an object"))
            }
        } else {
            orig = .failure(.missing("orig"))
        }
        if let value = request["origid"] {
            origid = value.stringValue.map { .success($0) } ?? .failure(.invalid("origid", "Must be a UUID"))
        } else {
            origid = .failure(.missing("origid"))
        }
    }

    private init(attest: String, dest: [String], iat: Int64, orig: String, origid: String) {
        self.attest = .success(attest)
        self.dest = .success(dest)
        self.iat = .success(iat)
        self.orig = .success(orig)
        self.origid = .success(origid)
    }

    /// The common body read without a JSON tree: `{"signingRequest":{…}}` with
    /// exactly the five members (any order) of the JSON types the API defines,
    /// `dest.tn` of 1 to 32 strings. `nil` for anything else (another member, a
    /// repeated one, a type the API does not define, what ``JSONScanner`` does
    /// not read): ``STIService`` then parses the body with ``JSONParser``.
    static func scan(_ body: [UInt8]) -> SigningFields? {
        guard body.count <= STIService.maxBodyBytes else { return nil }
        return body.withUnsafeBufferPointer { buffer -> SigningFields? in
            var scanner = JSONScanner(buffer)
            var attest: String?, orig: String?, origid: String?, iat: Int64?, dest: [String]?
            let whole = scanner.wrappedMembers("signingRequest") { scanner, key in
                if key.is("attest") { return JSONScanner.take(&attest, scanner.string()) }
                if key.is("iat") { return JSONScanner.take(&iat, scanner.integer()) }
                if key.is("origid") { return JSONScanner.take(&origid, scanner.string()) }
                if key.is("orig") { return JSONScanner.take(&orig, scanner.tn()) }
                if key.is("dest") { return JSONScanner.take(&dest, scanner.tnList()) }
                return false
            }
            guard whole, let attest, let dest, let iat, let orig, let origid else { return nil }
            return SigningFields(attest: attest, dest: dest, iat: iat, orig: orig, origid: origid)
        }
    }
}

/// The members of a `verificationRequest` (ATIS-1000082 §5.3.1) that the
/// STI-VS reads.
struct VerificationFields {
    var from: String
    var to: String
    var time: Int64
    var identity: String

    /// The common body read without a JSON tree: `{"verificationRequest":{…}}`
    /// with exactly `from`, `to`, `time` and `identity` (any order), `from.tn` a
    /// string, `to.tn` 1 to 32 strings. `nil` for anything else:
    /// ``STIService/parseVerificationRequest(_:)`` then parses it with ``JSONParser``.
    static func scan(_ body: [UInt8]) -> VerificationFields? {
        guard body.count <= STIService.maxBodyBytes else { return nil }
        return body.withUnsafeBufferPointer { buffer -> VerificationFields? in
            var scanner = JSONScanner(buffer)
            var from: String?, to: String?, time: Int64?, identity: String?
            let whole = scanner.wrappedMembers("verificationRequest") { scanner, key in
                if key.is("identity") { return JSONScanner.take(&identity, scanner.string()) }
                if key.is("time") { return JSONScanner.take(&time, scanner.integer()) }
                if key.is("from") { return JSONScanner.take(&from, scanner.tn()) }
                if key.is("to") { return JSONScanner.take(&to, scanner.tnList()?.first) }
                return false
            }
            guard whole, let from, let to, let time, let identity else { return nil }
            return VerificationFields(from: from, to: to, time: time, identity: identity)
        }
    }
}

/// The shape ATIS-1000082 request bodies share, for ``JSONScanner``.
extension JSONScanner {
    /// `{"name":{…}}` and the end of the document: the inner object's members
    /// read by ``JSONScanner/members(_:)``.
    mutating func wrappedMembers(_ name: StaticString, _ read: (inout JSONScanner, Key) -> Bool) -> Bool {
        guard consume(UInt8(ascii: "{")), key()?.is(name) == true, members(read) else { return false }
        return consume(UInt8(ascii: "}")) && isAtEnd()
    }
}

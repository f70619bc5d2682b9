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
            guard scanner.consume(UInt8(ascii: "{")), scanner.key()?.is("signingRequest") == true,
                  scanner.consume(UInt8(ascii: "{"))
            else { return nil }
            var attest: String?, orig: String?, origid: String?, iat: Int64?, dest: [String]?
            var more = true
            while more {
                guard let key = scanner.key() else { return nil }
                if key.is("attest"), attest == nil {
                    attest = scanner.string()
                    if attest == nil { return nil }
                } else if key.is("iat"), iat == nil {
                    iat = scanner.integer()
                    if iat == nil { return nil }
                } else if key.is("origid"), origid == nil {
                    origid = scanner.string()
                    if origid == nil { return nil }
                } else if key.is("orig"), orig == nil {
                    guard scanner.consume(UInt8(ascii: "{")), scanner.key()?.is("tn") == true, let tn = scanner.string(),
                          scanner.consume(UInt8(ascii: "}"))
                    else { return nil }
                    orig = tn
                } else if key.is("dest"), dest == nil {
                    guard scanner.consume(UInt8(ascii: "{")), scanner.key()?.is("tn") == true, scanner.consume(UInt8(ascii: "["))
                    else { return nil }
                    var numbers: [String] = []
                    var element = true
                    while element {
                        guard numbers.count < 32, let tn = scanner.string() else { return nil }
                        numbers.append(tn)
                        guard let another = scanner.next(closing: UInt8(ascii: "]")) else { return nil }
                        element = another
                    }
                    guard scanner.consume(UInt8(ascii: "}")) else { return nil }
                    dest = numbers
                } else {
                    return nil
                }
                guard let another = scanner.next(closing: UInt8(ascii: "}")) else { return nil }
                more = another
            }
            guard scanner.consume(UInt8(ascii: "}")), scanner.isAtEnd(),
                  let attest, let dest, let iat, let orig, let origid
            else { return nil }
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
            guard scanner.consume(UInt8(ascii: "{")), scanner.key()?.is("verificationRequest") == true,
                  scanner.consume(UInt8(ascii: "{"))
            else { return nil }
            var from: String?, to: String?, time: Int64?, identity: String?
            var more = true
            while more {
                guard let key = scanner.key() else { return nil }
                if key.is("identity"), identity == nil {
                    identity = scanner.string()
                    if identity == nil { return nil }
                } else if key.is("time"), time == nil {
                    time = scanner.integer()
                    if time == nil { return nil }
                } else if key.is("from"), from == nil {
                    guard scanner.consume(UInt8(ascii: "{")), scanner.key()?.is("tn") == true, let tn = scanner.string(),
                          scanner.consume(UInt8(ascii: "}"))
                    else { return nil }
                    from = tn
                } else if key.is("to"), to == nil {
                    guard scanner.consume(UInt8(ascii: "{")), scanner.key()?.is("tn") == true, scanner.consume(UInt8(ascii: "["))
                    else { return nil }
                    var count = 0
                    var element = true
                    while element {
                        guard count < 32, let tn = scanner.string() else { return nil }
                        if count == 0 { to = tn }
                        count += 1
                        guard let another = scanner.next(closing: UInt8(ascii: "]")) else { return nil }
                        element = another
                    }
                    guard scanner.consume(UInt8(ascii: "}")) else { return nil }
                } else {
                    return nil
                }
                guard let another = scanner.next(closing: UInt8(ascii: "}")) else { return nil }
                more = another
            }
            guard scanner.consume(UInt8(ascii: "}")), scanner.isAtEnd(),
                  let from, let to, let time, let identity
            else { return nil }
            return VerificationFields(from: from, to: to, time: time, identity: identity)
        }
    }
}

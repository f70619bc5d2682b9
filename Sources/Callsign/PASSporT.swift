/// A Personal Assertion Token (PASSporT, RFC 8225): the JOSE header and the
/// claims, before signing or after decoding.
///
/// Typed fields cover RFC 8225 (`orig`, `dest`, `iat`, `mky`), RFC 8588
/// SHAKEN (`attest`, `origid`), RFC 8946 diversion (`div`, `opt`) and
/// RFC 9795 Rich Call Data (`rcd`, `crn`, `rcdi`). Every other header
/// parameter and claim is kept in ``Header/additional`` and
/// ``Claims/additional`` so nothing received is lost.
public struct PASSporT: Sendable, Hashable {
    public var header: Header
    public var claims: Claims

    public init(header: Header, claims: Claims) {
        self.header = header
        self.claims = claims
    }

    /// The PASSporT extension (`ppt`) values Callsign knows (IANA "PASSporT Extensions").
    public enum Extension {
        /// RFC 8588.
        public static let shaken = "shaken"
        /// RFC 8946 §4.
        public static let div = "div"
        /// RFC 8946 §5.
        public static let divO = "div-o"
        /// RFC 9795.
        public static let rcd = "rcd"
    }

    /// The JOSE header (RFC 8225 §4, RFC 8588 §3).
    public struct Header: Sendable, Hashable {
        /// JWS algorithm; PASSporTs used by SHAKEN are `ES256` (RFC 7518 §3.4).
        public var alg: String
        /// Always `passport` (RFC 8225 §4.1).
        public var typ: String?
        /// The PASSporT extension, e.g. `shaken` (RFC 8225 §8.1).
        public var ppt: String?
        /// URL of the signer's certificate chain (RFC 7515 §4.1.5).
        public var x5u: String?
        /// Header parameters not listed above, as received.
        public var additional: JSONObject

        public init(alg: String = "ES256", typ: String? = "passport", ppt: String? = nil, x5u: String? = nil,
                    additional: JSONObject = JSONObject()) {
            self.alg = alg
            self.typ = typ
            self.ppt = ppt
            self.x5u = x5u
            self.additional = additional
        }

        /// A SHAKEN header: `{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":…}` (RFC 8588 §3).
        public static func shaken(x5u: String) -> Header {
            Header(alg: "ES256", typ: "passport", ppt: Extension.shaken, x5u: x5u)
        }
    }

    /// The calling or diverting party: exactly one of a telephone number or a
    /// URI (RFC 8225 §5.2.1).
    public enum Party: Sendable, Hashable {
        /// A canonical telephone number (RFC 8224 §8.3): digits, `*`, `#`.
        case tn(String)
        case uri(String)

        /// The number, when this is a telephone number.
        public var tn: String? {
            if case .tn(let value) = self { return value }
            return nil
        }
    }

    /// The called parties (RFC 8225 §5.2.1): arrays of numbers and URIs.
    public struct Destination: Sendable, Hashable {
        public var tn: [String]
        public var uri: [String]

        public init(tn: [String] = [], uri: [String] = []) {
            self.tn = tn
            self.uri = uri
        }
    }

    /// SHAKEN attestation level (RFC 8588 §4, ATIS-1000074 §5.2.3).
    public enum Attestation: String, Sendable, Hashable, CaseIterable, Comparable {
        /// Full: the signer knows the customer and that it may use the number.
        case full = "A"
        /// Partial: the signer knows the customer, not its right to the number.
        case partial = "B"
        /// Gateway: the signer only let the call in.
        case gateway = "C"

        /// A is the strongest; `B < A`, `C < B`.
        public static func < (lhs: Attestation, rhs: Attestation) -> Bool {
            lhs.rawValue > rhs.rawValue
        }
    }

    /// Rich Call Data (`rcd` claim, RFC 9795 §6).
    public struct RichCallData: Sendable, Hashable {
        /// Display name.
        public var nam: String?
        /// Other members (`apn`, `icn`, `jcd`, `jcl`, …), as received.
        public var additional: JSONObject

        public init(nam: String? = nil, additional: JSONObject = JSONObject()) {
            self.nam = nam
            self.additional = additional
        }
    }

    /// The claims set (RFC 8225 §5).
    public struct Claims: Sendable, Hashable {
        /// SHAKEN attestation as received (`A`, `B`, `C`; see ``attestation``).
        public var attest: String?
        public var dest: Destination
        /// Issued-at time, seconds since the epoch (JWT NumericDate).
        public var iat: Int64
        public var orig: Party
        /// SHAKEN origination identifier, a UUID (RFC 8588 §5).
        public var origid: String?
        /// Diverting party (RFC 8946 §4), in `div` PASSporTs.
        public var div: Party?
        /// Other members of the `div` object (e.g. `hi`), as received.
        public var divAdditional: JSONObject
        /// Rich Call Data (RFC 9795).
        public var rcd: RichCallData?
        /// Call reason (RFC 9795 §6.2).
        public var crn: String?
        /// RCD integrity digests: JSON pointer → `sha256-…` (RFC 9795 §6.3).
        public var rcdi: [String: String]?
        /// Claims not listed above, as received (e.g. `mky`, `opt`).
        public var additional: JSONObject

        public init(attest: String? = nil, dest: Destination, iat: Int64, orig: Party, origid: String? = nil,
                    div: Party? = nil, divAdditional: JSONObject = JSONObject(), rcd: RichCallData? = nil,
                    crn: String? = nil, rcdi: [String: String]? = nil, additional: JSONObject = JSONObject()) {
            self.attest = attest
            self.dest = dest
            self.iat = iat
            self.orig = orig
            self.origid = origid
            self.div = div
            self.divAdditional = divAdditional
            self.rcd = rcd
            self.crn = crn
            self.rcdi = rcdi
            self.additional = additional
        }

        /// The attestation level, if `attest` is one of `A`, `B`, `C`.
        public var attestation: Attestation? { attest.flatMap(Attestation.init(rawValue:)) }
    }
}

// MARK: - JSON mapping

extension PASSporT.Header {
    /// The header as a JSON object.
    public var json: JSONObject {
        var object = additional
        object["alg"] = .string(alg)
        if let typ { object["typ"] = .string(typ) }
        if let ppt { object["ppt"] = .string(ppt) }
        if let x5u { object["x5u"] = .string(x5u) }
        return object
    }

    /// Reads a header object. Only types are checked here; values are checked
    /// by ``SignedPASSporT/init(compact:limits:)`` and the verifier.
    /// - Throws: ``VerificationError`` (`malformedPASSporT`, `unsupportedAlgorithm`).
    public init(json object: JSONObject) throws(VerificationError) {
        var rest = object
        guard let algValue = rest.removeValue(forKey: "alg") else {
            throw VerificationError(.unsupportedAlgorithm, "PASSporT header has no alg")
        }
        guard let alg = algValue.stringValue else {
            throw VerificationError(.unsupportedAlgorithm, "PASSporT header alg is not a string")
        }
        func optionalString(_ key: String) throws(VerificationError) -> String? {
            guard let value = rest.removeValue(forKey: key) else { return nil }
            guard let string = value.stringValue else {
                throw VerificationError(.malformedPASSporT, "PASSporT header \(key) is a \(value.typeName), not a string")
            }
            return string
        }
        let typ = try optionalString("typ")
        let ppt = try optionalString("ppt")
        let x5u = try optionalString("x5u")
        self.init(alg: alg, typ: typ, ppt: ppt, x5u: x5u, additional: rest)
    }
}

extension PASSporT.Party {
    var json: JSONObject {
        switch self {
        case .tn(let tn): JSONObject(["tn": .string(tn)])
        case .uri(let uri): JSONObject(["uri": .string(uri)])
        }
    }

    /// Reads `{"tn": "…"}` or `{"uri": "…"}`; exactly one key (RFC 8225 §5.2.1).
    /// Extra members are returned in `rest` for claims that allow them (`div`).
    static func parse(_ value: JSONValue, claim: String, allowExtra: Bool) throws(VerificationError)
        -> (PASSporT.Party, JSONObject)
    {
        guard var object = value.objectValue else {
            throw VerificationError(.invalidClaim, "\(claim) is a \(value.typeName), not an object")
        }
        let tn = object.removeValue(forKey: "tn")
        let uri = object.removeValue(forKey: "uri")
        if !allowExtra, !object.isEmpty {
            throw VerificationError(.invalidClaim, "\(claim) has members other than tn or uri")
        }
        switch (tn, uri) {
        case (let tn?, nil):
            guard let s = tn.stringValue, !s.isEmpty else {
                throw VerificationError(.invalidClaim, "\(claim).tn is not a non-empty string")
            }
            return (.tn(s), object)
        case (nil, let uri?):
            guard let s = uri.stringValue, !s.isEmpty else {
                throw VerificationError(.invalidClaim, "\(claim).uri is not a non-empty string")
            }
            return (.uri(s), object)
        case (nil, nil):
            throw VerificationError(.invalidClaim, "\(claim) has neither tn nor uri")
        default:
            throw VerificationError(.invalidClaim, "\(claim) has both tn and uri")
        }
    }
}

extension PASSporT.Claims {
    /// The claims as a JSON object.
    public var json: JSONObject {
        var object = additional
        if let attest { object["attest"] = .string(attest) }
        var dest = JSONObject()
        if !self.dest.tn.isEmpty { dest["tn"] = .array(self.dest.tn.map { .string($0) }) }
        if !self.dest.uri.isEmpty { dest["uri"] = .array(self.dest.uri.map { .string($0) }) }
        object["dest"] = .object(dest)
        object["iat"] = .integer(iat)
        object["orig"] = .object(orig.json)
        if let origid { object["origid"] = .string(origid) }
        if let div {
            var divObject = divAdditional
            for member in div.json.members { divObject[member.key] = member.value }
            object["div"] = .object(divObject)
        }
        if let rcd {
            var rcdObject = rcd.additional
            if let nam = rcd.nam { rcdObject["nam"] = .string(nam) }
            object["rcd"] = .object(rcdObject)
        }
        if let crn { object["crn"] = .string(crn) }
        if let rcdi {
            var rcdiObject = JSONObject()
            for key in rcdi.keys.sorted() { rcdiObject[key] = rcdi[key].map { .string($0) } }
            object["rcdi"] = .object(rcdiObject)
        }
        return object
    }

    /// Reads a claims object, checking the types of every claim Callsign
    /// knows and that the RFC 8225 required claims (`iat`, `orig`, `dest`)
    /// are present. SHAKEN-specific rules (`attest`, `origid`) are checked
    /// by the verifier, so `decode` can show a token that breaks them.
    /// - Throws: ``VerificationError`` with `missingClaim` or `invalidClaim`.
    public init(json object: JSONObject) throws(VerificationError) {
        var rest = object
        func take(_ key: String) -> JSONValue? { rest.removeValue(forKey: key) }
        func optionalString(_ key: String) throws(VerificationError) -> String? {
            guard let value = take(key) else { return nil }
            guard let s = value.stringValue else {
                throw VerificationError(.invalidClaim, "\(key) is a \(value.typeName), not a string")
            }
            return s
        }
        // iat: a JSON integer (RFC 8225 §5.1.1; errata 5985 / 6656: not a string).
        guard let iatValue = take("iat") else { throw VerificationError(.missingClaim, "iat claim missing") }
        guard let iat = iatValue.integerValue else {
            throw VerificationError(.invalidClaim, "iat is a \(iatValue.typeName), not an integer")
        }
        guard EpochTime.isValid(iat) else {
            throw VerificationError(.invalidClaim, "iat is outside 1970–9999 (\(EpochTime.validRange))")
        }
        guard let origValue = take("orig") else { throw VerificationError(.missingClaim, "orig claim missing") }
        let (orig, _) = try PASSporT.Party.parse(origValue, claim: "orig", allowExtra: false)
        guard let destValue = take("dest") else { throw VerificationError(.missingClaim, "dest claim missing") }
        guard var destObject = destValue.objectValue else {
            throw VerificationError(.invalidClaim, "dest is a \(destValue.typeName), not an object")
        }
        func stringArray(_ key: String) throws(VerificationError) -> [String] {
            guard let value = destObject.removeValue(forKey: key) else { return [] }
            guard let array = value.arrayValue else {
                throw VerificationError(.invalidClaim, "dest.\(key) is a \(value.typeName), not an array")
            }
            var strings: [String] = []
            for element in array {
                guard let s = element.stringValue, !s.isEmpty else {
                    throw VerificationError(.invalidClaim, "dest.\(key) holds a non-string or empty value")
                }
                strings.append(s)
            }
            return strings
        }
        let dest = PASSporT.Destination(tn: try stringArray("tn"), uri: try stringArray("uri"))
        if dest.tn.isEmpty && dest.uri.isEmpty {
            throw VerificationError(.invalidClaim, "dest has no tn or uri")
        }
        let attest = try optionalString("attest")
        let origid = try optionalString("origid")
        var div: PASSporT.Party?
        var divAdditional = JSONObject()
        if let divValue = take("div") {
            (div, divAdditional) = try PASSporT.Party.parse(divValue, claim: "div", allowExtra: true)
        }
        var rcd: PASSporT.RichCallData?
        if let rcdValue = take("rcd") {
            guard var rcdObject = rcdValue.objectValue else {
                throw VerificationError(.invalidClaim, "rcd is a \(rcdValue.typeName), not an object")
            }
            var nam: String?
            if let namValue = rcdObject["nam"] {
                guard let s = namValue.stringValue else { throw VerificationError(.invalidClaim, "rcd.nam is not a string") }
                nam = s
                rcdObject["nam"] = nil
            }
            rcd = PASSporT.RichCallData(nam: nam, additional: rcdObject)
        }
        let crn = try optionalString("crn")
        var rcdi: [String: String]?
        if let rcdiValue = take("rcdi") {
            guard let rcdiObject = rcdiValue.objectValue else {
                throw VerificationError(.invalidClaim, "rcdi is a \(rcdiValue.typeName), not an object")
            }
            var map: [String: String] = [:]
            for member in rcdiObject.members {
                guard let digest = member.value.stringValue else {
                    throw VerificationError(.invalidClaim, "rcdi values must be strings")
                }
                map[member.key] = digest
            }
            rcdi = map
        }
        self.init(attest: attest, dest: dest, iat: iat, orig: orig, origid: origid, div: div,
                  divAdditional: divAdditional, rcd: rcd, crn: crn, rcdi: rcdi, additional: rest)
    }
}

extension PASSporT.Header {
    /// The common header read without a JSON tree: `alg` and any of `typ`,
    /// `ppt`, `x5u`, all strings, nothing else. `nil` for anything else (or
    /// what ``JSONScanner`` does not read): ``init(json:)`` then decides.
    static func scan(_ bytes: [UInt8], limits: JSONLimits) -> PASSporT.Header? {
        guard bytes.count <= limits.maxBytes, limits.maxDepth >= 1, limits.maxContainerCount >= 4 else { return nil }
        return bytes.withUnsafeBufferPointer { buffer -> PASSporT.Header? in
            var scanner = JSONScanner(buffer)
            var alg: String?, typ: String?, ppt: String?, x5u: String?
            let whole = scanner.members { scanner, key in
                if key.is("alg") { return JSONScanner.take(&alg, scanner.string()) }
                if key.is("typ") { return JSONScanner.take(&typ, scanner.string()) }
                if key.is("ppt") { return JSONScanner.take(&ppt, scanner.string()) }
                if key.is("x5u") { return JSONScanner.take(&x5u, scanner.string()) }
                return false
            }
            guard whole, scanner.isAtEnd(), let alg else { return nil }
            return PASSporT.Header(alg: alg, typ: typ, ppt: ppt, x5u: x5u, additional: JSONObject())
        }
    }
}

extension PASSporT.Claims {
    /// The common SHAKEN claims read without a JSON tree: `iat` (a
    /// non-negative integer), `orig` `{"tn": …}`, `dest` `{"tn": [1–32]}` with
    /// non-empty numbers, and optionally `attest` and `origid` strings, nothing
    /// else. `nil` for anything else (or what ``JSONScanner`` does not read):
    /// ``init(json:)`` then decides, with its errors.
    static func scan(_ bytes: [UInt8], limits: JSONLimits) -> PASSporT.Claims? {
        guard bytes.count <= limits.maxBytes, limits.maxDepth >= 3, limits.maxContainerCount >= 5 else { return nil }
        return bytes.withUnsafeBufferPointer { buffer -> PASSporT.Claims? in
            var scanner = JSONScanner(buffer)
            var attest: String?, origid: String?, iat: Int64?, orig: String?, dest: [String]?
            let whole = scanner.members { scanner, key in
                if key.is("attest") { return JSONScanner.take(&attest, scanner.string()) }
                if key.is("dest") { return JSONScanner.take(&dest, scanner.tnList(max: min(32, limits.maxContainerCount))) }
                if key.is("iat") { return JSONScanner.take(&iat, scanner.integer()) }
                if key.is("orig") { return JSONScanner.take(&orig, scanner.tn()) }
                if key.is("origid") { return JSONScanner.take(&origid, scanner.string()) }
                return false
            }
            guard whole, scanner.isAtEnd(), let iat, EpochTime.isValid(iat), let orig, !orig.isEmpty, let dest,
                  !dest.contains(where: \.isEmpty)
            else { return nil }
            return PASSporT.Claims(attest: attest, dest: PASSporT.Destination(tn: dest), iat: iat, orig: .tn(orig), origid: origid)
        }
    }
}

/// Reads a policy from JSON (the `policy` object of `callsign serve`'s
/// configuration file) and DNO lists from CSV.
public enum PolicyConfiguration {
    /// `{"rules": ["do-not-originate", {"national-number-from-abroad": {"country": "44", "allow_roaming_mobile": true,
    ///   "action": "block"}}, …]}` — rule names as in ``PolicyRule/name``; `action` is `block`, `tag` or `allow`.
    public static func rules(_ value: JSONValue) throws(CallsignError) -> [PolicyRule] {
        guard let items = value.objectValue?["rules"]?.arrayValue else { throw CallsignError(.policyConfiguration, "policy needs a 'rules' array") }
        var rules: [PolicyRule] = []
        for (index, item) in items.enumerated() {
            let name: String
            var options = JSONObject()
            if let text = item.stringValue {
                name = text
            } else if let object = item.objectValue, object.count == 1, let member = object.members.first, let inner = member.value.objectValue {
                name = member.key
                options = inner
            } else {
                throw CallsignError(.policyConfiguration, "policy.rules[\(index)] must be a rule name or {name: {options}}")
            }
            let actionText = options["action"]?.stringValue
            guard actionText == nil || PolicyAction(rawValue: actionText!) != nil else {
                throw CallsignError(.policyConfiguration, "policy.rules[\(index)].action must be block, tag or allow")
            }
            let action = actionText.flatMap(PolicyAction.init(rawValue:))
            func country() throws(CallsignError) -> String {
                guard let c = options["country"]?.stringValue, !c.isEmpty, c.allSatisfy(\.isNumber) else {
                    throw CallsignError(.policyConfiguration, "policy.rules[\(index)] needs a numeric 'country'")
                }
                return c
            }
            switch name {
            case "do-not-originate": rules.append(.doNotOriginate(action: action ?? .block))
            case "invalid-number": rules.append(.invalidNumber(action: action ?? .block))
            case "national-number-from-abroad":
                let roaming: Bool
                if case .bool(let b)? = options["allow_roaming_mobile"] { roaming = b } else { roaming = true }
                rules.append(.nationalNumberFromAbroad(countryCode: try country(), allowRoamingMobile: roaming, action: action ?? .block))
            case "unauthenticated-national-number":
                rules.append(.unauthenticatedNationalNumber(countryCode: try country(), action: action ?? .block))
            case "verification-failed": rules.append(.verificationFailed(action: action ?? .block))
            case "gateway-attestation": rules.append(.gatewayAttestation(action: action ?? .tag))
            case "protected-number":
                // The action is each entry's (`protected_numbers[].action`).
                guard action == nil else {
                    throw CallsignError(.policyConfiguration, "policy.rules[\(index)]: protected-number takes its action from each protected_numbers entry")
                }
                rules.append(.protectedNumber)
            default: throw CallsignError(.policyConfiguration, "policy.rules[\(index)]: unknown rule '\(name)'")
            }
        }
        return rules
    }

    /// The `protected_numbers` array: `[{"number": "+442079460123" or a prefix ending in `*`, "spc": ["7Q2X"],
    /// "customers": ["bank"], "label": "Example Bank", "action": "block"|"tag"}]`.
    public static func protectedNumbers(_ value: JSONValue) throws(CallsignError) -> ProtectedNumbers {
        guard let items = value.arrayValue else { throw CallsignError(.policyConfiguration, "protected_numbers must be an array") }
        var list = ProtectedNumbers()
        for (index, item) in items.enumerated() {
            let at = "protected_numbers[\(index)]"
            guard let object = item.objectValue else { throw CallsignError(.policyConfiguration, "\(at) must be an object") }
            if let unknown = object.keys.first(where: { !["number", "spc", "customers", "label", "action"].contains($0) }) {
                throw CallsignError(.policyConfiguration, "\(at): unknown key '\(unknown)'")
            }
            guard let number = object["number"]?.stringValue else { throw CallsignError(.policyConfiguration, "\(at) needs a 'number'") }
            let isPrefix = number.hasSuffix("*")
            var digits = isPrefix ? String(number.dropLast()) : number
            if digits.hasPrefix("+") { digits.removeFirst() }
            guard (1...15).contains(digits.utf8.count), digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw CallsignError(.policyConfiguration, "\(at).number must be an E.164 number (+ optional) or a prefix ending in *")
            }
            func strings(_ key: String) throws(CallsignError) -> Set<String> {
                guard let value = object[key] else { return [] }
                guard let array = value.arrayValue, array.allSatisfy({ $0.stringValue != nil }) else {
                    throw CallsignError(.policyConfiguration, "\(at).\(key) must be an array of strings")
                }
                return Set(array.compactMap(\.stringValue))
            }
            let spcs = try strings("spc")
            let actionText = object["action"]?.stringValue ?? "block"
            guard let action = PolicyAction(rawValue: actionText), action != .allow else {
                throw CallsignError(.policyConfiguration, "\(at).action must be block or tag")
            }
            list.add(ProtectedNumber(value: digits, isPrefix: isPrefix, spcs: spcs, customers: try strings("customers"),
                                     label: object["label"]?.stringValue, action: action))
        }
        return list
    }

    /// A DNO list in CSV (see ``DNOEntry/parse(csv:progress:)``) added to `list`;
    /// all or nothing: a bad row fails the whole import with its line number.
    public static func dno(csv text: some StringProtocol, into list: inout DNOList) throws(CallsignError) {
        for entry in try DNOEntry.parse(csv: String(text)) {
            if entry.isPrefix { list.add(prefix: entry.value) } else { list.add(number: entry.value) }
        }
    }
}

/// One Do-Not-Originate entry: a canonical number, or a prefix.
public struct DNOEntry: Sendable, Hashable {
    public var value: String
    public var isPrefix: Bool
    public var label: String?

    public init(value: String, isPrefix: Bool = false, label: String? = nil) {
        self.value = value
        self.isPrefix = isPrefix
        self.label = label
    }

    /// The header names of the number column, and of the label column (compared case-insensitively).
    static let numberColumns: Set<String> = ["number", "tn", "cli"]
    static let labelColumns: Set<String> = ["label", "description"]

    /// Parses a DNO list as lists are published: CSV (RFC 4180 quoting), LF or
    /// CRLF line ends, an optional UTF-8 byte order mark, `#` comments.
    ///
    /// A first row naming a column `number`, `tn` or `cli` is a header: the
    /// numbers come from that column and labels from a `label` or
    /// `description` column. Without a header the first column is the number
    /// and the rest of the row the label. A number may carry `+`, spaces and visual
    /// separators; a trailing `*` makes it a prefix. A bad row throws with its
    /// line number and nothing is returned.
    public static func parse(csv text: String, progress: ((Int) -> Void)? = nil) throws(CallsignError) -> [DNOEntry] {
        var entries: [DNOEntry] = []
        var lineNumber = 0
        var numberColumn = 0
        var labelColumn: Int?
        var hasHeader = false
        var sawRow = false
        var body = Substring(text)
        if body.first == "\u{FEFF}" { body = body.dropFirst() }
        for raw in body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            if lineNumber % 100_000 == 0 { progress?(lineNumber) }
            let line = Self.trimmed(raw)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = Self.fields(of: line)
            if !sawRow {
                sawRow = true
                let names = fields.map { $0.lowercased() }
                if let number = names.firstIndex(where: { numberColumns.contains($0) }) {
                    hasHeader = true
                    numberColumn = number
                    labelColumn = names.firstIndex(where: { labelColumns.contains($0) })
                    continue
                }
            }
            var entry = numberColumn < fields.count ? fields[numberColumn] : ""
            if entry.isEmpty {
                throw CallsignError(.dnoList, "DNO line \(lineNumber): no number in column \(numberColumn + 1)")
            }
            let isPrefix = entry.hasSuffix("*")
            if isPrefix { entry.removeLast() }
            guard let tn = TelephoneNumber.canonicalNumber(entry, policy: .e164), tn.allSatisfy({ $0.isNumber }) else {
                throw CallsignError(.dnoList, "DNO line \(lineNumber): '\(entry.prefix(32))' is not a telephone number")
            }
            // Without a header, everything after the number is the label (it may hold commas).
            let label: String
            if hasHeader {
                label = labelColumn.flatMap { $0 < fields.count ? fields[$0] : nil } ?? ""
            } else if !line.contains("\""), let comma = line.firstIndex(of: ",") {
                label = Self.trimmed(line[line.index(after: comma)...])
            } else {
                label = fields.dropFirst().joined(separator: ",")
            }
            entries.append(DNOEntry(value: tn, isPrefix: isPrefix, label: label.isEmpty ? nil : label))
        }
        return entries
    }

    /// Protected numbers in CSV: a header row naming `number` (or `tn`, `cli`)
    /// and `spc`, and optionally `label`, `customers` and `action`; several
    /// SPCs or customers in one field are separated by spaces, `;` or `|`. A
    /// number may carry `+` and separators; a trailing `*` makes a prefix. All or
    /// nothing: a bad row throws with its line number.
    static func protectedNumbers(csv text: String) throws(CallsignError) -> [ProtectedNumber] {
        var entries: [ProtectedNumber] = []
        var columns: [String: Int]?
        var lineNumber = 0
        var body = Substring(text)
        if body.first == "\u{FEFF}" { body = body.dropFirst() }
        for raw in body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let line = Self.trimmed(raw)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = Self.fields(of: line)
            guard let header = columns else {
                let names = fields.map { $0.lowercased() }
                guard let number = names.firstIndex(where: { numberColumns.contains($0) }), let spc = names.firstIndex(of: "spc") else {
                    throw CallsignError(.protectedList, "line \(lineNumber): a header row with number and spc columns is required")
                }
                var found = ["number": number, "spc": spc]
                found["label"] = names.firstIndex(where: { labelColumns.contains($0) })
                found["customers"] = names.firstIndex(of: "customers")
                found["action"] = names.firstIndex(of: "action")
                columns = found
                continue
            }
            func field(_ name: String) -> String {
                guard let index = header[name], index < fields.count else { return "" }
                return fields[index]
            }
            func list(_ name: String) -> Set<String> {
                Set(field(name).split(whereSeparator: { $0 == " " || $0 == ";" || $0 == "|" }).map(String.init))
            }
            var number = field("number")
            let isPrefix = number.hasSuffix("*")
            if isPrefix { number.removeLast() }
            guard let tn = TelephoneNumber.canonicalNumber(number, policy: .e164), tn.allSatisfy({ $0.isNumber }), (1...15).contains(tn.count)
            else { throw CallsignError(.protectedList, "line \(lineNumber): '\(number.prefix(32))' is not a telephone number") }
            let actionText = field("action").lowercased()
            guard let action = actionText.isEmpty ? .block : PolicyAction(rawValue: actionText), action != .allow else {
                throw CallsignError(.protectedList, "line \(lineNumber): action must be block or tag")
            }
            let spcs = list("spc")
            guard spcs.allSatisfy({ !$0.isEmpty && $0.count <= 16 && $0.allSatisfy { $0.isLetter || $0.isNumber } }) else {
                throw CallsignError(.protectedList, "line \(lineNumber): an SPC is letters and digits")
            }
            let label = field("label")
            entries.append(ProtectedNumber(value: tn, isPrefix: isPrefix, spcs: spcs, customers: list("customers"),
                                           label: label.isEmpty ? nil : label, action: action))
        }
        return entries
    }

    /// The fields of one CSV row (RFC 4180: a field in double quotes may hold
    /// commas and doubled quotes), each trimmed of surrounding blanks.
    static func fields(of line: String) -> [String] {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var iterator = line.makeIterator()
        while let character = iterator.next() {
            if quoted {
                if character == "\"" {
                    // A doubled quote is one quote; a single one ends the quoted part.
                    var lookahead = iterator
                    if lookahead.next() == "\"" {
                        field.append("\"")
                        iterator = lookahead
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
            } else if character == "," {
                fields.append(Self.trimmed(Substring(field)))
                field = ""
            } else if character == "\"" && field.allSatisfy({ $0 == " " || $0 == "\t" }) {
                field = ""
                quoted = true
            } else {
                field.append(character)
            }
        }
        fields.append(Self.trimmed(Substring(field)))
        return fields
    }

    static func trimmed(_ text: Substring) -> String {
        var s = text
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}

extension ProtectedNumber {
    /// Protected numbers from CSV with a header row `number,spc,label` (and
    /// optionally `customers`, `action`), as `callsign protected import` and
    /// `POST /admin/protected` take them.
    public static func parse(csv text: String) throws(CallsignError) -> [ProtectedNumber] {
        try DNOEntry.protectedNumbers(csv: text)
    }
}

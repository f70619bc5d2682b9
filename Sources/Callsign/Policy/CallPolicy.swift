/// What a policy rule concludes about a call.
public enum PolicyAction: String, Sendable, Hashable, CaseIterable {
    case allow, tag, block
}

/// The anti-spoofing facts about one call (origination or termination).
public struct CallFacts: Sendable, Hashable {
    public enum Ingress: String, Sendable, Hashable {
        /// From a domestic network or customer.
        case domestic
        /// From an international gateway.
        case international
    }

    /// The presented calling number, canonical (RFC 8224 §8.3), or `nil` when not a TN.
    public var orig: String?
    public var ingress: Ingress
    /// The verification outcome (termination); `nil` before verification (origination).
    public var verstat: Verstat?
    public var attestation: PASSporT.Attestation?
    /// The SPCs of the certificate the call verified with (termination).
    public var signerSPCs: [String]
    /// The customer asking to sign (origination).
    public var customer: String?

    public init(orig: String?, ingress: Ingress = .domestic, verstat: Verstat? = nil, attestation: PASSporT.Attestation? = nil,
                signerSPCs: [String] = [], customer: String? = nil) {
        self.orig = orig
        self.ingress = ingress
        self.verstat = verstat
        self.attestation = attestation
        self.signerSPCs = signerSPCs
        self.customer = customer
    }
}

/// A Do-Not-Originate list: numbers (and prefixes) that never place calls.
/// Lookups are O(1): one set probe per possible prefix length (≤ 15).
public struct DNOList: Sendable, Hashable {
    public private(set) var numbers: Set<String> = []
    public private(set) var prefixes: Set<String> = []

    public init(numbers: some Sequence<String> = [], prefixes: some Sequence<String> = []) {
        self.numbers = Set(numbers)
        self.prefixes = Set(prefixes)
    }

    public mutating func add(number: String) { numbers.insert(number) }
    public mutating func add(prefix: String) { prefixes.insert(prefix) }
    public mutating func remove(_ entry: String) {
        numbers.remove(entry)
        prefixes.remove(entry)
    }

    public var count: Int { numbers.count + prefixes.count }

    /// Whether `tn` (canonical) is listed, exactly or under a listed prefix.
    public func contains(_ tn: String) -> Bool {
        if numbers.contains(tn) { return true }
        guard !prefixes.isEmpty else { return false }
        var prefix = Substring(tn)
        while !prefix.isEmpty {
            if prefixes.contains(String(prefix)) { return true }
            prefix = prefix.dropLast()
        }
        return false
    }
}

/// A number (or prefix) only certain carriers and customers may present —
/// a bank's or a police station's outbound number, which cannot go on a DNO
/// list because it does call out.
public struct ProtectedNumber: Sendable, Hashable {
    /// Canonical digits; a prefix when ``isPrefix``.
    public var value: String
    public var isPrefix: Bool
    /// SPCs (from the signer's TNAuthList) whose A-attested calls may present it.
    public var spcs: Set<String>
    /// Customers allowed to sign calls presenting it; none when empty.
    public var customers: Set<String>
    /// Whose number it is (`Example Bank`), for Reason headers and logs.
    public var label: String?
    /// What a call presenting it against the rule gets: `block` (default) or `tag`.
    public var action: PolicyAction

    public init(value: String, isPrefix: Bool = false, spcs: Set<String> = [], customers: Set<String> = [], label: String? = nil,
                action: PolicyAction = .block)
    {
        self.value = value
        self.isPrefix = isPrefix
        self.spcs = spcs
        self.customers = customers
        self.label = label
        self.action = action
    }

    /// The entry as written in lists: `value` with `*` for a prefix.
    public var entry: String { isPrefix ? value + "*" : value }

    /// The canonical entry text of `text` (`+44 20 7123 4567` → `442071234567`, a trailing `*` kept), or `nil`.
    public static func entry(_ text: String) -> String? {
        let isPrefix = text.hasSuffix("*")
        guard let tn = TelephoneNumber.canonicalNumber(isPrefix ? String(text.dropLast()) : text, policy: .e164),
              tn.allSatisfy({ $0.isNumber }), (1...15).contains(tn.count)
        else { return nil }
        return isPrefix ? tn + "*" : tn
    }

    /// `{"number", "spc": […], "customers": […], "label", "action"}` (`number` ending in `*` for a prefix).
    public var json: JSONObject {
        JSONObject(["number": .string(entry), "spc": .array(spcs.sorted().map { .string($0) }),
                    "customers": .array(customers.sorted().map { .string($0) }), "label": label.map { .string($0) } ?? .null,
                    "action": .string(action.rawValue)])
    }
}

/// The protected numbers, looked up in O(1): the exact number, then one
/// probe per shorter prefix (≤ 15), the longest listed prefix winning.
public struct ProtectedNumbers: Sendable, Hashable {
    public private(set) var numbers: [String: ProtectedNumber] = [:]
    public private(set) var prefixes: [String: ProtectedNumber] = [:]

    public init(_ entries: some Sequence<ProtectedNumber> = []) {
        for entry in entries { add(entry) }
    }

    public mutating func add(_ entry: ProtectedNumber) {
        if entry.isPrefix { prefixes[entry.value] = entry } else { numbers[entry.value] = entry }
    }

    public var count: Int { numbers.count + prefixes.count }
    public var all: [ProtectedNumber] { (Array(numbers.values) + Array(prefixes.values)).sorted { $0.entry < $1.entry } }

    /// The entry protecting `tn` (canonical), if any.
    public func lookup(_ tn: String) -> ProtectedNumber? {
        if let exact = numbers[tn] { return exact }
        guard !prefixes.isEmpty else { return nil }
        var prefix = Substring(tn)
        while !prefix.isEmpty {
            if let entry = prefixes[String(prefix)] { return entry }
            prefix = prefix.dropLast()
        }
        return nil
    }
}

/// One anti-spoofing rule, in the order the engine applies them.
public enum PolicyRule: Sendable, Hashable {
    /// The calling number is on the DNO list (Ofcom / ITG style).
    case doNotOriginate(action: PolicyAction = .block)
    /// The calling number is not a valid, diallable, allocated CLI for its country (NANP, UK).
    case invalidNumber(action: PolicyAction = .block)
    /// A national number of `countryCode` presented on a call from abroad (Ofcom 2024: UK CLI from
    /// abroad); UK mobiles (`447…`) pass when `allowRoamingMobile`.
    case nationalNumberFromAbroad(countryCode: String, allowRoamingMobile: Bool, action: PolicyAction = .block)
    /// A national number of `countryCode` without a passing verification (France's MAN rule).
    case unauthenticatedNationalNumber(countryCode: String, action: PolicyAction = .block)
    /// The verification failed (`TN-Validation-Failed`).
    case verificationFailed(action: PolicyAction = .block)
    /// The call verified with gateway attestation C.
    case gatewayAttestation(action: PolicyAction = .tag)
    /// The calling number is protected: at verification it passes only with
    /// attestation A from a certificate of an allowed SPC, at signing only for
    /// an allowed customer; otherwise the entry's action applies.
    case protectedNumber

    /// The rule's name, as written in Reason headers and logs.
    public var name: String {
        switch self {
        case .doNotOriginate: "do-not-originate"
        case .invalidNumber: "invalid-number"
        case .nationalNumberFromAbroad: "national-number-from-abroad"
        case .unauthenticatedNationalNumber: "unauthenticated-national-number"
        case .verificationFailed: "verification-failed"
        case .gatewayAttestation: "gateway-attestation"
        case .protectedNumber: "protected-number"
        }
    }

    /// The SIP answer for a block: 603 Decline for DNO, 608 Rejected (RFC 8688) otherwise.
    public var sipStatus: Int {
        if case .doNotOriginate = self { return 603 }
        return 608
    }
}

/// The result of applying the rules to a call.
public struct PolicyDecision: Sendable, Hashable {
    public init(action: PolicyAction, rule: String? = nil, reason: String? = nil, tags: [String] = [], sipStatus: Int? = nil) {
        self.action = action
        self.rule = rule
        self.reason = reason
        self.tags = tags
        self.sipStatus = sipStatus
    }

    public var action: PolicyAction
    /// The rule that blocked the call, if any.
    public var rule: String?
    public var reason: String?
    /// Rules that tagged the call.
    public var tags: [String]
    /// The SIP status for a block (603 or 608).
    public var sipStatus: Int?

    /// The rule a call record names: the one that blocked the call, else those that tagged it (comma-separated).
    public var recordedRule: String? { rule ?? (tags.isEmpty ? nil : tags.joined(separator: ",")) }

    /// The reason phrase of ``sipStatus``.
    public var reasonPhrase: String? {
        switch sipStatus {
        case 603: "Decline"
        case 608: "Rejected"
        default: nil
        }
    }

    /// A Reason header naming the rule: `SIP ;cause=603 ;text="do-not-originate: …"`.
    public var reasonHeader: String? {
        guard let sipStatus, let rule else { return nil }
        return "SIP ;cause=\(sipStatus) ;text=\"\(rule): \(reason ?? "")\""
    }
}

/// An ordered anti-spoofing rule set (Ofcom GC C6 and CLI guidance, FCC 47 CFR
/// §64.1200, France's MAN): the first blocking rule decides; tags accumulate.
/// Pure: the DNO list and numbering data are values.
public struct CallPolicy: Sendable {
    public var rules: [PolicyRule]
    public var dno: DNOList
    public var validity: NumberValidity
    public var protected: ProtectedNumbers

    public init(rules: [PolicyRule], dno: DNOList = DNOList(), validity: NumberValidity = NumberValidity(),
                protected: ProtectedNumbers = ProtectedNumbers()) {
        self.rules = rules
        self.dno = dno
        self.validity = validity
        self.protected = protected
    }

    /// Applies the rules in order.
    public func evaluate(_ facts: CallFacts) -> PolicyDecision {
        var tags: [String] = []
        for rule in rules {
            guard let (action, reason) = fired(rule, facts), action != .allow else { continue }
            if action == .tag {
                tags.append(rule.name)
                continue
            }
            return PolicyDecision(action: .block, rule: rule.name, reason: reason, tags: tags, sipStatus: rule.sipStatus)
        }
        return PolicyDecision(action: tags.isEmpty ? .allow : .tag, rule: nil, reason: nil, tags: tags, sipStatus: nil)
    }

    /// Explains every rule's verdict on the call (for `policy test`).
    public func explain(_ facts: CallFacts) -> [(rule: String, action: PolicyAction, reason: String?)] {
        rules.map { rule in
            if let (action, reason) = fired(rule, facts) { return (rule.name, action, reason) }
            return (rule.name, .allow, nil)
        }
    }

    private func fired(_ rule: PolicyRule, _ facts: CallFacts) -> (PolicyAction, String)? {
        switch rule {
        case .doNotOriginate(let action):
            guard let orig = facts.orig, dno.contains(orig) else { return nil }
            return (action, "calling number is on the Do-Not-Originate list")
        case .invalidNumber(let action):
            guard let orig = facts.orig, let problem = validity.problem(orig) else { return nil }
            return (action, problem)
        case .nationalNumberFromAbroad(let countryCode, let allowRoamingMobile, let action):
            guard facts.ingress == .international, let orig = facts.orig, orig.hasPrefix(countryCode) else { return nil }
            if allowRoamingMobile, countryCode == "44", orig.hasPrefix("447") { return nil }
            return (action, "+\(countryCode) number presented on a call from abroad")
        case .unauthenticatedNationalNumber(let countryCode, let action):
            guard let orig = facts.orig, orig.hasPrefix(countryCode), facts.verstat != .passed else { return nil }
            return (action, "+\(countryCode) number without a passing verification")
        case .verificationFailed(let action):
            guard facts.verstat == .failed else { return nil }
            return (action, "caller ID verification failed")
        case .gatewayAttestation(let action):
            guard facts.attestation == .gateway else { return nil }
            return (action, "gateway attestation C")
        case .protectedNumber:
            guard let orig = facts.orig, let entry = protected.lookup(orig) else { return nil }
            let whose = entry.label.map { " (\($0))" } ?? ""
            guard let verstat = facts.verstat else {
                // Origination: only an allowed customer signs it.
                if let customer = facts.customer, entry.customers.contains(customer) { return nil }
                return (entry.action, "protected number\(whose): this customer may not present it")
            }
            if verstat == .passed, facts.attestation == .full, facts.signerSPCs.contains(where: entry.spcs.contains) { return nil }
            let why = verstat != .passed ? "not verified" : (facts.attestation != .full ? "not attestation A" : "signed by another SPC")
            return (entry.action, "protected number\(whose): \(why)")
        }
    }
}

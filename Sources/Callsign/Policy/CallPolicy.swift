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

    public init(orig: String?, ingress: Ingress = .domestic, verstat: Verstat? = nil, attestation: PASSporT.Attestation? = nil) {
        self.orig = orig
        self.ingress = ingress
        self.verstat = verstat
        self.attestation = attestation
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

    /// The rule's name, as written in Reason headers and logs.
    public var name: String {
        switch self {
        case .doNotOriginate: "do-not-originate"
        case .invalidNumber: "invalid-number"
        case .nationalNumberFromAbroad: "national-number-from-abroad"
        case .unauthenticatedNationalNumber: "unauthenticated-national-number"
        case .verificationFailed: "verification-failed"
        case .gatewayAttestation: "gateway-attestation"
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
    public var action: PolicyAction
    /// The rule that blocked the call, if any.
    public var rule: String?
    public var reason: String?
    /// Rules that tagged the call.
    public var tags: [String]
    /// The SIP status for a block (603 or 608).
    public var sipStatus: Int?

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

    public init(rules: [PolicyRule], dno: DNOList = DNOList(), validity: NumberValidity = NumberValidity()) {
        self.rules = rules
        self.dno = dno
        self.validity = validity
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
        }
    }
}

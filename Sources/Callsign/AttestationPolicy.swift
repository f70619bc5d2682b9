/// A block of telephone numbers a customer holds: `count` numbers from
/// `start` (same length), in canonical form (RFC 8224 §8.3).
public struct NumberBlock: Sendable, Hashable, Codable {
    public var start: String
    public var count: Int64

    public init(start: String, count: Int64) {
        self.start = start
        self.count = count
    }

    /// Whether `tn` (canonical) is inside the block.
    public func contains(_ tn: String) -> Bool {
        guard tn.utf8.count == start.utf8.count, let value = UInt64(tn), let first = UInt64(start), count > 0 else { return false }
        return value >= first && value - first < UInt64(count)
    }
}

/// A signing customer of the STI-AS: who it is, the numbers it owns, and its
/// origination identifier for traceback (RFC 8588 §5).
public struct Customer: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        /// A customer the carrier knows and serves directly (A or B).
        case direct
        /// An ingress point such as an international or TDM gateway (C only).
        case gateway
    }

    public var id: String
    public var name: String
    /// The UUID placed in `origid` for this customer's calls.
    public var origid: String
    public var kind: Kind
    /// Numbers the customer has proven it may use (TN right-to-use).
    public var numbers: [NumberBlock]

    public init(id: String, name: String, origid: String, kind: Kind = .direct, numbers: [NumberBlock] = []) {
        self.id = id
        self.name = name
        self.origid = origid
        self.kind = kind
        self.numbers = numbers
    }

    /// Whether the customer owns `tn` (canonical).
    public func owns(_ tn: String) -> Bool { numbers.contains { $0.contains(tn) } }
}

/// Chooses the attestation for a call (ATIS-1000074 §5.2.3): **A** when a
/// known direct customer owns the calling number, **B** when the customer is
/// known but the number is not theirs, **C** for gateway ingress. A level the
/// caller asks for is honoured only downwards: never upgraded.
public enum AttestationPolicy {
    /// Which rule decided a call's attestation (kept in its traceback record, so
    /// the decision can be shown later: FCC 24-120 asks a signing service to
    /// decide each provider's attestation and keep the decision).
    public enum Rule: String, Sendable, Hashable, CaseIterable {
        /// A: a known direct customer that owns the calling number.
        case ownedNumber = "owned-number"
        /// B: a known direct customer, the number not shown to be theirs.
        case knownCustomer = "known-customer"
        /// C: gateway ingress.
        case gateway
        /// The caller asked for a lower level than the rules allow.
        case requestedLower = "requested-lower"
    }

    /// The level to sign with.
    public static func decide(customer: Customer, orig: String, requested: PASSporT.Attestation?) -> PASSporT.Attestation {
        decision(customer: customer, orig: orig, requested: requested).attestation
    }

    /// The level to sign with and the rule that chose it.
    public static func decision(customer: Customer, orig: String, requested: PASSporT.Attestation?)
        -> (attestation: PASSporT.Attestation, rule: Rule)
    {
        let allowed: PASSporT.Attestation
        let rule: Rule
        switch customer.kind {
        case .gateway:
            allowed = .gateway
            rule = .gateway
        case .direct:
            let owns = customer.owns(orig)
            allowed = owns ? .full : .partial
            rule = owns ? .ownedNumber : .knownCustomer
        }
        guard let requested, requested < allowed else { return (allowed, rule) }
        return (requested, .requestedLower)
    }
}

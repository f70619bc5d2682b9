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
    /// The level to sign with.
    public static func decide(customer: Customer, orig: String, requested: PASSporT.Attestation?) -> PASSporT.Attestation {
        let allowed: PASSporT.Attestation
        switch customer.kind {
        case .gateway: allowed = .gateway
        case .direct: allowed = customer.owns(orig) ? .full : .partial
        }
        guard let requested else { return allowed }
        return min(requested, allowed)
    }
}

public import SwiftASN1
public import X509

/// The TN Authorization List certificate extension (RFC 8226 §9, OID
/// 1.3.6.1.5.5.7.1.26): which service provider code, number ranges or
/// numbers a STI certificate may sign for.
///
/// The ASN.1 module is `DEFINITIONS EXPLICIT TAGS` (RFC 8226 Appendix A), so
/// each choice is a constructed context tag wrapping the full inner TLV:
/// SPC "1234" is `30 08 A0 06 16 04 31 32 33 34`, as in production
/// certificates. Values that do not follow the module (a bare IA5String,
/// implicit tags, empty lists, malformed numbers) are refused.
public struct TNAuthorizationList: DERImplicitlyTaggable, Hashable, Sendable, CustomStringConvertible {
    /// `id-pe-TNAuthList`.
    public static let oid: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 1, 26]

    /// One `TNEntry` (RFC 8226 §9).
    public enum Entry: Hashable, Sendable, CustomStringConvertible {
        /// `spc [0] ServiceProviderCode` (an IA5String; US: the OCN).
        case spc(String)
        /// `range [1] TelephoneNumberRange`: `count` numbers from `start`, same length.
        case range(start: String, count: Int)
        /// `one [2] TelephoneNumber`.
        case one(String)

        public var description: String {
            switch self {
            case .spc(let spc): "SPC \(spc)"
            case .range(let start, let count): "range \(start)+\(count)"
            case .one(let tn): "TN \(tn)"
            }
        }
    }

    public var entries: [Entry] {
        didSet { spcs = Self.spcs(of: entries) }
    }

    /// The service provider codes in the list, in order (kept with the
    /// entries: every verification reads the signer's SPCs).
    public private(set) var spcs: [String]

    private static func spcs(of entries: [Entry]) -> [String] {
        entries.compactMap { if case .spc(let spc) = $0 { return spc } else { return nil } }
    }

    public static var defaultIdentifier: ASN1Identifier { .sequence }

    /// Creates a list; it must not be empty (`SIZE (1..MAX)`).
    public init(_ entries: [Entry]) throws(CallsignError) {
        guard !entries.isEmpty else { throw CallsignError(.tnAuthList, "TNAuthList is empty") }
        for entry in entries { try Self.validate(entry) }
        self.entries = entries
        spcs = Self.spcs(of: entries)
    }

    /// Decodes the DER value of the extension.
    public init(derEncoded bytes: [UInt8]) throws(CallsignError) {
        do {
            try self.init(derEncoded: try DER.parse(bytes))
        } catch let error as CallsignError {
            throw error
        } catch {
            throw CallsignError(.tnAuthList, "not a TNAuthorizationList: \(error)")
        }
    }

    /// Decodes the extension of a certificate.
    public init(_ ext: Certificate.Extension) throws(CallsignError) {
        guard ext.oid == Self.oid else { throw CallsignError(.tnAuthList, "extension is not TNAuthList") }
        try self.init(derEncoded: Array(ext.value))
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        guard rootNode.identifier == identifier, case .constructed(let nodes) = rootNode.content else {
            throw CallsignError(.tnAuthList, "TNAuthList is not a SEQUENCE (a bare string is not a TNAuthorizationList)")
        }
        var entries: [Entry] = []
        for node in nodes {
            entries.append(try Self.decodeEntry(node))
            if entries.count > 10_000 { throw CallsignError(.tnAuthList, "TNAuthList has more than 10000 entries") }
        }
        guard !entries.isEmpty else { throw CallsignError(.tnAuthList, "TNAuthList is empty") }
        self.entries = entries
        spcs = Self.spcs(of: entries)
    }

    private static func decodeEntry(_ node: ASN1Node) throws -> Entry {
        guard node.identifier.tagClass == .contextSpecific else {
            throw CallsignError(.tnAuthList, "TNEntry is not a context-tagged choice")
        }
        guard case .constructed = node.content else {
            throw CallsignError(.tnAuthList, "TNEntry [\(node.identifier.tagNumber)] is implicitly tagged; RFC 8226 uses EXPLICIT tags")
        }
        let entry: Entry
        switch node.identifier.tagNumber {
        case 0:
            let spc = try DER.explicitlyTagged(node, tagNumber: 0, tagClass: .contextSpecific) { try ASN1IA5String(derEncoded: $0) }
            entry = .spc(String(decoding: spc.bytes, as: UTF8.self))
        case 1:
            entry = try DER.explicitlyTagged(node, tagNumber: 1, tagClass: .contextSpecific) { inner in
                try DER.sequence(inner, identifier: .sequence) { nodes in
                    let start = try ASN1IA5String(derEncoded: &nodes)
                    let count = try Int(derEncoded: &nodes)
                    // TelephoneNumberRange is extensible ("..."): later elements are ignored.
                    while nodes.next() != nil {}
                    return Entry.range(start: String(decoding: start.bytes, as: UTF8.self), count: count)
                }
            }
        case 2:
            let tn = try DER.explicitlyTagged(node, tagNumber: 2, tagClass: .contextSpecific) { try ASN1IA5String(derEncoded: $0) }
            entry = .one(String(decoding: tn.bytes, as: UTF8.self))
        default:
            throw CallsignError(.tnAuthList, "unknown TNEntry choice [\(node.identifier.tagNumber)]")
        }
        try validate(entry)
        return entry
    }

    private static func validate(_ entry: Entry) throws(CallsignError) {
        func isTelephoneNumber(_ tn: String) -> Bool {
            (1...15).contains(tn.utf8.count) && tn.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x23 || $0 == 0x2A }
        }
        switch entry {
        case .spc(let spc):
            guard !spc.isEmpty, spc.utf8.count <= 64 else { throw CallsignError(.tnAuthList, "SPC is empty or too long") }
        case .range(let start, let count):
            guard isTelephoneNumber(start) else { throw CallsignError(.tnAuthList, "range start is not a TelephoneNumber") }
            guard count >= 2 else { throw CallsignError(.tnAuthList, "range count must be at least 2") }
            guard start.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let first = UInt64(start),
                first.addingReportingOverflow(UInt64(count - 1)).overflow == false,
                String(first + UInt64(count - 1)).utf8.count <= start.utf8.count
            else {
                throw CallsignError(.tnAuthList, "range overflows its number length")
            }
        case .one(let tn):
            guard isTelephoneNumber(tn) else { throw CallsignError(.tnAuthList, "TN is not a TelephoneNumber") }
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            for entry in entries {
                switch entry {
                case .spc(let spc):
                    try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { coder in
                        try coder.serialize(ASN1IA5String(contentBytes: ArraySlice(spc.utf8)))
                    }
                case .range(let start, let count):
                    try coder.serialize(explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific) { coder in
                        try coder.appendConstructedNode(identifier: .sequence) { coder in
                            try coder.serialize(ASN1IA5String(contentBytes: ArraySlice(start.utf8)))
                            try coder.serialize(count)
                        }
                    }
                case .one(let tn):
                    try coder.serialize(explicitlyTaggedWithTagNumber: 2, tagClass: .contextSpecific) { coder in
                        try coder.serialize(ASN1IA5String(contentBytes: ArraySlice(tn.utf8)))
                    }
                }
            }
        }
    }

    /// The DER encoding.
    public func derBytes() throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(self)
        return serializer.serializedBytes
    }

    /// Whether the list names telephone numbers (ranges or single TNs), as
    /// delegate certificates do (RFC 9060).
    public var hasNumbers: Bool {
        entries.contains { if case .spc = $0 { return false } else { return true } }
    }

    /// Whether a canonical number is inside one of the ranges or TNs.
    /// SPC entries authorize no specific number (no registry maps SPC → TN).
    public func covers(tn: String) -> Bool {
        for entry in entries {
            switch entry {
            case .spc: continue
            case .one(let one): if one == tn { return true }
            case .range(let start, let count):
                guard tn.utf8.count == start.utf8.count, let value = UInt64(tn), let first = UInt64(start) else { continue }
                if value >= first && value - first < UInt64(count) { return true }
            }
        }
        return false
    }

    /// Whether every entry of `child` lies inside this list (RFC 9060 §5, §6:
    /// a delegate certificate's TNAuthList is encompassed by its issuer's):
    /// an SPC only under the same SPC; a TN or a range under a range or TNs
    /// of this list that hold all of it, or under an SPC of this list (the
    /// SPC's holder vouches for its own numbers: no registry maps SPC → TN).
    public func encompasses(_ child: TNAuthorizationList) -> Bool {
        let parentSPCs = Set(spcs)
        for entry in child.entries {
            switch entry {
            case .spc(let spc):
                guard parentSPCs.contains(spc) else { return false }
            case .one(let tn):
                guard !parentSPCs.isEmpty || covers(tn: tn) else { return false }
            case .range(let start, let count):
                guard parentSPCs.isEmpty else { continue }
                guard let first = UInt64(start), count > 0, case let (last, overflow) = first.addingReportingOverflow(UInt64(count) - 1),
                      !overflow
                else { return false }
                let width = start.utf8.count
                let inside = entries.contains { parent in
                    switch parent {
                    case .spc: return false
                    case .one(let tn): return count == 1 && tn == start
                    case .range(let parentStart, let parentCount):
                        guard parentStart.utf8.count == width, let parentFirst = UInt64(parentStart), parentCount > 0 else { return false }
                        let (parentLast, overflow) = parentFirst.addingReportingOverflow(UInt64(parentCount) - 1)
                        return !overflow && first >= parentFirst && last <= parentLast
                    }
                }
                guard inside else { return false }
            }
        }
        return true
    }

    public var description: String { entries.map(\.description).joined(separator: ", ") }
}

extension TNAuthorizationList: CertificateExtensionConvertible {
    /// The extension, non-critical (critical TNAuthLists break Go's and other
    /// verifiers that do not know the OID).
    public func makeCertificateExtension() throws -> Certificate.Extension {
        Certificate.Extension(oid: Self.oid, critical: false, value: try derBytes()[...])
    }
}

public import Callsign
import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One signed call, kept for traceback (who sent a call with this origid).
public struct SignedCallRecord: Sendable, Hashable {
    public var time: Int64
    public var orig: String
    public var dest: [String]
    public var attestation: PASSporT.Attestation
    public var origid: String
    public var customerID: String
    public var trunk: String?
    /// The signing identity that signed: `service`, or `customer:<id>` for a customer's own certificate.
    public var identity: String?
    /// The rule that decided the attestation (``AttestationPolicy/Rule``).
    public var attestationRule: String?
    /// The x5u of the certificate that signed (RFC 8225 §5.1.1): which certificate, as the terminating side sees it.
    public var x5u: String?
    /// The SPC of that certificate's TNAuthList (RFC 8226), when the signing identity knows it.
    public var spc: String?
    /// The policy's action: `allow`, `tag` (signed), or `block` (refused: nothing was signed, and the
    /// record is not part of the traceback); and the rule that decided it.
    public var policyAction: String
    public var policyRule: String?

    public init(time: Int64, orig: String, dest: [String], attestation: PASSporT.Attestation, origid: String,
                customerID: String, trunk: String? = nil, identity: String? = nil, attestationRule: String? = nil,
                x5u: String? = nil, spc: String? = nil, policyAction: String = "allow", policyRule: String? = nil) {
        self.time = time
        self.orig = orig
        self.dest = dest
        self.attestation = attestation
        self.origid = origid
        self.customerID = customerID
        self.trunk = trunk
        self.identity = identity
        self.attestationRule = attestationRule
        self.x5u = x5u
        self.spc = spc
        self.policyAction = policyAction
        self.policyRule = policyRule
    }

    /// Whether a rule refused the call (nothing was signed).
    public var refused: Bool { policyAction == "block" }
}

extension SignedCallRecord {
    /// The record as the traceback API and `callsign traceback --json` show it.
    public var json: JSONObject {
        JSONObject([
            "time": .integer(time), "orig": .string(orig), "dest": .array(dest.map { .string($0) }),
            "attest": .string(attestation.rawValue), "origid": .string(origid), "customer": .string(customerID),
            "trunk": trunk.map { .string($0) } ?? .null, "identity": identity.map { .string($0) } ?? .null,
            "attestation_rule": attestationRule.map { .string($0) } ?? .null, "x5u": x5u.map { .string($0) } ?? .null,
            "spc": spc.map { .string($0) } ?? .null,
            "policy": .object(JSONObject(["action": .string(policyAction), "rule": policyRule.map { .string($0) } ?? .null])),
        ])
    }
}

/// The storage Callsign needs, behind a narrow protocol so SQLite and
/// PostgreSQL can pass one contract suite.
public protocol CallsignStore: Sendable {
    /// Adds or replaces a customer (with its number blocks).
    func saveCustomer(_ customer: Customer) async throws
    func customer(id: String) async throws -> Customer?
    /// Stores an API token's SHA-256 for a customer (tokens themselves are never stored).
    func addToken(hash: [UInt8], customerID: String, now: Int64) async throws
    func revokeToken(hash: [UInt8], now: Int64) async throws
    /// The customer owning a non-revoked token with this hash.
    func customer(tokenHash: [UInt8]) async throws -> Customer?
    /// Records signed calls for traceback.
    func record(_ calls: [SignedCallRecord]) async throws
    /// Calls signed with `origid` in `[since, until]`, newest first.
    func traceback(origid: String, since: Int64?, until: Int64?, limit: Int) async throws -> [SignedCallRecord]

    /// Records verified calls (the terminating side's call records).
    func recordVerified(_ calls: [VerifiedCallRecord]) async throws
    /// Calls of both sides presenting `number` as the calling number in
    /// `[since, until]`, newest first, at most `limit`.
    func calls(number: String, since: Int64?, until: Int64?, limit: Int) async throws -> [CallRecord]
    /// Deletes verified call records older than `before`; how many went.
    func pruneVerified(before: Int64) async throws -> Int
    /// Adds per-minute counts (added to the counts already stored for the same minute, series and key).
    func addRollups(_ rollups: [CallRollup]) async throws
    /// Per-minute counts from `since` on.
    func rollups(since: Int64) async throws -> [CallRollup]
    /// Deletes per-minute counts older than `before`.
    func pruneRollups(before: Int64) async throws
    /// The distinct count behind a signal over every node's records since `since`.
    func signalCount(_ query: SignalQuery, since: Int64) async throws -> Int
    /// Keeps an alert (the newest 10,000 are kept), unless the same signal and
    /// key already alerted within the alert's window before it (another node
    /// sharing the store saw the same campaign): whether it was kept.
    @discardableResult
    func saveAlert(_ alert: CallAlert) async throws -> Bool
    /// Alerts, newest first.
    func alerts(limit: Int) async throws -> [CallAlert]

    /// Adds DNO entries in one transaction (all or nothing); `replace` empties the list first.
    func importDNO(_ entries: [DNOEntry], replace: Bool, now: Int64, progress: (@Sendable (Int) -> Void)?) async throws
    /// Removes one entry (number or prefix); returns whether it existed.
    func removeDNO(_ value: String) async throws -> Bool
    /// Entries in order of value.
    func listDNO(limit: Int, after: String?) async throws -> [DNOEntry]
    /// The whole list, for O(1) lookups in memory.
    func loadDNO() async throws -> DNOList

    /// Adds or replaces protected numbers in one transaction (all or nothing); `replace` empties the list first.
    func importProtected(_ entries: [ProtectedNumber], replace: Bool, now: Int64) async throws
    /// Removes one entry (`NUMBER` or `PREFIX*`); returns whether it existed.
    func removeProtected(_ entry: String) async throws -> Bool
    /// Entries in order of their text (`NUMBER` or `PREFIX*`), after `after`.
    func listProtected(limit: Int, after: String?) async throws -> [ProtectedNumber]
    /// The whole list, for O(1) lookups in memory.
    func loadProtected() async throws -> ProtectedNumbers

    /// A certificate-repository response cached by some node, if still fresh at `now`.
    func cachedCertificate(url: String, now: Int64) async throws -> [UInt8]?
    /// Shares a fetched x5u/CRL body with the other nodes until `expires`.
    /// The table is bounded: saving drops entries expired for 30 days and,
    /// past the store's limit (10,000 by default), those expiring first.
    func saveCertificate(url: String, body: [UInt8], expires: Int64) async throws
}



/// API tokens: random, shown once, stored hashed.
public enum APIToken {
    /// A new token: `cs_` + 32 random bytes in base64url.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return "cs_" + Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// The SHA-256 of a token, which is what the store keeps.
    public static func hash(_ token: String) -> [UInt8] {
        // Hashed where the text lies when it is contiguous (always, for a native String): no copy per request.
        // The digest's bytes copied once (`Array(digest)` walks swift-crypto's iterator: three allocations).
        let digest = token.utf8.withContiguousStorageIfAvailable { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
            ?? SHA256.hash(data: Array(token.utf8))
        return digest.withUnsafeBytes { Array($0) }
    }
}

extension ProtectedNumber {
    /// SPCs or customers as stored: sorted, space-separated.
    package static func joined(_ values: Set<String>) -> String { values.sorted().joined(separator: " ") }

    static func split(_ text: String?) -> Set<String> { Set((text ?? "").split(separator: " ").map(String.init)) }

    /// An entry as stored in the `protected_number` tables.
    package init(entry: String, spcs: String?, customers: String?, label: String?, action: String?) {
        let isPrefix = entry.hasSuffix("*")
        self.init(value: isPrefix ? String(entry.dropLast()) : entry, isPrefix: isPrefix, spcs: Self.split(spcs),
                  customers: Self.split(customers), label: label, action: PolicyAction(rawValue: action ?? "") ?? .block)
    }
}

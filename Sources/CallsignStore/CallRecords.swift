public import Callsign

/// One verified call, kept for investigations on the terminating side
/// (ATIS-1000074 §5.4: the STI-VS outcome; traceback requests name the
/// calling number and a time). Kept for the configured retention only.
public struct VerifiedCallRecord: Sendable, Hashable {
    public var time: Int64
    /// The calling number, canonical when it is a telephone number, else the identity as presented.
    public var orig: String
    /// The called number as received.
    public var dest: String
    /// The verstat value (3GPP TS 24.229 §7.2A.20).
    public var verstat: String
    /// The attestation of the PASSporT that verified.
    public var attestation: String?
    /// The first SPC of the signing certificate's TNAuthList (RFC 8226).
    public var spc: String?
    public var x5u: String?
    /// The origination identifier (RFC 8588) of the PASSporT.
    public var origid: String?
    /// Where the call came from: the SIP peer address, or `rest` for the REST API.
    public var source: String
    /// The verification error code (``CallsignError/Code``), when it failed.
    public var reason: String?
    /// The policy's action (`allow`, `tag`, `block`) and the rule that decided it.
    public var policyAction: String
    public var policyRule: String?

    public init(time: Int64, orig: String, dest: String, verstat: String, attestation: String? = nil, spc: String? = nil,
                x5u: String? = nil, origid: String? = nil, source: String, reason: String? = nil, policyAction: String = "allow",
                policyRule: String? = nil) {
        self.time = time
        self.orig = orig
        self.dest = dest
        self.verstat = verstat
        self.attestation = attestation
        self.spc = spc
        self.x5u = x5u
        self.origid = origid
        self.source = source
        self.reason = reason
        self.policyAction = policyAction
        self.policyRule = policyRule
    }

    /// Bytes it holds in memory, for queue bounds.
    public var approximateBytes: Int {
        160 + orig.utf8.count + dest.utf8.count + verstat.utf8.count + (spc?.utf8.count ?? 0) + (x5u?.utf8.count ?? 0)
            + (origid?.utf8.count ?? 0) + source.utf8.count + (reason?.utf8.count ?? 0) + (policyRule?.utf8.count ?? 0)
    }
}

extension SignedCallRecord {
    /// Roughly what the record holds in memory (the bound of queued records).
    public var approximateBytes: Int {
        160 + orig.utf8.count + dest.reduce(0) { $0 + 16 + $1.utf8.count } + origid.utf8.count + customerID.utf8.count
            + (trunk?.utf8.count ?? 0) + (x5u?.utf8.count ?? 0) + (spc?.utf8.count ?? 0) + (policyRule?.utf8.count ?? 0)
    }
}

/// A call record of either side, as `GET /admin/calls` and `callsign calls` show it.
public enum CallRecord: Sendable, Hashable {
    case signed(SignedCallRecord)
    case verified(VerifiedCallRecord)

    public var time: Int64 {
        switch self {
        case .signed(let record): record.time
        case .verified(let record): record.time
        }
    }

    /// The columns of the CSV export, in order.
    public static let csvHeader = ["kind", "time", "orig", "dest", "attest", "verstat", "origid", "spc", "x5u", "source", "customer",
                                   "identity", "attest_rule", "reason", "policy_action", "policy_rule"]

    /// The record's values in ``csvHeader``'s order (empty when the side has no such field).
    public var csvFields: [String] {
        switch self {
        case .signed(let r):
            [r.refused ? "refused" : "signed", String(r.time), r.orig, r.dest.joined(separator: " "), r.attestation.rawValue, "", r.origid,
             r.spc ?? "", r.x5u ?? "", r.trunk ?? "rest", r.customerID, r.identity ?? "", r.attestationRule ?? "", "", r.policyAction, r.policyRule ?? ""]
        case .verified(let r):
            ["verified", String(r.time), r.orig, r.dest, r.attestation ?? "", r.verstat, r.origid ?? "", r.spc ?? "", r.x5u ?? "", r.source,
             "", "", "", r.reason ?? "", r.policyAction, r.policyRule ?? ""]
        }
    }

    /// One CSV line (RFC 4180): fields with a comma, quote or line break are quoted.
    public static func csvLine(_ fields: [String]) -> String {
        fields.map { field in
            // A leading =, +, - or @ is what spreadsheets run as a formula: such text is prefixed with '.
            var value = field
            if let first = value.first, "=+-@".contains(first), !value.allSatisfy({ $0 == "+" || $0.isNumber }) { value = "'" + value }
            guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
            var quoted = "\""
            for character in value {
                if character == "\"" { quoted.append("\"") }
                quoted.append(character)
            }
            return quoted + "\""
        }.joined(separator: ",")
    }

    /// Two lists each newest first, merged newest first.
    public static func newestFirst(_ a: [CallRecord], _ b: [CallRecord]) -> [CallRecord] {
        var merged: [CallRecord] = []
        merged.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i].time >= b[j].time) {
                merged.append(a[i])
                i += 1
            } else {
                merged.append(b[j])
                j += 1
            }
        }
        return merged
    }

    public var json: JSONObject {
        switch self {
        case .signed(let record):
            var object = record.json
            object["kind"] = .string(record.refused ? "refused" : "signed")
            return object
        case .verified(let r):
            func text(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
            return JSONObject([
                "kind": .string("verified"), "time": .integer(r.time), "orig": .string(r.orig), "dest": .string(r.dest),
                "verstat": .string(r.verstat), "attest": text(r.attestation), "spc": text(r.spc), "x5u": text(r.x5u),
                "origid": text(r.origid), "source": .string(r.source), "reason": text(r.reason),
                "policy": .object(JSONObject(["action": .string(r.policyAction), "rule": text(r.policyRule)])),
            ])
        }
    }
}

/// A count of calls in one minute or hour, by series and key: what the
/// dashboard reads instead of raw records (``CallsignStore/rollups(since:)``).
///
/// Counted per minute (the dashboard's charts): `sign` (key: attestation),
/// `sign.refused` (rule or signal), `verify` (`VERSTAT ATTEST`). Counted per
/// hour (its tables: a day of them is a few thousand rows, whatever the
/// traffic): `sign.customer` (`CUSTOMER ATTEST`), `verify.reason` (error
/// code), `verify.spc` and `verify.peer` (`KEY ok|fail`), `hits` (`RULE
/// SOURCE`), `flagged` (a calling number a rule or signal acted on).
public struct CallRollup: Sendable, Hashable {
    /// The start of the minute (or, for hourly series, the hour): seconds since the epoch.
    public var minute: Int64
    public var series: String
    public var key: String
    public var count: Int64

    /// The series counted per minute; the others are counted per hour
    /// (`CallAnalytics.Series.bucketSeconds` counts them so).
    public static let perMinuteSeries: Set<String> = ["sign", "sign.refused", "verify"]

    public init(minute: Int64, series: String, key: String, count: Int64) {
        self.minute = minute
        self.series = series
        self.key = key
        self.count = count
    }
}

/// A trigger that tripped: a call pattern over a sliding window crossed its threshold.
public struct CallAlert: Sendable, Hashable {
    /// The signal's name (`one-number-many-origins`, …).
    public var signal: String
    /// What the signal counts per: a calling number, `customer:ID`, `origid:UUID`, `peer:ADDRESS`, `spc:SPC`.
    public var key: String
    /// The count (or share in percent) that tripped.
    public var count: Int64
    public var threshold: Int64
    public var windowS: Int64
    /// `report` or `block`.
    public var mode: String
    /// When it tripped (seconds since the epoch).
    public var at: Int64

    public init(signal: String, key: String, count: Int64, threshold: Int64, windowS: Int64, mode: String, at: Int64) {
        self.signal = signal
        self.key = key
        self.count = count
        self.threshold = threshold
        self.windowS = windowS
        self.mode = mode
        self.at = at
    }

    /// Alerts a store keeps (the oldest go first).
    public static let kept = 10_000

    /// `{"signal", "key", "count", "threshold", "window_s", "mode", "at"}`: the alert's JSON everywhere (API and webhook).
    public var json: JSONObject {
        JSONObject([
            "signal": .string(signal), "key": .string(key), "count": .integer(count), "threshold": .integer(threshold),
            "window_s": .integer(windowS), "mode": .string(mode), "at": .integer(at),
        ])
    }
}

/// What a distinct-value signal counts, asked of every node's records in the
/// store (the cross-node check of ``CallsignStore/signalCount(_:since:)``).
public enum SignalQuery: Sendable, Hashable {
    /// Distinct origins presenting a calling number: verified calls' (origid, SPC, source) and signing customers.
    case origins(number: String)
    /// Distinct calling numbers signed with an origid (one customer's).
    case numbersSigned(origid: String)
    /// Distinct calling numbers of verified calls carrying an origid.
    case numbersVerified(origid: String)
}

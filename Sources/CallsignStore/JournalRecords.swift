import Callsign

/// A signing's traceback record in the traceback journal.
///
/// Payload: version (3) · time · attestation (one byte) · orig · dest count
/// and each dest · origid · customer · trunk?, identity?, attestation rule?,
/// x5u?, SPC?, policy rule? · policy action (`allow` is written as an empty string).
/// Versions 1 (no identity and rule) and 2 (no x5u and policy) are still read.
extension SignedCallRecord: JournalRecord {
    public static var journalName: String { "traceback" }

    public func encodePayload(into bytes: inout [UInt8]) -> Bool {
        var writer = JournalWriter(bytes: bytes)
        bytes = []
        writer.byte(3)
        writer.int64(time)
        writer.byte(attestation.rawValue.utf8.first ?? 0)
        writer.string(orig)
        writer.uint16(dest.count)
        for dest in dest { writer.string(dest) }
        writer.string(origid)
        writer.string(customerID)
        writer.optional(trunk)
        writer.optional(identity)
        writer.optional(attestationRule)
        writer.optional(x5u)
        writer.optional(spc)
        writer.optional(policyRule)
        writer.string(policyAction == "allow" ? "" : policyAction)
        bytes = writer.bytes
        return writer.ok
    }

    public static func decodePayload(_ payload: ArraySlice<UInt8>) -> SignedCallRecord? {
        var reader = JournalReader(bytes: payload)
        guard let version = reader.byte(), (1...3).contains(version), let time = reader.int64(), let attest = reader.byte(),
              let attestation = PASSporT.Attestation(rawValue: String(UnicodeScalar(attest))),
              let orig = reader.string(), let count = reader.uint16() else { return nil }
        var dest: [String] = []
        for _ in 0..<count {
            guard let value = reader.string() else { return nil }
            dest.append(value)
        }
        guard let origid = reader.string(), let customerID = reader.string(), let trunk = reader.optional() else { return nil }
        var record = SignedCallRecord(time: time, orig: orig, dest: dest, attestation: attestation, origid: origid,
                                      customerID: customerID, trunk: trunk)
        if version >= 2 {
            guard let identity = reader.optional(), let rule = reader.optional() else { return nil }
            record.identity = identity
            record.attestationRule = rule
        }
        if version >= 3 {
            guard let x5u = reader.optional(), let spc = reader.optional(), let policyRule = reader.optional(), let action = reader.string()
            else { return nil }
            record.x5u = x5u
            record.spc = spc
            record.policyRule = policyRule
            record.policyAction = action.isEmpty ? "allow" : action
        }
        guard reader.atEnd else { return nil }
        return record
    }
}

/// A verification's call record in the verification journal.
///
/// Payload: version (1) · time · orig · dest · verstat · source · policy
/// action · attestation?, SPC?, x5u?, origid?, reason?, policy rule?
extension VerifiedCallRecord: JournalRecord {
    public static var journalName: String { "verification" }

    public func encodePayload(into bytes: inout [UInt8]) -> Bool {
        var writer = JournalWriter(bytes: bytes)
        bytes = []
        writer.byte(1)
        writer.int64(time)
        writer.string(orig)
        writer.string(dest)
        writer.string(verstat)
        writer.string(source)
        writer.string(policyAction)
        writer.optional(attestation)
        writer.optional(spc)
        writer.optional(x5u)
        writer.optional(origid)
        writer.optional(reason)
        writer.optional(policyRule)
        bytes = writer.bytes
        return writer.ok
    }

    public static func decodePayload(_ payload: ArraySlice<UInt8>) -> VerifiedCallRecord? {
        var reader = JournalReader(bytes: payload)
        guard reader.byte() == 1, let time = reader.int64(), let orig = reader.string(), let dest = reader.string(),
              let verstat = reader.string(), let source = reader.string(), let policyAction = reader.string(),
              let attestation = reader.optional(), let spc = reader.optional(), let x5u = reader.optional(),
              let origid = reader.optional(), let reason = reader.optional(), let policyRule = reader.optional(),
              reader.atEnd
        else { return nil }
        return VerifiedCallRecord(time: time, orig: orig, dest: dest, verstat: verstat, attestation: attestation, spc: spc, x5u: x5u,
                                  origid: origid, source: source, reason: reason, policyAction: policyAction, policyRule: policyRule)
    }
}

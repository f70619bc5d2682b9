import Callsign
import FuzzSupport

/// Identity header values (RFC 8224 §4.1): parsing never traps, stays within
/// its limits, and a parsed header's value parses back to the same header.
func fuzzIdentity(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: Fuzz.bytes(data, size), as: UTF8.self)
    let limits = IdentityHeader.Limits()
    if let header = try? IdentityHeader(parsing: text, limits: limits) {
        Fuzz.check(header.parameters.count <= limits.maxParameters, "more parameters than the limit")
        let again = try? IdentityHeader(parsing: header.value, limits: limits)
        Fuzz.check(again == header, "value does not parse back: \(header.value)")
    }
    // A comma-joined header line (RFC 3261 §7.3.1): each element parses or is refused alone.
    for element in IdentityHeader.splitCommaJoined(IdentityHeader.stripHeaderName(text)).prefix(limits.maxHeaders) {
        _ = try? IdentityHeader(line: element, limits: limits)
    }
    return 0
}

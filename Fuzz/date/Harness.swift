import Callsign
import FuzzSupport

/// RFC 1123 dates (HTTP `Date`/`Expires`, SIP `Date`): never a trap, always
/// within years 0–9999, and a date from 1000 on written back (IMF-fixdate)
/// parses to the same second.
func fuzzDate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: Fuzz.bytes(data, size), as: UTF8.self)
    guard let seconds = CivilTime.parseRFC1123(text) else { return 0 }
    Fuzz.check(seconds >= -62_167_219_200 && seconds <= EpochTime.validRange.upperBound, "date out of years 0-9999: \(seconds)")
    if seconds >= -30_610_224_000 {  // 1000-01-01: four-digit years
        let formatted = CivilTime.formatRFC1123(seconds)
        Fuzz.check(CivilTime.parseRFC1123(formatted) == seconds, "\(formatted) does not parse back to \(seconds)")
    }
    // Whatever a peer sends, comparing it with a clock cannot trap.
    _ = EpochTime.seconds(from: seconds, to: .max)
    _ = EpochTime.distance(seconds, .min)
    return 0
}

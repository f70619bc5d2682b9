/// Bounds and overflow-free arithmetic for times read from the wire.
///
/// Every time a peer sends (a PASSporT `iat`, RFC 8225 §5.1.1; a REST
/// `time` or `iat`, ATIS-1000082 §5.2–5.3; a SIP `Date`, RFC 3261 §20.17; an
/// HTTP `Expires`/`Date`, RFC 9110 §5.6.7) is a number a stranger chose.
/// Swift traps on overflow, so a time is checked against ``validRange`` where
/// it is read, and times are compared through ``seconds(from:to:)``, which
/// cannot overflow whatever its operands.
public enum EpochTime {
    /// 1970-01-01T00:00:00Z through 9999-12-31T23:59:59Z, the range of an
    /// X.509 GeneralizedTime (RFC 5280 §4.1.2.5.2).
    public static let validRange: ClosedRange<Int64> = 0...253_402_300_799

    /// Whether `seconds` since the epoch is a time this software accepts from a peer.
    @inlinable
    public static func isValid(_ seconds: Int64) -> Bool { validRange.contains(seconds) }

    /// `later − earlier` in seconds, saturating at `Int64.min` / `Int64.max`
    /// instead of trapping.
    @inlinable
    public static func seconds(from earlier: Int64, to later: Int64) -> Int64 {
        let (difference, overflow) = later.subtractingReportingOverflow(earlier)
        if !overflow { return difference }
        return later > earlier ? .max : .min
    }

    /// `|a − b|` in seconds, saturating at `Int64.max`.
    @inlinable
    public static func distance(_ a: Int64, _ b: Int64) -> Int64 {
        let difference = seconds(from: b, to: a)
        return difference == .min ? .max : abs(difference)
    }

    /// `time + seconds`, saturating instead of trapping.
    @inlinable
    public static func adding(_ seconds: Int64, to time: Int64) -> Int64 {
        let (sum, overflow) = time.addingReportingOverflow(seconds)
        if !overflow { return sum }
        return seconds > 0 ? .max : .min
    }
}

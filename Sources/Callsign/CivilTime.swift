/// Calendar arithmetic in UTC without Foundation (the core has no clock and
/// no locale): used for X.509/CRL times, HTTP `Expires`/`Date` and SIP `Date`.
public enum CivilTime {
    /// (year, month, day, hours, minutes, seconds) in UTC → seconds since the epoch
    /// (days-from-civil, proleptic Gregorian).
    public static func epochSeconds(year: Int, month: Int, day: Int, hours: Int, minutes: Int, seconds: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Int64(days) * 86_400 + Int64(hours * 3600 + minutes * 60 + seconds)
    }

    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// An RFC 1123 / IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, as in HTTP
    /// `Date`/`Expires`, RFC 9110 §5.6.7, and the SIP Date header, RFC 3261
    /// §20.17) → seconds since the epoch, or `nil`.
    public static func parseRFC1123(_ text: String) -> Int64? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "," })
        guard parts.count >= 5, let day = Int(parts[1]), let year = Int(parts[3]),
            let month = months.firstIndex(of: parts[2].lowercased()).map({ $0 + 1 })
        else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3 else { return nil }
        return epochSeconds(year: year, month: month, day: day, hours: clock[0], minutes: clock[1], seconds: clock[2])
    }
}

func epochSeconds(year: Int, month: Int, day: Int, hours: Int, minutes: Int, seconds: Int) -> Int64 {
    CivilTime.epochSeconds(year: year, month: month, day: day, hours: hours, minutes: minutes, seconds: seconds)
}

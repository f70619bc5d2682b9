/// Calendar arithmetic in UTC without Foundation (the core has no clock and
/// no locale): used for X.509/CRL times, HTTP `Expires`/`Date` and SIP `Date`.
public enum CivilTime {
    /// (year, month, day, hours, minutes, seconds) in UTC → seconds since the epoch
    /// (days-from-civil, proleptic Gregorian). Fields outside their calendar
    /// ranges (``isValid(year:month:day:hours:minutes:seconds:)``) are clamped
    /// into them, so no input can overflow; parsers refuse such fields first.
    public static func epochSeconds(year: Int, month: Int, day: Int, hours: Int, minutes: Int, seconds: Int) -> Int64 {
        let year = min(max(year, 0), 9999), month = min(max(month, 1), 12), day = min(max(day, 1), 31)
        let hours = min(max(hours, 0), 23), minutes = min(max(minutes, 0), 59), seconds = min(max(seconds, 0), 60)
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Int64(days) * 86_400 + Int64(hours * 3600 + minutes * 60 + seconds)
    }

    /// Seconds since the epoch → (year, month, day, hours, minutes, seconds, weekday 0 = Sunday) in UTC
    /// (civil-from-days, the inverse of ``epochSeconds(year:month:day:hours:minutes:seconds:)``).
    /// Times outside years 0–9999 are clamped into them.
    public static func civil(_ epoch: Int64) -> (year: Int, month: Int, day: Int, hours: Int, minutes: Int, seconds: Int, weekday: Int) {
        let epoch = min(max(epoch, -62_167_219_200), EpochTime.validRange.upperBound)
        let days = Int(epoch >= 0 ? epoch / 86_400 : (epoch - 86_399) / 86_400)
        let secondsOfDay = Int(epoch - Int64(days) * 86_400)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday
        return (year, month, day, secondsOfDay / 3600, secondsOfDay / 60 % 60, secondsOfDay % 60, weekday)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339), for people reading dates.
    public static func iso8601(_ epoch: Int64) -> String {
        let t = civil(epoch)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(t.year)-\(two(t.month))-\(two(t.day))T\(two(t.hours)):\(two(t.minutes)):\(two(t.seconds))Z"
    }

    /// A time as people and tools give it in queries → seconds since the
    /// epoch, or `nil`: whole seconds since the epoch (`1796565720`), or UTC
    /// in RFC 3339 form (`2026-12-07T14:02:00Z`; the `Z` and the seconds may be left out).
    public static func parseQueryTime(_ text: String) -> Int64? {
        guard text.utf8.count <= 25 else { return nil }
        if let seconds = Int64(text) { return EpochTime.isValid(seconds) ? seconds : nil }
        guard text.utf8.allSatisfy({ (0x30...0x39).contains($0) || $0 == 0x2D || $0 == 0x3A || $0 == 0x54 || $0 == 0x5A }) else { return nil }
        var body = Substring(text)
        if body.hasSuffix("Z") { body = body.dropLast() }
        let halves = body.split(separator: "T", omittingEmptySubsequences: false)
        guard halves.count == 2 else { return nil }
        let date = halves[0].split(separator: "-", omittingEmptySubsequences: false)
        let clock = halves[1].split(separator: ":", omittingEmptySubsequences: false)
        guard date.count == 3, date[0].utf8.count == 4, date[1].utf8.count == 2, date[2].utf8.count == 2,
            (2...3).contains(clock.count), clock.allSatisfy({ $0.utf8.count == 2 }),
            let year = Int(date[0]), let month = Int(date[1]), let day = Int(date[2]),
            let hours = Int(clock[0]), let minutes = Int(clock[1]), let seconds = clock.count == 3 ? Int(clock[2]) : 0,
            isValid(year: year, month: month, day: day, hours: hours, minutes: minutes, seconds: seconds)
        else { return nil }
        return epochSeconds(year: year, month: month, day: day, hours: hours, minutes: minutes, seconds: seconds)
    }

    /// Seconds since the epoch → IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`,
    /// RFC 9110 §5.6.7), as HTTP `Date` and SIP `Date` (RFC 3261 §20.17) carry it.
    public static func formatRFC1123(_ epoch: Int64) -> String {
        let t = civil(epoch)
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(weekdays[t.weekday]), \(two(t.day)) \(monthNames[t.month - 1]) \(t.year) \(two(t.hours)):\(two(t.minutes)):\(two(t.seconds)) GMT"
    }

    /// Whether each field lies in its calendar range: year 0–9999, month
    /// 1–12, day 1–31, hours 0–23, minutes 0–59, seconds 0–60 (a leap second).
    public static func isValid(year: Int, month: Int, day: Int, hours: Int, minutes: Int, seconds: Int) -> Bool {
        (0...9999).contains(year) && (1...12).contains(month) && (1...31).contains(day)
            && (0...23).contains(hours) && (0...59).contains(minutes) && (0...60).contains(seconds)
    }

    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// An RFC 1123 / IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, as in HTTP
    /// `Date`/`Expires`, RFC 9110 §5.6.7, and the SIP Date header, RFC 3261
    /// §20.17) → seconds since the epoch, or `nil`. At most 64 bytes; a field
    /// out of its calendar range (an hour of 99999999999999999) is `nil`.
    public static func parseRFC1123(_ text: String) -> Int64? {
        guard text.utf8.count <= 64 else { return nil }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "," })
        guard parts.count >= 5, parts[1].utf8.count <= 2, parts[3].utf8.count == 4, let day = Int(parts[1]), let year = Int(parts[3]),
            let month = months.firstIndex(of: parts[2].lowercased()).map({ $0 + 1 })
        else { return nil }
        let clockParts = parts[4].split(separator: ":", omittingEmptySubsequences: false)
        guard clockParts.count == 3, clockParts.allSatisfy({ $0.utf8.count == 2 }) else { return nil }
        let clock = clockParts.compactMap { Int($0) }
        guard clock.count == 3,
            isValid(year: year, month: month, day: day, hours: clock[0], minutes: clock[1], seconds: clock[2])
        else { return nil }
        let seconds = epochSeconds(year: year, month: month, day: day, hours: clock[0], minutes: clock[1], seconds: clock[2])
        // A leap second on the last day of 9999 would be one past the range.
        return seconds <= EpochTime.validRange.upperBound ? seconds : nil
    }
}

func epochSeconds(year: Int, month: Int, day: Int, hours: Int, minutes: Int, seconds: Int) -> Int64 {
    CivilTime.epochSeconds(year: year, month: month, day: day, hours: hours, minutes: minutes, seconds: seconds)
}

import Callsign
import FuzzSupport

/// DNO lists (CSV, one number or prefix a line): a load never traps, keeps
/// one entry per data line at most, and every entry is digits.
func fuzzDNO(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: Fuzz.bytes(data, size), as: UTF8.self)
    guard let entries = try? DNOEntry.parse(csv: text) else { return 0 }
    let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).count
    Fuzz.check(entries.count <= lines, "\(entries.count) entries from \(lines) lines")
    for entry in entries {
        Fuzz.check(!entry.value.isEmpty && entry.value.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }, "entry \(entry.value) is not digits")
    }
    return 0
}

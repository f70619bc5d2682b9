import Callsign
import FuzzSupport

/// JSON (RFC 8259) as PASSporTs and API bodies carry it: the parser never
/// traps and keeps its limits; a parsed document written in the
/// deterministic form (RFC 8225 §9) parses back, and writing that again
/// gives the same bytes (the form is a fixed point).
func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    guard let value = try? JSONParser.parse(bytes) else { return 0 }
    let written = JSONWriter.canonical(value)
    guard let again = try? JSONParser.parse(written) else {
        Fuzz.check(false, "canonical form does not parse: \(String(decoding: written, as: UTF8.self))")
        return 0
    }
    Fuzz.check(JSONWriter.canonical(again) == written, "canonical form is not stable")
    return 0
}

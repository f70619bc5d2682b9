import CallsignApp
import FuzzSupport

/// `serve`'s configuration file (JSON): any text is read or refused with an
/// error, never a trap.
func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = try? ServerConfigurationFile(json: String(decoding: Fuzz.bytes(data, size), as: UTF8.self))
    return 0
}

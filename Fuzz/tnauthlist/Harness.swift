import Callsign
import FuzzSupport

/// TNAuthList DER (RFC 8226 §9): decoding never traps; a decoded list
/// encodes to DER that decodes to the same list, and encodes the same again.
func fuzzTNAuthList(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let list = try? TNAuthorizationList(derEncoded: Fuzz.bytes(data, size)) else { return 0 }
    guard let der = try? list.derBytes() else {
        Fuzz.check(false, "a decoded list does not encode: \(list)")
        return 0
    }
    let again = try? TNAuthorizationList(derEncoded: der)
    Fuzz.check(again == list, "re-encoded list decodes to another list")
    Fuzz.check((try? again?.derBytes()) == der, "encoding is not stable")
    _ = list.covers(tn: "12155550100")
    return 0
}

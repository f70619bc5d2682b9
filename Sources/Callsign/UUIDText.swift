/// The text form of a UUID (RFC 9562 §4: 8-4-4-4-12 hexadecimal digits,
/// either case), as the SHAKEN `origid` claim carries it (RFC 8588 §3,
/// ATIS-1000074 §5.2.3). Checked on bytes: `Foundation.UUID(uuidString:)`
/// parses with `sscanf`, ~1.5 % of a REST signing's CPU (BENCHMARKS.md).
public enum UUIDText {
    /// Whether `text` is a UUID in its 36-character text form (on its
    /// contiguous UTF-8: the generic form below, called from another module,
    /// walks a `String` through protocol witnesses byte by byte).
    public static func isValid(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { isValid(bytes: $0) }
    }

    /// ``isValid(_:)`` on UTF-8 bytes.
    public static func isValid(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == 36 else { return false }
        for (position, byte) in bytes.enumerated() {
            switch position {
            case 8, 13, 18, 23:
                guard byte == UInt8(ascii: "-") else { return false }
            default:
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): break
                default: return false
                }
            }
        }
        return true
    }

    /// Whether `text` is a UUID in its 36-character text form.
    public static func isValid(_ text: some StringProtocol) -> Bool {
        var position = 0
        for byte in text.utf8 {
            switch position {
            case 8, 13, 18, 23:
                guard byte == UInt8(ascii: "-") else { return false }
            default:
                guard position < 36 else { return false }
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): break
                default: return false
                }
            }
            position += 1
        }
        return position == 36
    }
}

/// Base64url without padding (RFC 4648 §5, as required for JWS by RFC 7515 §2).
///
/// Hand-written because it is on every call's hot path: Foundation's base64
/// costs as much as an ES256 verification (see SWIFT-NOTES). Decoding is
/// strict: only the base64url alphabet, no `=` padding, no whitespace, and
/// the unused low bits of the last character must be zero, so that every
/// byte string has exactly one accepted encoding.
public enum Base64URL {
    @usableFromInline
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    @usableFromInline
    static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, char) in alphabet.enumerated() { table[Int(char)] = UInt8(index) }
        return table
    }()

    /// Encodes bytes as unpadded base64url text.
    public static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let count = bytes.count
        let outputCount = (count / 3) * 4 + [0, 2, 3][count % 3]
        return String(unsafeUninitializedCapacity: outputCount) { buffer in
            encode(bytes, into: buffer)
        }
    }

    /// Appends the unpadded base64url text of `bytes` to `output` (no String in between).
    public static func append<Bytes: Collection>(_ bytes: Bytes, to output: inout [UInt8]) where Bytes.Element == UInt8 {
        let count = bytes.count
        let outputCount = (count / 3) * 4 + [0, 2, 3][count % 3]
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: outputCount))
        output.withUnsafeMutableBufferPointer { buffer in
            _ = encode(bytes, into: UnsafeMutableBufferPointer(rebasing: buffer[start...]))
        }
    }

    /// Encodes bytes into `output`; returns the number of bytes written.
    @usableFromInline
    static func encode<Bytes: Collection>(_ bytes: Bytes, into output: UnsafeMutableBufferPointer<UInt8>) -> Int
    where Bytes.Element == UInt8 {
        alphabet.withUnsafeBufferPointer { table in
            var out = 0
            var iterator = bytes.makeIterator()
            while let b0 = iterator.next() {
                let b1 = iterator.next()
                let b2 = b1 == nil ? nil : iterator.next()
                output[out] = table[Int(b0 >> 2)]
                output[out + 1] = table[Int(((b0 & 0x03) << 4) | ((b1 ?? 0) >> 4))]
                out += 2
                guard let b1 else { break }
                output[out] = table[Int(((b1 & 0x0F) << 2) | ((b2 ?? 0) >> 6))]
                out += 1
                guard let b2 else { break }
                output[out] = table[Int(b2 & 0x3F)]
                out += 1
            }
            return out
        }
    }

    /// Decodes unpadded base64url text, or returns `nil` if any character is
    /// outside the base64url alphabet, the length is impossible (4n+1), or
    /// the trailing bits are not zero.
    public static func decode<Text: Collection>(_ text: Text) -> [UInt8]? where Text.Element == UInt8 {
        let count = text.count
        if count % 4 == 1 { return nil }
        var output = [UInt8]()
        output.reserveCapacity(count / 4 * 3 + 2)
        return decodeTable.withUnsafeBufferPointer { table -> [UInt8]? in
            var accumulator: UInt32 = 0
            var bits = 0
            for char in text {
                let value = table[Int(char)]
                if value == 0xFF { return nil }
                accumulator = (accumulator << 6) | UInt32(value)
                bits += 6
                if bits >= 8 {
                    bits -= 8
                    output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                    accumulator &= (1 << UInt32(bits)) - 1
                }
            }
            // Non-canonical encodings (non-zero padding bits) are refused.
            if accumulator != 0 { return nil }
            return output
        }
    }

    /// Decodes a `String` (see ``decode(_:)-(Text)``).
    public static func decode(_ text: String) -> [UInt8]? {
        var copy = text
        return copy.withUTF8 { decode($0) }
    }

    /// Decodes a `Substring`.
    public static func decode(_ text: Substring) -> [UInt8]? {
        var copy = text
        return copy.withUTF8 { decode($0) }
    }
}

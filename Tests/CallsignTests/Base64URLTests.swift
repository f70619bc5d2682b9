import Callsign
import Foundation
import Testing

@Suite("Base64url (RFC 4648 §5, unpadded as in RFC 7515 §2)")
struct Base64URLTests {
    @Test("encodes like Foundation's base64 with the URL alphabet and no padding, for every length 0…300")
    func matchesFoundation() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...300 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let expected = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            let encoded = Base64URL.encode(bytes)
            #expect(encoded == expected)
            #expect(Base64URL.decode(encoded) == bytes)
            // Appending after existing bytes writes the same text and leaves them alone.
            var appended: [UInt8] = Array("x.".utf8)
            Base64URL.append(bytes, to: &appended)
            #expect(appended == Array("x.".utf8) + Array(expected.utf8))
        }
    }

    @Test("the RFC 8225 Appendix A header encodes to its published segment")
    func rfc8225Header() throws {
        let vector = try Vectors.json("rfc8225-appendixA.json")
        let header = try #require(vector["protected_header_json"] as? String)
        #expect(Base64URL.encode(Array(header.utf8)) == vector["protected_b64url"] as? String)
        let payload = try #require(vector["payload_json"] as? String)
        #expect(Base64URL.encode(Array(payload.utf8)) == vector["payload_b64url"] as? String)
    }

    @Test("refuses text outside the base64url alphabet, padding, and impossible lengths",
          arguments: ["ab+c", "ab/c", "abc=", "YQ==", "ab c", "a", "abcde", "ab\nc", "é"])
    func refusesBadText(_ text: String) {
        #expect(Base64URL.decode(text) == nil)
    }

    @Test("refuses non-canonical encodings whose unused bits are not zero")
    func refusesNonCanonical() {
        #expect(Base64URL.decode("QQ") == [0x41])
        #expect(Base64URL.decode("QR") == nil)
        #expect(Base64URL.decode("QUI") == [0x41, 0x42])
        #expect(Base64URL.decode("QUJ") == nil)
    }
}

import Callsign
import Foundation
import SwiftASN1
import Testing
import X509

@Suite("TNAuthList (RFC 8226 §9, EXPLICIT tags)")
struct TNAuthListTests {
    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var chars = Array(text)
        while chars.count >= 2 {
            bytes.append(UInt8(String(chars[0...1]), radix: 16)!)
            chars.removeFirst(2)
        }
        return bytes
    }

    static let samples: [(String, [TNAuthorizationList.Entry])] = [
        ("3008a00616043733334a", [.spc("733J")]),
        ("300fa20d160b3132313535353531323132", [.one("12155551212")]),
        ("3014a1123010160b3132313535353530303030020164", [.range(start: "12155550000", count: 100)]),
        ("3017a006160454455354a20d160b3132313535353531323132", [.spc("TEST"), .one("12155551212")]),
    ]

    @Test("decodes and re-encodes each DER sample byte for byte", arguments: samples)
    func samplesRoundTrip(_ hexValue: String, _ entries: [TNAuthorizationList.Entry]) throws {
        let list = try TNAuthorizationList(derEncoded: Self.hex(hexValue))
        #expect(list.entries == entries)
        #expect(try list.derBytes() == Self.hex(hexValue))
        #expect(try TNAuthorizationList(entries).derBytes() == Self.hex(hexValue))
    }

    @Test("the sample file's hex values all decode")
    func sampleFile() throws {
        let vector = try Vectors.json("tnauthlist-der-samples.json")
        let samples = try #require(vector["samples"] as? [[String: Any]])
        for sample in samples {
            let hexValue = try #require(sample["der_hex"] as? String)
            #expect(throws: Never.self) { try TNAuthorizationList(derEncoded: Self.hex(hexValue)) }
        }
    }

    @Test("reads the extension of the vector PKI and of real production certificates", arguments: [
        ("shaken-test-pki/ee.pem", "TEST"),
        ("real-certs/ee-SHAKEN-733J-transnexus.pem", "733J"),
        ("real-certs/ee-SHAKEN-9157-sansay-legacy.pem", "9157"),
    ])
    func realCertificates(_ path: String, _ spc: String) throws {
        let certificate = try KeyLoading.firstCertificate(pem: try Vectors.text(path))
        let ext = try #require(certificate.extensions[oid: TNAuthorizationList.oid])
        let list = try TNAuthorizationList(ext)
        #expect(list.spcs == [spc])
    }

    @Test("refuses libstirshaken's bare-string TNAuthList with a clear error")
    func refusesBareString() throws {
        let certificate = try KeyLoading.firstCertificate(pem: try Vectors.text("negative/libstirshaken-sp-bad-tnauthlist.pem"))
        let ext = try #require(certificate.extensions[oid: TNAuthorizationList.oid])
        #expect {
            try TNAuthorizationList(ext)
        } throws: { error in
            (error as? CallsignError)?.description.contains("SEQUENCE") == true
        }
    }

    @Test("refuses malformed values", arguments: [
        "3000",  // empty list
        "30068004 31323334",  // implicit [0] tag
        "3008a30616043132333",  // truncated
        "3008a30616043132333 4",  // unknown choice [3]
        "300fa20d160b31323135353535313231",  // length mismatch
        "3009a20716053132a13334",  // letters in a TN
        "3014a1123010160b3132313535353530303030020101",  // range count 1
        "3014a1123010160b3939393939393939393939020164",  // range overflows length
        "1604 31323334",  // bare IA5String
    ])
    func refusesMalformed(_ hexValue: String) {
        let bytes = Self.hex(hexValue.replacingOccurrences(of: " ", with: ""))
        #expect(throws: CallsignError.self) { try TNAuthorizationList(derEncoded: bytes) }
    }

    @Test("ranges and single TNs cover exactly their numbers; SPCs cover none")
    func coverage() throws {
        let list = try TNAuthorizationList([.range(start: "12155550000", count: 100), .one("12155559999"), .spc("1234")])
        #expect(list.covers(tn: "12155550000"))
        #expect(list.covers(tn: "12155550099"))
        #expect(!list.covers(tn: "12155550100"))
        #expect(!list.covers(tn: "1215555000"))
        #expect(list.covers(tn: "12155559999"))
        #expect(!list.covers(tn: "1234"))
        #expect(list.hasNumbers)
    }
}

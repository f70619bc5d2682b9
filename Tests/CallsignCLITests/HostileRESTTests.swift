import Callsign
import CallsignServer
import Foundation
import Testing

/// REST bodies from the adversarial probe of issue 20: numbers out of range
/// are SVC4005 on every path (scanned body, JSON tree, event loop), never a trap.
@Suite("Hostile REST bodies get SVC4005, never a crash", .serialized)
struct HostileRESTTests {
    static let times = ["9223372036854775808", "99999999999999999999", "9223372036854775807", "-9223372036854775808", "-1",
                        "253402300800"]

    static func verificationBody(time: String, spaced: Bool) -> [UInt8] {
        // `spaced`: a member order and spacing the scan still reads; otherwise an extra member sends it to the tree path.
        let extra = spaced ? "" : #","x":1"#
        return Array(#"{"verificationRequest":{"from":{"tn":"12155550042"},"to":{"tn":["12125551213"]},"time":\#(time),"identity":"a.b.c"\#(extra)}}"#.utf8)
    }

    @Test("a verification `time` outside 1970–9999 is SVC4005, scanned or parsed, on the event loop or the router",
          arguments: times)
    func verificationTime(time: String) async throws {
        let fixture = try await ServerFixture()
        for spaced in [true, false] {
            let body = Self.verificationBody(time: time, spaced: spaced)
            for response in [await fixture.service.verify(body: body), fixture.service.verifyImmediately(body: body)] {
                let answer = try #require(response)
                #expect(answer.status == 400, "\(time)")
                #expect(String(decoding: answer.encodedBody, as: UTF8.self).contains("SVC4005"), "\(time)")
            }
        }
        try await fixture.server.stop()
    }

    @Test("a signing `iat` outside 1970–9999 is SVC4005", arguments: times)
    func signingIat(iat: String) async throws {
        let fixture = try await ServerFixture()
        let body = Array(#"{"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":\#(iat),"orig":{"tn":"12155550042"},"origid":"\#(fixture.bank.origid)"}}"#.utf8)
        let answer = await fixture.service.sign(body: body, bearerToken: fixture.bankToken)
        #expect(answer.status == 400)
        #expect(String(decoding: answer.encodedBody, as: UTF8.self).contains("SVC4005"))
        try await fixture.server.stop()
    }
}

@testable import Callsign
import Testing

/// Numbers and times a stranger chooses: each is bounded where it is read, and
/// times are compared without overflow (Swift traps on overflow: a remote crash).
@Suite("Numbers and times from the wire never trap")
struct HostileNumberTests {
    static func token(claims: String) -> String {
        PASSporTScanTests.token(shakenHeader(), claims)
    }

    @Test("the JSON scanner refuses a 19th digit before multiplying it in", arguments: [
        "9223372036854775807", "9223372036854775808", "99999999999999999999", "-9223372036854775808", "1000000000000000000",
    ])
    func scannerRefusesLongIntegers(text: String) {
        let bytes = Array(text.utf8)
        let value = bytes.withUnsafeBufferPointer { buffer -> Int64? in
            var scanner = JSONScanner(buffer)
            return scanner.integer()
        }
        #expect(value == nil)
    }

    @Test("the JSON scanner reads 18 digits")
    func scannerReadsEighteenDigits() {
        let bytes = Array("999999999999999999".utf8)
        let value = bytes.withUnsafeBufferPointer { buffer -> Int64? in
            var scanner = JSONScanner(buffer)
            return scanner.integer()
        }
        #expect(value == 999_999_999_999_999_999)
    }

    @Test("a PASSporT whose iat is out of range is an invalid claim (438) on both decoding paths", arguments: [
        "99999999999999999999", "9223372036854775807", "-9223372036854775808", "-1", "253402300800", "1e30",
    ])
    func outOfRangeIat(iat: String) throws {
        let claims = #"{"attest":"A","dest":{"tn":["12125551213"]},"iat":\#(iat),"orig":{"tn":"12155551212"},"origid":"\#(testOrigid)"}"#
        let token = Self.token(claims: claims)
        let scanned = PASSporTScanTests.outcome { () throws(VerificationError) in try SignedPASSporT(compact: token) }
        let tree = PASSporTScanTests.outcome { () throws(VerificationError) in try SignedPASSporT(jws: CompactJWS(token)) }
        #expect(scanned == tree)
        #expect(scanned.hasPrefix("error invalidClaim"), "\(scanned)")
        #expect(VerificationError(.invalidClaim, "").sipStatus == 438)
    }

    @Test("the last second of 9999 is still an iat")
    func largestIat() throws {
        let claims = shakenClaims(iat: EpochTime.validRange.upperBound)
        let passport = try SignedPASSporT(compact: Self.token(claims: claims))
        #expect(passport.passport.claims.iat == 253_402_300_799)
    }

    @Test("an RFC 1123 date with a field out of range is no date", arguments: [
        "Thu, 01 Jan 2026 99999999999999999:00:00 GMT", "Thu, 01 Jan 2026 24:00:00 GMT", "Thu, 01 Jan 2026 00:60:00 GMT",
        "Thu, 32 Jan 2026 00:00:00 GMT", "Thu, 01 Jan 99999999999999999999 00:00:00 GMT", "Thu, 01 Jan 2026 -1:00:00 GMT",
        "Thu, 01 Jan 2026 1:2:3 GMT", "Thu, 00 Jan 2026 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:60 GMT", "Thu, 01 Jan 2026 00:00:00:00 GMT",
        "Thu, 01 Jan 2026 " + String(repeating: "0", count: 100) + ":00:00 GMT",
    ])
    func badDates(text: String) {
        #expect(CivilTime.parseRFC1123(text) == nil)
    }

    @Test("an RFC 1123 date in range parses")
    func goodDate() {
        #expect(CivilTime.parseRFC1123("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(CivilTime.parseRFC1123("Fri, 31 Dec 9999 23:59:59 GMT") == EpochTime.validRange.upperBound)
    }

    @Test("calendar arithmetic clamps absurd fields and times instead of trapping")
    func calendarClamps() {
        _ = CivilTime.epochSeconds(year: .max, month: .max, day: .max, hours: .max, minutes: .max, seconds: .max)
        _ = CivilTime.epochSeconds(year: .min, month: .min, day: .min, hours: .min, minutes: .min, seconds: .min)
        #expect(CivilTime.civil(.max).year == 9999)
        #expect(CivilTime.civil(.min).year == 0)
        #expect(CivilTime.formatRFC1123(.max) == "Fri, 31 Dec 9999 23:59:59 GMT")
    }

    @Test("time differences saturate")
    func differencesSaturate() {
        #expect(EpochTime.seconds(from: .min, to: .max) == .max)
        #expect(EpochTime.seconds(from: .max, to: .min) == .min)
        #expect(EpochTime.seconds(from: 10, to: 4) == -6)
        #expect(EpochTime.distance(.min, .max) == .max)
        #expect(EpochTime.distance(.min, 0) == .max)
        #expect(EpochTime.distance(3, 10) == 7)
        #expect(EpochTime.adding(.max, to: 1) == .max)
        #expect(EpochTime.adding(-5, to: .min) == .min)
    }

    @Test("verification with a Date or a clock at the ends of Int64 is a stale-date or stale-iat verdict", arguments: [
        (Int64.min, fixedNow), (Int64.max, fixedNow), (Int64(0), Int64.max), (Int64(0), Int64.min),
    ])
    func extremeTimesInVerification(date: Int64, now: Int64) async throws {
        let key = try Vectors.eeKey()
        let resolver = try PinnedCertificateResolver(certificate: try Vectors.eeCertificate())
        let token = try signRaw(header: shakenHeader(), claims: shakenClaims(iat: fixedNow), key: key)
        let call = CallContext(orig: "tel:+12155551212", dest: "tel:+12125551213", date: date)
        let verdict = await Verifier().verify(identityHeaders: [identity(token)], call: call, now: now, resolver: resolver)
        #expect(verdict.verstat == .failed)
        #expect(verdict.error?.sipStatus == 403)
    }
}

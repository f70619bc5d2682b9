import CallsignTestSupport
import Callsign
import Foundation
import Testing

/// NumberValidity against Google's libphonenumber (Python `phonenumbers`) on
/// a generated sample. The property that matters for a blocker: a number the
/// library knows to be valid is never rejected by Callsign, except where
/// Callsign deliberately differs:
///   - Ofcom drama ranges (fiction; the library calls the geographic ones valid),
///   - UK 09 premium-rate numbers (valid numbers, but never a valid CLI: Ofcom 2022),
///   - NANP central-office codes N11 and 0XX/1XX (numbering.md §2: NXX first digit 2–9, N11 not
///     assignable; libphonenumber's NANP patterns accept `[2-9]\d{2}` NXX including N11, and some
///     territories' patterns accept 0/1-leading NXX).
/// The other way round (structurally valid numbers the library rejects) is
/// expected: Callsign carries no NANPA/Ofcom allocation data yet; the test
/// reports how many.
@Suite("CLI validity vs libphonenumber")
struct PhonenumbersComparisonTests {
    static var havePhonenumbers: Bool {
        (try? runBlocking("/usr/bin/env", ["python3", "-c", "import phonenumbers"], timeout: 30).status) == 0
    }

    /// A deterministic sample: NANP and UK numbers across the structure, some malformed.
    static func sample() -> [String] {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        func digits(_ count: Int) -> String { (0..<count).map { _ in String(next() % 10) }.joined() }
        var numbers: [String] = []
        for _ in 0..<6000 { numbers.append("1" + digits(10)) }
        for i in 0..<6000 {
            let leading = ["1", "2", "3", "5", "7", "8", "9", "4", "6"][i % 9]
            numbers.append("44" + leading + digits(i % 3 == 0 ? 8 : 9))
        }
        numbers += ["442079460123", "441134960500", "447700900123", "449098790123", "449012345678", "12025550123"]
        return numbers
    }

    @Test("no number libphonenumber knows as valid is rejected, except the documented deliberate differences",
          .enabled(if: Peers.enabled(havePhonenumbers), "python3 with phonenumbers (pip install phonenumbers) not installed"))
    func comparison() async throws {
        let numbers = Self.sample()
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-pn-\(UUID().uuidString).txt")
        try numbers.joined(separator: "\n").write(to: input, atomically: true, encoding: .utf8)
        let script = """
            import sys, phonenumbers
            for line in open(sys.argv[1]):
                n = line.strip()
                try:
                    print("1" if phonenumbers.is_valid_number(phonenumbers.parse("+" + n)) else "0")
                except Exception:
                    print("0")
            """
        let out = try await run("/usr/bin/env", ["python3", "-c", script, input.path], timeout: 120)
        try #require(out.status == 0, "\(out.stderr)")
        let verdicts = out.stdout.split(separator: "\n").map { $0 == "1" }
        try #require(verdicts.count == numbers.count)
        let validity = NumberValidity()
        var falseRejections: [String] = []
        var deliberate = 0
        var structuralOnly = 0
        for (number, libraryValid) in zip(numbers, verdicts) {
            let problem = validity.problem(number)
            if libraryValid, let problem {
                if problem.contains("fictional") || problem.contains("09") || problem.contains("555-01XX") || problem.contains("never valid as CLI")
                    || problem.contains("N11 is not a central-office code") || problem.contains("central-office code cannot start")
                {
                    deliberate += 1
                } else {
                    falseRejections.append("\(number): \(problem)")
                }
            }
            if !libraryValid && problem == nil { structuralOnly += 1 }
        }
        #expect(falseRejections.isEmpty, "rejected but valid per libphonenumber: \(falseRejections.prefix(20))")
        #expect(deliberate >= 3)  // the fixed drama and 09 samples at least
        // Reported, not asserted: numbers Callsign cannot reject without allocation data.
        print("phonenumbers comparison: \(numbers.count) numbers, \(deliberate) deliberate differences, \(structuralOnly) accepted structurally but unallocated per libphonenumber")
    }
}

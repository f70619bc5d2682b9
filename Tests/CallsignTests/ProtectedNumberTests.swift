@testable import Callsign
import Testing

/// The `protected-number` rule: who may present a bank's number.
@Suite("Protected numbers")
struct ProtectedNumberTests {
    static let bank = ProtectedNumber(value: "442079460123", spcs: ["7Q2X"], customers: ["bank"], label: "Example Bank")
    static let policy = CallPolicy(rules: [.protectedNumber], protected: ProtectedNumbers([bank,
        ProtectedNumber(value: "4420794699", isPrefix: true, spcs: ["7Q2X"], label: "Example Bank branches", action: .tag)]))

    @Test("at verification a protected number passes only signed A by a certificate of an allowed SPC")
    func verification() {
        func decide(_ verstat: Verstat, _ attest: PASSporT.Attestation?, _ spcs: [String]) -> PolicyDecision {
            Self.policy.evaluate(CallFacts(orig: "442079460123", verstat: verstat, attestation: attest, signerSPCs: spcs))
        }
        #expect(decide(.passed, .full, ["7Q2X"]).action == .allow)
        let otherCarrier = decide(.passed, .full, ["9999"])
        #expect(otherCarrier.action == .block)
        #expect(otherCarrier.rule == "protected-number")
        #expect(otherCarrier.sipStatus == 608)
        #expect(otherCarrier.reasonHeader?.contains("Example Bank") == true)
        #expect(otherCarrier.reason?.contains("another SPC") == true)
        #expect(decide(.passed, .partial, ["7Q2X"]).reason?.contains("not attestation A") == true)
        #expect(decide(.passed, .gateway, ["7Q2X"]).action == .block)
        #expect(decide(.noValidation, nil, []).reason?.contains("not verified") == true)
        #expect(decide(.failed, nil, []).action == .block)
        // Numbers that are not protected are not touched.
        #expect(Self.policy.evaluate(CallFacts(orig: "442079460124", verstat: .noValidation)).action == .allow)
    }

    @Test("a prefix protects every number under it, the longest listed prefix decides, and its action may be tag")
    func prefixes() {
        #expect(Self.policy.protected.lookup("442079469912")?.label == "Example Bank branches")
        #expect(Self.policy.protected.lookup("442079460123")?.label == "Example Bank", "the exact number before any prefix")
        #expect(Self.policy.protected.lookup("44207946") == nil)
        let tagged = Self.policy.evaluate(CallFacts(orig: "442079469912", verstat: .noValidation))
        #expect(tagged.action == .tag)
        #expect(tagged.tags == ["protected-number"])
    }

    @Test("at signing only an allowed customer may present a protected number")
    func signing() {
        #expect(Self.policy.evaluate(CallFacts(orig: "442079460123", customer: "bank")).action == .allow)
        let other = Self.policy.evaluate(CallFacts(orig: "442079460123", customer: "reseller"))
        #expect(other.action == .block)
        #expect(other.reason?.contains("may not present") == true)
    }

    @Test("protected_numbers is read from the configuration, with prefixes, actions and errors naming the entry")
    func configuration() throws {
        let list = try PolicyConfiguration.protectedNumbers(try JSONParser.parse(Array(#"""
            [{"number": "+442079460123", "spc": ["7Q2X"], "customers": ["bank"], "label": "Example Bank", "action": "block"},
             {"number": "1800555*", "spc": ["1234"], "action": "tag"}]
            """#.utf8)))
        #expect(list.lookup("442079460123") == Self.bank)
        #expect(list.lookup("18005551234")?.action == .tag)
        for (text, fault) in [(#"[{"spc": ["1"]}]"#, "needs a 'number'"), (#"[{"number": "12a"}]"#, "E.164"),
                              (#"[{"number": "1", "action": "allow"}]"#, "block or tag"), (#"[{"number": "1", "spc": "x"}]"#, "array"),
                              (#"[{"number": "1", "owner": "x"}]"#, "unknown key")] {
            #expect {
                try PolicyConfiguration.protectedNumbers(try JSONParser.parse(Array(text.utf8)))
            } throws: { error in
                (error as? CallsignError)?.detail.contains(fault) == true
            }
        }
    }

    @Test("protected numbers import from CSV with a header row number,spc,label; a bad row fails the whole list with its line")
    func csv() throws {
        let entries = try ProtectedNumber.parse(csv: "\u{FEFF}number,spc,label,customers,action\r\n+44 20 7123 4567,7Q2X 8A1B,\"Example Bank, London\",bank,block\r\n# a comment\r\n1800555*,1234,Toll free,,tag\r\n")
        #expect(entries == [ProtectedNumber(value: "442071234567", spcs: ["7Q2X", "8A1B"], customers: ["bank"], label: "Example Bank, London"),
                            ProtectedNumber(value: "1800555", isPrefix: true, spcs: ["1234"], label: "Toll free", action: .tag)])
        for (text, fault) in [("442071234567,7Q2X\n", "header row"), ("number,spc\n12a,7Q2X\n", "line 2"),
                              ("number,spc,action\n442071234567,7Q2X,allow\n", "block or tag"), ("number,spc\n442071234567,7Q-2X\n", "letters and digits")] {
            #expect {
                try ProtectedNumber.parse(csv: text)
            } throws: { error in
                (error as? CallsignError)?.code == .protectedList && (error as? CallsignError)?.detail.contains(fault) == true
            }
        }
        #expect(ProtectedNumber.entry("+44 20 7123 4567") == "442071234567")
        #expect(ProtectedNumber.entry("1800555*") == "1800555*")
        #expect(ProtectedNumber.entry("bank") == nil)
    }
}

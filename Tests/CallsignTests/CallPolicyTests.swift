import Callsign
import Foundation
import Testing

@Suite("Anti-spoofing policy: DNO, CLI validity, national numbers from abroad, unauthenticated national numbers")
struct CallPolicyTests {
    let policy = CallPolicy(
        rules: [.doNotOriginate(), .invalidNumber(), .nationalNumberFromAbroad(countryCode: "44", allowRoamingMobile: true),
                .unauthenticatedNationalNumber(countryCode: "33"), .verificationFailed(), .gatewayAttestation()],
        dno: DNOList(numbers: ["442079460123"], prefixes: ["1800555"]))

    @Test("numbering.md facts: each number's validity with its source row", arguments: [
        ("12025550123", "555-01XX", "§2 +12025550123: valid per libphonenumber, but 555-0123 is a fiction line (deliberate difference)"),
        ("12025550234", nil as String?, "§2 ordinary line"),
        ("19115551234", "N11", "§2 +19115551234 invalid (N11 NPA)"),
        ("12115551234", "N11", "§2 +12115551234 invalid"),
        ("12129115555", "N11", "§2 NXX N11 not assignable"),
        ("12125550150", "555-01XX", "§2 555-0100…555-0199 are fiction in every geographic NPA"),
        ("12125551212", nil, "§2 other 555 lines may be real (555-1212 directory assistance)"),
        ("10125551234", "NPA", "§2 NPA first digit 2–9"),
        ("12120125555", "central-office", "§2 NXX first digit 2–9"),
        ("13795551234", "37X", "§2 37X reserved"),
        ("12925551234", "N9X", "§2 N9X reserved"),
        ("18335550100", nil, "§2 toll-free 833"),
        ("1212555123", "10 digits", "§2 NANP length"),
        ("442079460123", "drama", "§3 Ofcom drama London 020 7946 0xxx"),
        ("447700900123", "drama", "§3 Ofcom drama mobile 07700 900xxx"),
        ("441632960001", "drama", "§3 Ofcom drama no area 01632 960xxx"),
        ("449098790123", "drama", "§3 Ofcom drama premium rate"),
        ("449012345678", "09", "§4 09 numbers must not be used as CLI"),
        ("442071234567", nil, "§3 02 geographic, 11 digits"),
        ("447911123456", nil, "§3 mobile 07xxx"),
        ("4420712345", "10 or 11", "§3 UK CLI 10 or 11 digits"),
        ("446012345678", "allocated", "§3 06 not allocated"),
        ("33612345678", nil, "E.164 generic"),
        ("123", "not an E.164", "E.164: digits, length"),
    ])
    func validity(_ tn: String, _ problem: String?, _ source: String) {
        let found = NumberValidity().problem(tn)
        if let problem {
            #expect(found?.contains(problem) == true || (problem == "not an E.164" && found != nil), "\(source): \(found ?? "valid")")
        } else {
            #expect(found == nil, "\(source): \(found ?? "")")
        }
    }

    @Test("DNO entries and prefixes block with 603 and a Reason naming the rule")
    func dno() {
        let decision = policy.evaluate(CallFacts(orig: "442079460123"))
        #expect(decision.action == .block)
        #expect(decision.rule == "do-not-originate")
        #expect(decision.sipStatus == 603)
        #expect(decision.reasonHeader?.contains("do-not-originate") == true)
        #expect(policy.evaluate(CallFacts(orig: "18005551234")).rule == "do-not-originate")
        #expect(policy.evaluate(CallFacts(orig: "12025550234")).action == .allow)
    }

    @Test("a UK number from abroad is blocked (608) unless it is a UK mobile with roaming allowed")
    func ukFromAbroad() {
        let fixed = policy.evaluate(CallFacts(orig: "442071234567", ingress: .international))
        #expect(fixed.rule == "national-number-from-abroad")
        #expect(fixed.sipStatus == 608)
        #expect(policy.evaluate(CallFacts(orig: "447911123456", ingress: .international)).action == .allow)
        #expect(policy.evaluate(CallFacts(orig: "442071234567", ingress: .domestic)).action == .allow)
        let strict = CallPolicy(rules: [.nationalNumberFromAbroad(countryCode: "44", allowRoamingMobile: false)])
        #expect(strict.evaluate(CallFacts(orig: "447911123456", ingress: .international)).action == .block)
    }

    @Test("a French number without a passing verification is blocked; verified, it passes; C is tagged")
    func france() {
        #expect(policy.evaluate(CallFacts(orig: "33612345678", verstat: .noValidation)).rule == "unauthenticated-national-number")
        #expect(policy.evaluate(CallFacts(orig: "33612345678", verstat: .passed, attestation: .full)).action == .allow)
        let tagged = policy.evaluate(CallFacts(orig: "12025550234", verstat: .passed, attestation: .gateway))
        #expect(tagged.action == .tag)
        #expect(tagged.tags == ["gateway-attestation"])
        #expect(policy.evaluate(CallFacts(orig: "12025550234", verstat: .failed)).rule == "verification-failed")
    }

    @Test("the explanation lists every rule's verdict")
    func explain() {
        let lines = policy.explain(CallFacts(orig: "442079460123", ingress: .international))
        #expect(lines.count == 6)
        #expect(lines.filter { $0.action == .block }.map(\.rule) == ["do-not-originate", "invalid-number", "national-number-from-abroad"])
    }

    @Test("DNO lookups stay O(1) with a million entries")
    func largeList() {
        var list = DNOList()
        for i in 0..<1_000_000 { list.add(number: "4420" + String(10_000_000 + i)) }
        #expect(list.count == 1_000_000)
        #expect(list.contains("442010500000"))
        #expect(!list.contains("442099999999"))
    }

    @Test("the compiled-in ranges equal data/numbering-ranges.csv")
    func dataFileInSync() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("data/numbering-ranges.csv")
        let ranges = try NumberingRanges(csv: try String(contentsOf: url, encoding: .utf8))
        #expect(ranges == NumberingRanges.builtIn)
        #expect(ranges.fictional.count == 20)
        #expect(throws: CallsignError.self) { try NumberingRanges(csv: "fiction,1,22,x") }
    }
}

@Suite("Policy configuration and DNO CSV import")
struct PolicyConfigurationTests {
    @Test("rules are read from JSON with options, and unknown rules or actions name their index")
    func rules() throws {
        let value = try JSONParser.parse(Array(#"{"rules":["do-not-originate",{"national-number-from-abroad":{"country":"44","allow_roaming_mobile":false}},{"gateway-attestation":{"action":"block"}}]}"#.utf8))
        let rules = try PolicyConfiguration.rules(value)
        #expect(rules == [.doNotOriginate(), .nationalNumberFromAbroad(countryCode: "44", allowRoamingMobile: false), .gatewayAttestation(action: .block)])
        for bad in [#"{"rules":["nope"]}"#, #"{"rules":[{"invalid-number":{"action":"maybe"}}]}"#, #"{"rules":[{"unauthenticated-national-number":{}}]}"#, "{}"] {
            #expect(throws: CallsignError.self) { try PolicyConfiguration.rules(try JSONParser.parse(Array(bad.utf8))) }
        }
    }

    @Test("a DNO CSV imports numbers and prefixes; a bad row names its line and nothing is imported")
    func dnoImport() throws {
        var list = DNOList()
        try PolicyConfiguration.dno(csv: "# bank inbound lines\n+44 20 7946 0123,Example Bank\n\n18005551*\r\n", into: &list)
        #expect(list.contains("442079460123"))
        #expect(list.contains("18005551234"))
        var untouched = DNOList(numbers: ["1"])
        #expect {
            try PolicyConfiguration.dno(csv: "442079460123\n12155550000\nnot-a-number\n", into: &untouched)
        } throws: { error in
            (error as? CallsignError)?.description.contains("line 3") == true
        }
        #expect(untouched.count == 1)
    }

    @Test("a DNO list with a header row takes its numbers and labels from the named columns, after a BOM and with CRLF")
    func dnoHeaderRow() throws {
        let published = "\u{FEFF}id,Description,CLI\r\n1,\"Bank, fraud line\",+44 20 7946 0123\r\n2,Tax office,+44 800 123*\r\n"
        let entries = try DNOEntry.parse(csv: published)
        #expect(entries == [DNOEntry(value: "442079460123", label: "Bank, fraud line"), DNOEntry(value: "44800123", isPrefix: true, label: "Tax office")])
        for header in ["number,label", "TN,label", "cli", "\"number\",\"label\""] {
            let parsed = try DNOEntry.parse(csv: "\(header)\n+1 (215) 555-0100,Example\n")
            #expect(parsed.map(\.value) == ["12155550100"], "header \(header)")
        }
    }

    @Test("without a header the first column is the number and the rest of the row its label")
    func dnoWithoutHeader() throws {
        let entries = try DNOEntry.parse(csv: "12155550100,Example Bank, Inc\n")
        #expect(entries == [DNOEntry(value: "12155550100", label: "Example Bank, Inc")])
    }

    @Test("a header names the line of a bad row below it, and an empty number column is refused")
    func dnoHeaderBadRow() throws {
        #expect { try DNOEntry.parse(csv: "label,number\nBank,12155550100\nTax,\n") } throws: { error in
            (error as? CallsignError)?.description.contains("line 3") == true
        }
        #expect { try DNOEntry.parse(csv: "number\nbanana\n") } throws: { error in
            (error as? CallsignError)?.description.contains("line 2") == true
        }
    }
}

import Callsign
import Testing

@Suite("Attestation follows ownership, never the caller (ATIS-1000074 §5.2.3)")
struct AttestationPolicyTests {
    let bank = Customer(id: "bank", name: "Bank", origid: testOrigid, numbers: [NumberBlock(start: "12155550000", count: 100)])
    let gateway = Customer(id: "gw", name: "Intl GW", origid: testOrigid, kind: .gateway)

    @Test("A for an owned number, B for a number not owned, C for a gateway", arguments: [
        ("12155550042", "bank", PASSporT.Attestation.full),
        ("12155550100", "bank", .partial),
        ("12155550042", "gw", .gateway),
    ])
    func levels(_ orig: String, _ who: String, _ expected: PASSporT.Attestation) {
        let customer = who == "bank" ? bank : gateway
        #expect(AttestationPolicy.decide(customer: customer, orig: orig, requested: nil) == expected)
    }

    @Test("a requested level is honoured downwards and never upgraded")
    func neverUpgraded() {
        #expect(AttestationPolicy.decide(customer: bank, orig: "12155550100", requested: .full) == .partial)
        #expect(AttestationPolicy.decide(customer: bank, orig: "12155550042", requested: .gateway) == .gateway)
        #expect(AttestationPolicy.decide(customer: gateway, orig: "12155550042", requested: .full) == .gateway)
    }

    @Test("number blocks contain exactly their numbers")
    func blocks() {
        let block = NumberBlock(start: "12155550000", count: 100)
        #expect(block.contains("12155550000"))
        #expect(block.contains("12155550099"))
        #expect(!block.contains("12155550100"))
        #expect(!block.contains("1215555000"))
        #expect(!block.contains("abc"))
    }
}

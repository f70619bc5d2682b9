import Callsign
import Testing

@Suite("Telephone-number canonicalization (RFC 8224 §8)")
struct TelephoneNumberTests {
    @Test("RFC 8224 §8 examples and SIP forms", arguments: [
        ("tel:+1-215-555-1212", NumberingPolicy.e164, PASSporT.Party.tn("12155551212")),
        ("sip:+1(215)555-1212@example.com;user=phone", .e164, .tn("12155551212")),
        ("sip:2155551212@carrier.example;user=phone", .nanp, .tn("12155551212")),
        ("sip:alice@example.com", .e164, .uri("sip:alice@example.com")),
        ("\"Alice\" <sip:+12155551212@example.com;user=phone>;tag=abc", .e164, .tn("12155551212")),
        ("<tel:+12155551212;verstat=TN-Validation-Passed>", .e164, .tn("12155551212")),
        ("tel:+12155551212;npdi;rn=+12155550000", .e164, .tn("12155551212")),
        ("sip:+12155551212;npdi;rn=+12155550000@example.com;user=phone", .e164, .tn("12155551212")),
        ("sip:+12155551212@example.com;tgrp=TG1;trunk-context=example.com", .e164, .tn("12155551212")),
        ("sips:%2B12155551212@example.com", .e164, .tn("12155551212")),
        ("+1 215 555 1212", .e164, .tn("12155551212")),
        ("12155551212", .e164, .tn("12155551212")),
        ("2155551212", .nanp, .tn("12155551212")),
        ("12155551212", .nanp, .tn("12155551212")),
        ("011442079460000", .nanp, .tn("442079460000")),
        ("02079460000", .uk, .tn("442079460000")),
        ("07700900123", .uk, .tn("447700900123")),
        ("00442079460000", .uk, .tn("442079460000")),
        ("+442079460000", .uk, .tn("442079460000")),
        ("0140000000", .france, .tn("33140000000")),
        ("911", .nanp, .tn("911")),
        ("*67", .e164, .tn("*67")),
    ])
    func canonicalizes(_ input: String, _ policy: NumberingPolicy, _ expected: PASSporT.Party) {
        #expect(TelephoneNumber.canonicalize(input, policy: policy) == expected)
    }

    @Test("French routing prefixes are removed from called numbers before matching (ARCEP 0ZABP/0ZAB)")
    func frenchRoutingPrefix() {
        #expect(TelephoneNumber.strippingRoutingPrefix("336001612345678", policy: .france) == "33612345678")
        #expect(TelephoneNumber.strippingRoutingPrefix("33510612345678", policy: .france) == "33612345678")
        #expect(TelephoneNumber.strippingRoutingPrefix("33612345678", policy: .france) == "33612345678")
        #expect(TelephoneNumber.strippingRoutingPrefix("336001612345678", policy: .e164) == "336001612345678")
    }

    @Test("refuses what is not a number", arguments: [
        "++4", "", "tel:", "sip:@example.com", "12a45", "+1234567890123456", "tel:+1-2+15", "sip:abc@x;user=phone", "<sip:1@x",
    ])
    func refuses(_ input: String) {
        #expect(TelephoneNumber.canonicalize(input, policy: .nanp) == nil)
    }

    @Test("digits are collected up to 64 (a dial string of 15 or fewer keeps them all); more are refused")
    func digitBounds() {
        #expect(TelephoneNumber.canonicalNumber("1-2-3-4-5-6-7-8-9-0-1-2-3-4-5", policy: .e164) == "123456789012345")
        #expect(TelephoneNumber.canonicalNumber("+" + String(repeating: "1", count: 15), policy: .e164) == String(repeating: "1", count: 15))
        #expect(TelephoneNumber.canonicalNumber(String(repeating: "1", count: 16), policy: .e164) == nil)
        #expect(TelephoneNumber.canonicalNumber(String(repeating: "1", count: 65), policy: .e164) == nil)
        #expect(TelephoneNumber.canonicalNumber("12+3", policy: .e164) == nil)
        #expect(TelephoneNumber.canonicalNumber("*6#7", policy: .e164) == "*6#7")
    }
}

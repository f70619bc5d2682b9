import Callsign
import CallsignService
import CallsignStore
import Crypto
import Synchronization
import Testing

@Suite("The policy in force (PolicySet)")
struct PolicySetTests {
    @Test("with no rules configured, do-not-originate, invalid-number and protected-number are in force")
    func defaults() {
        let policy = PolicySet(storedDNO: DNOList(numbers: ["12155550077"]))
        #expect(policy.rules(for: nil).map(\.name) == ["do-not-originate", "invalid-number", "protected-number"])
        #expect(policy.evaluate(CallFacts(orig: "12155550077"), source: nil).rule == "do-not-originate")
        #expect(policy.evaluate(CallFacts(orig: "19115551234"), source: nil).rule == "invalid-number")
        #expect(policy.evaluate(CallFacts(orig: "12155550042"), source: nil).action == .allow)
        #expect(policy.summary.rules.contains("(the defaults)") && policy.summary.rules.contains("1 DNO entry"))
        #expect(policy.summary.warning == nil)
    }

    @Test("the store's DNO entries join the file's and are replaced as the store changes; the file's stay")
    func storedDNOReplaced() {
        let policy = PolicySet(.init(fileDNO: DNOList(numbers: ["442071230001"])), storedDNO: DNOList(numbers: ["12155550077"]))
        #expect(policy.dnoCount == 2)
        policy.replaceStoredDNO(DNOList(prefixes: ["1800555"]))
        #expect(policy.evaluate(CallFacts(orig: "12155550077"), source: nil).action == .allow)
        #expect(policy.evaluate(CallFacts(orig: "18005550001"), source: nil).rule == "do-not-originate")
        #expect(policy.evaluate(CallFacts(orig: "442071230001"), source: nil).rule == "do-not-originate")
    }

    @Test("a source's own rules replace the default ones for its calls, and an international source sets the ingress")
    func perSource() {
        let policy = PolicySet(.init(rules: [.verificationFailed()],
                                     sourceRules: ["203.0.113.66": [.nationalNumberFromAbroad(countryCode: "44", allowRoamingMobile: false)]],
                                     internationalSources: ["203.0.113.66"]))
        #expect(policy.evaluate(CallFacts(orig: "442071230001"), source: "203.0.113.65").action == .allow)
        let blocked = policy.evaluate(CallFacts(orig: "442071230001"), source: "203.0.113.66")
        #expect(blocked.rule == "national-number-from-abroad")
        #expect(policy.explain(CallFacts(orig: "442071230001"), source: "203.0.113.66").facts.ingress == .international)
    }

    @Test("DNO entries that no rule uses are named in a warning")
    func unusedDNOWarns() {
        let policy = PolicySet(.init(rules: [.invalidNumber()]), storedDNO: DNOList(numbers: ["12155550077", "12155550078"]))
        #expect(policy.summary.warning?.contains("2 DNO entries") == true)
    }
}

/// Counts the signatures made through it.
final class CountingSigner: IdentitySigning {
    let inner: Signer
    let count = Atomic(0)
    init(_ inner: Signer) { self.inner = inner }
    func sign(_ request: SigningRequest) throws -> IdentityHeader {
        count.add(1, ordering: .relaxed)
        return try inner.sign(request)
    }
}

@Suite("The signing and verification decisions (SigningFlow, VerificationFlow)")
struct DecisionFlowTests {
    static let bank = Customer(id: "bank", name: "Example Bank", origid: "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b",
                               numbers: [NumberBlock(start: "12155550000", count: 100)])
    static let gateway = Customer(id: "gw", name: "Gateway", origid: "11111111-2222-4333-8444-555555555555", kind: .gateway)

    static let x5u = "https://cr.example.net/sp.pem"

    static func flow(_ policy: PolicySet = PolicySet(), analytics: CallAnalytics? = nil) -> (SigningFlow, CountingSigner) {
        let signer = CountingSigner(Signer(key: P256.Signing.PrivateKey(), x5u: x5u))
        return (SigningFlow(signer: signer, x5u: x5u, policy: policy, analytics: analytics), signer)
    }

    @Test("a call blocked by the policy is refused with the rule, nothing is signed, and the attempt is recorded as refused")
    func refusedUnsigned() {
        let analytics = CallAnalytics()
        let (flow, signer) = Self.flow(PolicySet(storedDNO: DNOList(numbers: ["12155550077"])), analytics: analytics)
        guard case .refused(let decision) = flow.sign(customer: Self.bank, orig: "12155550077", dest: ["12125551213"], requested: .full,
                                                      iat: 1_800_000_000, time: 1_800_000_000, source: "192.0.2.10", face: .rest)
        else { Issue.record("not refused"); return }
        #expect(decision.rule == "do-not-originate" && decision.sipStatus == 603)
        #expect(signer.count.load(ordering: .relaxed) == 0)
        let refused = analytics.drain().refused
        #expect(refused == [SignedCallRecord(time: 1_800_000_000, orig: "12155550077", dest: ["12125551213"], attestation: .full,
                                             origid: Self.bank.origid, customerID: "bank", trunk: "192.0.2.10", attestationRule: "owned-number",
                                             policyAction: "block", policyRule: "do-not-originate")])
        #expect(refused.first?.refused == true)
    }

    @Test("a signing the policy tags is signed, and its record carries the tag's rule and the certificate's x5u")
    func taggedRecord() throws {
        let analytics = CallAnalytics()
        let (flow, _) = Self.flow(PolicySet(.init(rules: [.doNotOriginate(action: .tag)]), storedDNO: DNOList(numbers: ["12155550077"])),
                                  analytics: analytics)
        guard case .signed(let signed) = flow.sign(customer: Self.bank, orig: "12155550077", dest: ["12125551213"], requested: .full,
                                                   iat: 1_800_000_000, time: 1_800_000_000, source: nil, face: .rest)
        else { Issue.record("not signed"); return }
        #expect(signed.record.policyAction == "tag" && signed.record.policyRule == "do-not-originate" && signed.record.x5u == Self.x5u)
        #expect(!signed.record.refused)
        #expect(analytics.drain().refused.isEmpty)
    }

    @Test("attestation follows ownership: A for the customer's own number, B otherwise, C for a gateway; one signature each, and a record naming the trunk")
    func attestationAndRecord() throws {
        let (flow, signer) = Self.flow()
        func signed(_ customer: Customer, _ orig: String, source: String? = nil) -> SigningFlow.Signed? {
            if case .signed(let signed) = flow.sign(customer: customer, orig: orig, dest: ["12125551213"], requested: .full, iat: 1_800_000_000,
                                                    time: 1_800_000_001, source: source, face: .sip) { return signed }
            return nil
        }
        #expect(signed(Self.bank, "12155550042")?.attestation == .full)
        #expect(signed(Self.bank, "13125550042")?.attestation == .partial)
        #expect(signed(Self.gateway, "12155550042")?.attestation == .gateway)
        let record = try #require(signed(Self.bank, "12155550042", source: "192.0.2.10")?.record)
        #expect(record.trunk == "192.0.2.10" && record.time == 1_800_000_001 && record.origid == Self.bank.origid && record.customerID == "bank")
        #expect(record.x5u == Self.x5u && record.policyAction == "allow" && record.policyRule == nil)
        #expect(signer.count.load(ordering: .relaxed) == 4)
    }

    @Test("after verification the policy judges the verdict: a failed verification is blocked when the rule is in force")
    func verificationJudged() {
        let flow = VerificationFlow(policy: PolicySet(.init(rules: [.verificationFailed()])))
        let failed = Verdict(verstat: .failed, error: VerificationError(.badSignature, "test"), diagnostics: [])
        #expect(flow.judge(failed, orig: "12155550042", source: nil, face: .rest).rule == "verification-failed")
        #expect(flow.judge(Verdict(verstat: .passed, attestation: .full, diagnostics: []), orig: "12155550042", source: nil, face: .rest).action != .block)
    }
}

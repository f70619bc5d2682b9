import Callsign
import CallsignService
import CallsignStore
import Crypto
import Foundation
import Testing

/// The signals on a fixed clock: each window opens with the first call, the
/// threshold trips once, `block` refuses the key's next calls within the window
/// and allows them after, and nothing trips below the threshold.
@Suite("Signals and alerts over sliding windows (CallSignals, CallAnalytics)")
struct SignalTests {
    static let t0: Int64 = 1_800_000_000
    static let bankNumber = "442071234567"

    /// A verification seen by the signals: `origid` from `spc` via `peer`.
    static func verified(_ orig: String, origid: String, spc: String = "7Q2X", peer: String = "192.0.2.1", attestation: PASSporT.Attestation = .full)
        -> CallObservation
    {
        CallObservation(orig: orig, origin: "\(origid) \(spc) \(peer)", rotationSource: "origid:" + origid,
                        peerKey: "peer:" + peer, spcKey: "spc:" + spc, hitSource: "peer:" + peer, attestationC: attestation == .gateway)
    }

    /// A call pattern that raises one signal's measure with each call: the
    /// `index`th call of the pattern, at `t0 + index`.
    struct Scenario: Sendable, CustomTestStringConvertible {
        var trigger: SignalTrigger
        /// The key the alert names.
        var key: String
        /// The call that reaches the threshold (0-based).
        var tripsAt: Int
        var call: @Sendable (Int) -> (verdict: Verdict, orig: String, source: String)
        var testDescription: String { trigger.signal.rawValue }
    }

    static let failed = Verdict(verstat: .failed, error: VerificationError(.badSignature, "test"), diagnostics: [])
    static let unsigned = Verdict(verstat: .noValidation, error: VerificationError(.missingIdentity, "no Identity header"), diagnostics: [])
    static func passed(_ attestation: PASSporT.Attestation = .full, origid: String = "origid-1") -> Verdict {
        var verdict = Verdict(verstat: .passed, attestation: attestation, origid: origid, diagnostics: [])
        verdict.signerSPCs = ["7Q2X"]
        return verdict
    }

    static let scenarios: [Scenario] = [
        Scenario(trigger: SignalTrigger(signal: .oneNumberManyOrigins, windowS: 60, threshold: 3, mode: .block), key: bankNumber, tripsAt: 2) {
            (passed(origid: "origid-\($0)"), bankNumber, "192.0.2.1")
        },
        Scenario(trigger: SignalTrigger(signal: .oneSourceManyNumbers, windowS: 60, threshold: 3, mode: .block), key: "origid:origid-1",
                 tripsAt: 2) { (passed(), "4420712345\(60 + $0)", "192.0.2.1") },
        Scenario(trigger: SignalTrigger(signal: .failureShare, windowS: 60, threshold: 50, mode: .block, minCalls: 4), key: "peer:192.0.2.9",
                 tripsAt: 3) { _ in (failed, "12155550042", "192.0.2.9") },
        Scenario(trigger: SignalTrigger(signal: .attestationCShare, windowS: 60, threshold: 50, mode: .block, minCalls: 4), key: "peer:192.0.2.9",
                 tripsAt: 3) { _ in (passed(.gateway), "12155550042", "192.0.2.9") },
        Scenario(trigger: SignalTrigger(signal: .unsignedNationalShare, windowS: 60, threshold: 50, mode: .block, minCalls: 4),
                 key: "peer:192.0.2.9", tripsAt: 3) { _ in (unsigned, "442071234599", "192.0.2.9") },
        Scenario(trigger: SignalTrigger(signal: .policyHits, windowS: 60, threshold: 3, mode: .block), key: "peer:192.0.2.9", tripsAt: 2) { _ in
            (unsigned, "442071230077", "192.0.2.9")
        },
    ]

    @Test("each signal on a fixed clock: no alert below the threshold, one alert at it, refusal within the window in block mode, allowed after",
          arguments: scenarios)
    func perSignal(_ scenario: Scenario) {
        let analytics = CallAnalytics(triggers: [scenario.trigger], countryCode: "44")
        // DNO hits are tagged, not blocked, so only the signal refuses a call.
        let flow = VerificationFlow(policy: PolicySet(.init(rules: [.doNotOriginate(action: .tag)]), storedDNO: DNOList(numbers: ["442071230077"])),
                                    analytics: analytics)
        func judge(_ index: Int, at time: Int64) -> PolicyDecision {
            let (verdict, orig, source) = scenario.call(index)
            return flow.judge(verdict, orig: orig, source: source, time: time, face: .sip)
        }
        for index in 0..<scenario.tripsAt {
            #expect(judge(index, at: Self.t0 + Int64(index)).action != .block)
        }
        #expect(analytics.drain().alerts.isEmpty, "below the threshold")
        let trip = Self.t0 + Int64(scenario.tripsAt)
        #expect(judge(scenario.tripsAt, at: trip).action != .block, "the call that trips the threshold passes")
        // Per key: a share signal also counts the signer's SPC, which may trip with the peer.
        let alerts = analytics.drain().alerts.filter { $0.key == scenario.key }
        #expect(alerts.count == 1)
        #expect(alerts.first.map { [$0.signal, $0.key, $0.mode] } == [scenario.trigger.signal.rawValue, scenario.key, "block"])
        #expect(alerts.first?.at == trip && alerts.first?.windowS == 60 && alerts.first?.threshold == scenario.trigger.threshold)
        let refused = judge(scenario.tripsAt + 1, at: trip + 30)
        #expect(refused.action == .block && refused.rule == scenario.trigger.signal.rawValue && refused.sipStatus == 608)
        #expect(analytics.drain().alerts.isEmpty, "no second alert within the window")
        #expect(judge(0, at: trip + 60).rule != scenario.trigger.signal.rawValue, "allowed once the window after the trip has passed")
    }

    @Test("one-number-many-origins: one number from 10 origins in 60 s trips once at the 10th; 9 origins do not")
    func oneNumberManyOrigins() {
        let signals = CallSignals(triggers: [SignalTrigger(signal: .oneNumberManyOrigins, windowS: 60, threshold: 10)])
        var alerts: [CallAlert] = []
        for origin in 0..<9 {
            alerts += signals.observe(Self.verified(Self.bankNumber, origid: "origid-\(origin)"), now: Self.t0 + Int64(origin)).alerts
        }
        #expect(alerts.isEmpty, "9 distinct origins stay below a threshold of 10")
        // The same origin again does not count twice.
        #expect(signals.observe(Self.verified(Self.bankNumber, origid: "origid-0"), now: Self.t0 + 10).alerts.isEmpty)
        let tripped = signals.observe(Self.verified(Self.bankNumber, origid: "origid-9"), now: Self.t0 + 11).alerts
        #expect(tripped == [CallAlert(signal: "one-number-many-origins", key: Self.bankNumber, count: 10, threshold: 10, windowS: 60,
                                      mode: "report", at: Self.t0 + 11)])
        // More origins within the window: no second alert. Report mode refuses nothing.
        let after = signals.observe(Self.verified(Self.bankNumber, origid: "origid-10"), now: Self.t0 + 12)
        #expect(after.alerts.isEmpty && after.blockedBy == nil)
        // Another number is counted on its own.
        #expect(signals.observe(Self.verified("442071234568", origid: "origid-0"), now: Self.t0 + 13).alerts.isEmpty)
    }

    @Test("origins older than the window do not count: 10 origins over 2 minutes never trip a 60 s window")
    func windowSlides() {
        let signals = CallSignals(triggers: [SignalTrigger(signal: .oneNumberManyOrigins, windowS: 60, threshold: 10)])
        for origin in 0..<20 {
            let outcome = signals.observe(Self.verified(Self.bankNumber, origid: "origid-\(origin)"), now: Self.t0 + Int64(origin) * 13)
            #expect(outcome.alerts.isEmpty, "at most 5 origins fall within any 60 s")
        }
    }

    @Test("block mode refuses the key's next call within the window, and allows it after the window")
    func blockForTheRestOfTheWindow() {
        let signals = CallSignals(triggers: [SignalTrigger(signal: .oneNumberManyOrigins, windowS: 60, threshold: 3, mode: .block)])
        #expect(signals.observe(Self.verified(Self.bankNumber, origid: "a"), now: Self.t0).blockedBy == nil)
        #expect(signals.observe(Self.verified(Self.bankNumber, origid: "b"), now: Self.t0 + 1).blockedBy == nil)
        let trip = signals.observe(Self.verified(Self.bankNumber, origid: "c"), now: Self.t0 + 2)
        #expect(trip.alerts.count == 1 && trip.alerts.first?.mode == "block")
        #expect(trip.blockedBy == nil, "the call that trips the threshold passes")
        let refused = signals.observe(Self.verified(Self.bankNumber, origid: "a"), now: Self.t0 + 61)
        #expect(refused.blockedBy?.signal == "one-number-many-origins" && refused.blockedBy?.key == Self.bankNumber)
        #expect(refused.alerts.isEmpty, "no second alert within the window")
        #expect(signals.observe(Self.verified(Self.bankNumber, origid: "a"), now: Self.t0 + 62).blockedBy == nil,
                "the window after the trip (at t0 + 2) has passed")
        #expect(signals.observe(Self.verified("442071234568", origid: "a"), now: Self.t0 + 31).blockedBy == nil, "other numbers go on")
    }

    @Test("one-source-many-numbers: a customer signing 5 distinct calling numbers in 60 s trips; repeats of one number do not")
    func cliRotation() {
        let analytics = CallAnalytics(triggers: [SignalTrigger(signal: .oneSourceManyNumbers, windowS: 60, threshold: 5, mode: .block)])
        let flow = SigningFlow(signer: Signer(key: P256.Signing.PrivateKey(), x5u: "https://cr.example.net/sp.pem"), policy: PolicySet(),
                               analytics: analytics)
        let customer = Customer(id: "spoofer", name: "Spoofer", origid: "11111111-2222-4333-8444-555555555555", kind: .gateway)
        func sign(_ orig: String, at time: Int64) -> SigningFlow.Outcome {
            flow.sign(customer: customer, orig: orig, dest: ["12125551213"], requested: .gateway, iat: time, time: time, source: nil, face: .rest)
        }
        for second in 0..<10 {
            guard case .signed = sign("12155550001", at: Self.t0 + Int64(second)) else { Issue.record("repeats of one number were refused"); return }
        }
        #expect(analytics.drain().alerts.isEmpty)
        for index in 2...5 {
            guard case .signed = sign("1215555000\(index)", at: Self.t0 + 10) else { Issue.record("refused before the trip"); return }
        }
        let drained = analytics.drain()
        #expect(drained.alerts.map(\.signal) == ["one-source-many-numbers"] && drained.alerts.first?.key == "customer:spoofer")
        let minute = (Self.t0 + 10) - (Self.t0 + 10) % 60, hour = (Self.t0 + 10) - (Self.t0 + 10) % 3600
        #expect(drained.rollups.contains(CallRollup(minute: minute, series: "sign", key: "C", count: 4)), "\(drained.rollups)")
        #expect(drained.rollups.contains(CallRollup(minute: hour, series: "sign.customer", key: "spoofer C", count: 4)), "hourly, by customer")
        guard case .refused(let decision) = sign("12155550006", at: Self.t0 + 20) else { Issue.record("not refused within the window"); return }
        #expect(decision.rule == "one-source-many-numbers" && decision.sipStatus == 608)
        guard case .signed = sign("12155550006", at: Self.t0 + 71) else { Issue.record("still refused after the window"); return }
    }

    @Test("failure-share: a peer whose calls fail 50% or more over 20 calls trips; 40% does not")
    func failureShare() {
        let analytics = CallAnalytics(triggers: [SignalTrigger(signal: .failureShare, windowS: 60, threshold: 50, minCalls: 20)])
        let flow = VerificationFlow(policy: PolicySet(.init(rules: [])), analytics: analytics)
        let passed = Verdict(verstat: .passed, attestation: .full, origid: "o", diagnostics: [])
        let failed = Verdict(verstat: .failed, error: VerificationError(.badSignature, "test"), diagnostics: [])
        for index in 0..<20 {
            _ = flow.judge(index % 5 < 2 ? failed : passed, orig: "12155550042", dest: "12125551213", source: "192.0.2.1",
                           time: Self.t0 + Int64(index), face: .sip)
        }
        #expect(analytics.drain().alerts.isEmpty, "40% failures")
        for index in 0..<20 {
            _ = flow.judge(index % 2 == 0 ? failed : passed, orig: "12155550042", dest: "12125551213", source: "192.0.2.2",
                           time: Self.t0 + Int64(index), face: .sip)
        }
        let alerts = analytics.drain().alerts
        #expect(alerts.map(\.key) == ["peer:192.0.2.2"] && alerts.first?.count == 50 && alerts.first?.signal == "failure-share")
    }

    @Test("attestation-c-share and unsigned-national-share count per peer; policy-hits counts DNO and protected hits per source")
    func sharesAndHits() {
        let analytics = CallAnalytics(triggers: [
            SignalTrigger(signal: .attestationCShare, windowS: 60, threshold: 80, minCalls: 5),
            SignalTrigger(signal: .unsignedNationalShare, windowS: 60, threshold: 60, minCalls: 5),
            SignalTrigger(signal: .policyHits, windowS: 60, threshold: 3),
        ], countryCode: "44")
        let flow = VerificationFlow(policy: PolicySet(storedDNO: DNOList(numbers: ["442071230077"])), analytics: analytics)
        let gatewayCall = Verdict(verstat: .passed, attestation: .gateway, origid: "o", diagnostics: [])
        for index in 0..<5 {
            _ = flow.judge(gatewayCall, orig: "12155550042", source: "192.0.2.3", time: Self.t0 + Int64(index), face: .sip)
        }
        let unsigned = Verdict(verstat: .noValidation, error: VerificationError(.missingIdentity, "no Identity header"), diagnostics: [])
        for index in 0..<5 {
            _ = flow.judge(unsigned, orig: "44207123456\(index)", source: "192.0.2.4", time: Self.t0 + Int64(index), face: .sip)
        }
        for index in 0..<3 {
            let decision = flow.judge(unsigned, orig: "442071230077", source: "192.0.2.5", time: Self.t0 + Int64(index), face: .sip)
            #expect(decision.rule == "do-not-originate")
        }
        let alerts = analytics.drain().alerts
        #expect(Set(alerts.map { "\($0.signal) \($0.key)" }) == ["attestation-c-share peer:192.0.2.3", "unsigned-national-share peer:192.0.2.4",
                                                                 "policy-hits peer:192.0.2.5"])
    }

    @Test("each verification is queued as a call record with the policy outcome, and counted per minute")
    func recordsAndRollups() {
        let analytics = CallAnalytics(triggers: [SignalTrigger(signal: .oneNumberManyOrigins, windowS: 60, threshold: 2, mode: .block)])
        let flow = VerificationFlow(policy: PolicySet(.init(rules: [])), analytics: analytics)
        var verdict = Verdict(verstat: .passed, attestation: .full, origid: "origid-1", diagnostics: [])
        verdict.signerSPCs = ["7Q2X"]
        _ = flow.judge(verdict, orig: Self.bankNumber, calling: "+" + Self.bankNumber, dest: "12125551213", source: "192.0.2.1",
                       time: Self.t0 + 5, face: .sip)
        verdict.origid = "origid-2"
        _ = flow.judge(verdict, orig: Self.bankNumber, dest: "12125551213", source: "192.0.2.1", time: Self.t0 + 6, face: .sip)
        let refused = flow.judge(verdict, orig: Self.bankNumber, dest: "12125551213", source: nil, time: Self.t0 + 70, face: .rest)
        #expect(refused.action == .allow, "the window has passed")
        _ = flow.judge(verdict, orig: Self.bankNumber, dest: "12125551213", source: nil, time: Self.t0 + 7, face: .rest)
        let drained = analytics.drain()
        #expect(drained.records.count == 4)
        #expect(drained.records.first == VerifiedCallRecord(time: Self.t0 + 5, orig: Self.bankNumber, dest: "12125551213",
                                                            verstat: "TN-Validation-Passed", attestation: "A", spc: "7Q2X",
                                                            origid: "origid-1", source: "192.0.2.1"))
        #expect(drained.records.last?.policyAction == "block" && drained.records.last?.policyRule == "one-number-many-origins")
        let minute = Self.t0 - Self.t0 % 60
        #expect(drained.rollups.contains(CallRollup(minute: minute, series: "verify", key: "TN-Validation-Passed A", count: 3)))
        let hour = Self.t0 - Self.t0 % 3600
        #expect(drained.rollups.contains(CallRollup(minute: hour, series: "verify.spc", key: "7Q2X ok", count: 4)), "hourly, with the call at t0 + 70")
        #expect(drained.rollups.contains(CallRollup(minute: hour, series: "flagged", key: Self.bankNumber, count: 2)))
        #expect(analytics.drain().records.isEmpty, "a drain takes everything")
    }

    @Test("across nodes sharing a store: two nodes seeing 2 origins each trip a threshold of 4 at the check, once, and block mode then refuses")
    func acrossNodes() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-signals-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("db.sqlite").path)
        let trigger = SignalTrigger(signal: .oneNumberManyOrigins, windowS: 60, threshold: 4, mode: .block)
        let nodes = [CallAnalytics(triggers: [trigger]), CallAnalytics(triggers: [trigger])]
        var verdict = Verdict(verstat: .passed, attestation: .full, diagnostics: [])
        verdict.signerSPCs = ["7Q2X"]
        for (index, node) in nodes.enumerated() {
            let flow = VerificationFlow(policy: PolicySet(.init(rules: [])), analytics: node)
            for origin in 0..<2 {
                verdict.origid = "origid-\(index)-\(origin)"
                #expect(flow.judge(verdict, orig: Self.bankNumber, dest: "12125551213", source: "192.0.2.\(index)", time: Self.t0 + Int64(origin),
                                   face: .sip).action == .allow)
            }
            try await store.recordVerified(node.drain().records)
        }
        #expect(nodes[0].signals.candidates(now: Self.t0 + 5).map(\.key) == [Self.bankNumber], "2 of 4 is half the threshold")
        #expect(try await store.signalCount(.origins(number: Self.bankNumber), since: Self.t0 - 55) == 4)
        let raised = try await nodes[0].checkAcrossNodes(store: store, now: Self.t0 + 5)
        #expect(raised.map(\.count) == [4] && raised.first?.key == Self.bankNumber)
        #expect(nodes[0].drain().alerts == raised, "queued for the store and the webhook")
        #expect(try await nodes[0].checkAcrossNodes(store: store, now: Self.t0 + 6).isEmpty, "once per window")
        let flow = VerificationFlow(policy: PolicySet(.init(rules: [])), analytics: nodes[0])
        verdict.origid = "origid-0-0"
        #expect(flow.judge(verdict, orig: Self.bankNumber, source: "192.0.2.0", time: Self.t0 + 10, face: .sip).rule == "one-number-many-origins")
        #expect(try await nodes[1].checkAcrossNodes(store: store, now: Self.t0 + 120).isEmpty, "outside the window the store counts nothing")
    }

    @Test("memory is bounded: past the key limit stale keys go first, then new keys are not tracked")
    func boundedKeys() {
        let signals = CallSignals(triggers: [SignalTrigger(signal: .oneNumberManyOrigins, windowS: 60, threshold: 1000)], maxKeys: 16)
        for index in 0..<16 { _ = signals.observe(Self.verified("4420712300\(10 + index)", origid: "a"), now: Self.t0) }
        _ = signals.observe(Self.verified("442071239999", origid: "a"), now: Self.t0 + 1)
        #expect(signals.droppedKeys == 1)
        _ = signals.observe(Self.verified("442071239999", origid: "a"), now: Self.t0 + 120)
        #expect(signals.droppedKeys == 1, "the stale keys were dropped to make room")
    }
}

@Suite("Verification records through the journal (CallAnalytics with a VerificationJournal)")
struct VerificationRecordJournalTests {
    @Test("with a journal, each verification's record is appended before the answer; a journal that refuses drops the record and counts it, never the call")
    func journaled() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-vjournal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("db.sqlite").path
        do {
            let store = try SQLiteStore(path: path)
            // No indexer runs: a backlog of two is full after two records.
            let journal = try #require(try VerificationJournal.open(base: store.verificationJournalBase,
                                                                    target: SQLiteStore.VerificationRecords(store: store), maxBacklog: 2))
            let analytics = CallAnalytics(journal: journal)
            let flow = VerificationFlow(policy: PolicySet(.init(rules: [])), analytics: analytics)
            for index in 0..<3 {
                let decision = flow.judge(SignalTests.passed(), orig: SignalTests.bankNumber, dest: "12125551213", source: "192.0.2.1",
                                          time: SignalTests.t0 + Int64(index), face: .sip)
                #expect(decision.action == .allow, "the third call passes though its record is dropped")
            }
            let drained = analytics.drain()
            #expect(drained.records.isEmpty, "nothing queued for the writer: the journal has them")
            #expect(drained.journaledRecords == 2)
            #expect(drained.droppedJournal == 1)
        }
        // The journal's records are in the store once it opens again, as after kill -9.
        let reopened = try SQLiteStore(path: path)
        let calls = try await reopened.calls(number: SignalTests.bankNumber, since: nil, until: nil, limit: 10)
        #expect(calls.count == 2)
    }
}

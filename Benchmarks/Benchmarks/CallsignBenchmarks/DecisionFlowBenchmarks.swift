import Benchmark
import Callsign
import CallsignService
import Crypto
import Metrics
import Prometheus

/// What the one decision flow adds to a call besides its signature: the
/// policy, the six signals of `scripts/bench/analytics.json`, the per-minute
/// counts and (verification) the call record. The signature is left out (a
/// precomputed Identity header for signing; a made verdict for verification)
/// so the flow's own cost shows. Calls rotate over 1,000 calling numbers and
/// origids, the writer's drain runs every 10,000 calls as it would once a
/// second, and the clock moves one second every 1,000 calls. Counters go to a
/// Prometheus registry, as in `callsign serve`; each run first makes one pass
/// over the numbers, so what is measured is the steady state (every key seen).
func decisionFlowBenchmarks() {
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()))
    let triggers = [
        SignalTrigger(signal: .oneNumberManyOrigins, windowS: 60, threshold: 10),
        SignalTrigger(signal: .oneSourceManyNumbers, windowS: 60, threshold: 50),
        SignalTrigger(signal: .failureShare, windowS: 300, threshold: 30),
        SignalTrigger(signal: .attestationCShare, windowS: 300, threshold: 50),
        SignalTrigger(signal: .unsignedNationalShare, windowS: 300, threshold: 50),
        SignalTrigger(signal: .policyHits, windowS: 60, threshold: 20),
    ]
    let numbers = (0..<1_000).map { "1215555" + String(1_000 + $0) }
    let origids = (0..<1_000).map { "123e4567-e89b-12d3-a456-42665544" + String(1_000 + $0) }
    let t0: Int64 = 1_800_000_000

    Benchmark("Verification decision: policy, six signals, counts and a call record") { benchmark in
        let analytics = CallAnalytics(triggers: triggers)
        let flow = VerificationFlow(policy: PolicySet(), analytics: analytics)
        var verdict = Verdict(verstat: .passed, attestation: .full, origid: origids[0], diagnostics: [])
        verdict.signerSPCs = ["7Q2X"]
        var call = 0
        func verify() {
            let index = call % numbers.count
            verdict.origid = origids[index]
            blackHole(flow.judge(verdict, orig: numbers[index], calling: numbers[index], dest: "12125551213", source: "192.0.2.1",
                                 time: t0 + Int64(call / 1_000), face: .sip))
            call += 1
            if call % 10_000 == 0 { blackHole(analytics.drain()) }
        }
        for _ in 0..<numbers.count { verify() }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { verify() }
    }

    Benchmark("Signing decision: policy, attestation, six signals and counts (signature precomputed)") { benchmark in
        let key = P256.Signing.PrivateKey()
        let header = try? Signer(key: key, x5u: "https://cr.example.net/shaken/sp-chain.pem")
            .sign(SigningRequest(orig: numbers[0], dest: ["12125551213"], attestation: .full, origid: origids[0], iat: t0))
        guard let header else { return }
        let analytics = CallAnalytics(triggers: triggers)
        let flow = SigningFlow(signer: PrecomputedSigner(header: header), x5u: "https://cr.example.net/shaken/sp-chain.pem",
                               policy: PolicySet(), analytics: analytics)
        let customer = Customer(id: "carrier", name: "Carrier", origid: origids[0])
        var call = 0
        func sign() {
            let index = call % numbers.count
            blackHole(flow.sign(customer: customer, orig: numbers[index], dest: ["12125551213"], requested: .full, iat: t0,
                                time: t0 + Int64(call / 1_000), source: nil, face: .rest))
            call += 1
            if call % 10_000 == 0 { blackHole(analytics.drain()) }
        }
        for _ in 0..<numbers.count { sign() }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { sign() }
    }
}

/// Answers every signing with the same header: the flow without ES256.
struct PrecomputedSigner: IdentitySigning {
    let header: IdentityHeader
    func sign(_ request: SigningRequest) throws -> IdentityHeader { header }
}

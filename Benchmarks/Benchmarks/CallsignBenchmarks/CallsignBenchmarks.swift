import Benchmark
import Callsign
import Crypto

/// PASSporT sign/verify and Identity parse (issue: core). Figures are
/// throughput per second on one thread; allocations are counted so that
/// regressions show.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        warmupIterations: 100,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000,
        // Allocation counts are exact: `thresholds check` fails when one grows by more than 2 per
        // operation over the checked-in Thresholds/ (stored per 1,000 iterations, the .kilo scaling;
        // timings are too noisy here to gate on).
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 2_000])]
    )

    let key = P256.Signing.PrivateKey()
    let x5u = "https://cr.example.net/shaken/sp-chain.pem"
    let signer = Signer(key: key, x5u: x5u)
    let request = SigningRequest(orig: "12155551212", dest: ["12155553434"], attestation: .full,
                                 origid: "123e4567-e89b-12d3-a456-426655440000", iat: 1_800_000_000)
    let header = (try? signer.sign(request))!
    let identity = header.value
    let token = header.token
    let call = CallContext(orig: "12155551212", dest: "12155553434")
    let resolver = PinnedCertificateResolver(publicKey: key.publicKey)
    let verifier = Verifier()

    Benchmark("PASSporT sign (build + canonical JSON + base64url + ES256)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try signer.sign(request))
        }
    }

    Benchmark("PASSporT decode (base64url + JSON + claims)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try SignedPASSporT(compact: token))
        }
    }

    Benchmark("PASSporT signature verify (ES256)") { benchmark in
        let decoded = try SignedPASSporT(compact: token)
        for _ in benchmark.scaledIterations {
            blackHole(decoded.isValidSignature(for: key.publicKey))
        }
    }

    Benchmark("Identity header parse") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try IdentityHeader(parsing: identity))
        }
    }

    Benchmark("Verification procedure, pinned key (parse, claims, iat, ES256, orig and dest)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(await verifier.verify(identityHeaders: [identity], call: call, now: 1_800_000_000, resolver: resolver))
        }
    }

    certificateBenchmarks()
    sipBenchmarks()
    decisionFlowBenchmarks()

    Benchmark("TN canonicalization of a SIP URI") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(TelephoneNumber.canonicalize("\"Alice\" <sip:+1-215-555-1212@example.com;user=phone>;tag=a", policy: .nanp))
        }
    }
}

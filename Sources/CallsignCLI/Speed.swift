import ArgumentParser
import Callsign
import Crypto

/// `callsign speed`: ES256 signatures per second on one core with the
/// crypto Callsign uses (swift-crypto P-256, RFC 7518 §3.4), for sizing
/// a server the way `openssl speed ecdsap256` is used — and as the "crypto
/// bound" that BENCHMARKS.md sets REST verification throughput against.
struct Speed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure ES256 (P-256) sign and verify operations per second on one core.",
        discussion: """
            Signs and verifies the signing input of a typical SHAKEN PASSporT (RFC 8588) \
            for --seconds each, on one thread. Prints one line: \
            `es256 sign_per_s=… verify_per_s=… seconds=…`.
            """
    )

    @Option(name: .long, help: "Seconds to spend on each of sign and verify (0.2–60).")
    var seconds: Double = 2

    func validate() throws {
        guard (0.2...60).contains(seconds) else { throw ValidationError("--seconds must be between 0.2 and 60") }
    }

    func run() async throws {
        let key = P256.Signing.PrivateKey()
        let passport = PASSporT(header: .init(ppt: "shaken", x5u: "https://cert.example.org/sp.pem"),
                                claims: .init(attest: "A", dest: .init(tn: ["12125551213"]), iat: 1_700_000_000,
                                              orig: .tn("12155550042"), origid: "123e4567-e89b-12d3-a456-426655440000"))
        let input = SignedPASSporT.signingInput(for: passport)
        let budget = Duration.milliseconds(Int64(seconds * 1000))
        let clock = ContinuousClock()

        var signatures = 0
        var signature = try key.signature(for: input)
        var start = clock.now
        while clock.now - start < budget {
            for _ in 0..<64 { signature = try key.signature(for: input) }
            signatures += 64
        }
        let signSeconds = Self.seconds(clock.now - start)

        var verifications = 0
        var valid = true
        start = clock.now
        while clock.now - start < budget {
            for _ in 0..<16 { valid = valid && key.publicKey.isValidSignature(signature, for: input) }
            verifications += 16
        }
        let verifySeconds = Self.seconds(clock.now - start)
        guard valid else { throw ValidationError("a signature made here did not verify") }
        print("es256 sign_per_s=\(Int(Double(signatures) / signSeconds)) verify_per_s=\(Int(Double(verifications) / verifySeconds)) seconds=\(seconds)")
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

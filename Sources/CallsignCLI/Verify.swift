import ArgumentParser
import Callsign
import CallsignFetch
import Crypto
import X509

/// `callsign verify`: the STI-VS procedure for one call.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify Identity headers for a call and print the verdict (verstat, attestation, SIP code).",
        discussion: """
            --identity takes a header value or @FILE (one Identity header per line; \
            a leading 'Identity:' or 'y:' is allowed). Repeat it for several headers. \
            Exit status 0 when the verstat is TN-Validation-Passed, 1 otherwise.
            """
    )

    @Option(name: .long, help: "Identity header value, or @FILE. Repeatable.")
    var identity: [String] = []

    @Option(name: .long, help: "Calling number from P-Asserted-Identity/From.")
    var from: String

    @Option(name: .long, help: "Called number from To.")
    var to: String

    @Option(name: .long, help: "Certificate (PEM, end entity first) or public key whose key must verify the PASSporT.")
    var cert: String?

    @Flag(name: .long, help: "Fetch the certificate chain from x5u and validate it to --trust (implied by --trust).")
    var x5uFetch = false

    @Option(name: .long, help: "Trust anchors (PEM bundle): the STI-PA list, or a lab root.")
    var trust: String?

    @Option(name: .long, help: "Allow x5u/CRL URLs under this prefix even if plain http or loopback (labs only). Repeatable.")
    var labAllow: [String] = []

    @Option(name: .long, help: "Certificate profile: lenient (report deviations) or strict (reject them).")
    var certProfile: CertProfileOption = .lenient

    @Flag(name: .long, help: "Fail when no current CRL covers the chain.")
    var requireCRL = false

    @Option(name: .long, help: "Extra CRL URL to apply to every chain (e.g. the STI-PA CRL). Repeatable.")
    var crl: [String] = []

    @Option(name: .long, help: "Total time budget of one x5u/CRL fetch, in milliseconds.")
    var fetchTimeoutMs: Int = 2000

    @Option(name: .long, help: "Verification time, seconds since the epoch; now by default.")
    var now: Int64?

    @Option(name: .long, help: "SIP Date header value, seconds since the epoch.")
    var date: Int64?

    @Option(name: .long, help: "Maximum age of iat in seconds.")
    var maxAge: Int64 = 60

    @Option(name: .long, help: "Allowed clock skew for a future iat, in seconds.")
    var maxFuture: Int64 = 10

    @Option(name: .long, help: "How national numbers become E.164: e164 (none), nanp, uk, fr.")
    var numbering: NumberingOption = .e164

    @Option(name: .long, help: "Verification profile: atis (ATIS-1000074) or man (French MAN: alg required, no extra parameters).")
    var profile: Profile = .atis

    @Flag(name: .long, help: "Answer 428 when no Identity header is given.")
    var requireIdentity = false

    @Flag(name: .long, help: "Print the verdict as JSON.")
    var json = false

    enum Profile: String, ExpressibleByArgument, CaseIterable {
        case atis, man
    }

    func validate() throws {
        if cert == nil && trust == nil { throw ValidationError("give --cert CERT.pem, or --trust ROOTS.pem to fetch and validate the x5u chain") }
        if cert != nil && (x5uFetch || trust != nil) { throw ValidationError("--cert excludes --x5u-fetch and --trust") }
        if x5uFetch && trust == nil { throw ValidationError("--x5u-fetch needs --trust ROOTS.pem") }
        if !(100...30_000).contains(fetchTimeoutMs) { throw ValidationError("--fetch-timeout-ms must be 100…30000") }
        if maxAge < 0 || maxFuture < 0 { throw ValidationError("--max-age and --max-future must not be negative") }
    }

    func run() async throws {
        var values: [String] = []
        for argument in identity { values += try readValues(argument) }
        var options = profile == .man ? VerificationOptions.strictFrench : VerificationOptions()
        options.maxAge = maxAge
        options.maxFutureSkew = maxFuture
        if numbering != .e164 || profile == .atis { options.numbering = numbering.policy }
        options.requireIdentity = requireIdentity
        let verifier = Verifier(options: options)
        let time = now ?? currentEpochSeconds()
        let call = CallContext(orig: from, dest: to, date: date)
        let result: Verdict
        if let trust {
            let roots: [Certificate]
            do {
                roots = try KeyLoading.certificates(pem: try readTextFile(trust))
            } catch let error as CallsignError {
                printError("\(trust): \(error)")
                throw Exit.badInput
            }
            var fetch = CertificateFetchConfiguration()
            fetch.timeout = .milliseconds(fetchTimeoutMs)
            let repository = HTTPCertificateRepository(configuration: fetch, now: { time })
            let resolver = ChainValidatingResolver(
                policy: X5UPolicy(labAllowPrefixes: labAllow), repository: repository,
                validator: ChainValidator(roots: roots, mode: certProfile.mode, requireCRL: requireCRL), extraCRLURLs: crl)
            result = await verifier.verify(identityHeaders: values, call: call, now: time, resolver: resolver)
            try? await repository.shutdown()
        } else {
            result = await verifier.verify(identityHeaders: values, call: call, now: time, resolver: try loadResolver())
        }
        if json {
            printJSON(Self.verdictJSON(result))
        } else {
            print("verstat: \(result.verstat.rawValue)")
            if let attestation = result.attestation { print("attestation: \(attestation.rawValue)") }
            if let origid = result.origid { print("origid: \(origid)") }
            if let error = result.error {
                print("sip: \(error.sipStatus) \(error.reasonPhrase)")
                print("reason: \(error.code.rawValue): \(error.detail)")
            }
        }
        if !result.isValid { throw Exit.invalid }
    }

    static func verdictJSON(_ result: Verdict) -> JSONObject {
        var object = JSONObject([
            "verstat": .string(result.verstat.rawValue),
            "valid": .bool(result.isValid),
            "attestation": .optionalString(result.attestation?.rawValue),
            "origid": .optionalString(result.origid),
            "diagnostics": .array(result.diagnostics.map { .string($0) }),
        ])
        if let error = result.error {
            object["error"] = .object(JSONObject([
                "sip_code": .integer(Int64(error.sipStatus)),
                "reason_phrase": .string(error.reasonPhrase),
                "code": .string(error.code.rawValue),
                "detail": .string(error.detail),
            ]))
        }
        return object
    }

    func loadResolver() throws -> PinnedCertificateResolver {
        guard let cert else { throw Exit.badInput }
        let pem = try readTextFile(cert)
        if pem.contains("-----BEGIN CERTIFICATE-----") {
            do {
                return try PinnedCertificateResolver(certificate: try KeyLoading.firstCertificate(pem: pem))
            } catch {
                printError("\(cert): \(error)")
                throw Exit.badInput
            }
        }
        do {
            return PinnedCertificateResolver(publicKey: try KeyLoading.publicKey(pem: pem))
        } catch {
            printError("\(cert): neither a certificate nor a P-256 public key")
            throw Exit.badInput
        }
    }
}

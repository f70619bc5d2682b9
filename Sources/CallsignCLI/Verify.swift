import ArgumentParser
import Callsign
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

    @Flag(name: .long, help: "Fetch the certificate from x5u (needs the certificate layer's --trust).")
    var x5uFetch = false

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
        if cert == nil && !x5uFetch { throw ValidationError("give --cert CERT.pem (or --x5u-fetch)") }
        if cert != nil && x5uFetch { throw ValidationError("--cert and --x5u-fetch exclude each other") }
        if maxAge < 0 || maxFuture < 0 { throw ValidationError("--max-age and --max-future must not be negative") }
    }

    func run() async throws {
        if x5uFetch {
            printError("--x5u-fetch needs certificate chain validation (--trust), which this build does not have yet; use --cert")
            throw Exit.badInput
        }
        var values: [String] = []
        for argument in identity { values += try readValues(argument) }
        let resolver = try loadResolver()
        var options = profile == .man ? VerificationOptions.strictFrench : VerificationOptions()
        options.maxAge = maxAge
        options.maxFutureSkew = maxFuture
        if numbering != .e164 || profile == .atis { options.numbering = numbering.policy }
        options.requireIdentity = requireIdentity
        let verifier = Verifier(options: options)
        let result = await verifier.verify(identityHeaders: values, call: CallContext(orig: from, dest: to, date: date),
                                           now: now ?? currentEpochSeconds(), resolver: resolver)
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

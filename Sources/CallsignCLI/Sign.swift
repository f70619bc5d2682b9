import ArgumentParser
import Callsign
import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `callsign sign`: a SHAKEN PASSporT in an Identity header (STI-AS, ATIS-1000074 §5.3).
struct Sign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign a call: print the Identity header value (full form, RFC 8224 §4).",
        discussion: "Example: callsign sign --orig 12155551212 --dest 12155553434 --attest A --key sp.key --x5u https://cr.example.net/sp.pem"
    )

    @Option(name: .long, help: "Calling number (E.164, tel: or sip: URI).")
    var orig: String

    @Option(name: .long, help: "Called number; repeat for several.")
    var dest: [String]

    @Option(name: .long, help: "Attestation: A (full), B (partial) or C (gateway).")
    var attest: AttestOption

    @Option(name: .long, help: "P-256 private key, PEM (PKCS#8 or SEC1).")
    var key: String

    @Option(name: .long, help: "URL of the certificate chain (x5u and info).")
    var x5u: String

    @Option(name: .long, help: "Origination identifier (UUID); a random one by default.")
    var origid: String?

    @Option(name: .long, help: "Issued-at time in seconds since the epoch; now by default.")
    var iat: Int64?

    @Option(name: .long, help: "How national numbers become E.164: e164 (none), nanp, uk, fr.")
    var numbering: NumberingOption = .e164

    @Flag(name: .long, help: "Print JSON with the header, claims and Identity value.")
    var json = false

    func validate() throws {
        if dest.isEmpty { throw ValidationError("give at least one --dest") }
        if dest.count > 64 { throw ValidationError("at most 64 --dest values") }
        if x5u.isEmpty || x5u.utf8.count > 2048 { throw ValidationError("--x5u must be a URL of at most 2048 bytes") }
        if x5u.contains(where: { $0 == ">" || $0 == "<" || $0.isWhitespace || $0 == "\"" }) {
            throw ValidationError("--x5u must not contain spaces, quotes or angle brackets")
        }
    }

    func run() async throws {
        let pem = try readTextFile(key)
        let privateKey: P256.Signing.PrivateKey
        do {
            privateKey = try KeyLoading.privateKey(pem: pem)
        } catch {
            printError("\(key): \(error)")
            throw Exit.badInput
        }
        let signer = Signer(key: privateKey, x5u: x5u, numbering: numbering.policy)
        let request = SigningRequest(orig: orig, dest: dest, attestation: attest.attestation,
                                     origid: origid ?? UUID().uuidString.lowercased(), iat: iat ?? currentEpochSeconds())
        let passport: PASSporT
        do {
            passport = try signer.passport(for: request)
        } catch {
            printError(error.description)
            throw Exit.badInput
        }
        let signed = try SignedPASSporT.sign(passport, with: privateKey)
        let header = IdentityHeader(passport: signed, info: x5u)
        if json {
            printJSON(JSONObject([
                "identity": .string(header.value),
                "header": .object(passport.header.json),
                "claims": .object(passport.claims.json),
            ]))
        } else {
            print(header.value)
        }
    }
}

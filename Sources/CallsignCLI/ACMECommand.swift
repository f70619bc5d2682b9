import ArgumentParser
import Callsign
import CallsignApp
import CallsignFetch
import Crypto
import Foundation
import Logging
import SwiftASN1
import X509

/// `callsign acme`: obtain STI certificates from an STI-CA over ACME.
struct ACME: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Obtain a STI certificate from an STI-CA over ACME with an SPC token (RFC 8555, RFC 9447, RFC 9448).",
        subcommands: [Order.self])

    struct Order: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Order a certificate for an SPC: account (with EAB), TNAuthList order, tkauth-01 with an SPC token, finalize, download.")

        @Option(name: .long, help: "The STI-CA's ACME directory URL.")
        var directory: String

        @Option(name: .long, help: "External account binding key identifier, from the STI-CA.")
        var eabKid: String?

        @Option(name: .long, help: "File holding the EAB MAC key (base64url, as the STI-CA gives it).")
        var eabKeyFile: String?

        @Option(name: .long, help: "The service provider code the certificate is for.")
        var spc: String

        @Option(name: .long, help: "An SPC token (a file) obtained beforehand; or use --sti-pa to fetch one.")
        var token: String?

        /// `--sti-pa`: fetch the SPC token from this STI-PA, checked against `--sti-pa-root`.
        @OptionGroup var stiPA: STIPAFlags

        @Option(name: .long, help: "The certificate's key (PEM, P-256); created when the file does not exist.")
        var key: String

        @Option(name: .long, help: "The ACME account key (PEM, P-256); default OUT/account.key, created when missing.")
        var accountKey: String?

        @Option(name: .long, help: "Directory for chain.pem, certificate.pem and order.json.")
        var out: String

        @Option(name: .long, help: "Organization in the CSR's subject.")
        var organization: String = "Callsign"

        @Flag(name: .long, help: "Ask for a CA certificate (to issue delegate certificates, RFC 9060).")
        var ca = false

        @Option(name: .long, help: "Extra trust roots (PEM) for the STI-CA's TLS certificate.")
        var caBundle: String?

        @Option(name: .long, help: "Allow URLs under this prefix over http/loopback (labs). Repeatable.")
        var labAllow: [String] = []

        func run() async throws {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let certificateKey = try loadOrCreateKey(key)
            let accountKeyPath = accountKey ?? out + "/account.key"
            let account = try loadOrCreateKey(accountKeyPath)
            var eab: (kid: String, macKey: [UInt8])?
            if let eabKid {
                guard let eabKeyFile else {
                    printError("--eab-kid needs --eab-key-file")
                    throw Exit.badInput
                }
                let text = try readTextFile(eabKeyFile).trimmingCharacters(in: .whitespacesAndNewlines)
                guard let macKey = Base64URL.decode(text) ?? Data(base64Encoded: text).map(Array.init), !macKey.isEmpty else {
                    printError("\(eabKeyFile) does not hold a base64url MAC key")
                    throw Exit.badInput
                }
                eab = (eabKid, macKey)
            }
            let list: TNAuthorizationList
            let authority: SPCTokenAuthority
            do {
                list = try TNAuthorizationList([.spc(spc)])
                authority = try SPCTokenAuthority(spc: spc, ca: ca, accountKey: account.publicKey)
            } catch {
                printError("--spc \(spc): \(error)")
                throw Exit.badInput
            }
            let tokenSource = try self.tokenSource(authority: authority)
            let policy = X5UPolicy(labAllowPrefixes: labAllow)
            let client: ACMEClient
            do {
                client = try ACMEClient(configuration: ACMEConfiguration(directoryURL: directory, policy: policy, trustRootsFile: caBundle),
                                        accountKey: account, logger: Logger(label: "callsign-acme"))
            } catch {
                printError(error.description)
                throw Exit.badInput
            }
            let result: Result<ACMEClient.Issued, ACMEError>
            do throws(ACMEError) {
                try await client.register(eab: eab)
                result = .success(try await client.orderSTICertificate(tnAuthList: list, certificateKey: certificateKey,
                                                                       organization: organization, ca: ca) { _ throws(ACMEError) in
                    try await tokenSource()
                })
            } catch {
                result = .failure(error)
            }
            await client.shutdown()
            let issued: ACMEClient.Issued
            switch result {
            case .success(let value): issued = value
            case .failure(let error):
                printError("acme: \(error)")
                throw ExitCode.failure
            }
            let certificates = try KeyLoading.certificates(pem: issued.chainPEM)
            guard let leaf = certificates.first else {
                printError("acme: the chain is empty")
                throw ExitCode.failure
            }
            guard P256.Signing.PublicKey(leaf.publicKey)?.rawRepresentation == certificateKey.publicKey.rawRepresentation else {
                printError("acme: the certificate is not for the key \(key)")
                throw ExitCode.failure
            }
            try writeFile(out + "/chain.pem", issued.chainPEM, privateFile: false)
            try writeFile(out + "/certificate.pem", try leaf.serializeAsPEM().pemString + "\n", privateFile: false)
            let notAfter = Int64(leaf.notValidAfter.timeIntervalSince1970)
            try writeFile(out + "/order.json", JSONWriter.pretty(.object(JSONObject([
                "order": .string(issued.orderURL), "certificate": .string(issued.certificateURL),
                "spc": .string(spc), "serial": .string(hex(leaf.serialNumber.bytes)), "not_after": .integer(notAfter),
            ]))) + "\n", privateFile: false)
            print("certificate for SPC \(spc): \(out)/chain.pem (serial \(hex(leaf.serialNumber.bytes)), valid until \(CivilTime.iso8601(notAfter)))")
            print("publish chain.pem at the x5u your calls carry; sign with \(key)")
        }

        /// Where the SPC token comes from: a file, or the STI-PA (fetched and checked).
        func tokenSource(authority: SPCTokenAuthority) throws -> @Sendable () async throws(ACMEError) -> String {
            if let token {
                let text = try readTextFile(token).trimmingCharacters(in: .whitespacesAndNewlines)
                return { text }
            }
            guard let options = try stiPA.options() else {
                printError("give --token FILE, or --sti-pa URL with --sti-pa-root PEM")
                throw Exit.badInput
            }
            let settings = try options.commandSettings()
            let labAllow = self.labAllow
            let spc = self.spc
            return { () async throws(ACMEError) -> String in
                do throws(CallsignError) {
                    return try await STIPAClient.token(settings: settings, policy: X5UPolicy(labAllowPrefixes: labAllow), spid: spc,
                                                       authority: authority, now: currentEpochSeconds).compact
                } catch {
                    throw ACMEError("token", error.detail)
                }
            }
        }
    }
}

/// A P-256 key from a PEM file, or a new one written there (owner-only) when the file does not exist.
func loadOrCreateKey(_ path: String) throws -> P256.Signing.PrivateKey {
    if FileManager.default.fileExists(atPath: path) {
        do {
            return try KeyLoading.privateKey(pem: try readTextFile(path))
        } catch let error as CallsignError {
            printError("\(path): \(error)")
            throw Exit.badInput
        }
    }
    let key = P256.Signing.PrivateKey()
    try writeFile(path, key.pemRepresentation + "\n", privateFile: true)
    return key
}

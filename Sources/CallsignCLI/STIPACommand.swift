import ArgumentParser
import Callsign
import CallsignApp
import CallsignFetch
import Crypto
import Foundation
import Logging
import X509

/// `callsign sti-pa`: fetch, check and print what the STI-PA publishes.
struct STIPACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sti-pa",
        abstract: "Fetch and check the STI-PA's list of STI-CAs, its CRL or an SPC token (ATIS-1000080).",
        subcommands: [CAList.self, CRL.self, Token.self])

    /// The options every subcommand shares.
    struct Connection: ParsableArguments {
        @Option(name: .long, help: "The STI-PA API base URL.")
        var url: String

        @Option(name: .long, help: "The pinned STI-PA root certificate (PEM).")
        var root: String

        @Option(name: .long, help: "STI-PA login.")
        var user: String?

        @Option(name: .long, help: "File holding the STI-PA password.")
        var passwordFile: String?

        @Option(name: .long, help: "The STI-PA CRL URL (for `crl`; default URL/download/v1/crl).")
        var crl: String?

        @Option(name: .long, help: "Allow URLs under this prefix over http/loopback (labs). Repeatable.")
        var labAllow: [String] = []

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func client() throws -> STIPAClient {
            var base = url
            while base.hasSuffix("/") { base.removeLast() }
            let options = STIPAOptions(url: base, rootPath: root, user: user, passwordFile: passwordFile,
                                       crlURL: crl ?? base + "/download/v1/crl")
            return STIPAClient(settings: try options.commandSettings(), policy: X5UPolicy(labAllowPrefixes: labAllow), now: currentEpochSeconds)
        }

        /// Runs `body` with a client, closes it, and turns a refused check into exit 1 naming it.
        func with<T>(_ body: (STIPAClient) async throws(CallsignError) -> T) async throws -> T {
            let client = try client()
            let result: Result<T, CallsignError>
            do throws(CallsignError) {
                result = .success(try await body(client))
            } catch {
                result = .failure(error)
            }
            await client.shutdown()
            switch result {
            case .success(let value): return value
            case .failure(let error):
                printError(error.detail)
                throw ExitCode.failure
            }
        }
    }

    static func describe(_ certificate: Certificate) -> JSONObject {
        JSONObject([
            "subject": .string(certificate.subject.description),
            "serial": .string(hex(certificate.serialNumber.bytes)),
            "not_before": .integer(Int64(certificate.notValidBefore.timeIntervalSince1970)),
            "not_after": .integer(Int64(certificate.notValidAfter.timeIntervalSince1970)),
        ])
    }

    struct CAList: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ca-list", abstract: "Fetch the signed list of approved STI-CAs, check it and print each STI-CA.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let list = try await connection.with { client throws(CallsignError) in
                try await client.trustList(previousSequence: nil, accessToken: try await client.login())
            }
            if connection.json {
                print(JSONWriter.pretty(.object(JSONObject([
                    "sequence": .integer(list.sequence), "exp": .integer(list.expires), "version": list.version.map { .string($0) } ?? .null,
                    "signer": .string(list.signerURL), "sti_cas": .array(list.certificates.map { .object(STIPACommand.describe($0)) }),
                ]))))
                return
            }
            print("trust list: sequence \(list.sequence), version \(list.version ?? "-"), expires \(CivilTime.iso8601(list.expires)), \(list.certificates.count) STI-CAs, signed by \(list.signerURL)")
            for certificate in list.certificates {
                print("  \(certificate.subject)  serial \(hex(certificate.serialNumber.bytes))  \(CivilTime.iso8601(Int64(certificate.notValidBefore.timeIntervalSince1970))) – \(CivilTime.iso8601(Int64(certificate.notValidAfter.timeIntervalSince1970)))")
            }
        }
    }

    struct CRL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch the STI-PA CRL, check its signer (from its AIA) and signature, and print its entries.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let crl = try await connection.with { client throws(CallsignError) in try await client.crl() }
            let entries = crl.revoked.sorted { ($0.issuer.description, hex($0.serial.bytes)) < ($1.issuer.description, hex($1.serial.bytes)) }
            if connection.json {
                print(JSONWriter.pretty(.object(JSONObject([
                    "issuer": .string(crl.issuer.description), "this_update": .integer(crl.thisUpdate),
                    "next_update": crl.nextUpdate.map { .integer($0) } ?? .null, "indirect": .bool(crl.isIndirect),
                    "revoked": .array(entries.map { .object(JSONObject(["issuer": .string($0.issuer.description),
                                                                         "serial": .string(hex($0.serial.bytes)),
                                                                         "date": .integer($0.date)])) }),
                ]))))
                return
            }
            print("STI-PA CRL by \(crl.issuer): this update \(CivilTime.iso8601(crl.thisUpdate)), next update \(crl.nextUpdate.map(CivilTime.iso8601) ?? "-"), \(entries.count) revoked")
            for entry in entries {
                print("  \(entry.issuer)  serial \(hex(entry.serial.bytes))  revoked \(CivilTime.iso8601(entry.date))")
            }
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the STI-PA for an SPC token bound to an ACME account key, check it and print its claims.")
        @OptionGroup var connection: Connection

        @Option(name: .long, help: "The service provider code (the account's SPID).")
        var spc: String

        @Option(name: .long, help: "The ACME account key (PEM, P-256) whose fingerprint the token carries.")
        var accountKey: String

        @Flag(name: .long, help: "Ask for a token allowing a CA certificate (delegation, RFC 9060).")
        var ca = false

        @Option(name: .long, help: "Write the token to this file.")
        var out: String?

        func run() async throws {
            let key: P256.Signing.PrivateKey
            let authority: SPCTokenAuthority
            do {
                key = try KeyLoading.privateKey(pem: try readTextFile(accountKey))
                authority = try SPCTokenAuthority(spc: spc, ca: ca, accountKey: key.publicKey)
            } catch {
                printError("\(accountKey) or --spc: \(error)")
                throw Exit.badInput
            }
            let token = try await connection.with { client throws(CallsignError) in
                try await client.token(spid: spc, authority: authority, accessToken: try await client.login())
            }
            if let out { try writeFile(out, token.compact + "\n", privateFile: true) }
            if connection.json {
                print(JSONWriter.pretty(.object(JSONObject(["token": .string(token.compact), "claims": .object(token.claims)]))))
                return
            }
            print("SPC token for \(spc): expires \(CivilTime.iso8601(token.expires)), jti \(token.identifier ?? "-"), issuer \(token.issuer ?? "-")")
            print("  atc: \(JSONWriter.pretty(.object(token.authority.json)))")
            if out == nil { print(token.compact) }
        }
    }
}

/// `callsign lab`: lab services for tests and labs, on loopback only.
struct Lab: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lab services on loopback, for tests and labs without the internet (not production services).",
        subcommands: [STIPA.self])

    struct STIPA: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sti-pa",
            abstract: "A lab STI-PA: login, the signed STI-CA list, SPC tokens and the indirect STI-PA CRL from a directory.")

        @Option(name: .long, help: "The lab STI-PA's directory (made on first run).")
        var dir: String

        @Option(name: .long, help: "Listen address HOST:PORT (loopback only).")
        var listen: String = "127.0.0.1:8095"

        @Option(name: .long, help: "Base URL it is reached at (default http://LISTEN).")
        var baseURL: String?

        @Option(name: .long, help: "Add this certificate (PEM: a lab CA's root-ca.pem) to the approved STI-CAs. Repeatable.")
        var approve: [String] = []

        func run() async throws {
            let (host, port) = try CallsignServe.hostPort(listen)
            let base = baseURL ?? "http://\(listen)"
            let lab = try LabSTIPA(directory: dir, baseURL: base, now: currentEpochSeconds)
            for path in approve {
                let text = try readTextFile(path)
                let name = (path as NSString).lastPathComponent
                try writeFile(dir + "/sti-cas/" + name, text, privateFile: false)
            }
            let logger = Logger(label: "callsign-lab-sti-pa")
            try await lab.run(host: host, port: port, logger: logger) {
                print("""
                    Lab STI-PA listening on \(base)  (directory \(dir))
                      pin the root     \(dir)/root.pem
                      login            user lab, password in \(dir)/password
                      STI-CAs listed   \(dir)/sti-cas/*.pem    revoked: \(dir)/revoked/*.pem
                      serve with       --sti-pa \(base) --sti-pa-root \(dir)/root.pem --sti-pa-user lab --sti-pa-password-file \(dir)/password --sti-pa-crl \(lab.crlURL) --lab-allow \(base)/
                    """)
                fflush(nil)
            }
        }
    }
}

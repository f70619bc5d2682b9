import ArgumentParser
import Callsign
import CallsignApp
import CallsignService
import CallsignStore
import Foundation

/// `callsign policy`: anti-spoofing rules.
struct Policy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Anti-spoofing policy (DNO, CLI validity, national numbers from abroad, …).",
                                                    subcommands: [Test.self])

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Explain which rule fires for a call, exactly as `callsign serve` on the same data directory would decide it.",
            discussion: """
                The rules come from the configuration (--config, else DATA/config.json when present; without a 'policy' \
                object the defaults are in force: do-not-originate and invalid-number); the DNO list is the configured \
                dno_file and the entries in the store serve uses (`callsign dno import`): PostgreSQL with --postgres, else DATA's; --trunk applies that source's own rules, \
                numbering and ingress. Exit status 0 when the call passes, 1 when it is blocked.
                """)

        @Option(name: .long, help: "Data directory of `callsign serve` (default ./callsign-data, or CALLSIGN_DATA).")
        var data: String?
        @Option(name: .long, help: "Configuration file (default DATA/config.json when present, or CALLSIGN_CONFIG).")
        var config: String?
        @Option(name: .long, help: "PostgreSQL URL of the store serve shares with other nodes (CALLSIGN_STORE_POSTGRES, or the configuration's postgres); SQLite in DATA otherwise.")
        var postgres: String?
        @Option(name: .long, help: "Calling number.")
        var from: String
        @Option(name: .long, help: "Called number (shown; no rule depends on it yet).")
        var to: String?
        @Option(name: .long, help: "Source address of the trunk or peer: its own rules, numbering and ingress apply.")
        var trunk: String?
        @Option(name: .long, help: "Where the call enters: domestic or international (a --trunk listed in international_sources is international).")
        var ingress: String = "domestic"
        @Option(name: .long, help: "Verification outcome: TN-Validation-Passed, TN-Validation-Failed, No-TN-Validation (omit for origination).")
        var verstat: String?
        @Option(name: .long, help: "Attestation of the verified PASSporT.")
        var attest: AttestOption?
        @Option(name: .long, help: "Numbering policy for --from (default: the configuration's, for --trunk its own): e164, nanp, uk, fr.")
        var numbering: NumberingOption?
        @Option(name: .long, help: "The SPC of the certificate the call verified with (protected numbers).")
        var spc: String?
        @Option(name: .long, help: "The customer asking to sign, without --verstat (protected numbers).")
        var customer: String?
        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() async throws {
            let env = ProcessInfo.processInfo.environment
            let dataDirectory = data ?? env["CALLSIGN_DATA"] ?? "./callsign-data"
            let configPath = config ?? env["CALLSIGN_CONFIG"] ?? (dataDirectory + "/config.json")
            var file = ServerConfigurationFile()
            if config != nil || env["CALLSIGN_CONFIG"] != nil || FileManager.default.fileExists(atPath: configPath) {
                do { file = try ServerConfigurationFile(json: try readTextFile(configPath)) } catch let error as AppError {
                    printError("\(configPath): \(error)")
                    throw Exit.badInput
                }
            }
            // The DNO entries and protected numbers serve would load: from its PostgreSQL store, else from the SQLite store
            // in DATA (none before its first run).
            var stored = (DNOList(), ProtectedNumbers())
            let storePath = dataDirectory + "/callsign.sqlite"
            @Sendable func load(_ store: any CallsignStore) async throws -> (DNOList, ProtectedNumbers) {
                (try await store.loadDNO(), try await store.loadProtected())
            }
            if let url = postgres ?? env["CALLSIGN_STORE_POSTGRES"] ?? file.postgres {
                stored = try await StoreAccess.withPostgres(url: url) { try await load($0) }
            } else if FileManager.default.fileExists(atPath: storePath) {
                stored = try await load(try SQLiteStore(path: storePath))
            }
            let policy = PolicySet(try policyConfiguration(file), storedDNO: stored.0, storedProtected: stored.1)
            // The numbering serve applies to calls from this source.
            let numberingPolicy = numbering?.policy
                ?? trunk.flatMap { file.peerNumbering?[$0] }.flatMap { NumberingPolicy.builtIn[$0] }
                ?? file.numbering.flatMap { NumberingPolicy.builtIn[$0] } ?? .e164
            guard let orig = TelephoneNumber.canonicalNumber(from, policy: numberingPolicy) else {
                printError("--from is not a telephone number")
                throw Exit.badInput
            }
            guard ingress == "domestic" || ingress == "international" else {
                printError("--ingress must be domestic or international")
                throw Exit.badInput
            }
            let status = verstat.flatMap(Verstat.init(rawValue:))
            if verstat != nil && status == nil {
                printError("--verstat must be TN-Validation-Passed, TN-Validation-Failed or No-TN-Validation")
                throw Exit.badInput
            }
            let facts = CallFacts(orig: orig, ingress: ingress == "international" ? .international : .domestic, verstat: status,
                                  attestation: attest?.attestation, signerSPCs: spc.map { [$0] } ?? [], customer: customer)
            let explanation = policy.explain(facts, source: trunk)
            if json {
                printJSON(explanation.json)
            } else {
                print(explanation.text)
            }
            if explanation.decision.action == .block { throw Exit.invalid }
        }
    }
}

/// The anti-spoofing part of a configuration file, as `serve` and `policy
/// test` both read it: the rules (the defaults when absent), the rules per
/// source, the international sources, and the DNO file's entries.
func policyConfiguration(_ file: ServerConfigurationFile) throws -> PolicySet.Configuration {
    var dno = DNOList()
    if let path = file.dnoFile {
        do {
            try PolicyConfiguration.dno(csv: try readTextFile(path), into: &dno)
        } catch let error as CallsignError {
            printError("\(path): \(error)")
            throw Exit.badInput
        }
    }
    return PolicySet.Configuration(rules: file.policyRules, sourceRules: file.peerPolicyRules ?? [:],
                                   internationalSources: Set(file.internationalSources ?? []), fileDNO: dno,
                                   protected: file.protectedNumbers ?? ProtectedNumbers())
}

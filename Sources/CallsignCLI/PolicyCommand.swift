import ArgumentParser
import Callsign
import CallsignServer
import Foundation

/// `callsign policy`: anti-spoofing rules.
struct Policy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Anti-spoofing policy (DNO, CLI validity, national numbers from abroad, …).",
                                                    subcommands: [Test.self])

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Explain which rule fires for a call.",
            discussion: "Rules come from the 'policy' object of the configuration file; without one, every built-in rule is shown with defaults (UK from abroad, France unauthenticated).")

        @Option(name: .long, help: "Calling number.")
        var from: String
        @Option(name: .long, help: "Called number (shown; no rule depends on it yet).")
        var to: String?
        @Option(name: .long, help: "Source address of the trunk/peer: its own rule set from the configuration applies, and an international source sets the ingress.")
        var trunk: String?
        @Option(name: .long, help: "Configuration file with a 'policy' object (default ./callsign-data/config.json when present).")
        var config: String?
        @Option(name: .long, help: "Where the call enters: domestic or international.")
        var ingress: String = "domestic"
        @Option(name: .long, help: "Verification outcome: TN-Validation-Passed, TN-Validation-Failed, No-TN-Validation (omit for origination).")
        var verstat: String?
        @Option(name: .long, help: "Attestation of the verified PASSporT.")
        var attest: AttestOption?
        @Option(name: .long, help: "Numbering policy for --from: e164, nanp, uk, fr.")
        var numbering: NumberingOption = .e164
        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() async throws {
            var rules: [PolicyRule] = [.doNotOriginate(), .invalidNumber(), .nationalNumberFromAbroad(countryCode: "44", allowRoamingMobile: true),
                                       .unauthenticatedNationalNumber(countryCode: "33"), .verificationFailed(), .gatewayAttestation()]
            var dno = DNOList()
            var internationalTrunk = false
            let path = config ?? (FileManager.default.fileExists(atPath: "./callsign-data/config.json") ? "./callsign-data/config.json" : nil)
            if let path {
                let file: ServerConfigurationFile
                do { file = try ServerConfigurationFile(json: try readTextFile(path)) } catch let error as ServerConfigurationFile.Error {
                    printError("\(path): \(error)")
                    throw Exit.badInput
                }
                if let configured = file.policyRules { rules = configured }
                if let trunk, let trunkRules = file.peerPolicyRules?[trunk] { rules = trunkRules }
                if let trunk, file.internationalSources?.contains(trunk) == true { internationalTrunk = true }
                if let dnoPath = file.dnoFile {
                    do { try PolicyConfiguration.dno(csv: try readTextFile(dnoPath), into: &dno) } catch let error as PolicyConfiguration.Error {
                        printError("\(dnoPath): \(error)")
                        throw Exit.badInput
                    }
                }
            }
            guard let orig = TelephoneNumber.canonicalNumber(from, policy: numbering.policy) else {
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
            let policy = CallPolicy(rules: rules, dno: dno)
            let facts = CallFacts(orig: orig, ingress: ingress == "international" || internationalTrunk ? .international : .domestic, verstat: status,
                                  attestation: attest?.attestation)
            let decision = policy.evaluate(facts)
            if json {
                printJSON(JSONObject([
                    "orig": .string(orig), "action": .string(decision.action.rawValue), "rule": .optionalString(decision.rule),
                    "reason": .optionalString(decision.reason), "sip_code": decision.sipStatus.map { .integer(Int64($0)) } ?? .null,
                    "tags": .array(decision.tags.map { .string($0) }),
                    "rules": .array(policy.explain(facts).map { line in
                        .object(JSONObject(["rule": .string(line.rule), "action": .string(line.action.rawValue), "reason": .optionalString(line.reason)]))
                    }),
                ]))
            } else {
                for line in policy.explain(facts) {
                    print("\(line.action.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)) \(line.rule)\(line.reason.map { ": \($0)" } ?? "")")
                }
                if decision.action == .block {
                    print("→ block with \(decision.sipStatus ?? 603) \(decision.reasonPhrase ?? ""), Reason: \(decision.reasonHeader ?? "")")
                } else {
                    print("→ \(decision.action.rawValue)\(decision.tags.isEmpty ? "" : " (tags: \(decision.tags.joined(separator: ",")))")")
                }
            }
            if decision.action == .block { throw Exit.invalid }
        }
    }
}

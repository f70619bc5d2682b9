import CallsignLab
import ArgumentParser
import Callsign
import Crypto
import SwiftASN1
import X509
import Foundation

/// `callsign cert`: look at STI certificates.
struct Cert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect STI certificates.", subcommands: [Inspect.self])

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print subject, SPC/TN entries, policy OIDs, validity and every profile finding of each certificate in a PEM file.",
            discussion: "The first certificate is checked as an end entity, self-signed ones as roots, the others as intermediates (ATIS-1000080).")

        @Argument(help: "PEM file (a certificate or an x5u chain).")
        var file: String

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() async throws {
            let certificates: [Certificate]
            do {
                certificates = try KeyLoading.certificates(pem: try readTextFile(file))
            } catch let error as CallsignError {
                printError("\(file): \(error)")
                throw Exit.badInput
            }
            var out: [JSONValue] = []
            for (index, certificate) in certificates.enumerated() {
                let role: STICertificateProfile.Role =
                    index == 0 ? .endEntity : (certificate.subject == certificate.issuer ? .root : .intermediate)
                out.append(.object(Self.describe(certificate, role: role)))
            }
            if json {
                print(JSONWriter.pretty(.array(out)))
                return
            }
            for case .object(let object) in out {
                for member in object.members {
                    switch member.value {
                    case .array(let items):
                        print("\(member.key):")
                        for item in items { print("  - \(item.stringValue ?? JSONWriter.pretty(item))") }
                    default:
                        print("\(member.key): \(member.value.stringValue ?? JSONWriter.pretty(member.value))")
                    }
                }
                print("")
            }
        }

        static func describe(_ certificate: Certificate, role: STICertificateProfile.Role) -> JSONObject {
            var object = JSONObject()
            object["role"] = .string(role.rawValue)
            object["subject"] = .string(String(describing: certificate.subject))
            object["issuer"] = .string(String(describing: certificate.issuer))
            object["serial"] = .string(hex(certificate.serialNumber.bytes))
            object["not_before"] = .string(ISO8601DateFormatter().string(from: certificate.notValidBefore))
            object["not_after"] = .string(ISO8601DateFormatter().string(from: certificate.notValidAfter))
            object["key"] = .string(P256.Signing.PublicKey(certificate.publicKey) != nil ? "P-256" : "not P-256")
            if let ext = certificate.extensions[oid: TNAuthorizationList.oid] {
                do {
                    let list = try TNAuthorizationList(ext)
                    object["tnauthlist"] = .array(list.entries.map { .string($0.description) })
                    object["spc"] = list.spcs.first.map { .string($0) } ?? .null
                    object["tnauthlist_der"] = .string(hex(ext.value))
                } catch {
                    object["tnauthlist_error"] = .string(error.description)
                }
            }
            if let policies = STICertificateProfile.policyOIDs(certificate) {
                object["policies"] = .array(policies.map { .string(String(describing: $0)) })
            }
            if let points = STICertificateProfile.crlDistributionPoints(certificate) {
                object["crl_distribution_points"] = .array(points.flatMap(\.uris).map { .string($0) })
            }
            let findings = STICertificateProfile.findings(for: certificate, role: role)
            object["findings"] = .array(findings.map { .string($0.description) })
            object["profile"] = .string(findings.contains { $0.severity == .error } ? "deviates (rejected in strict mode)" : "conforms")
            return object
        }
    }
}

/// `callsign csr`: a CSR with the TNAuthList extension for a real STI-CA.
struct CSR: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a certificate signing request carrying a TNAuthList (ATIS-1000080 §6.3.4) for a real STI-CA.")

    @Option(name: .long, help: "P-256 private key (PEM).")
    var key: String
    @Option(name: .long, help: "Service provider code.")
    var spc: String
    @Option(name: .long, help: "Organization name.")
    var organization: String = "Callsign"
    @Option(name: .long, help: "Output file; standard output by default.")
    var out: String?

    func run() async throws {
        let privateKey: P256.Signing.PrivateKey
        do { privateKey = try KeyLoading.privateKey(pem: try readTextFile(key)) } catch let error as CallsignError {
            printError("\(key): \(error)")
            throw Exit.badInput
        }
        let list: TNAuthorizationList
        do { list = try TNAuthorizationList([.spc(spc)]) } catch {
            printError(error.description)
            throw Exit.badInput
        }
        let csr = try LabCertificateAuthority.makeCSR(key: privateKey, tnAuthList: list, organization: organization)
        let pem = try csr.serializeAsPEM().pemString + "\n"
        if let out { try writeFile(out, pem, privateFile: false) } else { print(pem, terminator: "") }
    }
}

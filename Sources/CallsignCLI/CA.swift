import CallsignLab
import ArgumentParser
import Callsign
import Crypto
import SwiftASN1
import X509
import Foundation
import Logging
import CallsignApp

/// `callsign ca`: a lab STI-CA and certificate repository directory.
struct CA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A test STI-CA for labs: root, intermediate, SHAKEN end-entity certificates and a CRL (not for production).",
        subcommands: [Init.self, Issue.self, Revoke.self, CRL.self, ServeACME.self]
    )

    /// The CA directory: keys, certificates, the CRL and `ca.json` (issued serials).
    struct Directory {
        let path: String
        func file(_ name: String) -> String { path.hasSuffix("/") ? path + name : path + "/" + name }

        var statePath: String { file("ca.json") }

        func loadState() throws -> JSONObject {
            let text = try readTextFile(statePath)
            guard case .object(let object)? = try? JSONParser.parse(Array(text.utf8), limits: JSONLimits(maxDepth: 8, maxContainerCount: 100_000, maxBytes: 1 << 20)) else {
                printError("\(statePath) is not a CA state file")
                throw Exit.badInput
            }
            return object
        }

        func saveState(_ state: JSONObject) throws {
            try writeFile(statePath, JSONWriter.pretty(.object(state)) + "\n", privateFile: false)
        }

        func key(_ name: String) throws -> P256.Signing.PrivateKey {
            do { return try KeyLoading.privateKey(pem: try readTextFile(file(name))) } catch let error as CallsignError {
                printError("\(file(name)): \(error)")
                throw Exit.badInput
            }
        }

        func certificate(_ name: String) throws -> Certificate {
            do { return try KeyLoading.firstCertificate(pem: try readTextFile(file(name))) } catch let error as CallsignError {
                printError("\(file(name)): \(error)")
                throw Exit.badInput
            }
        }

        /// What a new certificate is issued under: the lab intermediate, or a
        /// delegating CA certificate (RFC 9060) with its key and chain.
        struct Issuer {
            var certificate: Certificate
            var key: P256.Signing.PrivateKey
            /// The issuer's chain as published below the new certificate (PEM).
            var chainPEM: String
            /// Where the new certificate's CRL distribution point points.
            var crlURL: String
        }

        /// The lab root as issuer (of delegating CAs: the intermediate's path length is 0).
        func root() throws -> Issuer {
            let root = try certificate("root-ca.pem")
            let baseURL = try loadState()["base_url"]?.stringValue ?? ""
            return Issuer(certificate: root, key: try key("root-ca.key"), chainPEM: "", crlURL: baseURL + "/root-ca.crl")
        }

        /// The lab intermediate as issuer.
        func intermediate() throws -> Issuer {
            let inter = try certificate("inter-ca.pem")
            let baseURL = try loadState()["base_url"]?.stringValue ?? ""
            return Issuer(certificate: inter, key: try key("inter-ca.key"), chainPEM: try inter.serializeAsPEM().pemString + "\n",
                          crlURL: baseURL + "/inter-ca.crl")
        }

        /// Issues a certificate (an end entity, or with `ca` a delegating CA
        /// holding `list`), writes NAME.key, NAME.pem, NAME-chain.pem, records it.
        func issue(name: String, list: TNAuthorizationList, days: Int64, now: Int64, issuer given: Issuer? = nil, ca: Bool = false) throws
            -> (String, Certificate)
        {
            var state = try loadState()
            let issuer = try given ?? (ca ? root() : intermediate())
            let baseURL = state["base_url"]?.stringValue ?? ""
            let organization = state["organization"]?.stringValue ?? "Callsign Lab"
            let newKey = P256.Signing.PrivateKey()
            let certificate = ca
                ? try LabCertificateAuthority.issueDelegatingCA(
                    publicKey: newKey.publicKey, tnAuthList: list, issuer: issuer.certificate, issuerKey: issuer.key,
                    organization: organization, crlURL: issuer.crlURL, notBefore: now - 300, notAfter: now + days * 86_400)
                : try LabCertificateAuthority.issueEndEntity(
                    publicKey: newKey.publicKey, tnAuthList: list, issuer: issuer.certificate, issuerKey: issuer.key,
                    organization: organization, crlURL: issuer.crlURL, notBefore: now - 300, notAfter: now + days * 86_400)
            let pem = try certificate.serializeAsPEM().pemString + "\n"
            try writeFile(file("\(name).key"), newKey.pemRepresentation + "\n", privateFile: true)
            try writeFile(file("\(name).pem"), pem, privateFile: false)
            try writeFile(file("\(name)-chain.pem"), pem + issuer.chainPEM, privateFile: false)
            var issued = state["issued"]?.arrayValue ?? []
            issued.append(.object(JSONObject([
                "name": .string(name),
                "serial": .string(hex(certificate.serialNumber.bytes)),
                "tnauthlist": .string(list.description),
                "not_after": .integer(now + days * 86_400),
                "ca": .bool(ca),
            ])))
            state["issued"] = .array(issued)
            try saveState(state)
            return (baseURL + "/\(name)-chain.pem", certificate)
        }

        /// Writes a new CRL listing every revoked serial (DER, `inter-ca.crl`).
        func writeCRL(now: Int64) throws {
            var state = try loadState()
            let inter = try certificate("inter-ca.pem")
            let interKey = try key("inter-ca.key")
            let number = Int(state["crl_number"]?.integerValue ?? 0) + 1
            var revoked: [(Certificate.SerialNumber, Int64)] = []
            for entry in state["issued"]?.arrayValue ?? [] {
                guard let object = entry.objectValue, let at = object["revoked_at"]?.integerValue,
                    let serial = object["serial"]?.stringValue, let bytes = unhex(serial)
                else { continue }
                revoked.append((Certificate.SerialNumber(bytes: bytes), at))
            }
            let der = try CertificateRevocationList.make(issuer: inter, issuerKey: interKey, revoked: revoked,
                                                         thisUpdate: now - 60, nextUpdate: now + 7 * 86_400, crlNumber: number)
            do {
                try Data(der).write(to: URL(fileURLWithPath: file("inter-ca.crl")))
            } catch {
                printError("cannot write \(file("inter-ca.crl"))")
                throw Exit.badInput
            }
            state["crl_number"] = .integer(Int64(number))
            try saveState(state)
        }
    }

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a root, an intermediate, a SHAKEN certificate for an SPC, and an empty CRL.")

        @Option(name: .long, help: "Directory to create the CA in.")
        var dir: String

        @Option(name: .long, help: "Service provider code of the first end-entity certificate.")
        var spc: String = "1234"

        @Option(name: .long, help: "Base URL the directory will be served at (x5u and CRL URLs are built from it).")
        var baseURL: String = "http://127.0.0.1:8080/certs"

        @Option(name: .long, help: "Organization name in the certificates.")
        var organization: String = "Callsign Lab"

        @Option(name: .long, help: "Lifetime of the end-entity certificate, in days.")
        var days: Int64 = 365

        @Flag(name: .long, help: "Overwrite an existing CA in the directory.")
        var force = false

        func run() async throws {
            let directory = Directory(path: dir)
            if fileExists(directory.statePath) && !force {
                printError("\(dir) already holds a CA; use --force to replace it")
                throw Exit.badInput
            }
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let now = currentEpochSeconds()
            let base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            let rootKey = P256.Signing.PrivateKey()
            let root = try LabCertificateAuthority.makeRoot(key: rootKey, organization: organization, notBefore: now - 300,
                                                           notAfter: now + 10 * 365 * 86_400)
            let interKey = P256.Signing.PrivateKey()
            let inter = try LabCertificateAuthority.makeIntermediate(
                key: interKey, issuer: root, issuerKey: rootKey, organization: organization, crlURL: base + "/root-ca.crl",
                notBefore: now - 300, notAfter: now + 5 * 365 * 86_400)
            try writeFile(directory.file("root-ca.key"), rootKey.pemRepresentation + "\n", privateFile: true)
            try writeFile(directory.file("root-ca.pem"), try root.serializeAsPEM().pemString + "\n", privateFile: false)
            try writeFile(directory.file("inter-ca.key"), interKey.pemRepresentation + "\n", privateFile: true)
            try writeFile(directory.file("inter-ca.pem"), try inter.serializeAsPEM().pemString + "\n", privateFile: false)
            try directory.saveState(JSONObject([
                "organization": .string(organization), "base_url": .string(base), "crl_number": .integer(0), "issued": .array([]),
            ]))
            let list: TNAuthorizationList
            do { list = try TNAuthorizationList([.spc(spc)]) } catch {
                printError(error.description)
                throw Exit.badInput
            }
            let (x5u, _) = try directory.issue(name: "sp-\(spc)", list: list, days: days, now: now)
            try directory.writeCRL(now: now)
            // The root's CRL (for the intermediate's distribution point): empty, valid a year.
            let rootCRL = try CertificateRevocationList.make(issuer: root, issuerKey: rootKey, revoked: [], thisUpdate: now - 60,
                                                             nextUpdate: now + 365 * 86_400, crlNumber: 1)
            try Data(rootCRL).write(to: URL(fileURLWithPath: directory.file("root-ca.crl")))
            print("root:          \(directory.file("root-ca.pem"))  (trust anchor)")
            print("intermediate:  \(directory.file("inter-ca.pem"))")
            print("signing key:   \(directory.file("sp-\(spc).key"))")
            print("certificate:   \(directory.file("sp-\(spc).pem"))  (SPC \(spc))")
            print("x5u:           \(x5u)")
            print("CRL:           \(directory.file("inter-ca.crl"))  served at \(base)/inter-ca.crl")
        }
    }

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue an end-entity certificate for an SPC, a TN range (START,COUNT) or one TN (delegate certificates, RFC 9060).")

        @Option(name: .long, help: "CA directory.")
        var dir: String
        @Option(name: .long, help: "Service provider code.")
        var spc: String?
        @Option(name: .long, help: "TN range as START,COUNT.")
        var tnRange: String?
        @Option(name: .long, help: "One telephone number.")
        var tn: String?
        @Option(name: .long, help: "File name stem; derived from the entry by default.")
        var name: String?
        @Option(name: .long, help: "Lifetime in days.")
        var days: Int64 = 365
        @Flag(name: .long, help: "Issue a delegating CA certificate holding the TNAuthList (RFC 9060), to issue delegate certificates with --delegate-of.")
        var ca = false
        @Option(name: .long, help: "Issue under this delegating CA certificate (its key beside it, .key); the TNAuthList must lie inside its own (RFC 9060).")
        var delegateOf: String?

        func validate() throws {
            if [spc, tnRange, tn].compactMap({ $0 }).count != 1 { throw ValidationError("give exactly one of --spc, --tn-range, --tn") }
            if let name, name.isEmpty || name.contains("/") || name.hasPrefix(".") { throw ValidationError("--name must be a plain file name") }
        }

        func run() async throws {
            let entry: TNAuthorizationList.Entry
            let stem: String
            if let spc {
                entry = .spc(spc)
                stem = "sp-\(spc)"
            } else if let tnRange {
                let parts = tnRange.split(separator: ",")
                guard parts.count == 2, let count = Int(parts[1]) else {
                    printError("--tn-range must be START,COUNT")
                    throw Exit.badInput
                }
                entry = .range(start: String(parts[0]), count: count)
                stem = "range-\(parts[0])-\(count)"
            } else {
                entry = .one(tn ?? "")
                stem = "tn-\(tn ?? "")"
            }
            let list: TNAuthorizationList
            do { list = try TNAuthorizationList([entry]) } catch {
                printError(error.description)
                throw Exit.badInput
            }
            let directory = Directory(path: dir)
            var issuer: Directory.Issuer?
            if let delegateOf {
                issuer = try delegatingIssuer(delegateOf, list: list, directory: directory)
            }
            let (x5u, certificate) = try directory.issue(name: name ?? (ca ? "ca-" + stem : stem), list: list, days: days,
                                                         now: currentEpochSeconds(), issuer: issuer, ca: ca)
            let written = name ?? (ca ? "ca-" + stem : stem)
            print("certificate: \(directory.file("\(written).pem"))  serial \(hex(certificate.serialNumber.bytes))\(ca ? "  (delegating CA)" : "")")
            print("\(ca ? "CA key:     " : "signing key:") \(directory.file("\(written).key"))")
            print("x5u:         \(x5u)")
        }
    }

    /// The delegating CA at `path` (its key at the same stem, `.key`; its chain at `-chain.pem` when present), checked:
    /// a CA certificate whose TNAuthList encompasses `list`.
    static func delegatingIssuer(_ path: String, list: TNAuthorizationList, directory: Directory) throws -> Directory.Issuer {
        let stem = path.hasSuffix(".pem") ? String(path.dropLast(4)) : path
        let certificate: Certificate
        let key: P256.Signing.PrivateKey
        do {
            certificate = try KeyLoading.firstCertificate(pem: try readTextFile(stem + ".pem"))
            key = try KeyLoading.privateKey(pem: try readTextFile(stem + ".key"))
        } catch let error as CallsignError {
            printError("--delegate-of \(path): \(error)")
            throw Exit.badInput
        }
        guard case .isCertificateAuthority? = try? certificate.extensions.basicConstraints else {
            printError("--delegate-of \(path) is not a CA certificate (issue one with `ca issue --ca`)")
            throw Exit.badInput
        }
        guard let ext = certificate.extensions[oid: TNAuthorizationList.oid], let parent = try? TNAuthorizationList(ext) else {
            printError("--delegate-of \(path) has no TNAuthList")
            throw Exit.badInput
        }
        guard parent.encompasses(list) else {
            printError("\(list) is not inside the TNAuthList of \(path) (\(parent)) (RFC 9060)")
            throw Exit.badInput
        }
        let chain = FileManager.default.fileExists(atPath: stem + "-chain.pem") ? try readTextFile(stem + "-chain.pem")
            : try certificate.serializeAsPEM().pemString + "\n"
        let baseURL = try directory.loadState()["base_url"]?.stringValue ?? ""
        return Directory.Issuer(certificate: certificate, key: key, chainPEM: chain, crlURL: baseURL + "/inter-ca.crl")
    }

    struct ServeACME: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve-acme",
            abstract: "An ACME directory on the lab CA (RFC 8555 + tkauth-01, SPC tokens checked against the STI-PA root), on loopback.")

        @Option(name: .long, help: "CA directory (from `ca init`).")
        var dir: String
        @Option(name: .long, help: "Listen address HOST:PORT (loopback only).")
        var listen: String = "127.0.0.1:8096"
        @Option(name: .long, help: "Base URL it is reached at (default http://LISTEN).")
        var baseURL: String?
        @Option(name: .customLong("sti-pa-root"), help: "The STI-PA root (PEM) SPC tokens must chain to.")
        var stiPARoot: String
        @Option(name: .long, help: "External account binding keys, JSON {\"kid\": \"base64url key\"} (default DIR/eab.json, made when missing).")
        var eabKeys: String?
        @Option(name: .long, help: "Allow token signer URLs under this prefix over http/loopback (the lab STI-PA). Repeatable.")
        var labAllow: [String] = []
        @Option(name: .long, help: "Lifetime of issued certificates, in days.")
        var days: Int64 = 30

        func run() async throws {
            let (host, port) = try CallsignServe.hostPort(listen)
            let base = baseURL ?? "http://\(listen)"
            let roots: [Certificate]
            do {
                roots = try KeyLoading.certificates(pem: try readTextFile(stiPARoot))
            } catch let error as CallsignError {
                printError("\(stiPARoot): \(error)")
                throw Exit.badInput
            }
            let eabPath = eabKeys ?? Directory(path: dir).file("eab.json")
            let keys = try LabACME.eabKeys(at: eabPath)
            let acme = try LabACME(caDirectory: dir, baseURL: base, stiPARoots: roots, labAllow: labAllow, eabKeys: keys, lifetimeDays: days,
                                   now: currentEpochSeconds)
            try await acme.run(host: host, port: port, logger: Logger(label: "callsign-lab-acme")) {
                print("""
                    Lab ACME directory on \(base)/acme/directory  (CA \(dir))
                      EAB keys       \(eabPath)  (kid: \(keys.keys.sorted().joined(separator: ", ")))
                      SPC tokens     checked against \(stiPARoot)
                      order with     callsign acme order --directory \(base)/acme/directory --eab-kid KID --eab-key-file FILE --spc SPC ...
                    """)
                fflush(nil)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a certificate by serial (hex) and rewrite the CRL.")
        @Option(name: .long, help: "CA directory.")
        var dir: String
        @Option(name: .long, help: "Serial number in hex, as `cert inspect` prints it.")
        var serial: String

        func run() async throws {
            let directory = Directory(path: dir)
            var state = try directory.loadState()
            let wanted = serial.lowercased().replacingOccurrences(of: ":", with: "")
            var found = false
            let now = currentEpochSeconds()
            let issued: [JSONValue] = (state["issued"]?.arrayValue ?? []).map { entry in
                guard var object = entry.objectValue, object["serial"]?.stringValue == wanted else { return entry }
                found = true
                if object["revoked_at"] == nil { object["revoked_at"] = .integer(now) }
                return .object(object)
            }
            guard found else {
                printError("no certificate with serial \(serial) was issued by this CA")
                throw Exit.badInput
            }
            state["issued"] = .array(issued)
            try directory.saveState(state)
            try directory.writeCRL(now: now)
            print("revoked \(wanted); CRL rewritten: \(directory.file("inter-ca.crl"))")
        }
    }

    struct CRL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rewrite the CRL (new thisUpdate/nextUpdate, same revocations).")
        @Option(name: .long, help: "CA directory.")
        var dir: String

        func run() async throws {
            let directory = Directory(path: dir)
            try directory.writeCRL(now: currentEpochSeconds())
            print("CRL rewritten: \(directory.file("inter-ca.crl"))")
        }
    }
}

func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

func unhex(_ text: String) -> [UInt8]? {
    let chars = Array(text.utf8)
    guard chars.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    for i in stride(from: 0, to: chars.count, by: 2) {
        guard let byte = UInt8(String(decoding: chars[i...i + 1], as: UTF8.self), radix: 16) else { return nil }
        bytes.append(byte)
    }
    return bytes
}

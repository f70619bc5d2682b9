import CallsignLab
public import Callsign
public import CallsignStore
public import Crypto
import SwiftASN1
public import X509
import Foundation

/// What `callsign serve` needs to run, prepared from its data directory.
public struct ServerSetup: Sendable {
    public var signingKey: P256.Signing.PrivateKey
    public var x5u: String
    public var roots: [Certificate]
    public var certificatesDirectory: String
    public var databasePath: String
    public var devToken: String?
    public var adminToken: String
    public var sampleCustomer: Customer?
}

/// Zero-configuration development mode: on first run, creates in the data
/// directory a lab STI-CA and signing certificate (served at `/certs/`), an
/// SQLite store with a sample customer owning a sample number range, and
/// the customer's API token (`dev-token`) and an admin token (`admin-token`).
/// Later runs reuse them (renewing the CRLs and an expired certificate).
public enum DevelopmentEnvironment {
    public static let sampleRange = NumberBlock(start: "12155550000", count: 10_000)
    public static let spc = "1234"

    static func write(_ path: String, _ text: String, privateFile: Bool = false) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        if privateFile { try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path) }
    }

    static func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).flatMap { String(data: $0, encoding: .utf8) }
    }

    /// Prepares (or reuses) the development environment in `dataDirectory`,
    /// with certificates published under `baseURL` (e.g. `http://127.0.0.1:8080/certs`).
    public static func prepare(dataDirectory: String, baseURL: String, now: Int64, sampleCustomer: Bool = true,
                               store externalStore: (any CallsignStore)? = nil) async throws -> ServerSetup {
        let ca = dataDirectory + "/ca"
        try FileManager.default.createDirectory(atPath: ca, withIntermediateDirectories: true)
        let rootKey: P256.Signing.PrivateKey
        let root: Certificate
        let interKey: P256.Signing.PrivateKey
        let inter: Certificate
        if let rootPEM = read(ca + "/root-ca.pem"), let rootKeyPEM = read(ca + "/root-ca.key"),
            let interPEM = read(ca + "/inter-ca.pem"), let interKeyPEM = read(ca + "/inter-ca.key"),
            let existingRoot = try? KeyLoading.firstCertificate(pem: rootPEM),
            let existingInter = try? KeyLoading.firstCertificate(pem: interPEM),
            Int64(existingInter.notValidAfter.timeIntervalSince1970) > now + 86_400
        {
            rootKey = try KeyLoading.privateKey(pem: rootKeyPEM)
            interKey = try KeyLoading.privateKey(pem: interKeyPEM)
            root = existingRoot
            inter = existingInter
        } else {
            rootKey = P256.Signing.PrivateKey()
            interKey = P256.Signing.PrivateKey()
            root = try LabCertificateAuthority.makeRoot(key: rootKey, organization: "Callsign Dev", notBefore: now - 300,
                                                       notAfter: now + 10 * 365 * 86_400)
            inter = try LabCertificateAuthority.makeIntermediate(key: interKey, issuer: root, issuerKey: rootKey,
                                                                 organization: "Callsign Dev", crlURL: baseURL + "/root-ca.crl",
                                                                 notBefore: now - 300, notAfter: now + 5 * 365 * 86_400)
            try write(ca + "/root-ca.key", rootKey.pemRepresentation + "\n", privateFile: true)
            try write(ca + "/root-ca.pem", try root.serializeAsPEM().pemString + "\n")
            try write(ca + "/inter-ca.key", interKey.pemRepresentation + "\n", privateFile: true)
            try write(ca + "/inter-ca.pem", try inter.serializeAsPEM().pemString + "\n")
            try? FileManager.default.removeItem(atPath: ca + "/sp.pem")
        }
        // The signing certificate: reissued when missing, expiring, or issued for another base URL.
        let signingKey: P256.Signing.PrivateKey
        if let keyPEM = read(ca + "/sp.key"), let key = try? KeyLoading.privateKey(pem: keyPEM) {
            signingKey = key
        } else {
            signingKey = P256.Signing.PrivateKey()
            try write(ca + "/sp.key", signingKey.pemRepresentation + "\n", privateFile: true)
        }
        let crlURL = baseURL + "/inter-ca.crl"
        let existing = read(ca + "/sp.pem").flatMap { try? KeyLoading.firstCertificate(pem: $0) }
        let current = existing.flatMap { certificate -> Certificate? in
            guard Int64(certificate.notValidAfter.timeIntervalSince1970) > now + 86_400,
                STICertificateProfile.crlDistributionPoints(certificate)?.first?.uris == [crlURL],
                certificate.issuer == inter.subject, certificate.publicKey == Certificate.PublicKey(signingKey.publicKey)
            else { return nil }
            return certificate
        }
        let ee: Certificate
        if let current {
            ee = current
        } else {
            ee = try LabCertificateAuthority.issueEndEntity(
                publicKey: signingKey.publicKey, tnAuthList: try TNAuthorizationList([.spc(spc)]), issuer: inter, issuerKey: interKey,
                organization: "Callsign Dev", crlURL: crlURL, notBefore: now - 300, notAfter: now + 90 * 86_400)
            let pem = try ee.serializeAsPEM().pemString + "\n"
            try write(ca + "/sp.pem", pem)
        }
        try write(ca + "/sp-chain.pem", try ee.serializeAsPEM().pemString + "\n" + (try inter.serializeAsPEM().pemString) + "\n")
        // Fresh CRLs on every start (labs run for days; a CRL lives a week).
        let interCRL = try CertificateRevocationList.make(issuer: inter, issuerKey: interKey, revoked: [], thisUpdate: now - 60,
                                                          nextUpdate: now + 7 * 86_400, crlNumber: Int(now))
        try Data(interCRL).write(to: URL(fileURLWithPath: ca + "/inter-ca.crl"), options: .atomic)
        let rootCRL = try CertificateRevocationList.make(issuer: root, issuerKey: rootKey, revoked: [], thisUpdate: now - 60,
                                                         nextUpdate: now + 30 * 86_400, crlNumber: Int(now))
        try Data(rootCRL).write(to: URL(fileURLWithPath: ca + "/root-ca.crl"), options: .atomic)

        // The store, a sample customer and its token.
        let databasePath = dataDirectory + "/callsign.sqlite"
        let store: any CallsignStore = try externalStore ?? SQLiteStore(path: databasePath)
        var sample = sampleCustomer ? try await store.customer(id: "sample") : nil
        if sampleCustomer, sample == nil {
            let customer = Customer(id: "sample", name: "Sample Bank", origid: UUID().uuidString.lowercased(), kind: .direct,
                                    numbers: [sampleRange])
            try await store.saveCustomer(customer)
            sample = customer
        }
        let devTokenPath = dataDirectory + "/dev-token"
        var devToken = sampleCustomer ? read(devTokenPath)?.trimmingCharacters(in: .whitespacesAndNewlines) : nil
        if let token = devToken, try await store.customer(tokenHash: APIToken.hash(token)) == nil { devToken = nil }
        if sampleCustomer, devToken == nil {
            let token = APIToken.generate()
            try await store.addToken(hash: APIToken.hash(token), customerID: "sample", now: now)
            try write(devTokenPath, token + "\n", privateFile: true)
            devToken = token
        }
        let adminTokenPath = dataDirectory + "/admin-token"
        let adminToken: String
        if let existingAdmin = read(adminTokenPath)?.trimmingCharacters(in: .whitespacesAndNewlines), !existingAdmin.isEmpty {
            adminToken = existingAdmin
        } else {
            adminToken = APIToken.generate()
            try write(adminTokenPath, adminToken + "\n", privateFile: true)
        }
        return ServerSetup(signingKey: signingKey, x5u: baseURL + "/sp-chain.pem", roots: [root], certificatesDirectory: ca,
                           databasePath: databasePath, devToken: devToken, adminToken: adminToken, sampleCustomer: sample)
    }
}

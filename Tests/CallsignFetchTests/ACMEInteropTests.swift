import Callsign
import CallsignFetch
import CallsignLab
import CallsignTestSupport
import Crypto
import Foundation
import Logging
import SwiftASN1
import Synchronization
import Testing
import X509

/// The ACME client against real third-party ACME servers on 127.0.0.1:
/// Debian's `pebble` for the RFC 8555 mechanics (directory, nonces — pebble
/// rejects some good nonces on purpose — EAB, order, finalize, download) and
/// `acme2certifier` (PyPI) for the TNAuthList order with `tkauth-01`.
@Suite("ACME interop: pebble and acme2certifier")
struct ACMEInteropTests {
    static let eabKid = "kid-1"
    static let eabKey = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"

    static var pebble: String? { Peers.which("pebble") }

    /// The Python that has acme2certifier: `CALLSIGN_ACME2CERTIFIER_PYTHON` (set by .ci/run), or python3 if it imports it.
    static var acme2certifierPython: String? {
        if let python = ProcessInfo.processInfo.environment["CALLSIGN_ACME2CERTIFIER_PYTHON"],
            FileManager.default.isExecutableFile(atPath: python)
        {
            return python
        }
        guard let python = Peers.which("python3"),
              (try? runBlocking(python, ["-c", "import acme2certifier"], timeout: 30).status) == 0
        else { return nil }
        return python
    }

    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-acme-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A TLS certificate for 127.0.0.1 (pebble's listener) and its key, PEM.
    static func loopbackTLS() throws -> (certificate: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("127.0.0.1") }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: LabCertificateAuthority.randomSerial(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86_400, issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                SubjectAlternativeNames([.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])), .dnsName("localhost")])
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        return (try certificate.serializeAsPEM().pemString + "\n", key.pemRepresentation + "\n")
    }

    @Test("pebble: an account with external account binding, an order, finalize and download, through pebble's rejected nonces",
          .enabled(if: Peers.enabled(Peers.which("pebble") != nil), "Debian's pebble is not installed (apt-get install pebble)"))
    func pebbleMechanics() async throws {
        let pebble = try #require(Self.pebble, "pebble is required (CALLSIGN_REQUIRE_PEERS=1) but not installed")
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (certificate, key) = try Self.loopbackTLS()
        try Data(certificate.utf8).write(to: URL(fileURLWithPath: directory + "/tls.pem"))
        try Data(key.utf8).write(to: URL(fileURLWithPath: directory + "/tls.key"))
        let port = TestPorts.take(3)
        let config = """
            {"pebble": {"listenAddress": "127.0.0.1:\(port)", "managementListenAddress": "127.0.0.1:\(port + 1)",
              "certificate": "\(directory)/tls.pem", "privateKey": "\(directory)/tls.key", "httpPort": \(port + 2), "tlsPort": \(port + 2),
              "ocspResponderURL": "", "externalAccountBindingRequired": true,
              "externalAccountMACKeys": {"\(Self.eabKid)": "\(Self.eabKey)"}}}
            """
        try Data(config.utf8).write(to: URL(fileURLWithPath: directory + "/pebble.json"))
        // Authorizations are valid without a validation request; 30 % of good nonces are refused as bad.
        let process = try BackgroundProcess("/usr/bin/env", ["PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=30",
                                                             pebble, "-config", directory + "/pebble.json"], directory: directory)
        defer { process.stop() }
        try await TestPorts.waitForListener(port)

        var configuration = ACMEConfiguration(directoryURL: "https://127.0.0.1:\(port)/dir",
                                              policy: X5UPolicy(labAllowPrefixes: ["https://127.0.0.1:\(port)/"]),
                                              trustRootsFile: directory + "/tls.pem")
        configuration.pollInterval = .milliseconds(200)
        let client = try ACMEClient(configuration: configuration, accountKey: P256.Signing.PrivateKey(), logger: Logger(label: "test"))
        let result: Result<ACMEClient.Issued, ACMEError>
        do throws(ACMEError) {
            // Without the binding pebble refuses the account.
            let refused: ACMEError?
            do throws(ACMEError) {
                try await client.register(eab: nil)
                refused = nil
            } catch {
                refused = error
            }
            #expect(refused?.type == "urn:ietf:params:acme:error:externalAccountRequired", "\(String(describing: refused))")
            try await client.register(eab: (Self.eabKid, Base64URL.decode(Self.eabKey) ?? []))
            let certificateKey = P256.Signing.PrivateKey()
            let issued = try await client.orderDNSCertificate(names: ["sti.callsign.test"], certificateKey: certificateKey)
            result = .success(issued)
        } catch {
            result = .failure(error)
        }
        await client.shutdown()
        let issued = try result.get()
        let chain = try KeyLoading.certificates(pem: issued.chainPEM)
        #expect(chain.count >= 2, "end entity and pebble's intermediate")
        #expect(try chain.first?.extensions.subjectAlternativeNames?.contains(.dnsName("sti.callsign.test")) == true)
        await process.terminate()
    }

    @Test("acme2certifier: a TNAuthList order answered by tkauth-01 with an SPC token, finalized with the TNAuthList CSR, downloaded",
          .enabled(if: Peers.enabled(ACMEInteropTests.acme2certifierPython != nil), "acme2certifier is not installed (pip install acme2certifier)"))
    func acme2certifierTNAuthList() async throws {
        let python = try #require(Self.acme2certifierPython, "acme2certifier is required (CALLSIGN_REQUIRE_PEERS=1) but not installed")
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let now = Int64(Date().timeIntervalSince1970)
        // acme2certifier's openssl handler issues from this lab intermediate.
        let rootKey = P256.Signing.PrivateKey()
        let interKey = P256.Signing.PrivateKey()
        let root = try LabCertificateAuthority.makeRoot(key: rootKey, organization: "A2C Lab", notBefore: now - 3600, notAfter: now + 86_400 * 30)
        let inter = try LabCertificateAuthority.makeIntermediate(key: interKey, issuer: root, issuerKey: rootKey, organization: "A2C Lab",
                                                                 crlURL: "http://127.0.0.1/crl", notBefore: now - 3600, notAfter: now + 86_400 * 30)
        func write(_ name: String, _ text: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/" + name)) }
        try write("root.pem", try root.serializeAsPEM().pemString + "\n")
        try write("inter.pem", try inter.serializeAsPEM().pemString + "\n")
        try write("inter.key", interKey.pemRepresentation + "\n")
        try FileManager.default.createDirectory(atPath: directory + "/certs", withIntermediateDirectories: true)
        try write("eab.json", #"{"\#(Self.eabKid)": "\#(Self.eabKey)"}"#)
        try write("acme_srv.cfg", """
            [DEFAULT]
            debug: False
            [Nonce]
            nonce_check_disable: False
            [CAhandler]
            handler_module: acme2certifier.cahandlers.openssl_ca_handler
            issuing_ca_key: \(directory)/inter.key
            issuing_ca_cert: \(directory)/inter.pem
            issuing_ca_crl: \(directory)/crl.pem
            cert_save_path: \(directory)/certs
            ca_cert_chain_list: ["\(directory)/root.pem"]
            cert_validity_days: 30
            [DBhandler]
            handler_module: acme2certifier.dbhandlers.wsgi_handler
            dbfile: \(directory)/acme_srv.db
            [Account]
            contact_check_disable: True
            [EABhandler]
            eab_handler_module: acme2certifier.eabhandlers.json_handler
            key_file: \(directory)/eab.json
            [Order]
            tnauthlist_support: True

            """)
        try write("serve.py", """
            import sys
            from wsgiref.simple_server import make_server
            from acme2certifier.share.acme2certifier_wsgi import application, get_handler_cls
            print("listening", flush=True)
            make_server("127.0.0.1", int(sys.argv[1]), application, handler_class=get_handler_cls()).serve_forever()

            """)
        let port = TestPorts.take()
        // acme2certifier 0.46 accepts tkauth-01 without checking the token only with this acknowledgement.
        let process = try BackgroundProcess("/usr/bin/env", ["ACME_SRV_CONFIGFILE=\(directory)/acme_srv.cfg", "ACME2CERTIFIER_I_KNOW_THE_RISK=1",
                                                             python, directory + "/serve.py", String(port)], directory: directory)
        defer { process.stop() }
        try await TestPorts.waitForListener(port, timeout: 60)

        let accountKey = P256.Signing.PrivateKey()
        let stiPA = try LabSTIPAAuthority.create(notBefore: now - 3600)
        let authority = try SPCTokenAuthority(spc: "818H", accountKey: accountKey.publicKey)
        let token = try stiPA.token(authority, issuer: "lab", expires: now + 3600, signerURL: "http://127.0.0.1/signer.pem")
        var configuration = ACMEConfiguration(directoryURL: "http://127.0.0.1:\(port)/directory",
                                              policy: X5UPolicy(labAllowPrefixes: ["http://127.0.0.1:\(port)/"]))
        configuration.pollInterval = .milliseconds(200)
        let client = try ACMEClient(configuration: configuration, accountKey: accountKey, logger: Logger(label: "test"))
        let presented = TokenLog()
        let certificateKey = P256.Signing.PrivateKey()
        let list = try TNAuthorizationList([.spc("818H")])
        let result: Result<ACMEClient.Issued, ACMEError>
        do throws(ACMEError) {
            try await client.register(eab: (Self.eabKid, Base64URL.decode(Self.eabKey) ?? []))
            result = .success(try await client.orderSTICertificate(tnAuthList: list,
                                                                   certificateKey: certificateKey, organization: "Callsign") { challenge throws(ACMEError) in
                presented.record(challenge.type)
                return token
            })
        } catch {
            result = .failure(error)
        }
        await client.shutdown()
        let issued = try result.get()
        #expect(presented.types == ["tkauth-01"])
        let chain = try KeyLoading.certificates(pem: issued.chainPEM)
        let leaf = try #require(chain.first)
        #expect(P256.Signing.PublicKey(leaf.publicKey)?.rawRepresentation == certificateKey.publicKey.rawRepresentation)
        #expect(leaf.issuer == inter.subject)
        #expect(leaf.subject.description.contains("SHAKEN 818H"))
        await process.terminate()
    }
}

/// The challenge types a token was asked for.
final class TokenLog: Sendable {
    private let state = Mutex<[String]>([])
    func record(_ type: String) { state.withLock { $0.append(type) } }
    var types: [String] { state.withLock { $0 } }
}


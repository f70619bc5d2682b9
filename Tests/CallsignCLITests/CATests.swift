import CallsignTestSupport
import Callsign
import Foundation
import Testing

/// `callsign ca`, `cert inspect` and `csr`, checked with OpenSSL and secsipidx.
@Suite("Lab STI-CA: ca init/issue/revoke, cert inspect, csr", .serialized)
struct CATests {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-ca-\(UUID().uuidString)")
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Publishes the CA directory's current files (not the keys) on the server.
    func publish(_ server: TestHTTPServer) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where !name.hasSuffix(".key") {
            server.set("/" + name, .init(body: Array(try Data(contentsOf: dir.appendingPathComponent(name)))))
        }
    }

    func initCA(port: Int, spc: String = "1234") async throws {
        let out = try await CLI.callsign("ca", "init", "--dir", dir.path, "--spc", spc, "--base-url", "http://127.0.0.1:\(port)")
        try #require(out.status == 0, "\(out.stderr)")
    }

    func signAndVerify(_ server: TestHTTPServer, key: String, chain: String, orig: String = "12155551212",
                       extra: [String] = []) async throws -> (Int32, [String: Any])
    {
        let sign = try await CLI.callsign("sign", "--orig", orig, "--dest", "12155553434", "--attest", "A", "--key", path(key),
                                    "--x5u", server.url("/" + chain))
        try #require(sign.status == 0, "\(sign.stderr)")
        let out = try await CLI.callsign(arguments: [
            "verify", "--identity", sign.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "--from", orig, "--to", "12155553434",
            "--trust", path("root-ca.pem"), "--lab-allow", "http://127.0.0.1:\(server.port)/", "--json",
        ] + extra)
        return (out.status, try jsonObject(out.stdout))
    }

    @Test("ca init makes a chain that verifies under the strict profile with CRLs required, and cert inspect shows it conforms")
    func initAndVerify() async throws {
        let server = try await TestHTTPServer()
        try await initCA(port: server.port)
        try publish(server)
        let inspect = try await CLI.callsign("cert", "inspect", path("sp-1234-chain.pem"), "--json")
        #expect(inspect.status == 0)
        let certs = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [[String: Any]])
        #expect(certs.first?["spc"] as? String == "1234")
        #expect(certs.first?["tnauthlist_der"] as? String == "3008a006160431323334")
        #expect(certs.allSatisfy { ($0["findings"] as? [Any])?.isEmpty == true }, "\(certs)")
        // The served chain verifies end to end: x5u + chain + CRL, strict profile.
        let (status, verdict) = try await signAndVerify(server, key: "sp-1234.key", chain: "sp-1234-chain.pem",
                                                  extra: ["--cert-profile", "strict", "--require-crl"])
        #expect(status == 0, "\(verdict)")
        try await server.stop()
        // A second init refuses to overwrite.
        #expect(try await CLI.callsign("ca", "init", "--dir", dir.path).status == 2)
    }

    @Test("certificates made by `callsign ca` pass openssl verify -x509_strict and show the TNAuthList in asn1parse",
          .enabled(if: Peers.enabled(Peers.which("openssl") != nil), "openssl not installed"))
    func openssl() async throws {
        try await initCA(port: 18080, spc: "733J")
        let openssl = try #require(Peers.which("openssl"))
        let verify = try await run(openssl, ["verify", "-x509_strict", "-CAfile", path("root-ca.pem"), "-untrusted", path("inter-ca.pem"),
                                       path("sp-733J.pem")])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        let parse = try await run(openssl, ["asn1parse", "-in", path("sp-733J.pem")])
        #expect(parse.stdout.contains("1.3.6.1.5.5.7.1.26"))
        #expect(parse.stdout.contains("3008A00616043733334A"))
        let crl = try await run(openssl, ["crl", "-inform", "DER", "-in", path("inter-ca.crl"), "-CAfile", path("inter-ca.pem"), "-noout"])
        #expect(crl.status == 0, "\(crl.stderr)")
        #expect(crl.stderr.contains("verify OK") || crl.stdout.contains("verify OK"))
    }

    @Test("secsipidx validates the chain of `callsign ca` (cert-verify 29: time, CA file, intermediates, CRL) and honours its revocation",
          .enabled(if: Peers.enabled(Peers.haveSecsipidx), "secsipidx not installed"))
    func secsipidxChain() async throws {
        let server = try await TestHTTPServer()
        try await initCA(port: server.port)
        try publish(server)
        let sign = try await CLI.callsign("sign", "--orig", "12155551212", "--dest", "12155553434", "--attest", "A",
                                    "--key", path("sp-1234.key"), "--x5u", server.url("/sp-1234-chain.pem"))
        let identity = sign.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let secsipidx = try #require(Peers.which("secsipidx"))
        func check() async throws -> Int32 {
            try await run(secsipidx, ["-check", "-identity", identity, "-fpubkey", server.url("/sp-1234-chain.pem"), "-expire", "60",
                                "-cert-verify", "29", "-ca-file", path("root-ca.pem"), "-ca-inter", path("inter-ca.pem"),
                                "-crl-file", path("inter-ca.crl")], timeout: 30).status
        }
        #expect(try await check() == 0)

        // Revoke: both secsipidx and callsign refuse it.
        let inspect = try await CLI.callsign("cert", "inspect", path("sp-1234.pem"), "--json")
        let serial = try #require((try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [[String: Any]])?.first?["serial"] as? String)
        #expect(try await CLI.callsign("ca", "revoke", "--dir", dir.path, "--serial", serial).status == 0)
        #expect(try await check() != 0)
        try publish(server)
        let (status, verdict) = try await signAndVerify(server, key: "sp-1234.key", chain: "sp-1234-chain.pem")
        #expect(status == 1)
        #expect((verdict["error"] as? [String: Any])?["code"] as? String == "certificate-revoked")
        try await server.stop()
    }

    @Test("ca issue --tn-range makes a delegate certificate that signs only numbers in its range")
    func delegate() async throws {
        let server = try await TestHTTPServer()
        try await initCA(port: server.port)
        let issue = try await CLI.callsign("ca", "issue", "--dir", dir.path, "--tn-range", "12155550000,100")
        try #require(issue.status == 0, "\(issue.stderr)")
        try publish(server)
        let (inside, _) = try await signAndVerify(server, key: "range-12155550000-100.key", chain: "range-12155550000-100-chain.pem",
                                            orig: "12155550099")
        #expect(inside == 0)
        let (outside, verdict) = try await signAndVerify(server, key: "range-12155550000-100.key", chain: "range-12155550000-100-chain.pem",
                                                   orig: "12155550100")
        #expect(outside == 1)
        #expect((verdict["error"] as? [String: Any])?["code"] as? String == "certificate-not-authorized")
        try await server.stop()
        #expect(try await CLI.callsign("ca", "issue", "--dir", dir.path, "--tn", "12a").status == 2)
        #expect(try await CLI.callsign("ca", "issue", "--dir", dir.path, "--tn", "1", "--spc", "2").status == 64)
    }

    @Test("ca issue --ca makes a delegating CA for an SPC range; --delegate-of issues inside it (and the call verifies) and refuses to issue outside it")
    func delegatingCA() async throws {
        let server = try await TestHTTPServer()
        try await initCA(port: server.port)
        let ca = try await CLI.callsign("ca", "issue", "--dir", dir.path, "--tn-range", "12155550000,1000", "--ca")
        try #require(ca.status == 0, "\(ca.stderr)")
        #expect(FileManager.default.fileExists(atPath: path("ca-range-12155550000-1000.pem")))
        let inside = try await CLI.callsign("ca", "issue", "--dir", dir.path, "--tn-range", "12155550100,100", "--name", "enterprise",
                                            "--delegate-of", path("ca-range-12155550000-1000.pem"))
        try #require(inside.status == 0, "\(inside.stderr)")
        let outside = try await CLI.callsign("ca", "issue", "--dir", dir.path, "--tn-range", "12155550900,200",
                                             "--delegate-of", path("ca-range-12155550000-1000.pem"))
        #expect(outside.status != 0)
        #expect(outside.stderr.contains("RFC 9060"), "\(outside.stderr)")
        try publish(server)
        let (status, verdict) = try await signAndVerify(server, key: "enterprise.key", chain: "enterprise-chain.pem", orig: "12155550150")
        #expect(status == 0, "\(verdict)")
        try await server.stop()
    }

    @Test("cert inspect shows the SPC of real production certificates and the legacy one's deviations")
    func inspectRealCertificates() async throws {
        let vectors = Peers.repositoryRoot.appendingPathComponent("Tests/CallsignTests/Vectors/real-certs")
        let transnexus = try await CLI.callsign("cert", "inspect", vectors.appendingPathComponent("ee-SHAKEN-733J-transnexus.pem").path)
        #expect(transnexus.status == 0)
        #expect(transnexus.stdout.contains("spc: 733J"))
        #expect(transnexus.stdout.contains("profile: conforms"))
        let legacy = try await CLI.callsign("cert", "inspect", vectors.appendingPathComponent("ee-SHAKEN-9157-sansay-legacy.pem").path)
        #expect(legacy.stdout.contains("spc: 9157"))
        #expect(legacy.stdout.contains("e_shaken_certificate_policies_id"))
        #expect(legacy.stdout.contains("profile: deviates"))
        let bad = try await CLI.callsign("cert", "inspect", vectors.deletingLastPathComponent().appendingPathComponent("negative/libstirshaken-sp-bad-tnauthlist.pem").path)
        #expect(bad.stdout.contains("tnauthlist_error"))
    }

    @Test("csr writes a request with the TNAuthList that openssl verifies",
          .enabled(if: Peers.enabled(Peers.which("openssl") != nil), "openssl not installed"))
    func csr() async throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        #expect(try await CLI.callsign("keygen", "--out", path("k.pem")).status == 0)
        #expect(try await CLI.callsign("csr", "--key", path("k.pem"), "--spc", "733J", "--out", path("req.pem")).status == 0)
        let openssl = try #require(Peers.which("openssl"))
        let out = try await run(openssl, ["req", "-in", path("req.pem"), "-verify", "-noout", "-text"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("1.3.6.1.5.5.7.1.26") || out.stdout.contains("TNAuthList"))
        #expect(out.stdout.contains("SHAKEN 733J"))
    }
}

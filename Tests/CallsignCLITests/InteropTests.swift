import CallsignTestSupport
import Callsign
import Foundation
import Testing
import X509

/// Interoperability with the software carriers run: secsipidx (Go), an
/// OpenSSL-only signer/verifier, and PyJWT. Everything on 127.0.0.1.
@Suite("Interop with secsipidx, OpenSSL and PyJWT", .serialized)
struct InteropTests {
    let work: URL

    init() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    func sign(orig: String = "12155551212", dest: String = "12155553434", attest: String = "A") async throws -> String {
        let pki = try await Peers.pkiDirectory()
        let out = try await CLI.callsign("sign", "--orig", orig, "--dest", dest, "--attest", attest,
                                   "--key", pki.appendingPathComponent("sp.key").path, "--x5u", Peers.x5u)
        try #require(out.status == 0, "callsign sign failed: \(out.stderr)")
        return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func callsignVerify(_ identity: String, orig: String = "12155551212", dest: String = "12155553434") async throws -> ProcessOutput {
        let pki = try await Peers.pkiDirectory()
        return try await CLI.callsign("verify", "--identity", identity, "--from", orig, "--to", dest,
                                "--cert", pki.appendingPathComponent("sp-chain.pem").path, "--json")
    }

    func secsipidxVerify(_ identity: String) async throws -> ProcessOutput {
        let file = work.appendingPathComponent("identity.txt")
        try identity.write(to: file, atomically: true, encoding: .utf8)
        return try await run("/bin/bash", [Peers.script("secsipidx-verify.sh"), file.path, "60"],
                       environment: ["PKI_DIR": try await Peers.pkiDirectory().path, "SERVE": "1", "CERT_PORT": String(Peers.certPort)],
                       timeout: 60)
    }

    @Test("an Identity header made by `callsign sign` verifies with secsipidx (x5u fetched, chain + CRL checked)",
          .enabled(if: Peers.enabled(Peers.haveSecsipidx), "secsipidx not installed"))
    func secsipidxAcceptsOurs() async throws {
        let identity = try await sign()
        let out = try await secsipidxVerify(identity)
        #expect(out.status == 0, "secsipidx refused: \(out.stdout) \(out.stderr)")
        // And it rejects a tampered copy (the check can fail).
        let tampered = identity.replacingOccurrences(of: ".eyJ", with: ".eyK")
        #expect(try await secsipidxVerify(tampered).status != 0)
    }

    @Test("headers signed by secsipidx -sign-full verify with `callsign verify`; tampered ones give 438",
          .enabled(if: Peers.enabled(Peers.haveSecsipidx), "secsipidx not installed"))
    func oursAcceptsSecsipidx() async throws {
        let pki = try await Peers.pkiDirectory()
        let signed = try await run(try #require(Peers.which("secsipidx")),
                             ["-sign-full", "-orig-tn", "12155551212", "-dest-tn", "12155553434", "-attest", "B",
                              "-x5u", Peers.x5u, "-k", pki.appendingPathComponent("sp.key").path], timeout: 30)
        try #require(signed.status == 0, "secsipidx -sign-full failed: \(signed.stderr)")
        let identity = signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let out = try await callsignVerify(identity)
        #expect(out.status == 0, "\(out.stdout)")
        let verdict = try jsonObject(out.stdout)
        #expect(verdict["verstat"] as? String == "TN-Validation-Passed")
        #expect(verdict["attestation"] as? String == "B")

        let parts = identity.split(separator: ".", maxSplits: 2).map(String.init)
        let sig = parts[2]
        let tampered = parts[0] + "." + parts[1] + "." + (sig.first == "A" ? "B" : "A") + sig.dropFirst()
        let bad = try await callsignVerify(tampered)
        #expect(bad.status == 1)
        #expect(((try jsonObject(bad.stdout))["error"] as? [String: Any])?["sip_code"] as? Int == 438)
    }

    @Test("`callsign sign` output verifies with the OpenSSL-only reference (jws.py)",
          .enabled(if: Peers.enabled(Peers.haveOpenSSL), "openssl or python3 not installed"))
    func opensslAcceptsOurs() async throws {
        let pki = try await Peers.pkiDirectory()
        let identity = try await sign()
        let out = try await run("/usr/bin/env", ["python3", Peers.script("jws.py"), "verify",
                                           pki.appendingPathComponent("sp.pem").path, identity], timeout: 30)
        #expect(out.status == 0, "jws.py refused: \(out.stdout) \(out.stderr)")
    }

    @Test("a PASSporT signed by the OpenSSL-only reference verifies with `callsign verify`",
          .enabled(if: Peers.enabled(Peers.haveOpenSSL), "openssl or python3 not installed"))
    func oursAcceptsOpenSSL() async throws {
        let pki = try await Peers.pkiDirectory()
        let header = #"{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"\#(Peers.x5u)"}"#
        let claims = #"{"attest":"A","dest":{"tn":["12155553434"]},"iat":\#(now()),"orig":{"tn":"12155551212"},"origid":"123e4567-e89b-12d3-a456-426655440000"}"#
        let signed = try await run("/usr/bin/env", ["python3", Peers.script("jws.py"), "sign",
                                              pki.appendingPathComponent("sp.key").path, header, claims], timeout: 30)
        try #require(signed.status == 0, "jws.py sign failed: \(signed.stderr)")
        let jws = signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let out = try await callsignVerify(jws + ";info=<\(Peers.x5u)>;alg=ES256;ppt=shaken")
        #expect(out.status == 0, "\(out.stdout)")
    }

    @Test("a PASSporT made with PyJWT verifies with `callsign verify`",
          .enabled(if: Peers.enabled(Peers.havePyJWT), "python3 with PyJWT (pip install pyjwt) not installed"))
    func oursAcceptsPyJWT() async throws {
        let pki = try await Peers.pkiDirectory()
        let script = """
            import jwt, sys, time
            key = open(sys.argv[1]).read()
            token = jwt.encode({"attest": "A", "dest": {"tn": ["12155553434"]}, "iat": int(time.time()),
                                "orig": {"tn": "12155551212"}, "origid": "123e4567-e89b-12d3-a456-426655440000"},
                               key, algorithm="ES256", headers={"typ": "passport", "ppt": "shaken", "x5u": sys.argv[2]})
            print(token)
            """
        let signed = try await run("/usr/bin/env", ["python3", "-c", script, pki.appendingPathComponent("sp.key").path, Peers.x5u],
                             timeout: 30)
        try #require(signed.status == 0, "PyJWT failed: \(signed.stderr)")
        let jws = signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let out = try await callsignVerify(jws + ";info=<\(Peers.x5u)>;alg=ES256;ppt=shaken")
        #expect(out.status == 0, "\(out.stdout)")
    }

    @Test("a SEC1 key made by `openssl ecparam -genkey` signs with `callsign sign`, and secsipidx verifies with its public key",
          .enabled(if: Peers.enabled(Peers.haveSecsipidx && Peers.haveOpenSSL), "secsipidx/openssl not installed"))
    func opensslKeyFormats() async throws {
        let openssl = try #require(Peers.which("openssl"))
        let key = work.appendingPathComponent("sec1.pem").path
        let pub = work.appendingPathComponent("pub.pem").path
        #expect(try await run(openssl, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]).status == 0)
        #expect(try await run(openssl, ["ec", "-in", key, "-pubout", "-out", pub]).status == 0)
        let out = try await CLI.callsign("sign", "--orig", "12155551212", "--dest", "12155553434", "--attest", "A",
                                   "--key", key, "--x5u", "https://cr.example.net/sp.pem")
        try #require(out.status == 0, "\(out.stderr)")
        let identity = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let check = try await run(try #require(Peers.which("secsipidx")),
                            ["-check", "-identity", identity, "-fpubkey", pub, "-expire", "60"], timeout: 30)
        #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        // And callsign verifies with the same PEM public key.
        let verify = try await CLI.callsign("verify", "--identity", identity, "--from", "12155551212", "--to", "12155553434", "--cert", pub)
        #expect(verify.status == 0)
    }
}

/// The OpenSSL-made test PKI of scripts/peers/test-pki.sh, served by a
/// local HTTP server, checked through `callsign verify --trust`.
@Suite("Certificates made by OpenSSL: chain, profile, CRL, TNAuthList", .serialized,
       .enabled(if: Peers.enabled(Peers.haveOpenSSL), "openssl not installed"))
struct OpenSSLPKITests {
    /// Serves the PKI directory's files (chains are built as EE + issuer).
    static func serve() async throws -> (TestHTTPServer, URL) {
        let pki = try await Peers.pkiDirectory()
        let server = try await TestHTTPServer()
        func file(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: pki.appendingPathComponent(name))) }
        for name in ["sp-chain.pem", "inter-ca.crl", "inter-ca-revoked.crl"] {
            server.set("/" + name, .init(body: try file(name)))
        }
        for variant in ["expired", "revoked", "notnauth", "critical-tnauth", "tnlist"] {
            server.set("/sp-\(variant)-chain.pem", .init(body: try file("sp-\(variant).pem") + file("inter-ca.pem")))
        }
        server.set("/sp-rogue-chain.pem", .init(body: try file("sp-rogue.pem") + file("rogue-ca.pem")))
        return (server, pki)
    }

    func verify(_ server: TestHTTPServer, pki: URL, chain: String, orig: String = "12155551212", extra: [String] = [])
        async throws -> (Int32, [String: Any])
    {
        let sign = try await CLI.callsign("sign", "--orig", orig, "--dest", "12155553434", "--attest", "A",
                                    "--key", pki.appendingPathComponent("sp.key").path, "--x5u", server.url("/" + chain))
        try #require(sign.status == 0, "\(sign.stderr)")
        let out = try await CLI.callsign(arguments: [
            "verify", "--identity", sign.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "--from", orig, "--to", "12155553434",
            "--trust", pki.appendingPathComponent("root-ca.pem").path, "--lab-allow", "http://127.0.0.1:\(server.port)/", "--json",
        ] + extra)
        return (out.status, try jsonObject(out.stdout))
    }

    func errorCode(_ verdict: [String: Any]) -> String? { (verdict["error"] as? [String: Any])?["code"] as? String }

    @Test("each OpenSSL certificate verifies or fails as it should", arguments: [
        ("sp-chain.pem", nil as String?),
        ("sp-expired-chain.pem", "certificate-invalid"),
        ("sp-rogue-chain.pem", "certificate-untrusted"),
        ("sp-notnauth-chain.pem", "certificate-not-authorized"),
        ("sp-critical-tnauth-chain.pem", nil),
    ])
    func certificates(_ chain: String, _ expected: String?) async throws {
        let (server, pki) = try await Self.serve()
        let (status, verdict) = try await verify(server, pki: pki, chain: chain)
        if let expected {
            #expect(status == 1)
            #expect(errorCode(verdict) == expected)
            #expect((verdict["error"] as? [String: Any])?["sip_code"] as? Int == 437)
            if expected == "certificate-untrusted" {
                #expect(((verdict["error"] as? [String: Any])?["detail"] as? String)?.contains("untrusted") == true)
            }
        } else {
            #expect(status == 0, "\(verdict)")
        }
        try await server.stop()
    }

    @Test("the revoked certificate fails with 437 and the reason 'revoked' when the CRL lists it")
    func revoked() async throws {
        let (server, pki) = try await Self.serve()
        let (status, verdict) = try await verify(server, pki: pki, chain: "sp-revoked-chain.pem",
                                           extra: ["--crl", server.url("/inter-ca-revoked.crl")])
        #expect(status == 1)
        #expect(errorCode(verdict) == "certificate-revoked")
        #expect(((verdict["error"] as? [String: Any])?["detail"] as? String)?.contains("revoked") == true)
        // The same certificate with a CRL that does not list it passes.
        let (okStatus, _) = try await verify(server, pki: pki, chain: "sp-revoked-chain.pem")
        #expect(okStatus == 0)
        try await server.stop()
    }

    @Test("--require-crl: the OpenSSL chain passes with its end entity's CRL (the intermediate names none) and fails without it")
    func requireCRL() async throws {
        let (server, pki) = try await Self.serve()
        let (status, verdict) = try await verify(server, pki: pki, chain: "sp-chain.pem",
                                           extra: ["--require-crl", "--crl", server.url("/inter-ca.crl")])
        #expect(status == 0, "\(verdict)")
        // The distribution point (port 18080) is outside --lab-allow, so no CRL covers the end entity.
        let (missing, refused) = try await verify(server, pki: pki, chain: "sp-chain.pem", extra: ["--require-crl"])
        #expect(missing == 1)
        #expect(errorCode(refused) == "certificate-invalid")
        #expect(((refused["error"] as? [String: Any])?["detail"] as? String)?.contains("CRL") == true)
        try await server.stop()
    }

    @Test("strict profile rejects the OpenSSL intermediate (no certificatePolicies); lenient reports it")
    func strictProfile() async throws {
        let (server, pki) = try await Self.serve()
        let (status, verdict) = try await verify(server, pki: pki, chain: "sp-chain.pem", extra: ["--cert-profile", "strict"])
        #expect(status == 1)
        #expect(errorCode(verdict) == "certificate-invalid")
        let (lenientStatus, lenient) = try await verify(server, pki: pki, chain: "sp-chain.pem")
        #expect(lenientStatus == 0)
        #expect((lenient["diagnostics"] as? [String])?.contains { $0.contains("e_atis_ext_certificate_policies_ca") } == true)
        try await server.stop()
    }

    @Test("a TN-range certificate signs numbers inside its TNAuthList only")
    func tnRange() async throws {
        let (server, pki) = try await Self.serve()
        let (inside, _) = try await verify(server, pki: pki, chain: "sp-tnlist-chain.pem", orig: "12155550042")
        #expect(inside == 0)
        let (outside, verdict) = try await verify(server, pki: pki, chain: "sp-tnlist-chain.pem", orig: "12155550100")
        #expect(outside == 1)
        #expect(errorCode(verdict) == "certificate-not-authorized")
        try await server.stop()
    }

    @Test("OpenSSL CRLs decode and verify against their issuer; a CRL forged with another key is ignored")
    func crls() async throws {
        let pki = try await Peers.pkiDirectory()
        let inter = try #require(try KeyLoading.certificates(pem: String(contentsOf: pki.appendingPathComponent("inter-ca.pem"), encoding: .utf8)).first)
        let revokedCert = try #require(try KeyLoading.certificates(pem: String(contentsOf: pki.appendingPathComponent("sp-revoked.pem"), encoding: .utf8)).first)
        let crl = try CertificateRevocationList(pemOrDER: Array(try Data(contentsOf: pki.appendingPathComponent("inter-ca-revoked.crl"))))
        #expect(crl.isSigned(by: inter))
        #expect(crl.revokes(revokedCert))
        #expect(crl.nextUpdate != nil)
        let clean = try CertificateRevocationList(pemOrDER: Array(try Data(contentsOf: pki.appendingPathComponent("inter-ca.crl"))))
        #expect(!clean.revokes(revokedCert))

        // Forged: claims the intermediate as issuer but is signed by the rogue CA's key.
        let rogueKey = try KeyLoading.privateKey(pem: String(contentsOf: pki.appendingPathComponent("rogue-ca.key"), encoding: .utf8))
        let forgedDER = try CertificateRevocationList.make(issuer: inter, issuerKey: rogueKey, revoked: [(revokedCert.serialNumber, now())],
                                                           thisUpdate: now() - 60, nextUpdate: now() + 3600, crlNumber: 1)
        let forged = try CertificateRevocationList(derEncoded: forgedDER)
        #expect(!forged.isSigned(by: inter))
        let roots = try KeyLoading.certificates(pem: String(contentsOf: pki.appendingPathComponent("root-ca.pem"), encoding: .utf8))
        let chain = [revokedCert, inter]
        let validated = try await ChainValidator(roots: roots).validate(chain: chain, crls: [forged], at: now())
        #expect(validated.certificates.count == 3)
        // The genuine CRL revokes it.
        await #expect(throws: VerificationError(.certificateRevoked, "")) {
            try await ChainValidator(roots: roots).validate(chain: chain, crls: [crl], at: now())
        }
    }
}

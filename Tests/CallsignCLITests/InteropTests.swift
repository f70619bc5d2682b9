import Foundation
import Testing

/// Interoperability with the software carriers run: secsipidx (Go), an
/// OpenSSL-only signer/verifier, and PyJWT. Everything on 127.0.0.1.
@Suite("Interop with secsipidx, OpenSSL and PyJWT", .serialized)
struct InteropTests {
    let work: URL

    init() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    func sign(orig: String = "12155551212", dest: String = "12155553434", attest: String = "A") throws -> String {
        let pki = try Peers.pkiDirectory()
        let out = try CLI.callsign("sign", "--orig", orig, "--dest", dest, "--attest", attest,
                                   "--key", pki.appendingPathComponent("sp.key").path, "--x5u", Peers.x5u)
        try #require(out.status == 0, "callsign sign failed: \(out.stderr)")
        return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func callsignVerify(_ identity: String, orig: String = "12155551212", dest: String = "12155553434") throws -> ProcessOutput {
        let pki = try Peers.pkiDirectory()
        return try CLI.callsign("verify", "--identity", identity, "--from", orig, "--to", dest,
                                "--cert", pki.appendingPathComponent("sp-chain.pem").path, "--json")
    }

    func secsipidxVerify(_ identity: String) throws -> ProcessOutput {
        let file = work.appendingPathComponent("identity.txt")
        try identity.write(to: file, atomically: true, encoding: .utf8)
        return try run("/bin/bash", [Peers.script("secsipidx-sign-verify.sh"), "verify", file.path, "60"],
                       environment: ["PKI_DIR": try Peers.pkiDirectory().path, "SERVE": "1", "CERT_PORT": String(Peers.certPort)],
                       timeout: 60)
    }

    @Test("an Identity header made by `callsign sign` verifies with secsipidx (x5u fetched, chain + CRL checked)",
          .enabled(if: Peers.enabled(Peers.haveSecsipidx), "secsipidx or ../shared/peers not installed"))
    func secsipidxAcceptsOurs() throws {
        let identity = try sign()
        let out = try secsipidxVerify(identity)
        #expect(out.status == 0, "secsipidx refused: \(out.stdout) \(out.stderr)")
        // And it rejects a tampered copy (the check can fail).
        let tampered = identity.replacingOccurrences(of: ".eyJ", with: ".eyK")
        #expect(try secsipidxVerify(tampered).status != 0)
    }

    @Test("headers signed by secsipidx -sign-full verify with `callsign verify`; tampered ones give 438",
          .enabled(if: Peers.enabled(Peers.haveSecsipidx), "secsipidx not installed"))
    func oursAcceptsSecsipidx() throws {
        let pki = try Peers.pkiDirectory()
        let signed = try run(try #require(Peers.which("secsipidx")),
                             ["-sign-full", "-orig-tn", "12155551212", "-dest-tn", "12155553434", "-attest", "B",
                              "-x5u", Peers.x5u, "-k", pki.appendingPathComponent("sp.key").path], timeout: 30)
        try #require(signed.status == 0, "secsipidx -sign-full failed: \(signed.stderr)")
        let identity = signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let out = try callsignVerify(identity)
        #expect(out.status == 0, "\(out.stdout)")
        let verdict = try jsonObject(out.stdout)
        #expect(verdict["verstat"] as? String == "TN-Validation-Passed")
        #expect(verdict["attestation"] as? String == "B")

        let parts = identity.split(separator: ".", maxSplits: 2).map(String.init)
        let sig = parts[2]
        let tampered = parts[0] + "." + parts[1] + "." + (sig.first == "A" ? "B" : "A") + sig.dropFirst()
        let bad = try callsignVerify(tampered)
        #expect(bad.status == 1)
        #expect(((try jsonObject(bad.stdout))["error"] as? [String: Any])?["sip_code"] as? Int == 438)
    }

    @Test("`callsign sign` output verifies with the OpenSSL-only reference (jws-openssl.py)",
          .enabled(if: Peers.enabled(Peers.haveOpenSSL), "openssl/python3 or ../shared/peers not installed"))
    func opensslAcceptsOurs() throws {
        let pki = try Peers.pkiDirectory()
        let identity = try sign()
        let out = try run("/usr/bin/env", ["python3", Peers.script("jws-openssl.py"), "verify",
                                           pki.appendingPathComponent("sp.pem").path, identity], timeout: 30)
        #expect(out.status == 0, "jws-openssl.py refused: \(out.stdout) \(out.stderr)")
    }

    @Test("a PASSporT signed by the OpenSSL-only reference verifies with `callsign verify`",
          .enabled(if: Peers.enabled(Peers.haveOpenSSL), "openssl/python3 or ../shared/peers not installed"))
    func oursAcceptsOpenSSL() throws {
        let pki = try Peers.pkiDirectory()
        let header = #"{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"\#(Peers.x5u)"}"#
        let claims = #"{"attest":"A","dest":{"tn":["12155553434"]},"iat":\#(now()),"orig":{"tn":"12155551212"},"origid":"123e4567-e89b-12d3-a456-426655440000"}"#
        let signed = try run("/usr/bin/env", ["python3", Peers.script("jws-openssl.py"), "sign",
                                              pki.appendingPathComponent("sp.key").path, header, claims], timeout: 30)
        try #require(signed.status == 0, "jws-openssl.py sign failed: \(signed.stderr)")
        let jws = signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let out = try callsignVerify(jws + ";info=<\(Peers.x5u)>;alg=ES256;ppt=shaken")
        #expect(out.status == 0, "\(out.stdout)")
    }

    @Test("a PASSporT made with PyJWT verifies with `callsign verify`",
          .enabled(if: Peers.enabled(Peers.havePyJWT), "python3 with PyJWT (pip install pyjwt) not installed"))
    func oursAcceptsPyJWT() throws {
        let pki = try Peers.pkiDirectory()
        let script = """
            import jwt, sys, time
            key = open(sys.argv[1]).read()
            token = jwt.encode({"attest": "A", "dest": {"tn": ["12155553434"]}, "iat": int(time.time()),
                                "orig": {"tn": "12155551212"}, "origid": "123e4567-e89b-12d3-a456-426655440000"},
                               key, algorithm="ES256", headers={"typ": "passport", "ppt": "shaken", "x5u": sys.argv[2]})
            print(token)
            """
        let signed = try run("/usr/bin/env", ["python3", "-c", script, pki.appendingPathComponent("sp.key").path, Peers.x5u],
                             timeout: 30)
        try #require(signed.status == 0, "PyJWT failed: \(signed.stderr)")
        let jws = signed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let out = try callsignVerify(jws + ";info=<\(Peers.x5u)>;alg=ES256;ppt=shaken")
        #expect(out.status == 0, "\(out.stdout)")
    }

    @Test("a SEC1 key made by `openssl ecparam -genkey` signs with `callsign sign`, and secsipidx verifies with its public key",
          .enabled(if: Peers.enabled(Peers.haveSecsipidx && Peers.haveOpenSSL), "secsipidx/openssl not installed"))
    func opensslKeyFormats() throws {
        let openssl = try #require(Peers.which("openssl"))
        let key = work.appendingPathComponent("sec1.pem").path
        let pub = work.appendingPathComponent("pub.pem").path
        #expect(try run(openssl, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]).status == 0)
        #expect(try run(openssl, ["ec", "-in", key, "-pubout", "-out", pub]).status == 0)
        let out = try CLI.callsign("sign", "--orig", "12155551212", "--dest", "12155553434", "--attest", "A",
                                   "--key", key, "--x5u", "https://cr.example.net/sp.pem")
        try #require(out.status == 0, "\(out.stderr)")
        let identity = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let check = try run(try #require(Peers.which("secsipidx")),
                            ["-check", "-identity", identity, "-fpubkey", pub, "-expire", "60"], timeout: 30)
        #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        // And callsign verifies with the same PEM public key.
        let verify = try CLI.callsign("verify", "--identity", identity, "--from", "12155551212", "--to", "12155553434", "--cert", pub)
        #expect(verify.status == 0)
    }
}

import CallsignTestSupport
import Foundation
import Testing

@Suite("callsign CLI: keygen, sign, verify, decode")
struct CLITests {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    @Test("keygen writes a 0600 PKCS#8 key and its public key; sign → verify round-trips with exit 0")
    func keygenSignVerify() async throws {
        let keygen = try await CLI.callsign("keygen", "--out", path("k.pem"))
        #expect(keygen.status == 0)
        let attributes = try FileManager.default.attributesOfItem(atPath: path("k.pem"))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try String(contentsOfFile: path("k.pem"), encoding: .utf8).hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(try String(contentsOfFile: path("k.pub.pem"), encoding: .utf8).hasPrefix("-----BEGIN PUBLIC KEY-----"))
        // keygen refuses to overwrite.
        #expect(try await CLI.callsign("keygen", "--out", path("k.pem")).status == 2)

        let sign = try await CLI.callsign("sign", "--orig", "+1 215-555-1212", "--dest", "tel:+12155553434", "--attest", "B",
                                    "--key", path("k.pem"), "--x5u", "https://cr.example.net/sp.pem",
                                    "--origid", "123e4567-e89b-12d3-a456-426655440000")
        #expect(sign.status == 0)
        let identity = sign.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(identity.hasSuffix(";info=<https://cr.example.net/sp.pem>;alg=ES256;ppt=shaken"))

        let verify = try await CLI.callsign("verify", "--identity", identity, "--from", "12155551212", "--to", "12155553434",
                                      "--cert", path("k.pub.pem"), "--json")
        #expect(verify.status == 0)
        let verdict = try jsonObject(verify.stdout)
        #expect(verdict["verstat"] as? String == "TN-Validation-Passed")
        #expect(verdict["attestation"] as? String == "B")
        #expect(verdict["origid"] as? String == "123e4567-e89b-12d3-a456-426655440000")
    }

    @Test("verify fails with exit 1 and the SIP code for a wrong caller, a stale iat and a tampered token")
    func verifyFailures() async throws {
        #expect(try await CLI.callsign("keygen", "--out", path("k.pem")).status == 0)
        let identity = try await CLI.callsign("sign", "--orig", "12155551212", "--dest", "12155553434", "--attest", "A",
                                        "--key", path("k.pem"), "--x5u", "https://cr.example.net/sp.pem", "--iat", "1800000000")
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        func verdict(_ args: [String]) async throws -> (Int32, [String: Any]) {
            let out = try await CLI.callsign(arguments: ["verify", "--cert", path("k.pub.pem"), "--json"] + args)
            return (out.status, try jsonObject(out.stdout))
        }
        let (wrongFromStatus, wrongFrom) = try await verdict(["--identity", identity, "--from", "12155550000", "--to", "12155553434", "--now", "1800000000"])
        #expect(wrongFromStatus == 1)
        #expect(wrongFrom["verstat"] as? String == "TN-Validation-Failed")
        #expect((wrongFrom["error"] as? [String: Any])?["sip_code"] as? Int == 438)

        let (staleStatus, stale) = try await verdict(["--identity", identity, "--from", "12155551212", "--to", "12155553434", "--now", "1800000061"])
        #expect(staleStatus == 1)
        #expect((stale["error"] as? [String: Any])?["sip_code"] as? Int == 403)
        // --max-age widens the window.
        let (wideStatus, _) = try await verdict(["--identity", identity, "--from", "12155551212", "--to", "12155553434",
                                           "--now", "1800000061", "--max-age", "120"])
        #expect(wideStatus == 0)

        let parts = identity.split(separator: ";", maxSplits: 1).map(String.init)
        let jws = parts[0].split(separator: ".").map(String.init)
        let flipped: String = (jws[2].first == "A" ? "B" : "A") + String(jws[2].dropFirst())
        let tampered: String = jws[0] + "." + jws[1] + "." + flipped + ";" + parts[1]
        let (tamperedStatus, tamperedVerdict) = try await verdict(["--identity", String(tampered), "--from", "12155551212",
                                                              "--to", "12155553434", "--now", "1800000000"])
        #expect(tamperedStatus == 1)
        #expect((tamperedVerdict["error"] as? [String: Any])?["code"] as? String == "bad-signature")
    }

    @Test("verify reads @FILE with an 'Identity:' prefix and several headers, one per line")
    func verifyFromFile() async throws {
        #expect(try await CLI.callsign("keygen", "--out", path("k.pem")).status == 0)
        let identity = try await CLI.callsign("sign", "--orig", "12155551212", "--dest", "12155553434", "--attest", "C",
                                        "--key", path("k.pem"), "--x5u", "https://cr.example.net/sp.pem")
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try "Identity: garbage\ny: \(identity)\n".write(toFile: path("id.txt"), atomically: true, encoding: .utf8)
        let out = try await CLI.callsign("verify", "--identity", "@" + path("id.txt"), "--from", "12155551212", "--to", "12155553434",
                                   "--cert", path("k.pub.pem"))
        #expect(out.status == 0)
        #expect(out.stdout.contains("verstat: TN-Validation-Passed"))
        #expect(out.stdout.contains("attestation: C"))
    }

    @Test("bad input gives a one-line error and exit 2; bad options exit 64")
    func badInput() async throws {
        let missingKey = try await CLI.callsign("sign", "--orig", "1", "--dest", "2", "--attest", "A", "--key", path("nope.pem"), "--x5u", "https://x")
        #expect(missingKey.status == 2)
        #expect(missingKey.stderr.split(separator: "\n").count == 1)
        try "not a key".write(toFile: path("bad.pem"), atomically: true, encoding: .utf8)
        let badKey = try await CLI.callsign("sign", "--orig", "1", "--dest", "2", "--attest", "A", "--key", path("bad.pem"), "--x5u", "https://x")
        #expect(badKey.status == 2)
        #expect(badKey.stderr.contains("not a P-256 private key"))
        let badAttest = try await CLI.callsign("sign", "--orig", "1", "--dest", "2", "--attest", "D", "--key", path("bad.pem"), "--x5u", "https://x")
        #expect(badAttest.status == 64)
        let badCert = try await CLI.callsign("verify", "--identity", "a.b.c", "--from", "1", "--to", "2", "--cert", path("bad.pem"))
        #expect(badCert.status == 2)
        let garbage = try await CLI.callsign("decode", "%%%")
        #expect(garbage.status == 2)
        #expect(garbage.stderr.contains("438"))
        let noCert = try await CLI.callsign("verify", "--identity", "a.b.c", "--from", "1", "--to", "2")
        #expect(noCert.status == 64)
        let huge = String(repeating: "A", count: 100_000)
        let oversized = try await CLI.callsign("decode", huge)
        #expect(oversized.status == 2)
    }

    @Test("speed prints ES256 sign and verify rates on one core in one parseable line; a bad --seconds exits 64")
    func speed() async throws {
        let output = try await CLI.callsign("speed", "--seconds", "0.2")
        #expect(output.status == 0)
        let line = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let fields = Dictionary(line.split(separator: " ").dropFirst().compactMap { field -> (String, String)? in
            let parts = field.split(separator: "=", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        }, uniquingKeysWith: { first, _ in first })
        #expect(line.hasPrefix("es256 "))
        #expect((fields["sign_per_s"].flatMap { Int($0) } ?? 0) > 100)
        #expect((fields["verify_per_s"].flatMap { Int($0) } ?? 0) > 100)
        #expect(try await CLI.callsign("speed", "--seconds", "0").status == 64)
    }

    @Test("serve refuses out-of-range bounds and a bad sip_udp_sockets with a one-line error and exit 2, before it opens anything")
    func serveOptionErrors() async throws {
        for arguments in [["--http-idle-timeout", "0"], ["--http-max-connections", "0"], ["--sip-max-in-flight", "1000001"]] {
            let output = try await run(CLI.path, ["serve", "--data", "/nonexistent/callsign-data"] + arguments, timeout: 20)
            #expect(output.status == 2, "\(arguments): \(output.stderr)")
            #expect(output.stderr.contains(arguments[0]), "\(output.stderr)")
        }
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-config-\(UUID().uuidString).json")
        try #"{"sip_udp_sockets":"sometimes"}"#.write(to: config, atomically: true, encoding: .utf8)
        let output = try await run(CLI.path, ["serve", "--data", "/nonexistent/callsign-data", "--config", config.path], timeout: 20)
        #expect(output.status == 2)
        #expect(output.stderr.contains("sip_udp_sockets must be per-loop or one"), "\(output.stderr)")
    }

    @Test("the benchmark A/B switches are not product options: serve refuses them as unknown")
    func noBenchmarkSwitches() async throws {
        for option in ["--event-loop-answers", "--hot-path-parser", "--traceback-journal", "--traceback-writer", "--sqlite-checkpoints",
                       "--sqlite-wal-limit", "--sip-udp-sockets"] {
            let output = try await run(CLI.path, ["serve", "--data", "/nonexistent/callsign-data", option, "on"], timeout: 20)
            #expect(output.status == 64, "\(option): \(output.stderr)")
            #expect(output.stderr.contains("Unknown option"), "\(output.stderr)")
        }
    }

    @Test("decode prints header, claims and parameters, and lists problems without verifying")
    func decode() async throws {
        let vectorURL = Peers.repositoryRoot.appendingPathComponent("Tests/CallsignTests/Vectors/shaken-test-pki/passport-valid.json")
        let vector = try jsonObject(try String(contentsOf: vectorURL, encoding: .utf8))
        let value = try #require(vector["identity_header_value"] as? String)
        let out = try await CLI.callsign("decode", value)
        #expect(out.status == 0)
        let decoded = try jsonObject(out.stdout)
        #expect((decoded["header"] as? [String: Any])?["ppt"] as? String == "shaken")
        #expect((decoded["claims"] as? [String: Any])?["origid"] as? String == "123e4567-e89b-12d3-a456-426655440000")
        #expect((decoded["identity_parameters"] as? [String: Any])?["info"] as? String == "<https://cert.example.org/shaken-test/ee-chain.pem>")
        #expect((decoded["problems"] as? [Any])?.isEmpty == true)
        // An HS256 token decodes but its problem is listed.
        let hs = "eyJhbGciOiJIUzI1NiIsInR5cCI6InBhc3Nwb3J0In0.eyJkZXN0Ijp7InRuIjpbIjEiXX0sImlhdCI6MSwib3JpZyI6eyJ0biI6IjIifX0.AAAA"
        let hsOut = try await CLI.callsign("decode", hs)
        #expect(hsOut.status == 0)
        #expect(hsOut.stdout.contains("ES256"))
    }
}

import CallsignTestSupport
import Foundation
import Testing

/// SIPp (sip-tester) as the caller against `callsign serve`'s redirect
/// listeners; identities checked with secsipidx both ways.
@Suite("SIP redirect listeners driven by SIPp, identities checked with secsipidx", .serialized,
       .enabled(if: Peers.enabled(Peers.which("sipp") != nil && Peers.haveSecsipidx), "sipp or secsipidx not installed"))
struct SIPRedirectInteropTests {
    struct Running {
        let server: BackgroundProcess
        let certs: TestHTTPServer
        let dir: URL
        let http: Int
        let sign: Int
        let verify: Int
        let pki: URL
    }

    static func start() async throws -> Running {
        let pki = try await Peers.pkiDirectory()
        let certs = try await TestHTTPServer()
        certs.set("/sp-chain.pem", .init(body: Array(try Data(contentsOf: pki.appendingPathComponent("sp-chain.pem")))))
        certs.set("/inter-ca.crl", .init(body: Array(try Data(contentsOf: pki.appendingPathComponent("inter-ca.crl")))))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-sipp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let base = TestPorts.take(3)
        let (http, sign, verify) = (base, base + 1, base + 2)
        let server = try BackgroundProcess(CLI.path, [
            "serve", "--http", "127.0.0.1:\(http)", "--sip-sign", "127.0.0.1:\(sign)", "--sip-verify", "127.0.0.1:\(verify)",
            "--trust", pki.appendingPathComponent("root-ca.pem").path, "--lab-allow", "http://127.0.0.1:\(certs.port)/",
        ], directory: dir.path)
        try #require(await server.waitForOutput("Sign and verify in one go:", timeout: 60), "serve did not start: \(server.errors)")
        return Running(server: server, certs: certs, dir: dir, http: http, sign: sign, verify: verify, pki: pki)
    }

    static let scenarios = Peers.repositoryRoot.appendingPathComponent("Tests/CallsignCLITests/sipp")

    /// Runs SIPp in `dir`; returns its exit status (0: every call as the scenario expects).
    static func sipp(_ scenario: String, csv: String, target: Int, calls: Int, dir: URL, extra: String = "") async throws -> ProcessOutput {
        let csvPath = dir.appendingPathComponent("\(scenario).csv").path
        try csv.write(toFile: csvPath, atomically: true, encoding: .utf8)
        let sipp = try #require(Peers.which("sipp"))
        let local = TestPorts.take()
        let command = "cd '\(dir.path)' && exec '\(sipp)' -sf '\(scenarios.appendingPathComponent(scenario + ".xml").path)' -inf '\(csvPath)'"
            + " -i 127.0.0.1 -p \(local) 127.0.0.1:\(target) -m \(calls) -r 50 -nostdin -timeout 30s -trace_msg -trace_err \(extra)"
        return try await run("/bin/sh", ["-c", command], timeout: 60)
    }

    @Test("signing redirect: SIPp gets 302 with an Identity for every call, and secsipidx verifies them")
    func signingRedirect() async throws {
        let running = try await Self.start()
        defer { running.server.stop() }
        let out = try await Self.sipp("uac-redirect", csv: "SEQUENTIAL\n12155550042;12125551213;\n12155550043;12125551214;\n",
                                target: running.sign, calls: 20, dir: running.dir)
        #expect(out.status == 0, "\(out.stdout.suffix(800))")
        let logs = try FileManager.default.contentsOfDirectory(atPath: running.dir.path).filter { $0.hasSuffix("_messages.log") }
        let text = try logs.map { try String(contentsOf: running.dir.appendingPathComponent($0), encoding: .utf8) }.joined()
        let identities = text.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("Identity: ") }.map {
            String($0.dropFirst(10)).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(identities.count == 20)
        let secsipidx = try #require(Peers.which("secsipidx"))
        let ca = running.dir.appendingPathComponent("callsign-data/ca")
        for identity in identities.prefix(3) {
            let check = try await run(secsipidx, ["-check", "-identity", identity, "-fpubkey", "http://127.0.0.1:\(running.http)/certs/sp-chain.pem",
                                            "-expire", "60", "-cert-verify", "13", "-ca-file", ca.appendingPathComponent("root-ca.pem").path,
                                            "-ca-inter", ca.appendingPathComponent("inter-ca.pem").path], timeout: 30)
            #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        }
        try await running.certs.stop()
    }

    @Test("signing redirect over TCP (one connection, Content-Length framing): SIPp gets 302 with Identity for every call")
    func signingRedirectTCP() async throws {
        let running = try await Self.start()
        defer { running.server.stop() }
        let out = try await Self.sipp("uac-redirect", csv: "SEQUENTIAL\n12155550042;12125551213;\n", target: running.sign, calls: 10,
                                dir: running.dir, extra: "-t t1")
        #expect(out.status == 0, "\(out.stdout.suffix(800))")
        try await running.certs.stop()
    }

    @Test("verification redirect: secsipidx-signed → 302 TN-Validation-Passed; tampered → 438 with Reason; none → 302 No-TN-Validation")
    func verificationRedirect() async throws {
        let running = try await Self.start()
        defer { running.server.stop() }
        let secsipidx = try #require(Peers.which("secsipidx"))
        let x5u = running.certs.url("/sp-chain.pem")
        var good = "SEQUENTIAL\n"
        var bad = "SEQUENTIAL\n"
        for i in 0..<5 {
            let orig = "1215555\(String(format: "%04d", i))"
            let signed = try await run(secsipidx, ["-sign-full", "-orig-tn", orig, "-dest-tn", "12125551213", "-attest", "A", "-x5u", x5u,
                                             "-k", running.pki.appendingPathComponent("sp.key").path], timeout: 30)
            try #require(signed.status == 0)
            let jws = String(signed.stdout.split(separator: ";").first ?? "")
            good += "\(orig);12125551213;\(jws);\(x5u);\n"
            let parts = jws.split(separator: ".").map(String.init)
            let tampered = parts[0] + "." + parts[1] + "." + (parts[2].first == "A" ? "B" : "A") + parts[2].dropFirst()
            bad += "\(orig);12125551213;\(tampered);\(x5u);\n"
        }
        let passed = try await Self.sipp("uac-verify-redirect", csv: good, target: running.verify, calls: 5, dir: running.dir)
        #expect(passed.status == 0, "\(passed.stdout.suffix(800))")
        let rejected = try await Self.sipp("uac-verify-reject", csv: bad, target: running.verify, calls: 5, dir: running.dir)
        #expect(rejected.status == 0, "\(rejected.stdout.suffix(800))")
        let none = try await run("/usr/bin/env", ["python3", Peers.script("sip-invite.py"), "--port", String(running.verify),
                                            "--from", "12155550042", "--to", "12125551213"], timeout: 30)
        #expect(none.stdout.contains("CODE 302"), "\(none.stdout)")
        try await running.certs.stop()
    }
}

import Callsign
import Testing

@Suite("x5u URL policy (ATIS-1000074 §5.3.1): an SSRF guard")
struct X5UPolicyTests {
    @Test("accepts https URLs on 443 and 8443 with public hosts", arguments: [
        "https://cr.example.net/sp.pem", "https://cr.example.net:8443/a/b.pem", "https://8.8.8.8/x.pem", "https://[2606:4700::1111]/x.pem",
    ])
    func accepts(_ url: String) throws {
        _ = try X5UPolicy().check(url)
    }

    @Test("refuses what ATIS-1000074 forbids and special-purpose addresses", arguments: [
        "http://cr.example.net/sp.pem", "https://cr.example.net:8080/sp.pem", "https://user@cr.example.net/sp.pem",
        "https://cr.example.net/sp.pem?x=1", "https://cr.example.net/sp.pem#f", "ftp://cr.example.net/sp.pem",
        "https://127.0.0.1/x.pem", "https://10.0.0.1/x.pem", "https://172.16.5.4/x.pem", "https://192.168.1.1/x.pem",
        "https://169.254.169.254/latest/meta-data", "https://100.64.0.1/x", "https://0.0.0.0/x", "https://224.0.0.1/x",
        "https://[::1]/x.pem", "https://[fe80::1]/x.pem", "https://[fd00::1]/x.pem", "https://[::ffff:127.0.0.1]/x.pem",
        "https://localhost/x.pem", "https://intranet/x.pem", "https://0x7f.0.0.1/x.pem", "https://2130706433/x.pem",
        "https://017.0.0.1/x.pem", "cr.example.net/sp.pem", "https:///x.pem", "https://cr.example.net/a;b/x.pem",
        "https://cr.example.net/ x.pem",
        // IPv4-compatible, IPv4-translated, discard-only, NAT64 local, IETF, 6to4, documentation, unallocated.
        "https://[::7f00:1]/x.pem", "https://[::a00:1]/x.pem", "https://[::8.8.8.8]/x.pem", "https://[::ffff:0:7f00:1]/x.pem",
        "https://[::ffff:0:808:808]/x.pem", "https://[100::1]/x.pem", "https://[64:ff9b:1::a00:1]/x.pem", "https://[2001::1]/x.pem",
        "https://[2001:2::1]/x.pem", "https://[2002:7f00:1::1]/x.pem", "https://[3fff::1]/x.pem", "https://[4000::1]/x.pem",
        "https://[::ffff:169.254.169.254]/x.pem", "https://[::ffff:a9fe:a9fe]/x.pem",
    ])
    func refuses(_ url: String) {
        #expect(throws: VerificationError(.badInfo, "")) { try X5UPolicy().check(url) }
    }

    @Test("a lab prefix allows plain http on loopback under that prefix only")
    func labAllow() throws {
        let policy = X5UPolicy(labAllowPrefixes: ["http://127.0.0.1:18080/"])
        let target = try policy.check("http://127.0.0.1:18080/sp-chain.pem")
        #expect(target.labAllowed)
        #expect(target.port == 18080)
        #expect(throws: VerificationError.self) { try policy.check("http://127.0.0.1:18081/sp-chain.pem") }
        #expect(throws: VerificationError.self) { try policy.check("http://127.0.0.1:180800/sp-chain.pem") }
    }
}

import CallsignTestSupport
import Callsign
import CallsignApp
import CallsignService
import CallsignStore
import Foundation
import Testing

@Suite("Server configuration file, token and traceback commands")
struct AdminTests {
    @Test("the configuration file reads customers with their numbers, and names the key at fault")
    func configurationFile() throws {
        let file = try ServerConfigurationFile(json: #"""
            {"http":"127.0.0.1:9090","cert_profile":"strict","require_crl":true,"lab_allow":["http://127.0.0.1:9090/certs/"],
             "customers":[{"id":"bank","name":"Example Bank","origid":"8F4A1B2C-3D4E-4F50-8A6B-7C8D9E0F1A2B","numbers":["12155550000+100","12155559999"]},
                          {"id":"gw","origid":"11111111-2222-4333-8444-555555555555","kind":"gateway"}]}
            """#)
        #expect(file.http == "127.0.0.1:9090")
        #expect(file.requireCRL == true)
        let bank = try #require(file.customers?.first)
        #expect(bank.origid == "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b")
        #expect(bank.numbers == [NumberBlock(start: "12155550000", count: 100), NumberBlock(start: "12155559999", count: 1)])
        #expect(file.customers?.last?.kind == .gateway)
        for (text, key) in [(#"{"htp":"x"}"#, "htp"), (#"{"customers":[{"id":"x","origid":"nope"}]}"#, "customers[0]"),
                            (#"{"customers":[{"id":"x","origid":"11111111-2222-4333-8444-555555555555","numbers":["12a"]}]}"#, "numbers"),
                            (#"{"require_crl":"yes"}"#, "require_crl"), ("[", "JSON")] {
            #expect {
                try ServerConfigurationFile(json: text)
            } throws: { error in
                String(describing: error).contains(key)
            }
        }
    }

    @Test("the configuration file reads sti_pa, signing identities per customer, signing.shared and ACME sections, and names the key at fault")
    func trustAndIdentityKeys() throws {
        let file = try ServerConfigurationFile(json: #"""
            {"sti_pa": {"url": "https://sti-pa.example/api/v1", "root": "/etc/callsign/sti-pa-root.pem", "user": "carrier",
                        "password_file": "/etc/callsign/sti-pa-password", "crl": "https://sti-pa.example/download/v1/crl"},
             "signing": {"key": "/k.pem", "x5u": "https://cr.example/sp.pem", "shared": false,
                         "acme": {"directory": "https://ca.example/acme/directory", "spc": "818H", "eab_kid": "k1", "eab_key_file": "/eab",
                                  "renew_before_days": 20}},
             "customers": [{"id": "a", "origid": "11111111-1111-4111-8111-111111111111", "signing": {"key": "/a.pem", "x5u": "https://cr.example/a.pem"}},
                           {"id": "b", "origid": "22222222-2222-4222-8222-222222222222",
                            "signing": {"acme": {"directory": "https://ca.example/acme/directory", "spc": "222B", "token_file": "/t"}}}]}
            """#)
        #expect(file.stiPA == STIPAOptions(url: "https://sti-pa.example/api/v1", rootPath: "/etc/callsign/sti-pa-root.pem", user: "carrier",
                                           passwordFile: "/etc/callsign/sti-pa-password", crlURL: "https://sti-pa.example/download/v1/crl"))
        #expect(file.signingShared == false)
        #expect(file.customerSigning?["a"] == SigningIdentityOptions(keyPath: "/a.pem", x5u: "https://cr.example/a.pem"))
        #expect(file.acme?[.service]?.renewBeforeDays == 20)
        #expect(file.acme?[.service]?.eabKid == "k1")
        #expect(file.acme?[.customer("b")]?.spc == "222B")
        #expect(file.acme?[.customer("b")]?.tokenFile == "/t")
        for (text, key) in [(#"{"sti_pa": {"url": "https://x"}}"#, "root"), (#"{"sti_pa": {"url": "x", "root": "r", "pass": "p"}}"#, "sti_pa.pass"),
                            (#"{"signing": {"shared": "no"}}"#, "signing.shared"),
                            (#"{"signing": {"acme": {"spc": "1"}}}"#, "directory"),
                            (#"{"signing": {"acme": {"directory": "d", "spc": "1", "renew_before_days": 0}}}"#, "renew_before_days"),
                            (#"{"signing": {"acme": {"directory": "d", "spc": "1", "eab_kid": "k"}}}"#, "eab_key_file")] {
            #expect {
                try ServerConfigurationFile(json: text)
            } throws: { error in
                String(describing: error).contains(key)
            }
        }
    }

    @Test("token create prints a token that authenticates the customer; revoke stops it; traceback lists signed calls")
    func tokenAndTraceback() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-admin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: dir.appendingPathComponent("callsign.sqlite").path)
        let bank = Customer(id: "bank", name: "Bank", origid: "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b")
        try await store.saveCustomer(bank)
        let created = try await CLI.callsign("token", "create", "--data", dir.path, "--customer", "bank")
        #expect(created.status == 0)
        let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("cs_"))
        #expect(try await store.customer(tokenHash: APIToken.hash(token))?.id == "bank")
        #expect(try await CLI.callsign("token", "create", "--data", dir.path, "--customer", "nobody").status == 2)
        #expect(try await CLI.callsign("token", "revoke", "--data", dir.path, "--token", token).status == 0)
        #expect(try await store.customer(tokenHash: APIToken.hash(token)) == nil)

        try await store.record([SignedCallRecord(time: 1_800_000_000, orig: "12155550001", dest: ["12125551213"], attestation: .full,
                                                 origid: bank.origid, customerID: "bank")])
        let trace = try await CLI.callsign("traceback", "--data", dir.path, "--origid", bank.origid, "--json")
        #expect(trace.status == 0)
        #expect(trace.stdout.contains("12155550001"))
        #expect(trace.stdout.contains("\"customer\": \"bank\""))
        let none = try await CLI.callsign("traceback", "--data", dir.path, "--origid", "11111111-2222-4333-8444-555555555555")
        #expect(none.status == 1)
        let window = try await CLI.callsign("traceback", "--data", dir.path, "--origid", bank.origid, "--until", "1700000000")
        #expect(window.stdout.contains("no calls"))
    }

    @Test("the configuration file reads analytics triggers, the webhook and records retention, and names the key at fault")
    func analyticsKeys() throws {
        let file = try ServerConfigurationFile(json: #"""
            {"analytics": {"webhook": "https://soc.example/hooks/callsign", "log_numbers": true,
                           "triggers": [{"signal": "one-number-many-origins", "window_s": 60, "threshold": 10, "mode": "report"},
                                        {"signal": "failure-share", "window_s": 300, "threshold": 40, "mode": "block", "min_calls": 50}]},
             "records": {"retention_days": 30, "verification": false}}
            """#)
        let analytics = try #require(file.analytics)
        #expect(analytics.webhook == "https://soc.example/hooks/callsign" && analytics.logNumbers)
        #expect(analytics.triggers == [SignalTrigger(signal: .oneNumberManyOrigins, windowS: 60, threshold: 10),
                                       SignalTrigger(signal: .failureShare, windowS: 300, threshold: 40, mode: .block, minCalls: 50)])
        #expect(analytics.retentionDays == 30 && !analytics.recordVerifications)
        #expect(try ServerConfigurationFile(json: "{}").analytics == nil, "defaults: no triggers, 7 days, verifications recorded")
        #expect(AnalyticsOptions().retentionDays == 7 && AnalyticsOptions().recordVerifications && AnalyticsOptions().triggers.isEmpty)
        for (text, key) in [(#"{"analytics": {"triggers": [{"signal": "many-calls", "window_s": 60, "threshold": 1}]}}"#, "signal"),
                            (#"{"analytics": {"triggers": [{"signal": "failure-share", "window_s": 60, "threshold": 150}]}}"#, "threshold"),
                            (#"{"analytics": {"triggers": [{"signal": "policy-hits", "window_s": 0, "threshold": 1}]}}"#, "window_s"),
                            (#"{"analytics": {"triggers": [{"signal": "policy-hits", "window_s": 5, "threshold": 1, "mode": "drop"}]}}"#, "mode"),
                            (#"{"analytics": {"webhook": "ftp://x"}}"#, "webhook"),
                            (#"{"analytics": {"hook": "https://x"}}"#, "analytics.hook"),
                            (#"{"records": {"retention_days": 0}}"#, "retention_days")] {
            #expect {
                try ServerConfigurationFile(json: text)
            } throws: { error in
                String(describing: error).contains(key)
            }
        }
    }

    @Test("analytics.webhook_secret_file: a Standard Webhooks secret is read; a missing or malformed file, or no webhook, is refused naming the key")
    func webhookSecretFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-webhook-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good").path, bad = dir.appendingPathComponent("bad").path
        try Data("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n".utf8).write(to: URL(fileURLWithPath: good))
        try Data("hunter2\n".utf8).write(to: URL(fileURLWithPath: bad))
        func options(_ path: String) throws -> AnalyticsOptions {
            try #require(try ServerConfigurationFile(json: #"{"analytics": {"webhook": "https://soc.example/h", "webhook_secret_file": "\#(path)"}}"#).analytics)
        }
        #expect(try options(good).webhookSigningKey() != nil)
        #expect(try AnalyticsOptions().webhookSigningKey() == nil, "no file: unsigned")
        for path in [bad, dir.appendingPathComponent("missing").path] {
            #expect { try options(path).webhookSigningKey() } throws: { String(describing: $0).contains("webhook_secret_file") }
        }
        #expect {
            try ServerConfigurationFile(json: #"{"analytics": {"webhook_secret_file": "\#(good)"}}"#)
        } throws: { String(describing: $0).contains("needs 'analytics.webhook'") }
    }

    @Test("calls lists both sides' records of a calling number in a time range, as text, JSON or CSV")
    func callsCommand() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-calls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore(path: dir.appendingPathComponent("callsign.sqlite").path)
        let origid = "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"
        try await store.record([SignedCallRecord(time: 1_796_565_700, orig: "442071234567", dest: ["12125551213"], attestation: .full,
                                                 origid: origid, customerID: "bank")])
        try await store.recordVerified([
            VerifiedCallRecord(time: 1_796_565_720, orig: "442071234567", dest: "12125551213", verstat: "TN-Validation-Failed", attestation: "A",
                               spc: "9Z9Z", origid: origid, source: "192.0.2.20", reason: "bad-signature", policyAction: "block",
                               policyRule: "protected-number"),
            VerifiedCallRecord(time: 1_796_565_800, orig: "442071234599", dest: "12125551213", verstat: "No-TN-Validation", source: "rest"),
        ])
        let text = try await CLI.callsign("calls", "--data", dir.path, "--number", "+442071234567", "--since", "2026-12-06T14:00:00Z")
        #expect(text.status == 0)
        #expect(text.stdout.contains("2026-12-06T14:02:00Z  verified") && text.stdout.contains("from 192.0.2.20") && text.stdout.contains("protected-number"))
        #expect(text.stdout.contains("signed    A"))
        let csv = try await CLI.callsign("calls", "--data", dir.path, "--number", "+442071234567", "--csv", "--until", "1796565710")
        #expect(csv.stdout.split(separator: "\n") == ["kind,time,orig,dest,attest,verstat,origid,spc,x5u,source,customer,identity,attest_rule,reason,policy_action,policy_rule",
                                                      "signed,1796565700,442071234567,12125551213,A,,\(origid),,,rest,bank,,,,allow,"])
        let json = try await CLI.callsign("calls", "--data", dir.path, "--number", "+442071234567", "--json")
        #expect(json.stdout.contains("\"kind\": \"verified\"") && json.stdout.contains("\"spc\": \"9Z9Z\""))
        #expect(try await CLI.callsign("calls", "--data", dir.path, "--number", "+442071234567", "--since", "noon").status != 0)
    }

    @Test("policy test explains the rules from the configuration file, with its DNO list, and exits 1 on a block")
    func policyTest() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "+44 20 7123 4567,Example Bank inbound\n".write(to: dir.appendingPathComponent("dno.csv"), atomically: true, encoding: .utf8)
        let config = #"{"policy":{"rules":["do-not-originate","invalid-number",{"national-number-from-abroad":{"country":"44"}}],"dno_file":"\#(dir.appendingPathComponent("dno.csv").path)"}}"#
        try config.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let blocked = try await CLI.callsign("policy", "test", "--config", dir.appendingPathComponent("config.json").path, "--from", "02071234567",
                                       "--numbering", "uk", "--json")
        #expect(blocked.status == 1)
        let verdict = try jsonObject(blocked.stdout)
        #expect(verdict["rule"] as? String == "do-not-originate")
        #expect(verdict["sip_code"] as? Int == 603)
        let allowed = try await CLI.callsign("policy", "test", "--config", dir.appendingPathComponent("config.json").path, "--from", "+447911123456",
                                       "--to", "+12125551213", "--ingress", "international")
        #expect(allowed.status == 0)
        #expect(allowed.stdout.contains("→ allow"))
        try "+44 20 7123 4567\nbanana\n".write(to: dir.appendingPathComponent("dno.csv"), atomically: true, encoding: .utf8)
        let bad = try await CLI.callsign("policy", "test", "--config", dir.appendingPathComponent("config.json").path, "--from", "1")
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("line 2"))
    }

    @Test("policy test shows the protected-number rule: the bank's SPC passes, another SPC or another customer is blocked with 608")
    func policyTestProtected() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-protected-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // Not 020 7946 0xxx: an Ofcom drama range, which invalid-number refuses first.
        let config = #"{"protected_numbers":[{"number":"+442071234567","spc":["7Q2X"],"customers":["bank"],"label":"Example Bank"}]}"#
        let path = dir.appendingPathComponent("config.json").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let verified = ["--verstat", "TN-Validation-Passed", "--attest", "A"]
        let own = try await CLI.callsign(arguments: ["policy", "test", "--config", path, "--from", "+442071234567", "--spc", "7Q2X"] + verified)
        #expect(own.status == 0, "\(own.stdout) \(own.stderr)")
        let other = try await CLI.callsign(arguments: ["policy", "test", "--config", path, "--from", "+442071234567", "--spc", "9999", "--json"] + verified)
        #expect(other.status == 1)
        let verdict = try jsonObject(other.stdout)
        #expect(verdict["rule"] as? String == "protected-number")
        #expect(verdict["sip_code"] as? Int == 608)
        #expect((verdict["reason"] as? String)?.contains("Example Bank") == true)
        #expect(try await CLI.callsign("policy", "test", "--config", path, "--from", "+442071234567", "--customer", "bank").status == 0)
        #expect(try await CLI.callsign("policy", "test", "--config", path, "--from", "+442071234567", "--customer", "reseller").status == 1)
    }

    @Test("protected import/add/list/remove work on the store, and policy test on the data directory applies them")
    func protectedCommands() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-protected-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let csv = dir.appendingPathComponent("protected.csv").path
        try "number,spc,label\n+44 20 7123 4567,7Q2X,Example Bank\n".write(toFile: csv, atomically: true, encoding: .utf8)
        #expect(try await CLI.callsign("protected", "import", "--data", dir.path, csv).status == 0)
        #expect(try await CLI.callsign("protected", "add", "--data", dir.path, "--spc", "7Q2X", "--label", "Branches", "--action", "tag",
                                       "+4420712399*").status == 0)
        let list = try await CLI.callsign("protected", "list", "--data", dir.path)
        #expect(list.stdout.contains("442071234567,7Q2X,Example Bank,,block"), "\(list.stdout)")
        #expect(list.stdout.contains("4420712399*,7Q2X,Branches,,tag"))
        let verified = ["--data", dir.path, "--verstat", "TN-Validation-Passed", "--attest", "A", "--json"]
        let blocked = try await CLI.callsign(arguments: ["policy", "test", "--from", "+442071234567", "--spc", "9999"] + verified)
        #expect(blocked.status == 1)
        #expect(try jsonObject(blocked.stdout)["rule"] as? String == "protected-number")
        #expect(try await CLI.callsign(arguments: ["policy", "test", "--from", "+442071234567", "--spc", "7Q2X"] + verified).status == 0)
        #expect(try await CLI.callsign("protected", "remove", "--data", dir.path, "+442071234567").status == 0)
        #expect(try await CLI.callsign("protected", "remove", "--data", dir.path, "+442071234567").status == 1)
        #expect(try await CLI.callsign(arguments: ["policy", "test", "--from", "+442071234567", "--spc", "9999"] + verified).status == 0)
        try "number,spc\n12a,7Q2X\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let bad = try await CLI.callsign("protected", "import", "--data", dir.path, csv)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("line 2"))
    }

    @Test("dno import is all-or-nothing and idempotent; add, remove and list work on the store")
    func dnoCommands() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-dno-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let csv = dir.appendingPathComponent("dno.csv")
        try "# bank inbound\n+44 20 7123 4567,Example Bank\n1800555*,toll-free block\n".write(to: csv, atomically: true, encoding: .utf8)
        let data = dir.appendingPathComponent("data").path
        #expect(try await CLI.callsign("dno", "import", "--data", data, csv.path).status == 0)
        #expect(try await CLI.callsign("dno", "import", "--data", data, csv.path).status == 0)
        let store = try SQLiteStore(path: data + "/callsign.sqlite")
        var list = try await store.loadDNO()
        #expect(list.count == 2)
        #expect(list.contains("442071234567"))
        #expect(list.contains("18005551234"))
        try "+442000000000\n12a\n".write(to: csv, atomically: true, encoding: .utf8)
        let bad = try await CLI.callsign("dno", "import", "--data", data, csv.path)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("line 2"))
        #expect(try await store.loadDNO().count == 2)
        #expect(try await CLI.callsign("dno", "add", "--data", data, "+1 (212) 555-0000", "--label", "x").status == 0)
        #expect(try await CLI.callsign("dno", "remove", "--data", data, "442071234567").status == 0)
        #expect(try await CLI.callsign("dno", "remove", "--data", data, "442071234567").status == 1)
        list = try await store.loadDNO()
        #expect(list.contains("12125550000"))
        #expect(!list.contains("442071234567"))
        let listed = try await CLI.callsign("dno", "list", "--data", data)
        #expect(listed.stdout.contains("1800555*,toll-free block"))
    }
}

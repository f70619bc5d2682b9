import Callsign
@testable import CallsignSIP
import CallsignService
import CallsignStore
import Crypto
import Foundation
import Testing

struct RedirectFixture {
    let key = P256.Signing.PrivateKey()
    let store: SQLiteStore
    let now: Int64 = 1_800_000_000
    let bank = Customer(id: "bank", name: "Bank", origid: "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b",
                        numbers: [NumberBlock(start: "12155550000", count: 100)])

    init() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-sip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try SQLiteStore(path: dir.appendingPathComponent("db.sqlite").path)
        try await store.saveCustomer(bank)
    }

    func signing() -> RedirectService {
        let t = now
        return RedirectService(signing: .init(trunks: ["192.0.2.10": "bank"], signingKey: key, x5u: "https://cr.example/sp.pem"), store: store,
                               resolver: PinnedCertificateResolver(publicKey: key.publicKey), now: { t })
    }

    func verification(action: VerificationFailureAction = .reject) -> RedirectService {
        let t = now
        return RedirectService(verification: .init(failureAction: action), store: store, resolver: PinnedCertificateResolver(publicKey: key.publicKey),
                               now: { t })
    }

    static func invite(from: String = "+12155550042", to: String = "12125551213", branch: String = "z9hG4bK-1", extra: String = "") -> [UInt8] {
        Array(("INVITE sip:\(to)@sbc.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=\(branch)\r\n"
               + "From: <sip:\(from)@carrier.example>;tag=a1\r\nTo: <sip:\(to)@sbc.example>\r\nCall-ID: \(branch)@x\r\nCSeq: 1 INVITE\r\n"
               + "Max-Forwards: 70\r\n\(extra)Content-Length: 0\r\n\r\n").utf8)
    }
}

func parse(_ bytes: [UInt8]?) throws -> SIPMessage { try SIPParser().parse(try #require(bytes)) }

func status(_ message: SIPMessage) -> Int {
    if case .response(let status, _) = message.startLine { return status }
    return 0
}

@Suite("SIP redirect service (302 signing and verification)")
struct RedirectServiceTests {
    @Test("a configured trunk gets 302 with an Identity that verifies, Contact = the Request-URI, and the call is recorded")
    func signs() async throws {
        let fixture = try await RedirectFixture()
        let reply = try parse(await fixture.signing().handle(datagram: RedirectFixture.invite(), source: "192.0.2.10"))
        #expect(status(reply) == 302)
        #expect(reply.first("contact") == "<sip:12125551213@sbc.example>")
        #expect(reply.first("p-attestation-indicator") == "A")
        let identity = try #require(reply.first("identity"))
        let verdict = await Verifier().verify(identityHeaders: [identity], call: CallContext(orig: "12155550042", dest: "12125551213"),
                                              now: fixture.now, resolver: PinnedCertificateResolver(publicKey: fixture.key.publicKey))
        #expect(verdict.verstat == .passed)
        #expect(try await fixture.store.traceback(origid: fixture.bank.origid, since: nil, until: nil, limit: 10).first?.trunk == "192.0.2.10")
    }

    @Test("an INVITE from any other source gets 403 and is never signed")
    func refusesUnknownSource() async throws {
        let fixture = try await RedirectFixture()
        let reply = try parse(await fixture.signing().handle(datagram: RedirectFixture.invite(), source: "198.51.100.7"))
        #expect(status(reply) == 403)
        #expect(reply.first("identity") == nil)
        #expect(try await fixture.store.traceback(origid: fixture.bank.origid, since: nil, until: nil, limit: 10).isEmpty)
    }

    @Test("a retransmitted INVITE gets the same answer without signing again")
    func retransmission() async throws {
        let fixture = try await RedirectFixture()
        let service = fixture.signing()
        let first = await service.handle(datagram: RedirectFixture.invite(), source: "192.0.2.10")
        let second = await service.handle(datagram: RedirectFixture.invite(), source: "192.0.2.10")
        #expect(first == second)
        #expect(try await fixture.store.traceback(origid: fixture.bank.origid, since: nil, until: nil, limit: 10).count == 1)
    }

    @Test("the ACK of a 302 ends its INVITE transaction: the kept answer is dropped, other calls' answers stay, and ACKs get no reply")
    func ackDropsTheKeptAnswer() async throws {
        let fixture = try await RedirectFixture()
        let signed = try parse(await fixture.signing().handle(datagram: RedirectFixture.invite(), source: "192.0.2.10"))
        let identity = try #require(signed.first("identity"))
        let service = fixture.verification()
        for branch in ["z9hG4bK-a1", "z9hG4bK-a2"] {
            let reply = try parse(await service.handle(datagram: RedirectFixture.invite(branch: branch, extra: "Identity: \(identity)\r\n"),
                                                       source: "203.0.113.5"))
            #expect(status(reply) == 302)
        }
        #expect(service.cache.count == 2)
        func ack(_ branch: String) -> [UInt8] {
            Array(String(decoding: RedirectFixture.invite(branch: branch), as: UTF8.self)
                .replacingOccurrences(of: "INVITE sip:", with: "ACK sip:").replacingOccurrences(of: "CSeq: 1 INVITE", with: "CSeq: 1 ACK").utf8)
        }
        #expect(await service.handle(datagram: ack("z9hG4bK-a1"), source: "203.0.113.5") == nil)
        #expect(service.cache.count == 1, "the acknowledged call's answer is gone")
        #expect(await service.handle(datagram: ack("z9hG4bK-a1"), source: "203.0.113.5") == nil, "a repeated ACK finds nothing")
        #expect(await service.handle(datagram: ack("z9hG4bK-a2"), source: "198.51.100.1") == nil)
        #expect(service.cache.count == 1, "an ACK from another source is another transaction")
    }

    @Test("verification: valid → 302 with verstat Passed; tampered → 438 with Reason (or 302 Failed when continuing); none → No-TN-Validation")
    func verifies() async throws {
        let fixture = try await RedirectFixture()
        let signed = try parse(await fixture.signing().handle(datagram: RedirectFixture.invite(), source: "192.0.2.10"))
        let identity = try #require(signed.first("identity"))
        let service = fixture.verification()
        let passed = try parse(await service.handle(datagram: RedirectFixture.invite(branch: "z9hG4bK-v1", extra: "Identity: \(identity)\r\n"),
                                                    source: "203.0.113.5"))
        #expect(status(passed) == 302)
        #expect(passed.first("p-asserted-identity") == "<tel:+12155550042;verstat=TN-Validation-Passed>")
        #expect(passed.first("p-origination-id") == fixture.bank.origid)

        let tampered = identity.replacingOccurrences(of: ".eyJ", with: ".eyK")
        let rejected = try parse(await service.handle(datagram: RedirectFixture.invite(branch: "z9hG4bK-v2", extra: "Identity: \(tampered)\r\n"),
                                                      source: "203.0.113.5"))
        #expect(status(rejected) == 438)
        #expect(rejected.first("reason")?.contains("cause=438") == true)

        let continuing = try parse(await fixture.verification(action: .continue).handle(
            datagram: RedirectFixture.invite(branch: "z9hG4bK-v3", extra: "Identity: \(tampered)\r\n"), source: "203.0.113.5"))
        #expect(status(continuing) == 302)
        #expect(continuing.first("p-asserted-identity")?.contains("TN-Validation-Failed") == true)
        #expect(continuing.first("reason")?.contains("438") == true)

        let none = try parse(await service.handle(datagram: RedirectFixture.invite(branch: "z9hG4bK-v4"), source: "203.0.113.5"))
        #expect(status(none) == 302)
        #expect(none.first("p-asserted-identity")?.contains("No-TN-Validation") == true)
    }

    @Test("numbering is configurable per peer: a UK peer's national From matches the +44 orig")
    func perPeerNumbering() async throws {
        let fixture = try await RedirectFixture()
        let t = fixture.now
        let ukCustomer = Customer(id: "uk", name: "UK", origid: "11111111-2222-4333-8444-555555555555",
                                  numbers: [NumberBlock(start: "442071230000", count: 10)])
        try await fixture.store.saveCustomer(ukCustomer)
        let signer = RedirectService(signing: .init(trunks: ["192.0.2.20": "uk"], signingKey: fixture.key, x5u: "https://cr.example/sp.pem"), store: fixture.store,
                                     resolver: PinnedCertificateResolver(publicKey: fixture.key.publicKey),
                                     peerNumbering: ["192.0.2.20": .uk], now: { t })
        let signed = try parse(await signer.handle(datagram: RedirectFixture.invite(from: "02071230001", to: "02071230099"), source: "192.0.2.20"))
        #expect(status(signed) == 302)
        #expect(signed.first("p-attestation-indicator") == "A")
        let identity = try #require(signed.first("identity"))
        let verifier = RedirectService(verification: .init(), store: fixture.store, resolver: PinnedCertificateResolver(publicKey: fixture.key.publicKey),
                                       peerNumbering: ["203.0.113.9": .uk], now: { t })
        let invite = RedirectFixture.invite(from: "02071230001", to: "02071230099", branch: "z9hG4bK-uk", extra: "Identity: \(identity)\r\n")
        let ukPeer = try parse(await verifier.handle(datagram: invite, source: "203.0.113.9"))
        #expect(ukPeer.first("p-asserted-identity") == "<tel:+442071230001;verstat=TN-Validation-Passed>")
        let otherPeer = try parse(await verifier.handle(datagram: invite, source: "203.0.113.10"))
        #expect(status(otherPeer) == 438)
    }

    @Test("OPTIONS 200, CANCEL 200, ACK silent, BYE 405, Max-Forwards 0 → 483, malformed → 400, junk dropped")
    func otherRequests() async throws {
        let fixture = try await RedirectFixture()
        let service = fixture.signing()
        func request(_ method: String) -> [UInt8] {
            Array(("\(method) sip:x@sbc.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-\(method)\r\nFrom: <sip:a@b>;tag=1\r\n"
                   + "To: <sip:x@y>\r\nCall-ID: \(method)\r\nCSeq: 1 \(method)\r\nContent-Length: 0\r\n\r\n").utf8)
        }
        #expect(status(try parse(await service.handle(datagram: request("OPTIONS"), source: "192.0.2.10"))) == 200)
        #expect(status(try parse(await service.handle(datagram: request("CANCEL"), source: "192.0.2.10"))) == 200)
        #expect(await service.handle(datagram: request("ACK"), source: "192.0.2.10") == nil)
        #expect(status(try parse(await service.handle(datagram: request("BYE"), source: "192.0.2.10"))) == 405)
        let hops = RedirectFixture.invite(branch: "z9hG4bK-mf").map { $0 }
        let zero = Array(String(decoding: hops, as: UTF8.self).replacingOccurrences(of: "Max-Forwards: 70", with: "Max-Forwards: 0").utf8)
        #expect(status(try parse(await service.handle(datagram: zero, source: "192.0.2.10"))) == 483)
        let bad = Array("INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-b\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: b\r\nCSeq: one INVITE\r\n\r\n".utf8)
        let badReply = try parse(await service.handle(datagram: bad, source: "192.0.2.10"))
        #expect(status(badReply) == 400)
        #expect(await service.handle(datagram: Array("\u{0}\u{1}junk".utf8), source: "192.0.2.10") == nil)
    }
}

@Suite("Anti-spoofing policy on the SIP faces")
struct SIPPolicyTests {
    @Test("an unsigned call from a DNO-listed bank number on an international trunk gets 603 naming the rule; the same number signed A by its owner's trunk passes")
    func dnoBankNumber() async throws {
        let fixture = try await RedirectFixture()
        let t = fixture.now
        let policy = PolicySet(.init(rules: [.doNotOriginate(), .invalidNumber(), .nationalNumberFromAbroad(countryCode: "44", allowRoamingMobile: true),
                                             .verificationFailed()],
                                     internationalSources: ["198.51.100.1"], fileDNO: DNOList(numbers: ["12155550042"])))
        let verifier = RedirectService(verification: .init(), store: fixture.store, resolver: PinnedCertificateResolver(publicKey: fixture.key.publicKey),
                                       policy: policy, now: { t })
        let spoofed = try parse(await verifier.handle(datagram: RedirectFixture.invite(branch: "z9hG4bK-dno1"), source: "198.51.100.1"))
        #expect(status(spoofed) == 603)
        #expect(spoofed.first("reason")?.contains("do-not-originate") == true)

        // The owner's trunk signs (the DNO rule applies to calls presenting the number, so the owner's own
        // outbound calls are signed through a policy without it), and the signed call verifies and passes
        // a verification policy that only blocks failures.
        let signed = try parse(await fixture.signing().handle(datagram: RedirectFixture.invite(branch: "z9hG4bK-own"), source: "192.0.2.10"))
        let identity = try #require(signed.first("identity"))
        let ownerPolicy = PolicySet(.init(rules: [.verificationFailed(), .nationalNumberFromAbroad(countryCode: "44", allowRoamingMobile: true)]))
        let domestic = RedirectService(verification: .init(), store: fixture.store, resolver: PinnedCertificateResolver(publicKey: fixture.key.publicKey),
                                       policy: ownerPolicy, now: { t })
        let passed = try parse(await domestic.handle(datagram: RedirectFixture.invite(branch: "z9hG4bK-dno2", extra: "Identity: \(identity)\r\n"),
                                                     source: "203.0.113.5"))
        #expect(status(passed) == 302)
        #expect(passed.first("p-asserted-identity")?.contains("TN-Validation-Passed") == true)
    }

    @Test("a protected bank number: signed A by the bank's SPC passes; by another carrier's certificate, B, or unsigned it gets 608 naming the rule; at signing only the bank may present it")
    func protectedBankNumber() async throws {
        let fixture = try await RedirectFixture()
        let t = fixture.now
        try await fixture.store.saveCustomer(Customer(id: "reseller", name: "Reseller", origid: "11111111-2222-4333-8444-555555555555"))
        let protected = ProtectedNumbers([ProtectedNumber(value: "12155550042", spcs: ["7Q2X"], customers: ["bank"], label: "Example Bank")])
        let policy = PolicySet(.init(protected: protected))
        func verifier(spc: String) -> RedirectService {
            RedirectService(verification: .init(), store: fixture.store, resolver: SPCResolver(publicKey: fixture.key.publicKey, spc: spc),
                            policy: policy, now: { t })
        }
        // Signed A by the bank's carrier (the bank owns the number), through a signing policy without protection.
        let signed = try parse(await fixture.signing().handle(datagram: RedirectFixture.invite(branch: "z9hG4bK-p1"), source: "192.0.2.10"))
        let identityA = try #require(signed.first("identity"))
        let passed = try parse(await verifier(spc: "7Q2X").handle(
            datagram: RedirectFixture.invite(branch: "z9hG4bK-p2", extra: "Identity: \(identityA)\r\n"), source: "203.0.113.5"))
        #expect(status(passed) == 302)
        let otherCarrier = try parse(await verifier(spc: "9999").handle(
            datagram: RedirectFixture.invite(branch: "z9hG4bK-p3", extra: "Identity: \(identityA)\r\n"), source: "203.0.113.5"))
        #expect(status(otherCarrier) == 608)
        #expect(otherCarrier.first("reason")?.contains("protected-number") == true)
        let unsigned = try parse(await verifier(spc: "7Q2X").handle(datagram: RedirectFixture.invite(branch: "z9hG4bK-p4"), source: "203.0.113.5"))
        #expect(status(unsigned) == 608)
        // Attestation B: the reseller (who does not own the number) signs it, without protection on its signing side.
        let resellerSigning = RedirectService(signing: .init(trunks: ["192.0.2.11": "reseller"], signingKey: fixture.key, x5u: "https://cr.example/sp.pem"),
                                              store: fixture.store, resolver: PinnedCertificateResolver(publicKey: fixture.key.publicKey), now: { t })
        let signedB = try parse(await resellerSigning.handle(datagram: RedirectFixture.invite(branch: "z9hG4bK-p5"), source: "192.0.2.11"))
        let identityB = try #require(signedB.first("identity"))
        let partial = try parse(await verifier(spc: "7Q2X").handle(
            datagram: RedirectFixture.invite(branch: "z9hG4bK-p6", extra: "Identity: \(identityB)\r\n"), source: "203.0.113.5"))
        #expect(status(partial) == 608)
        // At signing, with the protection in force: the bank signs, the reseller is refused.
        let protectedSigning = RedirectService(signing: .init(trunks: ["192.0.2.10": "bank", "192.0.2.11": "reseller"], signingKey: fixture.key,
                                                              x5u: "https://cr.example/sp.pem"),
                                               store: fixture.store, resolver: PinnedCertificateResolver(publicKey: fixture.key.publicKey),
                                               policy: policy, now: { t })
        #expect(status(try parse(await protectedSigning.handle(datagram: RedirectFixture.invite(branch: "z9hG4bK-p7"), source: "192.0.2.10"))) == 302)
        let refused = try parse(await protectedSigning.handle(datagram: RedirectFixture.invite(branch: "z9hG4bK-p8"), source: "192.0.2.11"))
        #expect(status(refused) == 608)
        #expect(refused.first("reason")?.contains("protected-number") == true)
    }

    @Test("rule sets are configurable per trunk/peer: a strict peer blocks what the default allows")
    func perPeerPolicy() async throws {
        let fixture = try await RedirectFixture()
        let t = fixture.now
        let policy = PolicySet(.init(rules: [.verificationFailed()],
                                     sourceRules: ["203.0.113.66": [.verificationFailed(), .unauthenticatedNationalNumber(countryCode: "1")]]))
        let service = RedirectService(verification: .init(), store: fixture.store, resolver: PinnedCertificateResolver(publicKey: fixture.key.publicKey),
                                      policy: policy, now: { t })
        let relaxed = try parse(await service.handle(datagram: RedirectFixture.invite(branch: "z9hG4bK-p1"), source: "203.0.113.65"))
        #expect(status(relaxed) == 302)
        let blocked = try parse(await service.handle(datagram: RedirectFixture.invite(branch: "z9hG4bK-p2"), source: "203.0.113.66"))
        #expect(status(blocked) == 608)
        #expect(blocked.first("reason")?.contains("unauthenticated-national-number") == true)
    }

    @Test("the signing face refuses to sign a number the policy blocks (invalid CLI), with 608 and the rule")
    func signingBlocked() async throws {
        let fixture = try await RedirectFixture()
        let t = fixture.now
        let signer = RedirectService(signing: .init(trunks: ["192.0.2.10": "bank"], signingKey: fixture.key, x5u: "https://cr.example/sp.pem"), store: fixture.store,
                                     resolver: PinnedCertificateResolver(publicKey: fixture.key.publicKey),
                                     policy: PolicySet(.init(rules: [.invalidNumber()])), now: { t })
        let reply = try parse(await signer.handle(datagram: RedirectFixture.invite(from: "+19115551234", branch: "z9hG4bK-inv"), source: "192.0.2.10"))
        #expect(status(reply) == 608)
        #expect(reply.first("reason")?.contains("invalid-number") == true)
        #expect(reply.first("identity") == nil)
    }
}

@Suite("Retransmission answer cache")
struct ResponseCacheTests {
    @Test("expired answers are dropped as new ones arrive, so memory follows the call rate, not the capacity")
    func expiredAnswersAreDropped() throws {
        let cache = ResponseCache(capacity: 100_000)
        for index in 0..<1000 { cache.store("call-\(index)", [1, 2, 3], now: 1000) }
        #expect(cache.count == 1000)
        #expect(cache.lookup("call-1", now: 1031) == [1, 2, 3])  // within the 32 s lifetime
        cache.store("late", [4], now: 1033)
        #expect(cache.count == 1)
        #expect(cache.lookup("call-1", now: 1033) == nil)
        #expect(cache.lookup("late", now: 1033) == [4])
    }

    @Test("past the capacity the oldest answers go first")
    func capacity() throws {
        let cache = ResponseCache(capacity: 10)
        for index in 0..<25 { cache.store("call-\(index)", [UInt8(index)], now: 1000) }
        #expect(cache.count == 10)
        #expect(cache.lookup("call-14", now: 1000) == nil)
        #expect(cache.lookup("call-15", now: 1000) == [15])
    }

    @Test("past the byte bound the oldest answers go first, and the bytes held follow removals")
    func byteBound() throws {
        let cache = ResponseCache(capacity: 100_000, maxBytes: 64 * 1024)
        let answer = [UInt8](repeating: 0x41, count: 8 * 1024)
        for index in 0..<100 { cache.store("call-\(index)", answer, now: 1000) }
        #expect(cache.bytes <= 64 * 1024)
        #expect(cache.count == 7)
        #expect(cache.lookup("call-99", now: 1000) == answer)
        #expect(cache.lookup("call-92", now: 1000) == nil)
        cache.remove("call-99")
        #expect(cache.count == 6)
        #expect(cache.bytes == 6 * ResponseCache.cost("call-99", answer))
        cache.store("huge", [UInt8](repeating: 0, count: 65 * 1024), now: 1000)
        #expect(cache.lookup("huge", now: 1000) == nil, "an answer larger than the bound is not kept")
    }

    @Test("only INVITE answers are kept: 6,000 large OPTIONS leave the cache empty")
    func onlyInviteAnswers() async throws {
        let fixture = try await RedirectFixture()
        let service = fixture.verification()
        let padding = "Subject: " + String(repeating: "x", count: 4000) + "\r\n"
        for index in 0..<6000 {
            let options = Array(("OPTIONS sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-o\(index)\r\n"
                + "From: <sip:a@b>;tag=1\r\nTo: <sip:x@example.com>\r\nCall-ID: o\(index)\r\nCSeq: 1 OPTIONS\r\n\(padding)Content-Length: 0\r\n\r\n").utf8)
            guard case .reply(let reply?) = service.handleImmediately(datagram: options, source: "192.0.2.10") else {
                Issue.record("OPTIONS not answered")
                return
            }
            #expect(status(try parse(reply)) == 200)
        }
        #expect(service.cache.count == 0)
        _ = await service.handle(datagram: RedirectFixture.invite(), source: "192.0.2.10")
        #expect(service.cache.count == 1)
    }
}

/// A pinned key whose certificate names `spc` in its TNAuthList.
struct SPCResolver: CertificateResolver {
    let publicKey: P256.Signing.PublicKey
    let spc: String

    func resolve(x5u: String, at time: Int64) async throws(VerificationError) -> ResolvedCredential {
        ResolvedCredential(publicKey: publicKey, tnAuthList: try? TNAuthorizationList([.spc(spc)]), diagnostics: ["test SPC \(spc)"])
    }
}

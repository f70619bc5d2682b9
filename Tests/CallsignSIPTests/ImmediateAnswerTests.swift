import Callsign
@testable import CallsignSIP
import CallsignStore
import Crypto
import Foundation
import Synchronization
import Testing

/// What the transports answer on the event loop (no task) must be what the
/// asynchronous path answers; what needs I/O must be left to it.
@Suite("SIP redirect: answers without suspending")
struct ImmediateAnswerTests {
    func identity(_ fixture: RedirectFixture, from: String = "12155550042") throws -> String {
        try Signer(key: fixture.key, x5u: "https://cr.example/sp.pem")
            .sign(SigningRequest(orig: from, dest: ["12125551213"], attestation: .full, origid: fixture.bank.origid, iat: fixture.now)).value
    }

    @Test("a verification with a cached credential is answered at once, with the asynchronous path's answer")
    func verificationAtOnce() async throws {
        let fixture = try await RedirectFixture()
        for (branch, from) in [("z9hG4bK-ok", "+12155550042"), ("z9hG4bK-mismatch", "+12155550099")] {
            let invite = RedirectFixture.invite(from: from, branch: branch, extra: "Identity: \(try identity(fixture))\r\n")
            guard case .reply(let immediate?) = fixture.verification().handleImmediately(datagram: invite, source: "192.0.2.10") else {
                Issue.record("verification was not answered at once")
                continue
            }
            let full = try #require(await fixture.verification().handle(datagram: invite, source: "192.0.2.10"))
            let a = try parse(immediate), b = try parse(full)
            #expect(status(a) == status(b))
            #expect(a.first("p-asserted-identity") == b.first("p-asserted-identity"))
            #expect(a.first("reason") == b.first("reason"))
        }
    }

    @Test("a verification whose credential needs a fetch is left to the asynchronous path")
    func coldCredentialPending() async throws {
        let fixture = try await RedirectFixture()
        let t = fixture.now
        let service = RedirectService(verification: .init(), store: fixture.store, resolver: NoCacheResolver(key: fixture.key.publicKey), now: { t })
        let invite = RedirectFixture.invite(extra: "Identity: \(try identity(fixture))\r\n")
        guard case .pending(let pending) = service.handleImmediately(datagram: invite, source: "192.0.2.10") else {
            Issue.record("expected the asynchronous path")
            return
        }
        #expect(status(try parse(await service.complete(pending))) == 302)
    }

    @Test("without a running traceback writer a signing is pending; with one it waits for its commit, then answers 302 and is recorded")
    func signingWaitsForItsCommit() async throws {
        let fixture = try await RedirectFixture()
        let recorder = GroupCommitRecorder(store: fixture.store)
        let t = fixture.now
        let setup = RedirectService.SigningSetup(trunks: ["192.0.2.10": "bank"], signingKey: fixture.key, x5u: "https://cr.example/sp.pem",
                                                 recorder: recorder, customers: CustomerCache())
        let service = RedirectService(signing: setup, store: fixture.store, resolver: PinnedCertificateResolver(publicKey: fixture.key.publicKey),
                                      now: { t })
        // No writer: the asynchronous path (which also caches the trunk's customer).
        guard case .pending(let pending) = service.handleImmediately(datagram: RedirectFixture.invite(branch: "z9hG4bK-a"), source: "192.0.2.10")
        else {
            Issue.record("expected the asynchronous path without a writer")
            return
        }
        #expect(status(try parse(await service.complete(pending))) == 302)

        let reply = Mutex<[UInt8]?>(nil)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await recorder.run() }
            while !recorder.acceptsCallbacks { try await Task.sleep(for: .milliseconds(1)) }
            guard case .afterCommit(let commit) = service.handleImmediately(datagram: RedirectFixture.invite(branch: "z9hG4bK-b"), source: "192.0.2.10")
            else {
                Issue.record("expected a signing waiting for its commit")
                group.cancelAll()
                return
            }
            #expect(recorder.enqueue([commit.record]) { result in
                reply.withLock { $0 = service.committed(commit, ok: (try? result.get()) != nil) }
            })
            for _ in 0..<500 where reply.withLock({ $0 == nil }) { try await Task.sleep(for: .milliseconds(5)) }
            group.cancelAll()
        }
        let answer = try parse(reply.withLock { $0 })
        #expect(status(answer) == 302)
        #expect(answer.first("identity") != nil)
        #expect(try await fixture.store.traceback(origid: fixture.bank.origid, since: nil, until: nil, limit: 10).count == 2)
        // A retransmission gets the committed answer from the cache, without signing again.
        guard case .reply(let again?) = service.handleImmediately(datagram: RedirectFixture.invite(branch: "z9hG4bK-b"), source: "192.0.2.10") else {
            Issue.record("retransmission not answered from the cache")
            return
        }
        #expect(again == reply.withLock { $0 })
        // An unknown source is refused at once.
        guard case .reply(let refused?) = service.handleImmediately(datagram: RedirectFixture.invite(branch: "z9hG4bK-c"), source: "198.51.100.7")
        else {
            Issue.record("refusal not immediate")
            return
        }
        #expect(status(try parse(refused)) == 403)
    }
}

/// A resolver with a key but no cached path (every credential is a fetch).
struct NoCacheResolver: CertificateResolver {
    let key: P256.Signing.PublicKey
    func resolve(x5u: String, at time: Int64) async throws(VerificationError) -> ResolvedCredential {
        ResolvedCredential(publicKey: key)
    }
}

import CallsignTestSupport
import Callsign
import CallsignHTTP
import CallsignService
import CallsignStore
import Testing

/// The REST face renders the one policy in force: a block on signing and the
/// policy result of a verification (ATIS-1000082 error codes).
@Suite("REST answers carry the policy's decision")
struct RESTPolicyTests {
    @Test("REST verification returns the policy's structured result")
    func restVerificationPolicy() async throws {
        let fixture = try await ServerFixture()
        let signed = await fixture.service.sign(body: Array(ServerFixture.signingBody().utf8), bearerToken: fixture.bankToken)
        let identity = try #require(signed.body["signingResponse"]?.objectValue?["identity"]?.stringValue)
        // The number is listed after the call was signed: the verifying side's policy blocks it.
        var service = fixture.service
        service.policy = PolicySet(.init(rules: [.doNotOriginate()], fileDNO: DNOList(numbers: ["12155550042"])))
        let body = #"{"verificationRequest":{"from":{"tn":"12155550042"},"to":{"tn":["12125551213"]},"time":\#(now()),"identity":"\#(identity)"}}"#
        let verified = await service.verify(body: Array(body.utf8))
        let policy = try #require(verified.body["verificationResponse"]?.objectValue?["policy"]?.objectValue)
        #expect(policy["action"] == .string("block"))
        #expect(policy["rule"] == .string("do-not-originate"))
        #expect(policy["sipcode"] == .integer(603))
        try await fixture.server.stop()
    }

    @Test("REST verification of a protected bank number: signed A by the bank's SPC passes; the same call when only another SPC may present it is blocked, the policy naming protected-number")
    func protectedNumber() async throws {
        let fixture = try await ServerFixture()
        let signed = await fixture.service.sign(body: Array(ServerFixture.signingBody().utf8), bearerToken: fixture.bankToken)
        let identity = try #require(signed.body["signingResponse"]?.objectValue?["identity"]?.stringValue)
        let body = #"{"verificationRequest":{"from":{"tn":"12155550042"},"to":{"tn":["12125551213"]},"time":\#(now()),"identity":"\#(identity)"}}"#
        func verify(allowing spc: String) async throws -> JSONObject {
            var service = fixture.service
            service.policy = PolicySet(.init(protected: ProtectedNumbers([ProtectedNumber(value: "12155550042", spcs: [spc], label: "Example Bank")])))
            let verified = await service.verify(body: Array(body.utf8))
            return try #require(verified.body["verificationResponse"]?.objectValue)
        }
        // The fixture's certificate is for SPC 1234.
        let own = try await verify(allowing: "1234")
        #expect(own["verstat"] == .string("TN-Validation-Passed"))
        #expect(own["policy"]?.objectValue?["action"] == .string("allow"))
        let other = try await verify(allowing: "7Q2X")
        #expect(other["policy"]?.objectValue?["action"] == .string("block"))
        #expect(other["policy"]?.objectValue?["rule"] == .string("protected-number"))
        #expect(other["policy"]?.objectValue?["sipcode"] == .integer(608))
        try await fixture.server.stop()
    }

    @Test("REST signing of a number on the DNO list is refused with 403 POL4003 naming the rule, and nothing is signed or recorded")
    func signingRefusedByPolicy() async throws {
        var fixture = try await ServerFixture()
        var service = fixture.service
        service.policy = PolicySet(storedDNO: DNOList(numbers: ["12155550042"]))
        fixture = fixture.with(service: service)
        let body = ServerFixture.signingBody()
        let response = await fixture.service.sign(body: Array(body.utf8), bearerToken: fixture.bankToken)
        #expect(response.status == 403)
        #expect(JSONWriter.pretty(.object(response.body)).contains("POL4003"))
        #expect(JSONWriter.pretty(.object(response.body)).contains("do-not-originate"))
        #expect(try await fixture.store.traceback(origid: fixture.bank.origid, since: nil, until: nil, limit: 10).isEmpty)
        try await fixture.server.stop()
    }
}

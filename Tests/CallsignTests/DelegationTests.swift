import CallsignLab
@testable import Callsign
import Crypto
import Testing
import X509

/// Delegate certificates (RFC 9060 §5–§6): each certificate's TNAuthList lies inside its issuer's.
@Suite("Delegate certificates: TNAuthList inside the issuer's")
struct DelegationTests {
    static func list(_ entries: TNAuthorizationList.Entry...) throws -> TNAuthorizationList { try TNAuthorizationList(entries) }

    @Test("what an issuer's TNAuthList encompasses: its SPC, numbers under its SPC, ranges and TNs inside its ranges")
    func encompassing() throws {
        let spc = try Self.list(.spc("1234"))
        #expect(spc.encompasses(try Self.list(.spc("1234"))))
        #expect(!spc.encompasses(try Self.list(.spc("9999"))))
        #expect(spc.encompasses(try Self.list(.range(start: "12155550000", count: 100), .one("12155559999"))))
        let range = try Self.list(.range(start: "12155550000", count: 100))
        #expect(range.encompasses(try Self.list(.range(start: "12155550010", count: 90))))
        #expect(range.encompasses(try Self.list(.one("12155550099"))))
        #expect(!range.encompasses(try Self.list(.range(start: "12155550050", count: 51))), "one number past the end")
        #expect(!range.encompasses(try Self.list(.one("12155550100"))))
        #expect(!range.encompasses(try Self.list(.one("1215555000"))), "another length")
        #expect(!range.encompasses(try Self.list(.spc("1234"))), "an SPC is not inside a range")
        #expect(throws: CallsignError.self, "a range past its number length never reaches the check") {
            try Self.list(.range(start: "99999999999999", count: Int.max))
        }
    }

    struct Delegation {
        let rootKey = P256.Signing.PrivateKey()
        let root: Certificate
        let caKey = P256.Signing.PrivateKey()
        let delegatingCA: Certificate

        init(_ list: TNAuthorizationList) throws {
            root = try LabCertificateAuthority.makeRoot(key: rootKey, organization: "STI-CA", notBefore: fixedNow - 86_400,
                                                       notAfter: fixedNow + 86_400 * 365)
            delegatingCA = try LabCertificateAuthority.issueDelegatingCA(
                publicKey: caKey.publicKey, tnAuthList: list, issuer: root, issuerKey: rootKey, organization: "Carrier",
                crlURL: "https://crl.invalid/root.crl", notBefore: fixedNow - 86_400, notAfter: fixedNow + 86_400 * 90)
        }

        func delegate(_ list: TNAuthorizationList) throws -> Certificate {
            try LabCertificateAuthority.issueEndEntity(
                publicKey: P256.Signing.PrivateKey().publicKey, tnAuthList: list, issuer: delegatingCA, issuerKey: caKey,
                organization: "Enterprise", crlURL: "https://crl.invalid/ca.crl", notBefore: fixedNow - 3600, notAfter: fixedNow + 86_400)
        }

        func validate(_ leaf: Certificate) async throws(VerificationError) -> ValidatedSTIChain {
            try await ChainValidator(roots: [root]).validate(chain: [leaf, delegatingCA], crls: [], at: fixedNow)
        }
    }

    @Test("a delegate certificate for numbers inside the delegating CA's TNAuthList verifies")
    func insideVerifies() async throws {
        let byRange = try Delegation(try Self.list(.range(start: "12155550000", count: 100)))
        let chain = try await byRange.validate(try byRange.delegate(try Self.list(.range(start: "12155550020", count: 10))))
        #expect(chain.tnAuthList.covers(tn: "12155550025"))
        let bySPC = try Delegation(try Self.list(.spc("1234")))
        _ = try await bySPC.validate(try bySPC.delegate(try Self.list(.one("12155551234"))))
    }

    @Test("a delegate certificate reaching outside its issuer's TNAuthList is refused with 437, naming both certificates")
    func outsideRefused() async throws {
        let delegation = try Delegation(try Self.list(.range(start: "12155550000", count: 100)))
        let error = await #expect(throws: VerificationError.self) {
            try await delegation.validate(try delegation.delegate(try Self.list(.range(start: "12155550050", count: 100))))
        }
        #expect(error?.code == .certificateNotAuthorized)
        #expect(error?.sipStatus == 437)
        #expect(error?.detail.contains("Enterprise") == true && error?.detail.contains("Delegating CA") == true, "\(error?.detail ?? "")")
        let spc = try Delegation(try Self.list(.spc("1234")))
        await #expect(throws: VerificationError(.certificateNotAuthorized, "")) {
            try await spc.validate(try spc.delegate(try Self.list(.spc("9999"))))
        }
    }
}

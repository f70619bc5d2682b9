import Callsign
import Crypto
import Foundation
import Testing

/// Every row of verify-error-cases-opensips-man.csv (French MAN profile test
/// plan, OpenSIPS sipssert) run through the verifier with the MAN profile.
@Suite("French MAN verification matrix (vectors/verify-error-cases-opensips-man.csv)")
struct MANMatrixTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var scenario: String
        var condition: String
        var expected: Int
        var testDescription: String { "\(scenario): \(condition) → \(expected)" }
    }

    static let rows: [Row] = {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Vectors/verify-error-cases-opensips-man.csv")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst(2).compactMap { line in
            let fields = line.split(separator: ",", maxSplits: 1)
            guard fields.count == 2, let last = line.split(separator: ",").last,
                let code = Int(last.trimmingCharacters(in: .whitespaces).prefix(3))
            else { return nil }
            let condition = String(fields[1].dropLast(last.count + 1))
            return Row(scenario: String(fields[0]), condition: condition, expected: code)
        }
    }()

    /// What each scenario sends: Identity headers, the call, and the time.
    static func input(_ scenario: String, key: P256.Signing.PrivateKey) throws -> ([String], CallContext, Int64) {
        let t = fixedNow
        let call = CallContext(orig: "12155551212", dest: "12125551213", date: t)
        let params = ";info=<\(testX5U)>;alg=ES256;ppt=shaken"
        func token(header: String = shakenHeader(), claims: String = shakenClaims()) throws -> String {
            try signRaw(header: header, claims: claims, key: key)
        }
        switch scenario {
        case "04.verify-200": return ([try token() + params], call, t)
        case "05.verify-200-anonymous":
            // From is anonymous; the verifier uses P-Asserted-Identity, which carries the number.
            return ([try token() + params], call, t)
        case "06.verify-error-400-wrong-from", "07.verify-error-400-wrong-from-no-kill-call":
            return ([try token() + params], CallContext(orig: "++4", dest: "12125551213", date: t), t)
        case "08.A.verify-error-403-wrong-date-past":
            return ([try token() + params], CallContext(orig: "12155551212", dest: "12125551213", date: t - 3600), t)
        case "08.B.verify-error-403-wrong-date-future":
            return ([try token() + params], CallContext(orig: "12155551212", dest: "12125551213", date: t + 3600), t)
        case "09.verify-error-403-wrong-iat":
            return ([try token(claims: shakenClaims(iat: t - 3600)) + params], call, t)
        case "10.verify-error-428-no-identity": return ([], call, t)
        case "11.verify-error-436-no-info": return ([try token() + ";alg=ES256;ppt=shaken"], call, t)
        case "12.verify-error-436-token-no-4-params":
            return ([try token(header: #"{"alg":"ES256","typ":"passport","x5u":"\#(testX5U)"}"#) + params], call, t)
        case "13.verify-error-436-x5u-diff-info":
            return ([try token() + ";info=<https://other.example.org/cert.pem>;alg=ES256;ppt=shaken"], call, t)
        case "14.verify-error-437-no-alg": return ([try token() + ";info=<\(testX5U)>;ppt=shaken"], call, t)
        case "15.verify-error-437-wrong-alg": return ([try token() + ";info=<\(testX5U)>;alg=XX564;ppt=shaken"], call, t)
        case "16.verify-error-437-wrong-header-alg":
            return ([try token(header: #"{"alg":"ES384","ppt":"shaken","typ":"passport","x5u":"\#(testX5U)"}"#) + params], call, t)
        case "17.verify-error-437-wrong-header-typ":
            return ([try token(header: #"{"alg":"ES256","ppt":"shaken","typ":"jwt","x5u":"\#(testX5U)"}"#) + params], call, t)
        case "18.verify-error-437-cert-expired":
            let later: Int64 = 2_200_000_000
            return ([try token(claims: shakenClaims(iat: later)) + params],
                    CallContext(orig: "12155551212", dest: "12125551213", date: later), later)
        case "19.verify-error-437-cert-in-future":
            let earlier: Int64 = 1_600_000_000
            return ([try token(claims: shakenClaims(iat: earlier)) + params],
                    CallContext(orig: "12155551212", dest: "12125551213", date: earlier), earlier)
        case "20.verify-error-438-identity-more-4-params": return ([try token() + params + ";toto=titi"], call, t)
        case "21.verify-error-438-no-ppt": return ([try token() + ";info=<\(testX5U)>;alg=ES256"], call, t)
        case "22.verify-error-438-wrong-ppt": return ([try token() + ";info=<\(testX5U)>;alg=ES256;ppt=hey"], call, t)
        case "23.verify-error-438-wrong-header-ppt":
            return ([try token(header: #"{"alg":"ES256","ppt":"hey","typ":"passport","x5u":"\#(testX5U)"}"#) + params], call, t)
        case "24.verify-error-438-wrong-attest": return ([try token(claims: shakenClaims(attest: "W")) + params], call, t)
        case "25.verify-error-438-orig-diff-from": return ([try token(claims: shakenClaims(orig: "12155559999")) + params], call, t)
        case "26.verify-error-438-dest-diff-to": return ([try token(claims: shakenClaims(dest: "12125559999")) + params], call, t)
        default: throw MatrixError(scenario: scenario)
        }
    }

    struct MatrixError: Error { var scenario: String }

    @Test("the matrix file has all 24 rows")
    func rowCount() { #expect(Self.rows.count == 24) }

    @Test("each row gets the expected SIP response", arguments: rows)
    func row(_ row: Row) async throws {
        let key = try Vectors.eeKey()
        let resolver = try PinnedCertificateResolver(certificate: try Vectors.eeCertificate())
        let (headers, call, now) = try Self.input(row.scenario, key: key)
        var options = VerificationOptions.strictFrench
        options.numbering = .e164
        options.requireIdentity = true
        let verdict = await Verifier(options: options).verify(identityHeaders: headers, call: call, now: now, resolver: resolver)
        if row.expected == 200 && !row.scenario.hasPrefix("07") {
            #expect(verdict.verstat == .passed, "\(verdict.diagnostics)")
        } else if row.scenario.hasPrefix("07") {
            // "Continue" is the SIP face's failure action: the verdict carries 400, sent upstream as a Reason.
            #expect(verdict.error?.sipStatus == 400)
        } else {
            #expect(verdict.error?.sipStatus == row.expected, "\(verdict.diagnostics)")
        }
    }
}

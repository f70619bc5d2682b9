import Callsign
import Crypto
import Foundation
import Testing

@Suite("PASSporT encoding and decoding (RFC 8225, RFC 8588)")
struct PASSporTTests {
    @Test("the RFC 8588 example (errata 6656) encodes to the vector's canonical bytes and signing input")
    func rfc8588Example() throws {
        let vector = try Vectors.json("rfc8588-example.json")
        let passport = PASSporT(
            header: .shaken(x5u: "https://cert.example.org/passport.cer"),
            claims: PASSporT.Claims(attest: "A", dest: PASSporT.Destination(tn: ["12155550131"]), iat: 1_443_208_345,
                                    orig: .tn("12155550121"), origid: "123e4567-e89b-12d3-a456-426655440000"))
        #expect(String(decoding: JSONWriter.canonical(.object(passport.header.json)), as: UTF8.self)
            == vector["header_canonical"] as? String)
        #expect(String(decoding: JSONWriter.canonical(.object(passport.claims.json)), as: UTF8.self)
            == vector["payload_canonical"] as? String)
        #expect(String(decoding: SignedPASSporT.signingInput(for: passport), as: UTF8.self) == vector["signing_input"] as? String)
    }

    @Test("the signing input written straight from a SHAKEN PASSporT's fields equals the general canonical writer's, escapes and edge cases included",
          arguments: [
              PASSporT(header: .shaken(x5u: "https://cr.example.net/sp.pem"),
                       claims: .init(attest: "A", dest: .init(tn: ["12125551213"]), iat: 1_800_000_000, orig: .tn("12155550042"),
                                     origid: "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b")),
              PASSporT(header: .shaken(x5u: "https://cr.example.net/a\"b\\c/\u{01}\n\té.pem"),
                       claims: .init(attest: "C\"", dest: .init(tn: ["1", "2#", "*3", ""]), iat: -5, orig: .tn("\u{1F}x"),
                                     origid: "ü/\\")),
              PASSporT(header: .shaken(x5u: ""), claims: .init(dest: .init(), iat: 0, orig: .tn("12155550042"))),
              PASSporT(header: .init(alg: "ES384", typ: "JWT", ppt: "div", x5u: "https://x"),
                       claims: .init(attest: "B", dest: .init(tn: ["12125551213"]), iat: Int64.max, orig: .tn("1"), origid: nil)),
              // Not plain SHAKEN: the general writer (the comparison still holds).
              PASSporT(header: .init(x5u: "https://x"), claims: .init(dest: .init(tn: ["1"]), iat: 1, orig: .tn("2"))),
              PASSporT(header: .shaken(x5u: "https://x"), claims: .init(dest: .init(uri: ["sip:a@b"]), iat: 1, orig: .uri("sip:c@d"))),
              PASSporT(header: .shaken(x5u: "https://x"), claims: .init(dest: .init(tn: ["1"]), iat: 1, orig: .tn("2"), div: .tn("3"))),
          ])
    func directSigningInput(_ passport: PASSporT) {
        let general = Base64URL.encode(JSONWriter.canonical(.object(passport.header.json))) + "."
            + Base64URL.encode(JSONWriter.canonical(.object(passport.claims.json)))
        #expect(String(decoding: SignedPASSporT.signingInput(for: passport), as: UTF8.self) == general)
    }

    @Test("the RFC 8225 Appendix A token decodes: ES256, passport, orig tn, dest uri")
    func rfc8225AppendixA() throws {
        let vector = try Vectors.json("rfc8225-appendixA.json")
        let jws = try #require(vector["jws_compact"] as? String)
        let token = try SignedPASSporT(compact: jws)
        #expect(token.passport.header.alg == "ES256")
        #expect(token.passport.header.typ == "passport")
        #expect(token.passport.header.ppt == nil)
        #expect(token.passport.header.x5u == "https://cert.example.org/passport.cer")
        #expect(token.passport.claims.orig == .tn("12155551212"))
        #expect(token.passport.claims.dest.uri == ["sip:alice@example.com"])
        #expect(token.passport.claims.iat == 1_471_375_418)
        #expect(token.compact == jws)
    }

    @Test("the SHAKEN test vector verifies with ee.pem's key; the tampered copy does not")
    func shakenVectorVerifies() throws {
        let vector = try Vectors.json("shaken-test-pki/passport-valid.json")
        let key = try KeyLoading.publicKey(of: try Vectors.eeCertificate())
        let token = try SignedPASSporT(compact: try #require(vector["jws_compact"] as? String))
        #expect(token.isValidSignature(for: key))
        #expect(token.passport.claims.attestation == .full)
        #expect(token.passport.claims.origid == "123e4567-e89b-12d3-a456-426655440000")
        #expect(Base64URL.encode(token.signature) == (vector["jws_compact"] as? String)?.split(separator: ".").last.map(String.init))
        let tampered = try SignedPASSporT(compact: try #require(vector["tampered_orig_jws"] as? String))
        #expect(!tampered.isValidSignature(for: key))
    }

    @Test("sign then decode gives back the same PASSporT, and the signature verifies")
    func roundTrip() throws {
        let key = P256.Signing.PrivateKey()
        let passport = PASSporT(
            header: .shaken(x5u: testX5U),
            claims: PASSporT.Claims(attest: "B", dest: PASSporT.Destination(tn: ["12125551213", "12125551214"]),
                                    iat: fixedNow, orig: .tn("12155551212"), origid: testOrigid))
        let signed = try SignedPASSporT.sign(passport, with: key)
        let decoded = try SignedPASSporT(compact: signed.compact)
        #expect(decoded.passport == passport)
        #expect(decoded.isValidSignature(for: key.publicKey))
        #expect(!decoded.isValidSignature(for: P256.Signing.PrivateKey().publicKey))
        #expect(signed.signature.count == 64)
    }

    @Test("keeps unknown header parameters and claims, div (RFC 8946) and rcd (RFC 9795)")
    func keepsEverything() throws {
        let key = P256.Signing.PrivateKey()
        let claims = #"{"crn":"Appointment","dest":{"tn":["12155551214"]},"div":{"hi":"1.1","tn":"12155551213"},"iat":1,"orig":{"tn":"12155551212"},"rcd":{"icn":"https://x.example/logo.png","nam":"Example Bank"},"rcdi":{"/icn":"sha256-abc"},"zzz":{"nested":[1,true,null]}}"#
        let token = try signRaw(header: #"{"alg":"ES256","kid":"k1","ppt":"div","typ":"passport","x5u":"https://x"}"#,
                                claims: claims, key: key)
        let decoded = try SignedPASSporT(compact: token)
        #expect(decoded.passport.header.additional["kid"] == .string("k1"))
        #expect(decoded.passport.claims.div == .tn("12155551213"))
        #expect(decoded.passport.claims.divAdditional["hi"] == .string("1.1"))
        #expect(decoded.passport.claims.rcd?.nam == "Example Bank")
        #expect(decoded.passport.claims.crn == "Appointment")
        #expect(decoded.passport.claims.rcdi == ["/icn": "sha256-abc"])
        #expect(decoded.passport.claims.additional["zzz"] != nil)
        // Re-encoding the typed model gives back the same canonical claims.
        #expect(String(decoding: JSONWriter.canonical(.object(decoded.passport.claims.json)), as: UTF8.self) == claims)
    }

    @Test("refuses alg none, HS256 and other algorithms (no algorithm confusion)",
          arguments: ["none", "HS256", "RS256", "ES384", "es256"])
    func refusesOtherAlgorithms(_ alg: String) throws {
        let key = P256.Signing.PrivateKey()
        let token = try signRaw(header: #"{"alg":"\#(alg)","ppt":"shaken","typ":"passport","x5u":"https://x"}"#,
                                claims: shakenClaims(), key: key)
        #expect(throws: VerificationError(.unsupportedAlgorithm, "")) { try SignedPASSporT(compact: token) }
        // An unsigned alg=none token with an empty signature is refused too.
        let unsigned = token.split(separator: ".").prefix(2).joined(separator: ".") + "."
        #expect(throws: VerificationError.self) { try SignedPASSporT(compact: unsigned) }
    }

    @Test("refuses a typ other than passport")
    func refusesWrongType() throws {
        let token = try signRaw(header: #"{"alg":"ES256","ppt":"shaken","typ":"JWT","x5u":"https://x"}"#,
                                claims: shakenClaims(), key: P256.Signing.PrivateKey())
        #expect(throws: VerificationError(.wrongType, "")) { try SignedPASSporT(compact: token) }
    }

    @Test("refuses missing or mistyped required claims", arguments: [
        (#"{"dest":{"tn":["1"]},"orig":{"tn":"2"}}"#, VerificationError.Code.missingClaim),
        (#"{"dest":{"tn":["1"]},"iat":"1443208345","orig":{"tn":"2"}}"#, .invalidClaim),
        (#"{"dest":{"tn":["1"]},"iat":1.5,"orig":{"tn":"2"}}"#, .invalidClaim),
        (#"{"dest":{"tn":["1"]},"iat":1}"#, .missingClaim),
        (#"{"iat":1,"orig":{"tn":"2"}}"#, .missingClaim),
        (#"{"dest":{"tn":"1"},"iat":1,"orig":{"tn":"2"}}"#, .invalidClaim),
        (#"{"dest":{},"iat":1,"orig":{"tn":"2"}}"#, .invalidClaim),
        (#"{"dest":{"tn":["1"]},"iat":1,"orig":{"tn":2}}"#, .invalidClaim),
        (#"{"dest":{"tn":["1"]},"iat":1,"orig":{"tn":"2","uri":"sip:a@b"}}"#, .invalidClaim),
        (#"{"dest":{"tn":["1"]},"iat":1,"orig":"2"}"#, .invalidClaim),
        (#"{"attest":1,"dest":{"tn":["1"]},"iat":1,"orig":{"tn":"2"}}"#, .invalidClaim),
    ])
    func refusesBadClaims(_ claims: String, _ code: VerificationError.Code) throws {
        let token = try signRaw(header: shakenHeader(), claims: claims, key: P256.Signing.PrivateKey())
        #expect(throws: VerificationError(code, "")) { try SignedPASSporT(compact: token) }
    }

    @Test("refuses malformed compact serializations", arguments: [
        "", "abc", "a.b", "a.b.c.d", "eyJ.eyJ.", "!!!.eyJ.AAAA", "eyJhbGciOiJFUzI1NiJ9=.e30.AA",
    ])
    func refusesMalformedJWS(_ text: String) {
        #expect(throws: VerificationError.self) { try SignedPASSporT(compact: text) }
    }

    @Test("refuses a signature that is not 64 bytes, and padded or standard-base64 segments")
    func refusesBadSignatureEncoding() throws {
        let token = try signRaw(header: shakenHeader(), claims: shakenClaims(), key: P256.Signing.PrivateKey())
        let parts = token.split(separator: ".").map(String.init)
        #expect(throws: VerificationError(.malformedPASSporT, "")) {
            try SignedPASSporT(compact: parts[0] + "." + parts[1] + "." + String(parts[2].dropLast(4)))
        }
        #expect(throws: VerificationError(.malformedPASSporT, "")) { try SignedPASSporT(compact: token + "==") }
        let standard = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        if standard != token {
            #expect(throws: VerificationError.self) { try SignedPASSporT(compact: standard) }
        }
    }

    @Test("refuses oversized tokens before decoding them")
    func refusesOversized() {
        let huge = String(repeating: "A", count: 9000) + "." + String(repeating: "A", count: 10) + ".AA"
        #expect(throws: VerificationError(.malformedPASSporT, "")) { try SignedPASSporT(compact: huge) }
    }

    @Test("refuses a crit header parameter it does not implement (RFC 7515 §4.1.11)")
    func refusesCrit() throws {
        let token = try signRaw(header: #"{"alg":"ES256","crit":["exp"],"exp":1,"ppt":"shaken","typ":"passport","x5u":"https://x"}"#,
                                claims: shakenClaims(), key: P256.Signing.PrivateKey())
        #expect(throws: VerificationError.self) { try SignedPASSporT(compact: token) }
    }

    @Test("loads P-256 private keys in PKCS#8 and SEC1 PEM")
    func keyFormats() throws {
        let key = P256.Signing.PrivateKey()
        let pkcs8 = try KeyLoading.privateKey(pem: key.pemRepresentation)
        #expect(pkcs8.publicKey.rawRepresentation == key.publicKey.rawRepresentation)
        // SEC1 "EC PRIVATE KEY" as written by `openssl ecparam -genkey`.
        let sec1DER = try Vectors.sec1DER(for: key)
        let body = Array(Base64URL.encodeStandard(sec1DER))
        let lines = stride(from: 0, to: body.count, by: 64).map { String(body[$0..<min($0 + 64, body.count)]) }
        let sec1PEM = "-----BEGIN EC PRIVATE KEY-----\n" + lines.joined(separator: "\n") + "\n-----END EC PRIVATE KEY-----\n"
        let sec1 = try KeyLoading.privateKey(pem: sec1PEM)
        #expect(sec1.publicKey.rawRepresentation == key.publicKey.rawRepresentation)
        #expect(throws: CallsignError.self) { try KeyLoading.privateKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----") }
    }
}

extension Vectors {
    /// SEC1 ECPrivateKey DER (RFC 5915) of a P-256 key.
    static func sec1DER(for key: P256.Signing.PrivateKey) throws -> [UInt8] {
        let privateBytes = Array(key.rawRepresentation)
        let publicBytes = Array(key.publicKey.x963Representation)
        var body: [UInt8] = [0x02, 0x01, 0x01, 0x04, 0x20] + privateBytes
        body += [0xA0, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
        body += [0xA1, 0x44, 0x03, 0x42, 0x00] + publicBytes
        return [0x30, UInt8(body.count)] + body
    }
}

extension Base64URL {
    static func encodeStandard(_ bytes: [UInt8]) -> String {
        var text = encode(bytes).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return text
    }
}

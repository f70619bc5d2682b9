public import Crypto
import X509
import SwiftASN1
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The messages of an ACME client (RFC 8555 §6.2, §7.3.4) with the
/// TNAuthList identifier and the `tkauth-01` challenge (RFC 9447, RFC 9448):
/// JWS in flattened JSON, the account key as a JWK and its thumbprint
/// (RFC 7638), external account binding, and the CSR. No I/O.
public enum ACMEMessage {
    /// The account key as a JWK (RFC 7517; EC P-256, RFC 7518 §6.2.1).
    public static func jwk(_ key: P256.Signing.PublicKey) -> JSONObject {
        let raw = Array(key.rawRepresentation)  // x ‖ y, 32 bytes each
        return JSONObject(["crv": .string("P-256"), "kty": .string("EC"),
                           "x": .string(Base64URL.encode(raw[0..<32])), "y": .string(Base64URL.encode(raw[32..<64]))])
    }

    /// The JWK thumbprint (RFC 7638): base64url SHA-256 of the JWK's required members in lexicographic order.
    public static func thumbprint(_ key: P256.Signing.PublicKey) -> String {
        Base64URL.encode(Array(SHA256.hash(data: JSONWriter.canonical(.object(jwk(key))))))
    }

    /// Who signs a request: the new account's key (`jwk`) or the account (`kid`, its URL).
    public enum Signer: Sendable {
        case jwk
        case kid(String)
    }

    /// A request body (RFC 8555 §6.2): flattened JWS JSON, ES256, with `nonce`
    /// and `url` in the protected header; `payload` `nil` is POST-as-GET (empty payload).
    public static func request(url: String, nonce: String, payload: JSONObject?, signer: Signer,
                               key: P256.Signing.PrivateKey) throws -> [UInt8]
    {
        var header = JSONObject(["alg": .string("ES256"), "nonce": .string(nonce), "url": .string(url)])
        switch signer {
        case .jwk: header["jwk"] = .object(jwk(key.publicKey))
        case .kid(let account): header["kid"] = .string(account)
        }
        let protected = Base64URL.encode(JSONWriter.canonical(.object(header)))
        let body = payload.map { Base64URL.encode(JSONWriter.canonical(.object($0))) } ?? ""
        let signature = try key.signature(for: SignedPASSporT.sha256(Array((protected + "." + body).utf8)))
        return JSONWriter.canonical(.object(JSONObject([
            "protected": .string(protected), "payload": .string(body),
            "signature": .string(Base64URL.encode(signature.rawRepresentation)),
        ])))
    }

    /// The `externalAccountBinding` of a newAccount request (RFC 8555 §7.3.4):
    /// the account JWK signed with HS256 under the CA-issued MAC key, `kid` its key identifier.
    public static func externalAccountBinding(kid: String, macKey: [UInt8], url: String, accountKey: P256.Signing.PublicKey) -> JSONObject {
        let header = JSONObject(["alg": .string("HS256"), "kid": .string(kid), "url": .string(url)])
        let protected = Base64URL.encode(JSONWriter.canonical(.object(header)))
        let payload = Base64URL.encode(JSONWriter.canonical(.object(jwk(accountKey))))
        let mac = HMAC<SHA256>.authenticationCode(for: Array((protected + "." + payload).utf8), using: SymmetricKey(data: macKey))
        return JSONObject(["protected": .string(protected), "payload": .string(payload), "signature": .string(Base64URL.encode(Array(mac)))])
    }

    /// A TNAuthList identifier (RFC 9448 §3): the DER TNAuthList in base64
    /// with padding, the form of the SPC token's `tkvalue` (so a CA comparing
    /// the two as text matches them, as acme2certifier does; a CA comparing
    /// the decoded DER accepts it too).
    public static func identifier(_ list: TNAuthorizationList) throws -> JSONObject {
        JSONObject(["type": .string("TNAuthList"), "value": .string(Data(try list.derBytes()).base64EncodedString())])
    }

    /// A CSR for a STI certificate (ATIS-1000080 §6.3.4, RFC 9448 §5): subject
    /// `CN=SHAKEN <SPC>` (or `SHAKEN delegate`), the TNAuthList extension
    /// requested, ECDSA P-256 with SHA-256. DER.
    public static func csr(key: P256.Signing.PrivateKey, tnAuthList: TNAuthorizationList, organization: String, ca: Bool = false) throws
        -> [UInt8]
    {
        let cn = tnAuthList.spcs.first.map { "SHAKEN \($0)" } ?? "SHAKEN delegate"
        let subject = try DistinguishedName {
            CountryName("US")
            OrganizationName(organization)
            CommonName(cn)
        }
        return try csr(key: key, subject: subject, extensions: try Certificate.Extensions {
            if ca { Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0)) }
            tnAuthList
        })
    }

    /// A CSR for DNS names (the RFC 8555 mechanics against a generic ACME server).
    public static func csr(key: P256.Signing.PrivateKey, dnsNames: [String]) throws -> [UInt8] {
        try csr(key: key, subject: try DistinguishedName { CommonName(dnsNames.first ?? "callsign") },
                extensions: try Certificate.Extensions { SubjectAlternativeNames(dnsNames.map { .dnsName($0) }) })
    }

    /// A CSR (PKCS #10) for `key` asking for `extensions`, ECDSA with SHA-256, DER.
    static func csr(key: P256.Signing.PrivateKey, subject: DistinguishedName, extensions: Certificate.Extensions) throws -> [UInt8] {
        let request = try CertificateSigningRequest(
            version: .v1, subject: subject, privateKey: Certificate.PrivateKey(key),
            attributes: CertificateSigningRequest.Attributes([try CertificateSigningRequest.Attribute(ExtensionRequest(extensions: extensions))]),
            signatureAlgorithm: .ecdsaWithSHA256)
        var serializer = DER.Serializer()
        try serializer.serialize(request)
        return serializer.serializedBytes
    }
}

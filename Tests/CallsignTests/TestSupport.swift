import Callsign
import Crypto
import Foundation
import Testing
import X509

/// Fixed clock for every test: 2027-01-15T08:00:00Z, inside the validity
/// of the vector PKI (2024-01-01 … 2035-12-31).
let fixedNow: Int64 = 1_800_000_000

enum Vectors {
    static let directory = Bundle.module.resourceURL!.appendingPathComponent("Vectors")

    static func text(_ path: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(path), encoding: .utf8)
    }

    static func json(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent(path))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The vector PKI's end-entity key (published test material).
    static func eeKey() throws -> P256.Signing.PrivateKey {
        try KeyLoading.privateKey(pem: try text("shaken-test-pki/ee.key"))
    }

    static func eeCertificate() throws -> Certificate {
        try KeyLoading.firstCertificate(pem: try text("shaken-test-pki/ee.pem"))
    }
}

/// Signs arbitrary header and claims JSON text (used as is) with ES256, to
/// build malformed-but-signed PASSporTs.
func signRaw(header: String, claims: String, key: P256.Signing.PrivateKey) throws -> String {
    let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
    let signature = try key.signature(for: Array(input.utf8))
    return input + "." + Base64URL.encode(signature.rawRepresentation)
}

let testX5U = "https://cert.example.org/shaken-test/ee-chain.pem"
let testOrigid = "123e4567-e89b-12d3-a456-426655440000"

func shakenHeader(x5u: String = testX5U) -> String {
    #"{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"\#(x5u)"}"#
}

func shakenClaims(iat: Int64 = fixedNow, orig: String = "12155551212", dest: String = "12125551213",
                  attest: String = "A") -> String {
    #"{"attest":"\#(attest)","dest":{"tn":["\#(dest)"]},"iat":\#(iat),"orig":{"tn":"\#(orig)"},"origid":"\#(testOrigid)"}"#
}

func identity(_ token: String, params: String = ";info=<\(testX5U)>;alg=ES256;ppt=shaken") -> String {
    token + params
}

public import Crypto
public import X509
import SwiftASN1

/// Loading the P-256 keys and certificates that ES256 PASSporTs use.
public enum KeyLoading {
    /// Parses a P-256 private key from PEM: PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).
    public static func privateKey(pem: String) throws(CallsignError) -> P256.Signing.PrivateKey {
        do {
            return try P256.Signing.PrivateKey(pemRepresentation: pem)
        } catch {
            throw CallsignError(.key, "not a P-256 private key in PEM (PKCS#8 or SEC1)")
        }
    }

    /// Parses the first certificate of a PEM file (an x5u chain has the end
    /// entity first, RFC 8225 §4.1 / ATIS-1000074 §5.3.1).
    public static func firstCertificate(pem: String) throws(CallsignError) -> Certificate {
        let blocks: [PEMDocument]
        do {
            blocks = try PEMDocument.parseMultiple(pemString: pem)
        } catch {
            throw CallsignError(.key, "not PEM")
        }
        guard let block = blocks.first(where: { $0.discriminator == "CERTIFICATE" }) else {
            throw CallsignError(.key, "no CERTIFICATE block in PEM")
        }
        do {
            return try Certificate(derEncoded: block.derBytes)
        } catch {
            throw CallsignError(.key, "certificate does not parse: \(error)")
        }
    }

    /// Every certificate in a PEM bundle, in order.
    public static func certificates(pem: String) throws(CallsignError) -> [Certificate] {
        let blocks: [PEMDocument]
        do {
            blocks = try PEMDocument.parseMultiple(pemString: pem)
        } catch {
            throw CallsignError(.key, "not PEM")
        }
        var certificates: [Certificate] = []
        for block in blocks where block.discriminator == "CERTIFICATE" {
            do {
                certificates.append(try Certificate(derEncoded: block.derBytes))
            } catch {
                throw CallsignError(.key, "certificate \(certificates.count + 1) does not parse: \(error)")
            }
        }
        if certificates.isEmpty { throw CallsignError(.key, "no CERTIFICATE block in PEM") }
        return certificates
    }

    /// The P-256 public key of a certificate.
    public static func publicKey(of certificate: Certificate) throws(CallsignError) -> P256.Signing.PublicKey {
        guard let key = P256.Signing.PublicKey(certificate.publicKey) else {
            throw CallsignError(.key, "certificate key is not P-256")
        }
        return key
    }

    /// A P-256 public key from a PEM `PUBLIC KEY` block.
    public static func publicKey(pem: String) throws(CallsignError) -> P256.Signing.PublicKey {
        do {
            return try P256.Signing.PublicKey(pemRepresentation: pem)
        } catch {
            throw CallsignError(.key, "not a P-256 public key in PEM")
        }
    }
}

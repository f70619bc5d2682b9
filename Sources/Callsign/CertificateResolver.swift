public import Crypto
public import X509
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The signer's credential a verifier obtained for an `x5u` URL.
public struct ResolvedCredential: Sendable {
    /// The key that must verify the PASSporT's ES256 signature.
    public var publicKey: P256.Signing.PublicKey
    /// The end-entity certificate, when the key came from one.
    public var certificate: Certificate?
    /// The end entity's TNAuthList, when the chain was validated.
    public var tnAuthList: TNAuthorizationList?
    /// Notes for the verdict (e.g. "chain not validated").
    public var diagnostics: [String]

    public init(publicKey: P256.Signing.PublicKey, certificate: Certificate? = nil, tnAuthList: TNAuthorizationList? = nil,
                diagnostics: [String] = []) {
        self.publicKey = publicKey
        self.certificate = certificate
        self.tnAuthList = tnAuthList
        self.diagnostics = diagnostics
    }
}

/// Where the verification procedure gets the signer's credential for an
/// `x5u` (RFC 8224 §6.2.1 step "acquire the credential", ATIS-1000074 §5.3.5).
///
/// The core has no I/O: fetching, caching and chain validation live behind
/// this protocol. Errors are ``VerificationError``s: `certificateUnavailable`
/// (436) when the URL cannot be used, `certificateInvalid`/`Untrusted`/`Revoked`
/// (437) when the certificate cannot be trusted.
public protocol CertificateResolver: Sendable {
    /// Returns the credential for `x5u`, valid at `time` (seconds since the epoch).
    func resolve(x5u: String, at time: Int64) async throws(VerificationError) -> ResolvedCredential

    /// The credential for `x5u` when it can be had without I/O or suspension
    /// (a warm cache): `nil` means "ask ``resolve(x5u:at:)``". A cached failure
    /// is returned as `.failure`. Transports use this to answer on the thread
    /// that read the request (no task hop); the answer must be the one
    /// ``resolve(x5u:at:)`` would give (ATIS-1000074 §5.3.5).
    func cachedCredential(x5u: String, at time: Int64) -> Result<ResolvedCredential, VerificationError>?
}

extension CertificateResolver {
    /// No cached path: every credential goes through ``resolve(x5u:at:)``.
    public func cachedCredential(x5u: String, at time: Int64) -> Result<ResolvedCredential, VerificationError>? { nil }
}

/// A resolver that uses one given certificate (or public key) whatever the
/// `x5u` says — for `callsign verify --cert`, and for tests.
///
/// It checks the certificate's validity period at the call's time and that
/// its key is P-256, but it does **not** validate a chain: the verdict says so.
public struct PinnedCertificateResolver: CertificateResolver {
    private let credential: ResolvedCredential

    /// Pins a certificate.
    public init(certificate: Certificate) throws(CallsignError) {
        let key = try KeyLoading.publicKey(of: certificate)
        credential = ResolvedCredential(publicKey: key, certificate: certificate,
                                        diagnostics: ["key from a pinned certificate; chain not validated"])
    }

    /// Pins a bare public key.
    public init(publicKey: P256.Signing.PublicKey) {
        credential = ResolvedCredential(publicKey: publicKey, diagnostics: ["key pinned; no certificate checked"])
    }

    public func resolve(x5u: String, at time: Int64) async throws(VerificationError) -> ResolvedCredential {
        try checked(at: time)
    }

    /// The pinned credential needs no I/O: always answered here.
    public func cachedCredential(x5u: String, at time: Int64) -> Result<ResolvedCredential, VerificationError>? {
        Result { () throws(VerificationError) in try checked(at: time) }
    }

    private func checked(at time: Int64) throws(VerificationError) -> ResolvedCredential {
        if let certificate = credential.certificate {
            let notBefore = Int64(certificate.notValidBefore.timeIntervalSince1970)
            let notAfter = Int64(certificate.notValidAfter.timeIntervalSince1970)
            if time < notBefore { throw VerificationError(.certificateInvalid, "certificate not yet valid") }
            if time > notAfter { throw VerificationError(.certificateInvalid, "certificate expired") }
        }
        return credential
    }
}

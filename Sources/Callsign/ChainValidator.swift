public import Crypto
@_spi(FixedExpiryValidationTime) public import X509
import SwiftASN1
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A STI certificate chain that validated to a trust anchor.
public struct ValidatedSTIChain: Sendable {
    /// End entity first, trust anchor last.
    public var certificates: [Certificate]
    /// The end entity's key.
    public var publicKey: P256.Signing.PublicKey
    /// The end entity's TNAuthList.
    public var tnAuthList: TNAuthorizationList
    /// Profile deviations found (lenient mode keeps them; strict rejects).
    public var findings: [STICertificateProfile.Finding]
    /// Until when this validation may be reused: the earliest `notAfter` in
    /// the chain or `nextUpdate` of the CRLs used.
    public var validUntil: Int64
    /// Not before the latest `notBefore` in the chain.
    public var validFrom: Int64

    public init(certificates: [Certificate], publicKey: P256.Signing.PublicKey, tnAuthList: TNAuthorizationList,
                findings: [STICertificateProfile.Finding], validUntil: Int64, validFrom: Int64) {
        self.certificates = certificates
        self.publicKey = publicKey
        self.tnAuthList = tnAuthList
        self.findings = findings
        self.validUntil = validUntil
        self.validFrom = validFrom
    }
}

/// Validates STI certificate chains (ATIS-1000074 §5.3.5, RFC 5280 §6) with
/// swift-certificates' `Verifier`: RFC 5280 path validation at the call's
/// time, the SHAKEN profile (``STICertificateProfile``), TNAuthList, and
/// revocation from the CRLs supplied.
public struct ChainValidator: Sendable {
    /// Trust anchors (the STI-PA's list in production, a test root in labs).
    public var roots: [Certificate]
    public var mode: STICertificateProfile.Mode
    /// Fail when no current CRL, signed by the issuer, covers the end-entity
    /// certificate or an intermediate that names a CRL distribution point
    /// (ATIS-1000080: the certificates carry the CRL distribution point the
    /// STI-VS checks; an intermediate without one has no CRL to check).
    public var requireCRL: Bool
    /// The trust in force when it changes at run time (the STI-PA's list and
    /// CRL): when set, its anchors replace ``roots`` and its CRLs apply to
    /// every chain on top of the chain's own CRLs.
    public var trust: TrustStore?

    public init(roots: [Certificate], mode: STICertificateProfile.Mode = .lenient, requireCRL: Bool = false, trust: TrustStore? = nil) {
        self.roots = roots
        self.mode = mode
        self.requireCRL = requireCRL
        self.trust = trust
    }

    /// Validates `chain` (end entity first, then intermediates, as served at x5u).
    /// - Throws: ``VerificationError`` 437 codes: `certificateInvalid` (dates,
    ///   key, profile in strict mode), `certificateUntrusted`, `certificateRevoked`,
    ///   `certificateNotAuthorized` (TNAuthList missing or malformed).
    public func validate(chain: [Certificate], crls: [CertificateRevocationList], at time: Int64) async throws(VerificationError)
        -> ValidatedSTIChain
    {
        guard let leaf = chain.first else { throw VerificationError(.certificateInvalid, "no certificate at x5u") }
        guard chain.count <= 8 else { throw VerificationError(.certificateInvalid, "chain longer than 8 certificates") }
        let notBefore = Int64(leaf.notValidBefore.timeIntervalSince1970)
        let notAfter = Int64(leaf.notValidAfter.timeIntervalSince1970)
        if time < notBefore { throw VerificationError(.certificateInvalid, "certificate not yet valid") }
        if time > notAfter { throw VerificationError(.certificateInvalid, "certificate expired") }
        guard let key = P256.Signing.PublicKey(leaf.publicKey) else {
            throw VerificationError(.certificateInvalid, "certificate key is not P-256")
        }
        guard let tnExtension = leaf.extensions[oid: TNAuthorizationList.oid] else {
            throw VerificationError(.certificateNotAuthorized, "certificate has no TNAuthList")
        }
        let tnAuthList: TNAuthorizationList
        do {
            tnAuthList = try TNAuthorizationList(tnExtension)
        } catch {
            throw VerificationError(.certificateNotAuthorized, "certificate TNAuthList: \(error.description)")
        }

        let validationTime = Date(timeIntervalSince1970: TimeInterval(time))
        let inForce = trust?.snapshot
        let revocation = RevocationPolicy(crls: crls, authorityCRLs: inForce?.crls ?? [], time: time, requireCRL: requireCRL)
        var verifier = X509.Verifier(rootCertificates: CertificateStore(inForce?.roots ?? roots)) {
            RFC5280Policy(fixedExpiryValidationTime: validationTime)
            SHAKENProfilePolicy(mode: mode)
            revocation
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(chain.dropFirst()))
        switch result {
        case .validCertificate(let validated):
            let certificates = Array(validated)
            try Self.checkDelegation(certificates)
            var findings: [STICertificateProfile.Finding] = []
            for (index, certificate) in certificates.enumerated() {
                let role: STICertificateProfile.Role = index == 0 ? .endEntity : (index == certificates.count - 1 ? .root : .intermediate)
                findings += STICertificateProfile.findings(for: certificate, role: role)
            }
            var validUntil = certificates.map { Int64($0.notValidAfter.timeIntervalSince1970) }.min() ?? notAfter
            let validFrom = certificates.map { Int64($0.notValidBefore.timeIntervalSince1970) }.max() ?? notBefore
            for crl in revocation.usedCRLs(for: certificates) + revocation.authorityCRLs {
                if let next = crl.nextUpdate { validUntil = min(validUntil, next) }
            }
            return ValidatedSTIChain(certificates: certificates, publicKey: key, tnAuthList: tnAuthList, findings: findings,
                                     validUntil: validUntil, validFrom: validFrom)
        case .couldNotValidate(let failures):
            let reasons = failures.map { String(describing: $0.policyFailureReason) }
            if let revoked = reasons.first(where: { $0.contains(RevocationPolicy.revokedMarker) }) {
                throw VerificationError(.certificateRevoked, revoked)
            }
            if let profile = reasons.first(where: { $0.contains(SHAKENProfilePolicy.marker) }) {
                throw VerificationError(.certificateInvalid, profile)
            }
            if let crl = reasons.first(where: { $0.contains(RevocationPolicy.crlMarker) }) {
                throw VerificationError(.certificateInvalid, crl)
            }
            if let other = reasons.first {
                throw VerificationError(.certificateUntrusted, "untrusted: \(other)")
            }
            throw VerificationError(.certificateUntrusted, "untrusted: no chain to a trusted root")
        }
    }
}

extension ChainValidator {
    /// Delegate certificates (RFC 9060 §5–§6, ATIS-1000092): every
    /// certificate whose issuer carries a TNAuthList must carry one inside
    /// it. Issuers without a TNAuthList (the STI-CA's own) constrain nothing.
    /// - Throws: `certificateNotAuthorized` (437) naming the two certificates.
    static func checkDelegation(_ chain: [Certificate]) throws(VerificationError) {
        guard chain.count > 1 else { return }
        for index in 0..<(chain.count - 1) {
            let child = chain[index]
            let issuer = chain[index + 1]
            guard let issuerExtension = issuer.extensions[oid: TNAuthorizationList.oid] else { continue }
            guard let issuerList = try? TNAuthorizationList(issuerExtension) else {
                throw VerificationError(.certificateNotAuthorized, "issuer \(issuer.subject) has a malformed TNAuthList")
            }
            guard let childExtension = child.extensions[oid: TNAuthorizationList.oid], let childList = try? TNAuthorizationList(childExtension) else {
                throw VerificationError(.certificateNotAuthorized,
                                        "\(child.subject) has no TNAuthList but its issuer \(issuer.subject) delegates one (RFC 9060)")
            }
            guard issuerList.encompasses(childList) else {
                throw VerificationError(.certificateNotAuthorized,
                                        "the TNAuthList of \(child.subject) (\(childList)) is not inside that of its issuer \(issuer.subject) (\(issuerList)) (RFC 9060)")
            }
        }
    }
}

/// Enforces the SHAKEN profile in strict mode and declares TNAuthList handled
/// (so a critical TNAuthList, which Callsign understands, does not fail RFC 5280 processing).
struct SHAKENProfilePolicy: VerifierPolicy {
    static let marker = "STI profile"
    let mode: STICertificateProfile.Mode

    var verifyingCriticalExtensions: [ASN1ObjectIdentifier] { [TNAuthorizationList.oid] }

    mutating func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        if let reason = STICertificateProfile.rejection(of: Array(chain), mode: mode) {
            return .failsToMeetPolicy(reason: "\(Self.marker) \(reason)")
        }
        return .meetsPolicy
    }
}

/// Checks each certificate (but the anchor) against the CRL of its issuer,
/// and against the authority's CRLs (the STI-PA CRL, checked before it was
/// put in force). A CRL of the chain counts only if the issuer's key signed
/// it and it is current; an authority CRL matches by issuer and serial.
struct RevocationPolicy: VerifierPolicy {
    static let revokedMarker = "revoked"
    static let crlMarker = "CRL"
    let crls: [CertificateRevocationList]
    let authorityCRLs: [CertificateRevocationList]
    let time: Int64
    let requireCRL: Bool

    var verifyingCriticalExtensions: [ASN1ObjectIdentifier] { [] }

    func crl(for certificate: Certificate, issuer: Certificate) -> CertificateRevocationList? {
        crls.first { $0.issuer == certificate.issuer && $0.isSigned(by: issuer) }
    }

    func usedCRLs(for chain: [Certificate]) -> [CertificateRevocationList] {
        guard chain.count > 1 else { return [] }
        return (0..<(chain.count - 1)).compactMap { crl(for: chain[$0], issuer: chain[$0 + 1]) }
    }

    mutating func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        let certificates = Array(chain)
        guard certificates.count > 1 else { return .meetsPolicy }
        for index in 0..<(certificates.count - 1) {
            let certificate = certificates[index]
            if let authority = authorityCRLs.first(where: { $0.revokes(certificate) }) {
                return .failsToMeetPolicy(reason: "certificate \(index) (\(certificate.subject), serial \(certificate.serialNumber)) is \(Self.revokedMarker) by \(authority.issuer)")
            }
            // A CRL is demanded for the end entity and for certificates that point at one,
            // unless a current authority CRL covers the chain.
            let demanded = requireCRL && (index == 0 || STICertificateProfile.crlDistributionPoints(certificate) != nil)
                && !authorityCRLs.contains { $0.isCurrent(at: time) }
            guard let crl = crl(for: certificate, issuer: certificates[index + 1]) else {
                if demanded { return .failsToMeetPolicy(reason: "\(Self.crlMarker): no CRL signed by the issuer of certificate \(index)") }
                continue
            }
            if crl.thisUpdate > time || (crl.nextUpdate.map { $0 < time } ?? false) {
                if demanded { return .failsToMeetPolicy(reason: "\(Self.crlMarker): CRL for certificate \(index) is not current") }
                continue
            }
            if crl.revokes(certificate) {
                return .failsToMeetPolicy(reason: "certificate \(index) is \(Self.revokedMarker)")
            }
        }
        return .meetsPolicy
    }
}

/// The trust in force for verification when it changes at run time: the
/// STI-CAs on the STI-PA's current list and the STI-PA CRL (ATIS-1000080
/// §6.3.3), replaced as a whole by the refresher that checked them. A
/// ``ChainValidator`` reads it at each validation; whoever replaces it also
/// empties the ``ChainCache`` so no chain validated under the old trust is reused.
public final class TrustStore: Sendable {
    /// The anchors and CRLs at one moment.
    public struct Snapshot: Sendable {
        public var roots: [Certificate]
        /// Checked authority CRLs (indirect: matched by issuer and serial).
        public var crls: [CertificateRevocationList]
    }

    private let state: Mutex<Snapshot>

    public init(roots: [Certificate] = [], crls: [CertificateRevocationList] = []) {
        state = Mutex(Snapshot(roots: roots, crls: crls))
    }

    public var snapshot: Snapshot { state.withLock { $0 } }

    /// Puts a checked list of anchors in force.
    public func replaceRoots(_ roots: [Certificate]) { state.withLock { $0.roots = roots } }

    /// Puts checked authority CRLs in force.
    public func replaceCRLs(_ crls: [CertificateRevocationList]) { state.withLock { $0.crls = crls } }
}

/// A bounded cache of validated chains keyed by the SHA-256 of the x5u
/// content, so that chain validation (~2.4 ES256 verifications) does not run
/// per call. Entries expire at ``ValidatedSTIChain/validUntil``; the least
/// recently used entry is evicted when full.
///
/// Failed validations are remembered too, for ``failureLifetime`` seconds, so
/// that a bad or hostile chain presented on every call costs one validation,
/// not one per call (the same x5u content gives the same answer).
public final class ChainCache: Sendable {
    private struct Entry {
        var chain: ValidatedSTIChain
        var lastUse: UInt64
    }

    private struct State {
        var entries: [SHA256Digest: Entry] = [:]
        var failures: [SHA256Digest: (error: VerificationError, until: Int64)] = [:]
        var clock: UInt64 = 0
        var hits = 0
        var misses = 0
    }

    private let state = Mutex(State())
    public let capacity: Int

    /// How long a failed validation is remembered (seconds).
    public let failureLifetime: Int64

    public init(capacity: Int = 10_000, failureLifetime: Int64 = 30) {
        self.capacity = max(1, capacity)
        self.failureLifetime = max(0, failureLifetime)
    }

    /// The remembered failure for this x5u content, if it is recent.
    public func failure(_ key: SHA256Digest, at time: Int64) -> VerificationError? {
        state.withLock { state in
            guard let entry = state.failures[key] else { return nil }
            guard time <= entry.until else {
                state.failures[key] = nil
                return nil
            }
            state.hits += 1
            return entry.error
        }
    }

    /// Remembers that this x5u content failed validation at `time`.
    public func storeFailure(_ error: VerificationError, for key: SHA256Digest, at time: Int64) {
        guard failureLifetime > 0 else { return }
        state.withLock { state in
            if state.failures[key] == nil, state.failures.count >= capacity {
                state.failures = state.failures.filter { $0.value.until >= time }
                if state.failures.count >= capacity, let any = state.failures.first?.key { state.failures[any] = nil }
            }
            state.failures[key] = (error, time + failureLifetime)
        }
    }

    /// The cache key of an x5u response body.
    public static func key(for body: [UInt8]) -> SHA256Digest { SHA256.hash(data: body) }

    /// A cached chain still valid at `time`, if any.
    public func lookup(_ key: SHA256Digest, at time: Int64) -> ValidatedSTIChain? {
        state.withLock { state in
            state.clock += 1
            guard var entry = state.entries[key] else {
                state.misses += 1
                return nil
            }
            guard time <= entry.chain.validUntil, time >= entry.chain.validFrom else {
                state.entries[key] = nil
                state.misses += 1
                return nil
            }
            entry.lastUse = state.clock
            state.entries[key] = entry
            state.hits += 1
            return entry.chain
        }
    }

    public func store(_ chain: ValidatedSTIChain, for key: SHA256Digest) {
        state.withLock { state in
            state.clock += 1
            if state.entries[key] == nil, state.entries.count >= capacity,
                let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key
            {
                state.entries[oldest] = nil
            }
            state.entries[key] = Entry(chain: chain, lastUse: state.clock)
        }
    }

    /// Forgets every validated chain and failure (the trust in force changed).
    public func removeAll() {
        state.withLock { state in
            state.entries.removeAll()
            state.failures.removeAll()
        }
    }

    /// Hits and misses so far, and the number of entries.
    public var statistics: (hits: Int, misses: Int, count: Int) {
        state.withLock { ($0.hits, $0.misses, $0.entries.count) }
    }
}

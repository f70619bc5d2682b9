import Synchronization
import Crypto
public import X509

/// Where certificate-repository content comes from (HTTP in production,
/// files or memory in tests). Implementations bound time and size.
public protocol CertificateRepository: Sendable {
    /// The body at `url`, which already passed ``X5UPolicy/check(_:)``.
    /// - Throws: ``VerificationError`` `certificateUnavailable` (436).
    func fetch(_ url: String, target: X5UPolicy.Target) async throws(VerificationError) -> [UInt8]

    /// The body for `url` when it is held in memory and still fresh at `time`
    /// (what ``fetch(_:target:)`` would return without I/O), else `nil`.
    func cachedBody(_ url: String, at time: Int64) -> [UInt8]?
}

extension CertificateRepository {
    /// No memory cache: every body comes from ``fetch(_:target:)``.
    public func cachedBody(_ url: String, at time: Int64) -> [UInt8]? { nil }
}

/// The full STI-VS credential step (ATIS-1000074 §5.3.5): URL policy, fetch
/// of the x5u chain (EE first, then intermediates), CRLs from the
/// certificates' distribution points (and configured extra CRL URLs), chain
/// validation to the trust anchors, and a cache of validated chains keyed by
/// the x5u content, so a warm cache costs no chain validation.
public struct ChainValidatingResolver: CertificateResolver {
    public var policy: X5UPolicy
    public var repository: any CertificateRepository
    public var validator: ChainValidator
    public var cache: ChainCache
    /// CRLs fetched for every chain besides its certificates' distribution
    /// points (`callsign verify --crl`). The STI-PA CRL is not one of them:
    /// `STIPATrustRefresher` fetches it and the validator applies it.
    public var extraCRLURLs: [String]
    /// Fetch CRLs from the certificates' CRL distribution points.
    public var fetchCRLs: Bool
    /// Most certificates accepted in one x5u response.
    public var maxCertificates: Int

    /// Warm-path memo: x5u → what ``cachedCredential(x5u:at:)`` worked out last time.
    let hotCredentials = HotCredentials()
    /// Chain validations running now, by x5u content.
    let flights = ValidationFlights()

    public init(policy: X5UPolicy, repository: any CertificateRepository, validator: ChainValidator,
                cache: ChainCache = ChainCache(), extraCRLURLs: [String] = [], fetchCRLs: Bool = true, maxCertificates: Int = 8) {
        self.policy = policy
        self.repository = repository
        self.validator = validator
        self.cache = cache
        self.extraCRLURLs = extraCRLURLs
        self.fetchCRLs = fetchCRLs
        self.maxCertificates = maxCertificates
    }

    public func resolve(x5u: String, at time: Int64) async throws(VerificationError) -> ResolvedCredential {
        let target = try policy.check(x5u)
        let body = try await repository.fetch(x5u, target: target)
        let key = ChainCache.key(for: body)
        if let chain = cache.lookup(key, at: time) {
            return credential(chain, cached: true)
        }
        if let failure = cache.failure(key, at: time) { throw failure }
        // One validation per chain at a time: calls arriving while it runs (a cold
        // start or an expired entry under load) wait for its outcome instead of
        // each fetching the CRLs and checking the signatures again.
        let outcome = await flights.run(key) { () async -> Result<ValidatedSTIChain, VerificationError> in
            do throws(VerificationError) {
                let chain = try await validate(body, at: time)
                cache.store(chain, for: key)
                return .success(chain)
            } catch {
                cache.storeFailure(error, for: key, at: time)
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let chain): return credential(chain, cached: false)
        case .failure(let error): throw error
        }
    }

    /// The warm path of ``resolve(x5u:at:)``: the x5u body held by the
    /// repository and its chain (or its failure) held by the cache. `nil` when
    /// either needs I/O or a chain validation.
    public func cachedCredential(x5u: String, at time: Int64) -> Result<ResolvedCredential, VerificationError>? {
        // The same x5u serving the same body (same storage: the repository's cache
        // entry) for a chain still cached: the URL check, the body's SHA-256 and
        // the credential were worked out on an earlier call.
        if let hot = hotCredentials.lookup(x5u), hot.policy == policy {
            guard let body = repository.cachedBody(x5u, at: time) else { return nil }
            if hot.body == body, let chain = cache.lookup(hot.key, at: time),
                chain.validFrom == hot.validFrom, chain.validUntil == hot.validUntil
            {
                return .success(hot.credential)
            }
        }
        do {
            _ = try policy.check(x5u)
        } catch {
            return .failure(error)
        }
        guard let body = repository.cachedBody(x5u, at: time) else { return nil }
        let key = ChainCache.key(for: body)
        if let chain = cache.lookup(key, at: time) {
            let resolved = credential(chain, cached: true)
            hotCredentials.store(x5u, HotCredentials.Entry(policy: policy, body: body, key: key, credential: resolved,
                                                           validFrom: chain.validFrom, validUntil: chain.validUntil))
            return .success(resolved)
        }
        if let failure = cache.failure(key, at: time) { return .failure(failure) }
        return nil
    }

    private func validate(_ body: [UInt8], at time: Int64) async throws(VerificationError) -> ValidatedSTIChain {
        let certificates = try Self.parseChain(body, max: maxCertificates)
        var crls: [CertificateRevocationList] = []
        var notes: [String] = []
        if fetchCRLs {
            var urls: [String] = extraCRLURLs
            for certificate in certificates {
                for point in STICertificateProfile.crlDistributionPoints(certificate) ?? [] {
                    urls.append(contentsOf: point.uris)
                }
            }
            var seen = Set<String>()
            for url in urls where seen.insert(url).inserted {
                do {
                    let crlTarget = try policy.check(url)
                    let bytes = try await repository.fetch(url, target: crlTarget)
                    crls.append(try CertificateRevocationList(pemOrDER: bytes))
                } catch let error as VerificationError {
                    notes.append("CRL unavailable: \(error.detail)")
                } catch {
                    notes.append("CRL unusable: \(error)")
                }
            }
        }
        var chain = try await validator.validate(chain: certificates, crls: crls, at: time)
        chain.findings += notes.map { STICertificateProfile.Finding(lint: "crl", severity: .warning, message: $0) }
        return chain
    }

    private func credential(_ chain: ValidatedSTIChain, cached: Bool) -> ResolvedCredential {
        var diagnostics = [cached ? "certificate chain from cache" : "certificate chain validated"]
        diagnostics += chain.findings.map(\.description)
        return ResolvedCredential(publicKey: chain.publicKey, certificate: chain.certificates.first, tnAuthList: chain.tnAuthList,
                                  diagnostics: diagnostics)
    }

    /// Parses the PEM chain served at x5u.
    /// - Throws: `certificateUnavailable` (436) when the body holds no usable certificate.
    public static func parseChain(_ body: [UInt8], max: Int) throws(VerificationError) -> [Certificate] {
        guard let text = String(validating: body, as: UTF8.self) else {
            throw VerificationError(.certificateUnavailable, "x5u content is not PEM text")
        }
        let certificates: [Certificate]
        do {
            certificates = try KeyLoading.certificates(pem: text)
        } catch {
            throw VerificationError(.certificateUnavailable, "x5u content: \(error.description)")
        }
        guard certificates.count <= max else {
            throw VerificationError(.certificateUnavailable, "x5u holds more than \(max) certificates")
        }
        return certificates
    }
}

/// What the warm path of ``ChainValidatingResolver`` remembers per x5u, so a
/// hot x5u costs a body identity check and a chain-cache lookup per call.
/// Bounded: past ``capacity`` entries it starts afresh.
final class HotCredentials: Sendable {
    /// A class: a lookup on every verification retains one reference, not each field.
    final class Entry: Sendable {
        let policy: X5UPolicy
        let body: [UInt8]
        let key: SHA256Digest
        let credential: ResolvedCredential
        let validFrom: Int64
        let validUntil: Int64

        init(policy: X5UPolicy, body: [UInt8], key: SHA256Digest, credential: ResolvedCredential, validFrom: Int64,
             validUntil: Int64) {
            self.policy = policy
            self.body = body
            self.key = key
            self.credential = credential
            self.validFrom = validFrom
            self.validUntil = validUntil
        }
    }

    private let entries = Mutex([String: Entry]())
    let capacity = 1024

    func lookup(_ x5u: String) -> Entry? { entries.withLock { $0[x5u] } }

    func store(_ x5u: String, _ entry: Entry) {
        entries.withLock { entries in
            if entries[x5u] == nil, entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[x5u] = entry
        }
    }
}

/// Single-flight for chain validations: while one runs for a key, other
/// callers for that key wait for its outcome. Holds only the keys running now.
final class ValidationFlights: Sendable {
    typealias Outcome = Result<ValidatedSTIChain, VerificationError>
    private let waiting = Mutex([SHA256Digest: [CheckedContinuation<Outcome?, Never>]]())

    /// Runs `work` for `key`, or — when a run for `key` is in progress — returns its outcome.
    func run(_ key: SHA256Digest, _ work: () async -> Outcome) async -> Outcome {
        let joined: Outcome? = await withCheckedContinuation { continuation in
            let leads = waiting.withLock { waiting -> Bool in
                if waiting[key] != nil {
                    waiting[key]?.append(continuation)
                    return false
                }
                waiting[key] = []
                return true
            }
            if leads { continuation.resume(returning: nil) }
        }
        if let joined { return joined }
        let outcome = await work()
        for waiter in waiting.withLock({ $0.removeValue(forKey: key) ?? [] }) { waiter.resume(returning: outcome) }
        return outcome
    }

    /// Keys with a validation running (for tests).
    var running: Int { waiting.withLock { $0.count } }
}

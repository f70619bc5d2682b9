import AsyncHTTPClient
public import Callsign
import NIOCore
import NIOPosix
import NIOHTTP1
import Foundation
import Synchronization
import Metrics
#if canImport(Glibc)
import Glibc
#endif

/// Settings of the certificate-repository client.
public struct CertificateFetchConfiguration: Sendable, Hashable {
    /// Total time for one fetch: DNS, connect, request and body (default 2 s).
    public var timeout: Duration = .seconds(2)
    /// Largest body accepted (default 64 KiB).
    public var maxBodyBytes: Int = 64 * 1024
    /// Shortest time a response is cached. ATIS-1000074 §5.3.5: when a response
    /// has no caching directive or allows less than 24 h, cache it 24 h.
    public var minimumTTL: Int64 = 24 * 3600
    /// Longest time a response is cached, whatever its headers say.
    public var maximumTTL: Int64 = 7 * 24 * 3600
    /// How long a failing URL is answered from the negative cache.
    public var negativeTTL: Int64 = 30
    /// Most cached URLs (least recently used are evicted).
    public var maxEntries: Int = 10_000
    /// Entries closer than this to expiry are refreshed by ``HTTPCertificateRepository/refreshExpiring(now:)``.
    public var refreshAhead: Int64 = 3600

    public init() {}
}

/// Fetches x5u chains and CRLs over HTTP with AsyncHTTPClient (ATIS-1000074
/// §5.3.1/§5.3.5): no redirects, a total time budget, a body cap, a check of
/// the resolved addresses against special-purpose ranges (unless the URL is
/// lab-allowed), a bounded cache honouring `Cache-Control: max-age` and
/// `Expires` within a floor and ceiling, a short negative cache, and
/// single-flight: concurrent requests for one URL make one fetch.
public final class HTTPCertificateRepository: CertificateRepository {
    private struct Entry {
        var body: [UInt8]
        var expires: Int64
        var lastUse: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var failures: [String: (VerificationError, Int64)] = [:]
        var waiting: [String: [CheckedContinuation<[UInt8], any Error>]] = [:]
        var clock: UInt64 = 0
        var fetches = 0
        var hits = 0
    }

    /// Closed by ``shutdown()``, or when the repository is dropped without it.
    private let owned: OwnedHTTPClient
    private let state = Mutex(State())
    public let configuration: CertificateFetchConfiguration
    private let now: @Sendable () -> Int64

    /// - Parameters:
    ///   - configuration: bounds of each fetch; its `timeout` also bounds the client's connect and read.
    ///   - now: the clock for cache expiry, seconds since the epoch.
    public init(configuration: CertificateFetchConfiguration = CertificateFetchConfiguration(), now: @escaping @Sendable () -> Int64) {
        self.configuration = configuration
        self.now = now
        owned = OwnedHTTPClient(BoundedExchange.makeClient(timeout: configuration.timeout))
    }

    /// Closes the HTTP client.
    public func shutdown() async throws {
        await owned.shutdown()
    }

    /// Network fetches made and cache hits so far.
    public var statistics: (fetches: Int, hits: Int) { state.withLock { ($0.fetches, $0.hits) } }

    private enum Step {
        case hit([UInt8])
        case failed(VerificationError)
        case wait
        case fetch
    }

    public func fetch(_ url: String, target: X5UPolicy.Target) async throws(VerificationError) -> [UInt8] {
        let time = now()
        let step: Step = state.withLock { state in
            state.clock += 1
            if var entry = state.entries[url], entry.expires > time {
                entry.lastUse = state.clock
                state.entries[url] = entry
                state.hits += 1
                return .hit(entry.body)
            }
            if let (error, until) = state.failures[url], until > time { return .failed(error) }
            if state.waiting[url] != nil { return .wait }
            state.waiting[url] = []
            return .fetch
        }
        switch step {
        case .hit(let body): return body
        case .failed(let error): throw error
        case .wait:
            do {
                return try await withCheckedThrowingContinuation { continuation in
                    let immediate: Result<[UInt8], VerificationError>? = state.withLock { state in
                        if state.waiting[url] != nil {
                            state.waiting[url]?.append(continuation)
                            return nil
                        }
                        if let entry = state.entries[url] { return .success(entry.body) }
                        if let (error, _) = state.failures[url] { return .failure(error) }
                        return .failure(VerificationError(.certificateUnavailable, "fetch did not complete"))
                    }
                    if let immediate { continuation.resume(with: immediate) }
                }
            } catch let error as VerificationError {
                throw error
            } catch {
                throw VerificationError(.certificateUnavailable, "fetch failed")
            }
        case .fetch:
            let result: Result<([UInt8], Int64), VerificationError>
            let started = ContinuousClock.now
            do {
                result = .success(try await download(url, target: target))
            } catch {
                result = .failure(error)
            }
            let elapsed = ContinuousClock.now - started
            Timer(label: "callsign_x5u_fetch_duration", dimensions: [("outcome", (try? result.get()) == nil ? "failure" : "success")])
                .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
            let waiters: [CheckedContinuation<[UInt8], any Error>] = state.withLock { state in
                state.fetches += 1
                switch result {
                case .success(let (body, ttl)):
                    if state.entries[url] == nil, state.entries.count >= configuration.maxEntries,
                        let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key
                    {
                        state.entries[oldest] = nil
                    }
                    state.entries[url] = Entry(body: body, expires: time + ttl, lastUse: state.clock)
                    state.failures[url] = nil
                case .failure(let error):
                    state.failures[url] = (error, time + configuration.negativeTTL)
                    if state.failures.count > configuration.maxEntries {
                        state.failures = state.failures.filter { $0.value.1 > time }
                    }
                }
                return state.waiting.removeValue(forKey: url) ?? []
            }
            for waiter in waiters {
                waiter.resume(with: result.map(\.0).mapError { $0 as any Error })
            }
            return try result.map(\.0).get()
        }
    }

    /// The warm path of ``fetch(_:target:)``: the body when it is cached and
    /// fresh by this repository's clock (counted as a hit), else `nil`. A
    /// cached fetch failure is left to ``fetch(_:target:)``.
    public func cachedBody(_ url: String, at time: Int64) -> [UInt8]? {
        let time = now()
        return state.withLock { state in
            guard var entry = state.entries[url], entry.expires > time else { return nil }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[url] = entry
            state.hits += 1
            return entry.body
        }
    }

    /// The cached body and its expiry, if fresh at `time` (no network).
    public func cached(_ url: String, at time: Int64) -> (body: [UInt8], expires: Int64)? {
        state.withLock { state in
            guard let entry = state.entries[url], entry.expires > time else { return nil }
            return (entry.body, entry.expires)
        }
    }

    /// Puts a body obtained elsewhere (another node, via a shared store) in the cache.
    public func prime(_ url: String, body: [UInt8], expires: Int64) {
        state.withLock { state in
            state.clock += 1
            state.entries[url] = Entry(body: body, expires: expires, lastUse: state.clock)
        }
    }

    /// The body at `url` fetched now, past the cache (and not stored in it), or
    /// `nil` when the URL is refused or the fetch fails: whether a newly
    /// published chain is served yet.
    public func fetchFresh(_ url: String, policy: X5UPolicy) async -> [UInt8]? {
        guard let target = try? policy.check(url) else { return nil }
        return try? await download(url, target: target).0
    }

    /// URLs whose cached responses expire within ``CertificateFetchConfiguration/refreshAhead``.
    /// A background service refreshes them so hot entries never expire on a call's path.
    public func expiringURLs(now time: Int64) -> [String] {
        state.withLock { state in
            state.entries.filter { $0.value.expires - time < configuration.refreshAhead }.map(\.key)
        }
    }

    /// Refetches the entries about to expire (keeps the old body if the refetch fails).
    public func refreshExpiring(now time: Int64, policy: X5UPolicy) async {
        for url in expiringURLs(now: time) {
            guard let target = try? policy.check(url), let (body, ttl) = try? await download(url, target: target) else { continue }
            state.withLock { state in
                state.entries[url] = Entry(body: body, expires: time + ttl, lastUse: state.clock)
            }
        }
    }

    /// Refreshes expiring entries every `interval` until the task is
    /// cancelled: run it beside the server (a Service in the group) so hot
    /// x5u and CRL entries never expire on a call's path.
    public func runRefresher(policy: X5UPolicy, interval: Duration = .seconds(60)) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            await refreshExpiring(now: now(), policy: policy)
        }
    }

    /// One bounded HTTP GET (``BoundedExchange``): the budget
    /// (``CertificateFetchConfiguration/timeout``) is a deadline the caller
    /// gets whatever the network does. Returns the body and its cache lifetime.
    private func download(_ url: String, target: X5UPolicy.Target) async throws(VerificationError) -> ([UInt8], Int64) {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/pem-certificate-chain, application/pkix-crl, */*")
        let exchange = BoundedExchange(client: owned.client, timeout: configuration.timeout, maxBodyBytes: configuration.maxBodyBytes)
        let response: BoundedExchange.Response
        do {
            response = try await exchange.perform(request, target: target)
        } catch {
            throw VerificationError(error.code, "x5u " + error.detail)
        }
        guard response.status == .ok else {
            throw VerificationError(.certificateUnavailable, "x5u answered HTTP \(response.status.code)")
        }
        let ttl = Self.cacheLifetime(cacheControl: response.headers["Cache-Control"].joined(separator: ","),
                                     expires: response.headers.first(name: "Expires"),
                                     date: response.headers.first(name: "Date"),
                                     now: now(), configuration: configuration)
        return (response.body, ttl)
    }

    static func describe(_ error: HTTPClientError) -> String {
        if error == .redirectLimitReached || "\(error)".contains("redirect") { return "redirect refused" }
        return "\(error)"
    }

    /// Resolves `host` once and refuses it when any of its addresses is
    /// special-purpose (SSRF guard for names; literal addresses were checked by
    /// ``X5UPolicy``). Returns the address to connect to, as text.
    /// Gives up at once when the task is cancelled (the lookup thread's late answer is dropped).
    static func resolveChecked(_ host: String, port: Int) async throws -> String {
        let addresses = try await abandonOnCancel { () -> [[UInt8]] in
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return [] }
            defer { freeaddrinfo(first) }
            var out: [[UInt8]] = []
            var cursor: UnsafeMutablePointer<addrinfo>? = first
            while let info = cursor, out.count < 64 {
                if info.pointee.ai_family == AF_INET, let address = info.pointee.ai_addr {
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                        out.append(withUnsafeBytes(of: sin.pointee.sin_addr.s_addr) { Array($0) })
                    }
                } else if info.pointee.ai_family == AF_INET6, let address = info.pointee.ai_addr {
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                        out.append(withUnsafeBytes(of: sin6.pointee.sin6_addr) { Array($0) })
                    }
                }
                cursor = info.pointee.ai_next
            }
            return out
        }
        guard let first = addresses.first else { throw VerificationError(.certificateUnavailable, "host does not resolve") }
        for address in addresses {
            let special = address.count == 4 ? X5UPolicy.isSpecialPurpose(ipv4: address) : X5UPolicy.isSpecialPurpose(ipv6: address)
            if special { throw VerificationError(.badInfo, "host resolves to a special-purpose address") }
        }
        return addressText(first)
    }

    /// An address's text form (`inet_ntop`): dotted quad or IPv6.
    static func addressText(_ bytes: [UInt8]) -> String {
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { raw in text.withUnsafeMutableBufferPointer { inet_ntop(family, raw.baseAddress, $0.baseAddress, socklen_t($0.count)) } }
        guard ok != nil else { return "" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Cache lifetime from `Cache-Control: max-age` (or `s-maxage`) or
    /// `Expires` − `Date`, clamped to the configured floor and ceiling.
    public static func cacheLifetime(cacheControl: String?, expires: String?, date: String?, now: Int64,
                                     configuration: CertificateFetchConfiguration) -> Int64
    {
        var lifetime: Int64?
        if let cacheControl {
            for directive in cacheControl.split(separator: ",") {
                let parts = directive.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                if parts.count == 2, parts[0] == "max-age" || parts[0] == "s-maxage", let seconds = Int64(parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))) {
                    lifetime = max(lifetime ?? 0, seconds)
                }
            }
        }
        if lifetime == nil, let expires, let expiresAt = CivilTime.parseRFC1123(expires) {
            let base = date.flatMap(CivilTime.parseRFC1123) ?? now
            lifetime = expiresAt - base
        }
        let value = lifetime ?? configuration.minimumTTL
        return min(max(value, configuration.minimumTTL), configuration.maximumTTL)
    }
}

struct TimeoutError: Error {}

/// Runs blocking `work` on NIO's thread pool and returns its result, or
/// throws `CancellationError` as soon as the task is cancelled: the work
/// cannot be interrupted, so its late result is dropped.
func abandonOnCancel<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
    let once = Mutex<CheckedContinuation<T, any Error>?>(nil)
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            once.withLock { $0 = continuation }
            if Task.isCancelled, let waiting = once.withLock({ slot in defer { slot = nil }; return slot }) {
                waiting.resume(throwing: CancellationError())
                return
            }
            NIOThreadPool.singleton.submit { state in
                let value = state == .active ? Result<T, any Error>.success(work()) : .failure(CancellationError())
                once.withLock { slot in defer { slot = nil }; return slot }?.resume(with: value)
            }
        }
    } onCancel: {
        once.withLock { slot in defer { slot = nil }; return slot }?.resume(throwing: CancellationError())
    }
}

/// Runs `operation` with a time limit (structured: a task group racing a sleep).
func withTimeout<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimeoutError()
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw TimeoutError() }
        return first
    }
}

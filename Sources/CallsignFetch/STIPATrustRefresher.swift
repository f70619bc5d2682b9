public import Callsign
public import Logging
import Metrics
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Keeps the STI-PA's trust list and CRL current and in force
/// (ATIS-1000080 §6.3.3): the list refreshed daily (hourly after a failure),
/// the CRL at the earlier of 12 h and its `nextUpdate`; a list or CRL that
/// fails a check is refused and the last good one stays in force; the last
/// good ones are kept on disk so a restart without the STI-PA keeps them.
///
/// Putting a new list or CRL in force replaces the ``TrustStore``'s content
/// and empties the ``ChainCache``: no chain validated under the old trust is
/// reused, so an STI-CA removed from the list stops verifying at once.
public final class STIPATrustRefresher: Sendable {
    /// What is in force, for `/healthz`, the metrics and the CLI.
    public struct Status: Sendable {
        public var sequence: Int64?
        public var listSize = 0
        public var listExpires: Int64?
        /// When the list in force was accepted (fetched, or loaded from disk).
        public var listAcceptedAt: Int64?
        public var crlThisUpdate: Int64?
        public var crlNextUpdate: Int64?
        public var crlEntries = 0
        public var crlAcceptedAt: Int64?
        public var lastListError: String?
        public var lastCRLError: String?
    }

    public let client: STIPAClient
    let trust: TrustStore
    let cache: ChainCache
    let stateDirectory: String?
    let logger: Logger
    let now: @Sendable () -> Int64
    private let state = Mutex(Status())

    /// Seconds between list refreshes, and after a failed one.
    public let listInterval: Int64 = 86_400
    public let retryInterval: Int64 = 3600
    /// Longest time between CRL refreshes (earlier at `nextUpdate`).
    public let crlInterval: Int64 = 43_200

    public init(client: STIPAClient, trust: TrustStore, cache: ChainCache, stateDirectory: String?, logger: Logger,
                now: @escaping @Sendable () -> Int64) {
        self.client = client
        self.trust = trust
        self.cache = cache
        self.stateDirectory = stateDirectory
        self.logger = logger
        self.now = now
    }

    public var status: Status { state.withLock { $0 } }

    var listFile: String? { stateDirectory.map { $0 + "/sti-pa-trust-list.jws" } }
    var crlFile: String? { stateDirectory.map { $0 + "/sti-pa.crl" } }

    /// Puts the last good list and CRL saved on disk in force, after checking
    /// them again (signer chain, signature, dates): a file that fails is ignored.
    public func loadSaved() async {
        if let path = listFile, let data = FileManager.default.contents(atPath: path) {
            do {
                let list = try STIPATrustList(compact: String(decoding: data, as: UTF8.self))
                let chain = try await client.signerChain(list.signerURL, what: "saved trust list")
                try await list.check(signerChain: chain, roots: client.settings.roots, at: now(), previousSequence: nil)
                accept(list, save: false)
            } catch {
                logger.warning("saved STI-PA trust list not used", metadata: ["reason": "\(error.detail)"])
            }
        }
        if let path = crlFile, let data = FileManager.default.contents(atPath: path) {
            do throws(CallsignError) {
                let crl = try CertificateRevocationList(pemOrDER: Array(data))
                guard let url = crl.signerCertificateURLs.first else { throw CallsignError(.stiPA, "no AIA") }
                let chain = try await client.signerChain(url, what: "saved STI-PA CRL")
                try await crl.checkSTIPA(signerChain: chain, roots: client.settings.roots, at: now())
                accept(crl, save: false)
            } catch {
                logger.warning("saved STI-PA CRL not used", metadata: ["reason": "\(error.detail)"])
            }
        }
    }

    /// Fetches, checks and puts in force the current list; on failure the list in force stays.
    @discardableResult
    public func refreshList() async -> Bool {
        Counter(label: "callsign_sti_pa_refresh_total", dimensions: [("what", "trust-list")]).increment()
        do {
            let token = try await client.login()
            let list = try await client.trustList(previousSequence: status.sequence, accessToken: token)
            accept(list, save: true)
            return true
        } catch {
            state.withLock { $0.lastListError = error.detail }
            Counter(label: "callsign_sti_pa_refresh_failures_total", dimensions: [("what", "trust-list")]).increment()
            logger.error("STI-PA trust list refused; the last good list stays in force", metadata: ["reason": "\(error.detail)"])
            return false
        }
    }

    /// Fetches, checks and puts in force the STI-PA CRL; on failure the CRL in force stays.
    @discardableResult
    public func refreshCRL() async -> Bool {
        guard client.settings.crlURL != nil else { return true }
        Counter(label: "callsign_sti_pa_refresh_total", dimensions: [("what", "crl")]).increment()
        do throws(CallsignError) {
            let crl = try await client.crl()
            if let current = status.crlThisUpdate, crl.thisUpdate < current {
                throw CallsignError(.stiPA, "STI-PA CRL: thisUpdate older than the CRL in force")
            }
            accept(crl, save: true)
            return true
        } catch {
            state.withLock { $0.lastCRLError = error.detail }
            Counter(label: "callsign_sti_pa_refresh_failures_total", dimensions: [("what", "crl")]).increment()
            logger.error("STI-PA CRL refused; the last good CRL stays in force", metadata: ["reason": "\(error.detail)"])
            return false
        }
    }

    private func accept(_ list: STIPATrustList, save: Bool) {
        let time = now()
        trust.replaceRoots(list.certificates)
        cache.removeAll()
        state.withLock { status in
            status.sequence = list.sequence
            status.listSize = list.certificates.count
            status.listExpires = list.expires
            status.listAcceptedAt = time
            status.lastListError = nil
        }
        if save, let path = listFile {
            do {
                try Data(list.compact.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                logger.warning("could not keep the STI-PA trust list on disk", metadata: ["path": "\(path)"])
            }
        }
        logger.info("STI-PA trust list in force", metadata: ["sequence": "\(list.sequence)", "sti_cas": "\(list.certificates.count)",
                                                              "expires": "\(list.expires)"])
        updateGauges()
    }

    private func accept(_ crl: CertificateRevocationList, save: Bool) {
        let time = now()
        trust.replaceCRLs([crl])
        cache.removeAll()
        state.withLock { status in
            status.crlThisUpdate = crl.thisUpdate
            status.crlNextUpdate = crl.nextUpdate
            status.crlEntries = crl.revoked.count
            status.crlAcceptedAt = time
            status.lastCRLError = nil
        }
        if save, let path = crlFile {
            do {
                try Data(crl.derBytes).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                logger.warning("could not keep the STI-PA CRL on disk", metadata: ["path": "\(path)"])
            }
        }
        logger.info("STI-PA CRL in force", metadata: ["revoked": "\(crl.revoked.count)", "next_update": "\(crl.nextUpdate ?? 0)"])
        updateGauges()
    }

    /// Sets `callsign_sti_pa_trust_list_age_seconds`, `…_sequence`, `…_size` and `callsign_sti_pa_crl_age_seconds`.
    public func updateGauges() {
        let time = now()
        let status = self.status
        if let accepted = status.listAcceptedAt {
            Gauge(label: "callsign_sti_pa_trust_list_age_seconds").record(time - accepted)
        }
        if let sequence = status.sequence { Gauge(label: "callsign_sti_pa_trust_list_sequence").record(sequence) }
        Gauge(label: "callsign_sti_pa_trust_list_size").record(status.listSize)
        if let thisUpdate = status.crlThisUpdate {
            Gauge(label: "callsign_sti_pa_crl_age_seconds").record(time - thisUpdate)
        }
    }

    /// Problems `/healthz` reports: no list, a list past its `exp`, a CRL past its `nextUpdate`.
    public func problems(at time: Int64) -> [String] {
        let status = self.status
        var problems: [String] = []
        if let expires = status.listExpires {
            if expires <= time { problems.append("STI-PA trust list expired at \(expires)") }
        } else {
            problems.append("no STI-PA trust list in force" + (status.lastListError.map { ": \($0)" } ?? ""))
        }
        if client.settings.crlURL != nil {
            if let next = status.crlNextUpdate {
                if next < time { problems.append("STI-PA CRL past its nextUpdate \(next)") }
            } else if status.crlThisUpdate == nil {
                problems.append("no STI-PA CRL in force" + (status.lastCRLError.map { ": \($0)" } ?? ""))
            }
        }
        return problems
    }

    /// Runs until cancelled: refreshes the list (daily, hourly after a
    /// failure) and the CRL (12 h or its nextUpdate, hourly after a failure),
    /// and updates the age gauges every `tick`.
    public func run(tick: Duration = .seconds(60)) async {
        // A list or CRL put in force at start is not fetched again at once.
        let status = self.status
        var nextList = status.listAcceptedAt.map { $0 + listInterval } ?? now()
        var nextCRL = status.crlAcceptedAt.map { _ in now() + crlInterval } ?? now()
        if let accepted = status.crlAcceptedAt, let next = status.crlNextUpdate { nextCRL = min(accepted + crlInterval, max(next, accepted + 60)) }
        while !Task.isCancelled {
            let time = now()
            if time >= nextList {
                let ok = await refreshList()
                nextList = now() + (ok ? listInterval : retryInterval)
            }
            if time >= nextCRL {
                let ok = await refreshCRL()
                var interval = ok ? crlInterval : retryInterval
                if ok, let next = status.crlNextUpdate { interval = max(60, min(interval, next - now())) }
                nextCRL = now() + interval
            }
            updateGauges()
            do {
                try await Task.sleep(for: tick)
            } catch {
                return
            }
        }
    }
}

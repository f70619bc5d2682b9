public import Callsign
public import CallsignFetch
public import CallsignSIP
public import CallsignHTTP
public import CallsignService
public import CallsignStore
import Crypto
import Foundation
import X509
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
public import Logging
import Metrics
import NIOCore
import Prometheus
public import ServiceLifecycle
import UnixSignals

/// Settings of `callsign serve` (flags, or `CALLSIGN_*` environment variables).
public struct ServeOptions: Sendable {
    public var dataDirectory = "./callsign-data"
    public var host = "127.0.0.1"
    public var port = 8080
    /// Trust anchors for verification; the development root when `nil`.
    public var trustPath: String?
    /// URL prefixes the x5u policy allows besides https (labs); the server's own `/certs/` in development mode.
    public var labAllow: [String] = []
    public var certificateProfile: STICertificateProfile.Mode = .lenient
    public var requireCRL = false
    public var numbering: NumberingPolicy = .e164
    /// A production signing identity (key + x5u); the development certificate when `nil`.
    public var signingKeyPath: String?
    public var signingX5U: String?
    /// Whether the service's identity signs for customers without one of their own (`signing.shared`).
    public var signingShared = true
    /// Customer id → its own signing identity (`customers[].signing`, FCC 24-120).
    public var customerSigning: [String: SigningIdentityOptions] = [:]
    /// Identities kept current over ACME (`signing.acme`, `customers[].signing.acme`).
    public var acme: [ACMERenewer.Target: ACMEIdentityOptions] = [:]
    /// Time between ACME renewal passes.
    public var acmeInterval: Duration = .seconds(3600)
    /// Configured customers; when `nil`, development mode adds a sample customer and token.
    public var customers: [Customer]?
    /// SIP redirect listeners (UDP) `HOST:PORT`; `nil` disables one.
    public var sipSign: String? = "127.0.0.1:5060"
    public var sipVerify: String? = "127.0.0.1:5062"
    /// Source address → customer id allowed to sign over SIP. In development
    /// mode (no customers configured) loopback is the sample customer's trunk.
    public var trunks: [String: String]?
    public var sipFailureAction: VerificationFailureAction = .reject
    /// Numbering policy per SIP source address.
    public var peerNumbering: [String: NumberingPolicy] = [:]
    /// The anti-spoofing rules every face applies (``PolicySet/defaultRules`` when none are configured).
    public var policy = PolicySet.Configuration()
    /// A PostgreSQL URL: the store shared by several nodes (SQLite in DATA when `nil`).
    public var postgresURL: String?
    /// How often the DNO list is reloaded from the store (other nodes' changes).
    public var dnoRefresh: Duration = .seconds(5)
    /// Inline proxies: (listen HOST:PORT, next hop IP:PORT).
    public var sipSignProxy: (String, String)?
    public var sipVerifyProxy: (String, String)?
    /// How the SIP redirect listeners read UDP: one socket per event loop
    /// (default; where SO_REUSEPORT and its BPF program cannot be used, one socket) or one socket.
    public var sipUDPSockets: SIPUDPSockets = .perEventLoop
    /// Timeouts and caps of the HTTP listener.
    public var httpLimits = HTTPLimits()
    /// Bounds of each SIP redirect listener.
    public var sipLimits = SIPListenerLimits()
    /// The STI-PA: when set, verification trusts exactly the STI-CAs on its current list and applies its CRL.
    public var stiPA: STIPAOptions?
    /// Signals, triggers, the alert webhook and the call records.
    public var analytics = AnalyticsOptions()

    public init() {}
}

/// The `analytics` and `records` configuration.
public struct AnalyticsOptions: Sendable {
    /// Triggers over the signals (none by default: nothing is alerted or refused).
    public var triggers: [SignalTrigger] = []
    /// Where each alert's JSON is POSTed.
    public var webhook: String?
    /// The file holding the secret that signs the webhook's POSTs (``WebhookSigningKey``); `nil`: unsigned.
    public var webhookSecretFile: String?
    /// Whether alert log lines show calling numbers (personal data: off by default).
    public var logNumbers = false
    /// How long verification records and per-minute counts are kept (`records.retention_days`).
    public var retentionDays = 7
    /// Whether verifications are recorded (`records.verification`).
    public var recordVerifications = true

    public init() {}

    /// Reads `webhook_secret_file`: the key that signs alert webhooks, or `nil` when none is configured.
    public func webhookSigningKey() throws(AppError) -> WebhookSigningKey? {
        guard let path = webhookSecretFile else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AppError(.configuration, "cannot read analytics.webhook_secret_file \(path)")
        }
        guard let key = WebhookSigningKey(serialized: String(decoding: data, as: UTF8.self)) else {
            throw AppError(.configuration, "analytics.webhook_secret_file \(path) must hold a base64 secret of 24 to 64 bytes, "
                           + "optionally prefixed whsec_ (Standard Webhooks)")
        }
        return key
    }
}

/// A signing identity: a P-256 key (PEM file) and the x5u of its certificate chain.
public struct SigningIdentityOptions: Sendable, Hashable {
    public var keyPath: String
    public var x5u: String

    public init(keyPath: String, x5u: String) {
        self.keyPath = keyPath
        self.x5u = x5u
    }

    /// Reads the key.
    func identity(name: String) throws(AppError) -> SigningIdentities.Identity {
        guard let pem = FileManager.default.contents(atPath: keyPath).map({ String(decoding: $0, as: UTF8.self) }) else {
            throw AppError(.setup, "cannot read the signing key \(keyPath)")
        }
        do {
            return SigningIdentities.Identity(name: name, key: try KeyLoading.privateKey(pem: pem), x5u: x5u)
        } catch {
            throw AppError(.setup, "the signing key \(keyPath): \(error.detail)")
        }
    }
}

/// The `sti_pa` configuration (flags `--sti-pa URL --sti-pa-root FILE`).
public struct STIPAOptions: Sendable, Hashable {
    /// The STI-PA API base URL.
    public var url: String
    /// The pinned STI-PA root certificate(s), PEM.
    public var rootPath: String
    public var user: String?
    /// A file holding the password (never the password itself in the configuration).
    public var passwordFile: String?
    /// The STI-PA CRL URL.
    public var crlURL: String?

    public init(url: String, rootPath: String, user: String? = nil, passwordFile: String? = nil, crlURL: String? = nil) {
        self.url = url
        self.rootPath = rootPath
        self.user = user
        self.passwordFile = passwordFile
        self.crlURL = crlURL
    }

    /// The client settings: the root and the password read from their files.
    public func settings() throws(AppError) -> STIPASettings {
        guard let text = FileManager.default.contents(atPath: rootPath).map({ String(decoding: $0, as: UTF8.self) }) else {
            throw AppError(.setup, "cannot read the STI-PA root \(rootPath)")
        }
        let roots: [Certificate]
        do {
            roots = try KeyLoading.certificates(pem: text)
        } catch {
            throw AppError(.setup, "the STI-PA root \(rootPath): \(error.detail)")
        }
        var password: String?
        if let passwordFile {
            guard let data = FileManager.default.contents(atPath: passwordFile) else {
                throw AppError(.setup, "cannot read the STI-PA password file \(passwordFile)")
            }
            password = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        }
        return STIPASettings(baseURL: url, roots: roots, user: user, password: password, crlURL: crlURL)
    }
}

/// A service refreshing the certificate repository cache ahead of expiry.
struct CertificateRefresher: Service {
    let repository: HTTPCertificateRepository
    let policy: X5UPolicy

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await repository.runRefresher(policy: policy)
        }
        try await repository.shutdown()
    }
}

/// Keeps the STI-PA's list and CRL current while `serve` runs.
struct STIPAService: Service {
    let refresher: STIPATrustRefresher

    func run() async throws {
        await cancelWhenGracefulShutdown { await refresher.run() }
        await refresher.client.shutdown()
    }
}

/// `callsign serve`: one process with the REST API, the lab certificate
/// repository and metrics, run in a ServiceGroup that shuts down gracefully
/// on SIGTERM/SIGINT.
public enum CallsignServe {
    public static func run(_ options: ServeOptions, banner: @escaping @Sendable (String) -> Void) async throws {
        let logger = Logger(label: "callsign")
        guard let url = options.postgresURL else {
            try await buildApplication(options, logger: logger, banner: banner).run()
            return
        }
        // The client runs while the group does: migrations and setup first, then the services.
        try await StoreAccess.withPostgres(url: url) { store in
            try await buildApplication(options, store: store, logger: logger, banner: banner).run()
        }
    }

    /// The process's metrics registry, behind `/metrics`: `MetricsSystem` takes one factory per process.
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    /// The process's metrics in Prometheus text form, as `/metrics` serves them.
    public static func metricsText() -> String {
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Raises the soft limit on open files to the hard limit (connections are
    /// files), and warns when the connection caps do not fit under it: past the
    /// limit `accept` fails and every listener stops taking connections.
    static func checkFileLimit(_ options: ServeOptions, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        let sipListeners = (options.sipSign == nil ? 0 : 1) + (options.sipVerify == nil ? 0 : 1)
        let caps = options.httpLimits.maxConnections + sipListeners * options.sipLimits.maxTCPConnections
        // Files besides connections: the store, its journal and WAL, x5u/CRL fetches, UDP sockets.
        if UInt64(caps) + 256 > UInt64(limit.rlim_cur) {
            logger.warning("connection caps (\(caps) in all) exceed the open-file limit \(limit.rlim_cur) less 256: lower --http-max-connections / --sip-tcp-max-connections or raise the limit (ulimit -n)")
        }
    }

    /// Builds `callsign serve` as one service group, every part wired from `options`: the store
    /// (SQLite in the data directory, or `store`), the development PKI on first run, the one
    /// policy in force, the decision flows, the REST listener (ATIS-1000082), the SIP redirect
    /// listeners and inline proxies (RFC 8224 / ATIS-1000074), traceback and the periodic tasks.
    /// Nothing listens until the group runs; `banner` is called once every listener is bound.
    /// The group stops gracefully on SIGTERM/SIGINT or `triggerGracefulShutdown()`.
    ///
    /// - Parameters:
    ///   - store: a store of several nodes (PostgreSQL), migrated, its client running while the group runs
    ///     (``StoreAccess/withPostgres(url:_:)``); SQLite in the data directory when `nil`.
    ///   - clock: seconds since the epoch; the system clock when `nil`.
    public static func buildApplication(_ options: ServeOptions, store externalStore: (any CallsignStore)? = nil,
                                        logger: Logger = Logger(label: "callsign"),
                                        now clock: (@Sendable () -> Int64)? = nil,
                                        banner: @escaping @Sendable (String) -> Void = { _ in }) async throws -> ServiceGroup
    {
        let now = clock ?? { Int64(Date().timeIntervalSince1970) }
        let baseURL = "http://\(authority(options.host, options.port))/certs"
        checkFileLimit(options, logger: logger)
        var setup = try await DevelopmentEnvironment.prepare(dataDirectory: options.dataDirectory, baseURL: baseURL, now: now(),
                                                             sampleCustomer: options.customers == nil, store: externalStore)
        if let keyPath = options.signingKeyPath, let x5u = options.signingX5U {
            guard let pem = FileManager.default.contents(atPath: keyPath).flatMap({ String(data: $0, encoding: .utf8) }) else {
                throw AppError(.setup, "cannot read the signing key \(keyPath)")
            }
            setup.signingKey = try KeyLoading.privateKey(pem: pem)
            setup.x5u = x5u
        }
        var roots = setup.roots
        if let trustPath = options.trustPath {
            guard let text = FileManager.default.contents(atPath: trustPath).flatMap({ String(data: $0, encoding: .utf8) }) else {
                throw AppError(.setup, "cannot read \(trustPath)")
            }
            roots = try KeyLoading.certificates(pem: text)
        }
        let store: any CallsignStore = try externalStore
            ?? SQLiteStore(path: setup.databasePath)
        for customer in options.customers ?? [] { try await store.saveCustomer(customer) }
        // One policy in force for every face. DNO entries from the store (`callsign dno import`, /admin/dno,
        // other nodes) join those of the configured file, and are reloaded periodically.
        let policySet = PolicySet(options.policy)
        @Sendable func reloadLists() async {
            if let stored = try? await store.loadDNO() { policySet.replaceStoredDNO(stored) }
            if let stored = try? await store.loadProtected() { policySet.replaceStoredProtected(stored) }
        }
        await reloadLists()
        let summary = policySet.summary
        logger.info("\(summary.rules)")
        if let warning = summary.warning { logger.warning("\(warning)") }
        let policy = X5UPolicy(labAllowPrefixes: options.labAllow.isEmpty ? [baseURL + "/"] : options.labAllow)
        let repository = HTTPCertificateRepository(now: now)
        // With a shared (PostgreSQL) store, nodes share fetched certificates and CRLs.
        let sharedRepository: any CertificateRepository = externalStore == nil
            ? repository : SharedCertificateRepository(http: repository, store: store, now: now)
        // With an STI-PA, the trust in force is its current list and CRL, kept current by the refresher.
        let trust: TrustStore? = options.stiPA == nil ? nil : TrustStore()
        let resolver = ChainValidatingResolver(policy: policy, repository: sharedRepository,
                                               validator: ChainValidator(roots: roots, mode: options.certificateProfile,
                                                                         requireCRL: options.requireCRL, trust: trust))
        let stiPARefresher: STIPATrustRefresher?
        if let stiPA = options.stiPA, let trust {
            let client = STIPAClient(settings: try stiPA.settings(), policy: policy, now: now)
            let refresher = STIPATrustRefresher(client: client, trust: trust, cache: resolver.cache,
                                                stateDirectory: options.dataDirectory, logger: logger, now: now)
            // Before any listener binds: the last good list from disk, then the STI-PA's current one.
            await refresher.loadSaved()
            await refresher.refreshList()
            await refresher.refreshCRL()
            stiPARefresher = refresher
        } else {
            stiPARefresher = nil
        }
        var verificationOptions = VerificationOptions()
        verificationOptions.numbering = options.numbering
        // The signing identities: the service's, and each customer's own (FCC 24-120).
        var customerIdentities: [String: SigningIdentities.Identity] = [:]
        for (id, identity) in options.customerSigning {
            customerIdentities[id] = try identity.identity(name: "customer:\(id)")
        }
        // The development certificate's SPC is known; a configured identity's is read from its x5u (SigningIdentityCheck).
        let identities = SigningIdentities(service: .init(name: "service", key: setup.signingKey, x5u: setup.x5u,
                                                          spc: options.signingKeyPath == nil ? DevelopmentEnvironment.spc : nil),
                                           serviceSignsForOthers: options.signingShared, customers: customerIdentities)
        if !customerIdentities.isEmpty || !options.signingShared {
            logger.info("signing identities: \(customerIdentities.count) customer certificate(s); customers without one are \(options.signingShared ? "signed with the service's" : "refused")")
        }
        var service = STIService(signingKey: setup.signingKey, x5u: setup.x5u, store: store,
                                 verifier: Verifier(options: verificationOptions), resolver: resolver,
                                 numbering: options.numbering, now: now)
        service.identities = identities
        // Identities kept current over ACME: what is saved is in force at once; the renewers run in the group.
        var renewers: [ACMERenewer] = []
        for (target, acme) in options.acme.sorted(by: { $0.key.name < $1.key.name }) {
            renewers.append(try Self.renewer(target: target, acme: acme, options: options, identities: identities, policy: policy,
                                             repository: repository, baseURL: baseURL, certificatesDirectory: setup.certificatesDirectory,
                                             logger: logger, now: now))
        }
        for renewer in renewers { renewer.loadSaved() }
        // Traceback, one path per store, decided here: SQLite makes each answered signing durable by a
        // journal append and moves records into the database in large transactions (TracebackJournal);
        // PostgreSQL group-commits concurrent signings. A signing is never answered before its record is durable.
        let recorder: GroupCommitRecorder
        if let sqlite = store as? SQLiteStore {
            guard let journal = try sqlite.openJournal() else {
                throw AppError(.setup, "the traceback journal \(sqlite.journalBase) is held by another process: another `callsign serve` uses \(options.dataDirectory)")
            }
            recorder = GroupCommitRecorder(store: store, journal: journal)
        } else {
            recorder = GroupCommitRecorder(store: store)
        }
        service.recorder = recorder
        service.tokenCache = CustomerCache()
        let trunkCustomers = CustomerCache()
        service.listsChanged = { await reloadLists() }
        service.policy = policySet
        // Signals, per-minute counts and verification records: counted on the call path, written by AnalyticsWriter.
        // On SQLite, verification records are journalled like traceback records: durable before the answer.
        var verificationJournal: VerificationJournal?
        if let sqlite = store as? SQLiteStore, options.analytics.recordVerifications {
            guard let journal = try sqlite.openVerificationJournal() else {
                throw AppError(.setup, "the verification journal \(sqlite.verificationJournalBase) is held by another process: another `callsign serve` uses \(options.dataDirectory)")
            }
            verificationJournal = journal
        }
        let analytics = CallAnalytics(triggers: options.analytics.triggers, recordsVerifications: options.analytics.recordVerifications,
                                      countryCode: options.numbering.countryCode, journal: verificationJournal)
        service.analytics = analytics
        let webhookKey = try options.analytics.webhookSigningKey()
        let webhook = options.analytics.webhook.map { AlertWebhook(url: $0, signingKey: webhookKey, logger: logger) }
        if !options.analytics.triggers.isEmpty {
            logger.info("analytics: \(options.analytics.triggers.map { "\($0.signal.rawValue) ≥ \($0.threshold)\($0.signal.isShare ? "%" : "") in \($0.windowS) s (\($0.mode.rawValue))" }.joined(separator: ", "))\(webhook.map { "; alerts to \($0.url)\(webhookKey == nil ? " (unsigned)" : " (signed)")" } ?? "")")
        }
        let router = buildRouter(service: service,
                                 configuration: HTTPFaceConfiguration(host: options.host, port: options.port,
                                                                      certificatesDirectory: setup.certificatesDirectory,
                                                                      adminTokenHash: APIToken.hash(setup.adminToken),
                                                                      limits: options.httpLimits,
                                                                      health: { stiPARefresher?.problems(at: now()) ?? [] }),
                                 registry: Self.registry,
                                 beforeMetrics: {
                                     let chains = resolver.cache.statistics
                                     Gauge(label: "callsign_chain_cache_hits").record(chains.hits)
                                     Gauge(label: "callsign_chain_cache_misses").record(chains.misses)
                                     Gauge(label: "callsign_chain_cache_entries").record(chains.count)
                                     let fetches = repository.statistics
                                     Gauge(label: "callsign_x5u_fetches").record(fetches.fetches)
                                     Gauge(label: "callsign_x5u_cache_hits").record(fetches.hits)
                                     let traceback = recorder.statistics
                                     Gauge(label: "callsign_traceback_transactions").record(traceback.batches)
                                     Gauge(label: "callsign_traceback_records").record(traceback.records)
                                 })
        let url = "http://\(authority(options.host, options.port))"
        let text = Self.banner(url: url, setup: setup, dataDirectory: options.dataDirectory)
        // The banner waits for every listener: HTTP, each SIP redirect listener and proxy.
        let listeners = 1 + (options.sipSign == nil ? 0 : 1) + (options.sipVerify == nil ? 0 : 1)
            + (options.sipSignProxy == nil ? 0 : 1) + (options.sipVerifyProxy == nil ? 0 : 1)
        let gate = StartupGate(listeners: listeners) { banner(text) }
        let app = Application(router: router, server: RESTHotPath(service: service, now: now).server(limits: options.httpLimits),
                              configuration: ApplicationConfiguration(address: .hostname(options.host, port: options.port),
                                                                      serverName: "callsign", backlog: Int(SIPListener.acceptBacklog)),
                              onServerRunning: { _ in gate.bound() }, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            // First in the list, so it stops last: signings in flight still commit.
            .init(service: TracebackWriter(recorder: recorder)),
            .init(service: AnalyticsWriter(analytics: analytics, store: store, webhook: webhook,
                                           retentionSeconds: Int64(options.analytics.retentionDays) * 86_400,
                                           logNumbers: options.analytics.logNumbers, logger: logger, now: now)),
            .init(service: NamedListener(name: "HTTP listener", address: authority(options.host, options.port) + " (TCP)", inner: app)),
            .init(service: CertificateRefresher(repository: repository, policy: policy)),
            .init(service: SigningIdentityCheck(identities: identities, resolver: resolver, logger: logger, now: now)),
        ]
        if let verificationJournal {
            // Next to the traceback writer, so it stops after the listeners: verifications in flight are still journalled.
            services.insert(.init(service: JournalIndexer(journal: verificationJournal)), at: 1)
        }
        if let webhook {
            services.append(.init(service: AlertWebhookService(webhook: webhook)))
        }
        if externalStore != nil, options.analytics.triggers.contains(where: { !$0.signal.isShare && $0.signal != .policyHits }) {
            // Nodes sharing a store: a campaign spread over them is counted again across their records.
            services.append(.init(service: PeriodicTask(interval: .seconds(5)) {
                do {
                    _ = try await analytics.checkAcrossNodes(store: store, now: now())
                } catch {
                    logger.warning("cross-node signal check failed: \(error)")
                }
            }))
        }
        if let stiPARefresher {
            services.append(.init(service: STIPAService(refresher: stiPARefresher)))
        }
        for renewer in renewers {
            services.append(.init(service: PeriodicCheck(interval: options.acmeInterval) { await renewer.check() }))
        }
        services.append(.init(service: PeriodicTask(interval: options.dnoRefresh) { await reloadLists() }))
        if let sqlite = store as? SQLiteStore {
            // WAL checkpoints off the commit path: a signing never waits for one (see SQLiteStore).
            try sqlite.disableAutomaticCheckpoints()
            services.append(.init(service: PeriodicTask(interval: .seconds(1)) {
                do { try await sqlite.checkpoint() } catch { logger.warning("SQLite checkpoint failed: \(error)") }
            }))
        }
        let trunks = options.trunks ?? (options.customers == nil ? ["127.0.0.1": "sample", "::1": "sample"] : [:])
        // The SIP faces: the redirect listeners and the inline proxies share these parts.
        let signingSetup = RedirectService.SigningSetup(trunks: trunks, identities: identities, recorder: recorder,
                                                        customers: trunkCustomers)
        let verificationSetup = RedirectService.VerificationSetup(verifier: Verifier(options: verificationOptions),
                                                                  failureAction: options.sipFailureAction)
        // One decision service per listener or proxy (each keeps its own answer cache), built from the shared parts.
        func decisions(_ role: RedirectService.Role) -> RedirectService {
            role == .signing
                ? RedirectService(signing: signingSetup, store: store, resolver: resolver, numbering: options.numbering,
                                  peerNumbering: options.peerNumbering, policy: policySet, analytics: analytics, now: now)
                : RedirectService(verification: verificationSetup, store: store, resolver: resolver, numbering: options.numbering,
                                  peerNumbering: options.peerNumbering, policy: policySet, analytics: analytics, now: now)
        }
        for (role, address) in [(RedirectService.Role.signing, options.sipSign), (.verification, options.sipVerify)] {
            guard let address else { continue }
            let (host, port) = try Self.hostPort(address)
            services.append(.init(service: SIPListener(host: host, port: port, service: decisions(role),
                                                       udpSockets: options.sipUDPSockets, limits: options.sipLimits, logger: logger,
                                                       gate: gate)))
        }
        for (role, pair) in [(RedirectService.Role.signing, options.sipSignProxy), (.verification, options.sipVerifyProxy)] {
            guard let (listen, next) = pair else { continue }
            let (host, port) = try Self.hostPort(listen)
            let (nextHost, nextPort) = try Self.hostPort(next)
            let proxy = StatelessProxy(decisions: decisions(role), nextHop: try SocketAddress(ipAddress: nextHost, port: nextPort),
                                       viaHost: host, viaPort: port)
            services.append(.init(service: SIPProxyListener(host: host, port: port, proxy: proxy, logger: logger, gate: gate)))
        }
        return ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    }

    /// The renewer of one ACME identity: its state in DATA/acme/NAME, chains published in
    /// `publish_dir` (default: the directory served at /certs/) at `x5u_base` (default: /certs/ of this server),
    /// SPC tokens from `token_file` or the configured STI-PA.
    static func renewer(target: ACMERenewer.Target, acme: ACMEIdentityOptions, options: ServeOptions, identities: SigningIdentities,
                        policy: X5UPolicy, repository: HTTPCertificateRepository, baseURL: String, certificatesDirectory: String,
                        logger: Logger, now: @escaping @Sendable () -> Int64) throws -> ACMERenewer
    {
        let state = options.dataDirectory + "/acme/" + target.name.replacingOccurrences(of: ":", with: "-")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let accountKeyPath = acme.accountKeyPath ?? state + "/account.key"
        let accountKey: P256.Signing.PrivateKey
        if let pem = FileManager.default.contents(atPath: accountKeyPath).map({ String(decoding: $0, as: UTF8.self) }) {
            accountKey = try KeyLoading.privateKey(pem: pem)
        } else {
            accountKey = P256.Signing.PrivateKey()
            try Data((accountKey.pemRepresentation + "\n").utf8).write(to: URL(fileURLWithPath: accountKeyPath), options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: accountKeyPath)
        }
        let configuration = ACMEConfiguration(directoryURL: acme.directory, policy: policy, trustRootsFile: acme.caBundle)
        let tokenFile = acme.tokenFile
        let stiPA = try options.stiPA?.settings()
        let token: @Sendable (SPCTokenAuthority) async throws(ACMEError) -> String = { authority throws(ACMEError) in
            if let tokenFile {
                guard let data = FileManager.default.contents(atPath: tokenFile) else { throw ACMEError("token", "cannot read \(tokenFile)") }
                return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard let stiPA else { throw ACMEError("token", "no token_file and no sti_pa configured") }
            do throws(CallsignError) {
                return try await STIPAClient.token(settings: stiPA, policy: policy, spid: acme.spc, authority: authority, now: now).compact
            } catch {
                throw ACMEError("token", error.detail)
            }
        }
        return ACMERenewer(target: target, options: acme, identities: identities, stateDirectory: state,
                           publishDirectory: acme.publishDirectory ?? certificatesDirectory, x5uBase: acme.x5uBase ?? baseURL,
                           client: { () throws(ACMEError) -> ACMEClient in
                               try ACMEClient(configuration: configuration, accountKey: accountKey, logger: logger)
                           },
                           token: token, fetch: { url in await repository.fetchFresh(url, policy: policy) }, logger: logger, now: now)
    }

    /// `HOST:PORT` or `[V6]:PORT`.
    public static func hostPort(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw AppError(.setup, "\(text) is not HOST:PORT")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    static func banner(url: String, setup: ServerSetup, dataDirectory: String) -> String {
        let token = setup.devToken ?? "<token>"
        let origid = setup.sampleCustomer?.origid ?? "123e4567-e89b-12d3-a456-426655440000"
        return """
            Callsign is listening on \(url)  (data: \(dataDirectory))
              signing       POST \(url)/stir/v1/signing        (API token in \(dataDirectory)/dev-token)
              verification  POST \(url)/stir/v1/verification
              certificates  \(setup.x5u)  (trust anchor: \(setup.certificatesDirectory)/root-ca.pem)
              traceback     GET  \(url)/traceback?origid=\(origid)  (admin token in \(dataDirectory)/admin-token)
              also          \(url)/healthz  \(url)/metrics  \(url)/openapi.yaml
            The sample customer "\(setup.sampleCustomer?.name ?? "sample")" owns +\(DevelopmentEnvironment.sampleRange.start)…+\(DevelopmentEnvironment.sampleRange.count) numbers from it (A attestation inside, B outside).

            Sign a call:
              curl -s \(url)/stir/v1/signing -H 'Authorization: Bearer \(token)' -H 'Content-Type: application/json' \\
                -d '{"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":'$(date +%s)',"orig":{"tn":"12155550042"},"origid":"\(origid)"}}'
            Sign and verify in one go:
              ID=$(curl -s \(url)/stir/v1/signing -H 'Authorization: Bearer \(token)' -H 'Content-Type: application/json' \\
                -d '{"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":'$(date +%s)',"orig":{"tn":"12155550042"},"origid":"\(origid)"}}' \\
                | python3 -c 'import json,sys; print(json.load(sys.stdin)["signingResponse"]["identity"])')
              curl -s \(url)/stir/v1/verification -H 'Content-Type: application/json' \\
                -d '{"verificationRequest":{"from":{"tn":"12155550042"},"to":{"tn":["12125551213"]},"time":'$(date +%s)',"identity":"'"$ID"'"}}'

            """
    }
}

/// Runs `action` every `interval` until graceful shutdown.
/// Leads the traceback batches of signings answered on the event loop
/// (``GroupCommitRecorder/run()``) until graceful shutdown.
struct TracebackWriter: Service {
    let recorder: GroupCommitRecorder

    func run() async throws {
        await cancelWhenGracefulShutdown { await recorder.run() }
    }
}

/// Moves the verification journal's records into the store (``RecordJournal/run()``)
/// until graceful shutdown.
struct JournalIndexer: Service {
    let journal: VerificationJournal

    func run() async throws {
        await cancelWhenGracefulShutdown { await journal.run() }
    }
}

/// Runs `action` at once, then every `interval`, until graceful shutdown.
struct PeriodicCheck: Service {
    let interval: Duration
    let action: @Sendable () async -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await action()
                do { try await Task.sleep(for: interval) } catch { return }
            }
        }
    }
}

struct PeriodicTask: Service {
    let interval: Duration
    let action: @Sendable () async -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                await action()
            }
        }
    }
}

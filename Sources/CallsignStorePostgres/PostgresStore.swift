public import Callsign
public import CallsignStore
import Logging
import NIOCore
public import PostgresNIO

/// The store for several Callsign nodes: PostgreSQL through postgres-nio.
/// The caller runs ``client`` (`client.run()`, e.g. as a Service) for as long
/// as the store is used. Schema changes are named migrations recorded in
/// `callsign_migration`, applied once under an advisory lock.
public final class PostgresStore: CallsignStore {
    public let client: PostgresClient
    let logger: Logger

    /// Most entries the shared certificate cache keeps (see ``saveCertificate(url:body:expires:)``).
    public let certificateCacheLimit: Int

    /// How long an operation on a call's path (token and customer lookups,
    /// traceback records, the shared certificate cache) may wait for PostgreSQL
    /// before it fails: with the server down or unreachable a signing is
    /// refused (POL5000) in this time instead of waiting for a reconnection.
    public let operationTimeout: Duration
    /// The same bound for the rest (DNO imports and loads, migrations, traceback queries).
    public let administrativeTimeout: Duration

    public init(client: PostgresClient, logger: Logger = Logger(label: "callsign.postgres"), certificateCacheLimit: Int = 10_000,
                operationTimeout: Duration = .seconds(3), administrativeTimeout: Duration = .seconds(120))
    {
        self.client = client
        self.logger = logger
        self.certificateCacheLimit = max(1, certificateCacheLimit)
        self.operationTimeout = operationTimeout
        self.administrativeTimeout = administrativeTimeout
    }

    /// Runs `operation` within `limit`: past it the operation is cancelled (postgres-nio gives up
    /// waiting for a connection) and the caller gets an error.
    func bounded<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw PostgresStoreError(.timeout, "PostgreSQL did not answer within \(limit)")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw PostgresStoreError(.timeout, "no result") }
            return first
        }
    }

    /// Parses `postgres://user:password@host:port/database` (no TLS: loopback labs and tests;
    /// use a configuration with TLS for networks).
    public static func configuration(url: String) throws -> PostgresClient.Configuration {
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else { throw PostgresStoreError(.badURL, "not a postgres:// URL") }
        let rest = url.split(separator: "://", maxSplits: 1).last.map(String.init) ?? ""
        guard let at = rest.lastIndex(of: "@") else { throw PostgresStoreError(.badURL, "URL needs user:password@host") }
        let credentials = rest[..<at].split(separator: ":", maxSplits: 1).map(String.init)
        let location = rest[rest.index(after: at)...]
        let hostPort = location.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        let database = location.split(separator: "/", maxSplits: 1).dropFirst().first.map(String.init) ?? "callsign"
        let hp = hostPort.split(separator: ":")
        guard let host = hp.first.map(String.init), credentials.count == 2 else { throw PostgresStoreError(.badURL, "bad postgres URL") }
        let port = hp.count > 1 ? Int(hp[1]) ?? 5432 : 5432
        var configuration = PostgresClient.Configuration(host: host, port: port, username: credentials[0], password: credentials[1],
                                                         database: database, tls: .disable)
        // A server that does not answer is given up on within the call path's bound, not 10 s.
        configuration.options.connectTimeout = .seconds(2)
        return configuration
    }

    /// Opens one connection to the server `configuration` names (as
    /// ``configuration(url:)`` reads it: no TLS) and closes it. A store that
    /// cannot be reached fails here within `timeout`, naming the server and
    /// the cause (refused, no answer, authentication, no such database),
    /// where the pool would retry for a minute and report only that its
    /// circuit breaker tripped. The password is never in the message.
    public static func probe(_ pool: PostgresClient.Configuration, timeout: Duration = .seconds(5),
                             logger: Logger = Logger(label: "callsign.postgres")) async throws {
        guard let host = pool.host, let port = pool.port else { return }
        var single = PostgresConnection.Configuration(host: host, port: port, username: pool.username, password: pool.password,
                                                      database: pool.database, tls: .disable)
        single.options.connectTimeout = .seconds(max(1, timeout.components.seconds))
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: single, id: 1, logger: logger)
        } catch let error as PSQLError {
            throw PostgresStoreError(.unreachable, "cannot connect to PostgreSQL at \(host):\(port): \(Self.cause(error))")
        } catch {
            throw PostgresStoreError(.unreachable, "cannot connect to PostgreSQL at \(host):\(port): \(error)")
        }
        try? await connection.close()
    }

    /// What a failed connection says: the server's message, or the network's.
    static func cause(_ error: PSQLError) -> String {
        if let message = error.serverInfo?[.message] { return message }
        if let underlying = error.underlying { return String(describing: underlying) }
        return String(describing: error.code)
    }

    static let migrations: [(String, [String])] = [
        ("v1-customers-tokens-traceback", [
            """
            CREATE TABLE customer (id TEXT PRIMARY KEY, name TEXT NOT NULL, origid TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL CHECK (kind IN ('direct', 'gateway')))
            """,
            """
            CREATE TABLE customer_number (customer_id TEXT NOT NULL REFERENCES customer(id) ON DELETE CASCADE,
                start TEXT NOT NULL, count BIGINT NOT NULL CHECK (count > 0), PRIMARY KEY (customer_id, start))
            """,
            """
            CREATE TABLE api_token (hash BYTEA PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customer(id) ON DELETE CASCADE,
                created_at BIGINT NOT NULL, revoked_at BIGINT)
            """,
            """
            CREATE TABLE signed_call (id BIGSERIAL PRIMARY KEY, time BIGINT NOT NULL, orig TEXT NOT NULL, dest TEXT NOT NULL,
                attest TEXT NOT NULL CHECK (attest IN ('A', 'B', 'C')), origid TEXT NOT NULL, customer_id TEXT NOT NULL, trunk TEXT)
            """,
            "CREATE INDEX signed_call_origid_time ON signed_call(origid, time)",
        ]),
        ("v2-dno", [
            """
            CREATE TABLE dno (value TEXT PRIMARY KEY CHECK (length(value) BETWEEN 1 AND 15), is_prefix BOOLEAN NOT NULL DEFAULT FALSE,
                label TEXT, added_at BIGINT NOT NULL)
            """,
        ]),
        ("v3-certificate-cache", [
            "CREATE TABLE certificate_cache (url TEXT PRIMARY KEY, body BYTEA NOT NULL, expires BIGINT NOT NULL)",
        ]),
        ("v4-signing-identity", [
            "ALTER TABLE signed_call ADD COLUMN identity TEXT",
            "ALTER TABLE signed_call ADD COLUMN attest_rule TEXT",
        ]),
        ("v5-protected-numbers", [
            """
            CREATE TABLE protected_number (entry TEXT PRIMARY KEY CHECK (length(entry) BETWEEN 1 AND 16), spcs TEXT NOT NULL DEFAULT '',
                customers TEXT NOT NULL DEFAULT '', label TEXT, action TEXT NOT NULL DEFAULT 'block' CHECK (action IN ('block', 'tag')),
                added_at BIGINT NOT NULL)
            """,
        ]),
        ("v6-call-records-rollups-alerts", [
            """
            CREATE TABLE verified_call (id BIGSERIAL PRIMARY KEY, time BIGINT NOT NULL, orig TEXT NOT NULL, dest TEXT NOT NULL,
                verstat TEXT NOT NULL, attest TEXT, spc TEXT, x5u TEXT, origid TEXT, source TEXT NOT NULL, reason TEXT,
                policy_action TEXT NOT NULL, policy_rule TEXT)
            """,
            "CREATE INDEX verified_call_orig_time ON verified_call(orig, time)",
            "CREATE INDEX verified_call_time ON verified_call(time)",
            "CREATE INDEX verified_call_origid_time ON verified_call(origid, time)",
            "CREATE INDEX signed_call_orig_time ON signed_call(orig, time)",
            """
            CREATE TABLE call_rollup (minute BIGINT NOT NULL, series TEXT NOT NULL, key TEXT NOT NULL, count BIGINT NOT NULL,
                PRIMARY KEY (minute, series, key))
            """,
            """
            CREATE TABLE call_alert (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, signal TEXT NOT NULL, key TEXT NOT NULL,
                count BIGINT NOT NULL, threshold BIGINT NOT NULL, window_s BIGINT NOT NULL, mode TEXT NOT NULL)
            """,
        ]),
        // Signing records carry the certificate's x5u and SPC and the policy outcome; refused signings are
        // recorded too (policy_action 'block'; NULL is allow) and kept out of the traceback.
        ("v7-signing-record-outcome", [
            "ALTER TABLE signed_call ADD COLUMN x5u TEXT",
            "ALTER TABLE signed_call ADD COLUMN spc TEXT",
            "ALTER TABLE signed_call ADD COLUMN policy_action TEXT",
            "ALTER TABLE signed_call ADD COLUMN policy_rule TEXT",
        ]),
    ]

    /// Applies the migrations not yet recorded (idempotent, safe with several nodes starting at once).
    public func migrate() async throws {
        try await bounded(administrativeTimeout) { [self] in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(7245081)", logger: logger)
                try await connection.query("CREATE TABLE IF NOT EXISTS callsign_migration (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ DEFAULT now())",
                                           logger: logger)
                var applied = Set<String>()
                for try await name in try await connection.query("SELECT name FROM callsign_migration", logger: logger).decode(String.self) {
                    applied.insert(name)
                }
                for (name, statements) in Self.migrations where !applied.contains(name) {
                    for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                    try await connection.query("INSERT INTO callsign_migration (name) VALUES (\(name))", logger: logger)
                }
            }
        }
    }

    public func saveCustomer(_ customer: Customer) async throws {
        try await bounded(administrativeTimeout) { [self] in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("""
                    INSERT INTO customer (id, name, origid, kind) VALUES (\(customer.id), \(customer.name), \(customer.origid), \(customer.kind.rawValue))
                    ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, origid = EXCLUDED.origid, kind = EXCLUDED.kind
                    """, logger: logger)
                try await connection.query("DELETE FROM customer_number WHERE customer_id = \(customer.id)", logger: logger)
                for block in customer.numbers {
                    try await connection.query("INSERT INTO customer_number (customer_id, start, count) VALUES (\(customer.id), \(block.start), \(block.count))",
                                               logger: logger)
                }
            }
        }
    }

    public func customer(id: String) async throws -> Customer? {
        try await bounded(operationTimeout) { [self] in
            var found: (String, String, String, String)?
            for try await row in try await client.query("SELECT id, name, origid, kind FROM customer WHERE id = \(id)", logger: logger)
                .decode((String, String, String, String).self)
            {
                found = row
            }
            guard let (cid, name, origid, kind) = found else { return nil }
            var numbers: [NumberBlock] = []
            for try await (start, count) in try await client.query("SELECT start, count FROM customer_number WHERE customer_id = \(id) ORDER BY start",
                                                                     logger: logger).decode((String, Int64).self) {
                numbers.append(NumberBlock(start: start, count: count))
            }
            return Customer(id: cid, name: name, origid: origid, kind: Customer.Kind(rawValue: kind) ?? .direct, numbers: numbers)
        }
    }

    public func addToken(hash: [UInt8], customerID: String, now: Int64) async throws {
        try await bounded(operationTimeout) { [self] in
            _ = try await client.query("INSERT INTO api_token (hash, customer_id, created_at) VALUES (\(ByteBuffer(bytes: hash)), \(customerID), \(now))", logger: logger)
        }
    }

    public func revokeToken(hash: [UInt8], now: Int64) async throws {
        try await bounded(operationTimeout) { [self] in
            _ = try await client.query("UPDATE api_token SET revoked_at = \(now) WHERE hash = \(ByteBuffer(bytes: hash)) AND revoked_at IS NULL", logger: logger)
        }
    }

    public func customer(tokenHash: [UInt8]) async throws -> Customer? {
        try await bounded(operationTimeout) { [self] in
            var id: String?
            for try await value in try await client.query("SELECT customer_id FROM api_token WHERE hash = \(ByteBuffer(bytes: tokenHash)) AND revoked_at IS NULL",
                                                          logger: logger).decode(String.self) {
                id = value
            }
            guard let id else { return nil }
            return try await customer(id: id)
        }
    }

    public func record(_ calls: [SignedCallRecord]) async throws {
        try await bounded(operationTimeout) { [self] in
            guard !calls.isEmpty else { return }
            try await client.withTransaction(logger: logger) { connection in
                for call in calls {
                    try await connection.query("""
                        INSERT INTO signed_call (time, orig, dest, attest, origid, customer_id, trunk, identity, attest_rule, x5u, spc,
                                                 policy_action, policy_rule)
                        VALUES (\(call.time), \(call.orig), \(call.dest.joined(separator: ",")), \(call.attestation.rawValue), \(call.origid),
                                \(call.customerID), \(call.trunk), \(call.identity), \(call.attestationRule), \(call.x5u), \(call.spc),
                                \(call.policyAction == "allow" ? nil : call.policyAction), \(call.policyRule))
                        """, logger: logger)
                }
            }
        }
    }

    /// A signing record's columns, in ``SignedRow``'s order.
    static let signedColumns = "time, orig, dest, attest, origid, customer_id, trunk, identity, attest_rule, x5u, spc, policy_action, policy_rule"
    typealias SignedRow = (Int64, String, String, String, String, String, String?, String?, String?, String?, String?, String?, String?)

    static func signedRecord(_ row: SignedRow) -> SignedCallRecord {
        let (time, orig, dest, attest, origid, customer, trunk, identity, rule, x5u, spc, action, policyRule) = row
        return SignedCallRecord(time: time, orig: orig, dest: dest.split(separator: ",").map(String.init),
                                attestation: PASSporT.Attestation(rawValue: attest) ?? .gateway, origid: origid, customerID: customer,
                                trunk: trunk, identity: identity, attestationRule: rule, x5u: x5u, spc: spc, policyAction: action ?? "allow",
                                policyRule: policyRule)
    }

    public func traceback(origid: String, since: Int64?, until: Int64?, limit: Int) async throws -> [SignedCallRecord] {
        try await bounded(administrativeTimeout) { [self] in
            var records: [SignedCallRecord] = []
            let rows = try await client.query("""
                SELECT \(unescaped: Self.signedColumns) FROM signed_call
                WHERE origid = \(origid.lowercased()) AND time >= \(since ?? 0) AND time <= \(until ?? Int64.max)
                  AND coalesce(policy_action, '') <> 'block'
                ORDER BY time DESC, id DESC LIMIT \(max(1, min(limit, 10_000)))
                """, logger: logger)
            for try await row in rows.decode(SignedRow.self) { records.append(Self.signedRecord(row)) }
            return records
        }
    }

    public func importDNO(_ entries: [DNOEntry], replace: Bool, now: Int64, progress: (@Sendable (Int) -> Void)?) async throws {
        try await bounded(administrativeTimeout) { [self] in
            try await client.withTransaction(logger: logger) { connection in
                if replace { try await connection.query("DELETE FROM dno", logger: logger) }
                var index = 0
                // Batches of 1000 rows per statement via UNNEST.
                while index < entries.count {
                    let batch = entries[index..<min(index + 1000, entries.count)]
                    let values = batch.map(\.value)
                    let prefixes = batch.map(\.isPrefix)
                    let labels = batch.map { $0.label ?? "" }
                    try await connection.query("""
                        INSERT INTO dno (value, is_prefix, label, added_at)
                        SELECT v, p, NULLIF(l, ''), \(now) FROM UNNEST(\(values)::TEXT[], \(prefixes)::BOOLEAN[], \(labels)::TEXT[]) AS t(v, p, l)
                        ON CONFLICT (value) DO UPDATE SET is_prefix = EXCLUDED.is_prefix, label = EXCLUDED.label
                        """, logger: logger)
                    index += batch.count
                    if index % 100_000 < 1000 { progress?(index) }
                }
            }
        }
    }

    public func removeDNO(_ value: String) async throws -> Bool {
        try await bounded(administrativeTimeout) { [self] in
            var removed = false
            for try await _ in try await client.query("DELETE FROM dno WHERE value = \(value) RETURNING value", logger: logger).decode(String.self) {
                removed = true
            }
            return removed
        }
    }

    public func listDNO(limit: Int, after: String?) async throws -> [DNOEntry] {
        try await bounded(administrativeTimeout) { [self] in
            var entries: [DNOEntry] = []
            for try await (value, isPrefix, label) in try await client.query("""
                SELECT value, is_prefix, label FROM dno WHERE value > \(after ?? "") ORDER BY value LIMIT \(max(1, min(limit, 100_000)))
                """, logger: logger).decode((String, Bool, String?).self) {
                entries.append(DNOEntry(value: value, isPrefix: isPrefix, label: label))
            }
            return entries
        }
    }

    public func cachedCertificate(url: String, now: Int64) async throws -> [UInt8]? {
        try await bounded(operationTimeout) { [self] in
            var body: [UInt8]?
            for try await buffer in try await client.query("SELECT body FROM certificate_cache WHERE url = \(url) AND expires > \(now)",
                                                           logger: logger).decode(ByteBuffer.self) {
                body = Array(buffer.readableBytesView)
            }
            return body
        }
    }

    public func saveCertificate(url: String, body: [UInt8], expires: Int64) async throws {
        try await bounded(operationTimeout) { [self] in
            try await client.query("""
                INSERT INTO certificate_cache (url, body, expires) VALUES (\(url), \(ByteBuffer(bytes: body)), \(expires))
                ON CONFLICT (url) DO UPDATE SET body = EXCLUDED.body, expires = EXCLUDED.expires
                """, logger: logger)
            // Bounded like every cache: entries expired 30 days, then the ones expiring first past the limit
            // (x5u URLs come from calls, so a caller could otherwise grow the table one URL at a time).
            let limit = certificateCacheLimit
            try await client.query("DELETE FROM certificate_cache WHERE expires < \(expires - 30 * 86_400)", logger: logger)
            try await client.query("""
                DELETE FROM certificate_cache WHERE url IN (SELECT url FROM certificate_cache ORDER BY expires, url
                    LIMIT GREATEST(0, (SELECT count(*) FROM certificate_cache) - \(limit)))
                """, logger: logger)
        }
    }

    public func importProtected(_ entries: [ProtectedNumber], replace: Bool, now: Int64) async throws {
        try await bounded(administrativeTimeout) { [self] in
            try await client.withTransaction(logger: logger) { connection in
                if replace { try await connection.query("DELETE FROM protected_number", logger: logger) }
                for entry in entries {
                    try await connection.query("""
                        INSERT INTO protected_number (entry, spcs, customers, label, action, added_at)
                        VALUES (\(entry.entry), \(ProtectedNumber.joined(entry.spcs)), \(ProtectedNumber.joined(entry.customers)), \(entry.label),
                                \(entry.action.rawValue), \(now))
                        ON CONFLICT (entry) DO UPDATE SET spcs = EXCLUDED.spcs, customers = EXCLUDED.customers, label = EXCLUDED.label,
                            action = EXCLUDED.action
                        """, logger: logger)
                }
            }
        }
    }

    public func removeProtected(_ entry: String) async throws -> Bool {
        try await bounded(administrativeTimeout) { [self] in
            var removed = false
            for try await _ in try await client.query("DELETE FROM protected_number WHERE entry = \(entry) RETURNING entry", logger: logger)
                .decode(String.self)
            {
                removed = true
            }
            return removed
        }
    }

    public func listProtected(limit: Int, after: String?) async throws -> [ProtectedNumber] {
        try await bounded(administrativeTimeout) { [self] in
            var entries: [ProtectedNumber] = []
            for try await (entry, spcs, customers, label, action) in try await client.query("""
                SELECT entry, spcs, customers, label, action FROM protected_number WHERE entry > \(after ?? "")
                ORDER BY entry LIMIT \(max(1, min(limit, 100_000)))
                """, logger: logger).decode((String, String, String, String?, String).self) {
                entries.append(ProtectedNumber(entry: entry, spcs: spcs, customers: customers, label: label, action: action))
            }
            return entries
        }
    }

    public func loadProtected() async throws -> ProtectedNumbers {
        ProtectedNumbers(try await listProtected(limit: 100_000, after: nil))
    }

    public func recordVerified(_ calls: [VerifiedCallRecord]) async throws {
        try await bounded(administrativeTimeout) { [self] in
            guard !calls.isEmpty else { return }
            try await client.withTransaction(logger: logger) { connection in
                for c in calls {
                    try await connection.query("""
                        INSERT INTO verified_call (time, orig, dest, verstat, attest, spc, x5u, origid, source, reason, policy_action, policy_rule)
                        VALUES (\(c.time), \(c.orig), \(c.dest), \(c.verstat), \(c.attestation), \(c.spc), \(c.x5u), \(c.origid), \(c.source),
                                \(c.reason), \(c.policyAction), \(c.policyRule))
                        """, logger: logger)
                }
            }
        }
    }

    public func calls(number: String, since: Int64?, until: Int64?, limit: Int) async throws -> [CallRecord] {
        try await bounded(administrativeTimeout) { [self] in
            let limit = max(1, min(limit, 10_000)), since = since ?? 0, until = until ?? Int64.max
            var signed: [CallRecord] = []
            for try await row in try await client.query("""
                SELECT \(unescaped: Self.signedColumns) FROM signed_call
                WHERE orig = \(number) AND time >= \(since) AND time <= \(until) ORDER BY time DESC, id DESC LIMIT \(limit)
                """, logger: logger).decode(SignedRow.self) {
                signed.append(.signed(Self.signedRecord(row)))
            }
            var verified: [CallRecord] = []
            for try await (time, orig, dest, verstat, attest, spc, x5u, origid, source, reason, action, rule) in try await client.query("""
                SELECT time, orig, dest, verstat, attest, spc, x5u, origid, source, reason, policy_action, policy_rule FROM verified_call
                WHERE orig = \(number) AND time >= \(since) AND time <= \(until) ORDER BY time DESC, id DESC LIMIT \(limit)
                """, logger: logger).decode((Int64, String, String, String, String?, String?, String?, String?, String, String?, String, String?).self) {
                verified.append(.verified(VerifiedCallRecord(time: time, orig: orig, dest: dest, verstat: verstat, attestation: attest, spc: spc,
                                                             x5u: x5u, origid: origid, source: source, reason: reason, policyAction: action,
                                                             policyRule: rule)))
            }
            return Array(CallRecord.newestFirst(signed, verified).prefix(limit))
        }
    }

    public func pruneVerified(before: Int64) async throws -> Int {
        try await bounded(administrativeTimeout) { [self] in
            var removed: Int64 = 0
            for try await count in try await client.query(
                "WITH gone AS (DELETE FROM verified_call WHERE time < \(before) RETURNING 1) SELECT count(*) FROM gone", logger: logger
            ).decode(Int64.self) {
                removed = count
            }
            return Int(removed)
        }
    }

    public func addRollups(_ rollups: [CallRollup]) async throws {
        try await bounded(administrativeTimeout) { [self] in
            guard !rollups.isEmpty else { return }
            try await client.withTransaction(logger: logger) { connection in
                for r in rollups {
                    try await connection.query("""
                        INSERT INTO call_rollup (minute, series, key, count) VALUES (\(r.minute), \(r.series), \(r.key), \(r.count))
                        ON CONFLICT (minute, series, key) DO UPDATE SET count = call_rollup.count + excluded.count
                        """, logger: logger)
                }
            }
        }
    }

    public func rollups(since: Int64) async throws -> [CallRollup] {
        try await bounded(administrativeTimeout) { [self] in
            var rows: [CallRollup] = []
            for try await (minute, series, key, count) in try await client.query(
                "SELECT minute, series, key, count FROM call_rollup WHERE minute >= \(since)", logger: logger
            ).decode((Int64, String, String, Int64).self) {
                rows.append(CallRollup(minute: minute, series: series, key: key, count: count))
            }
            return rows
        }
    }

    public func pruneRollups(before: Int64) async throws {
        try await bounded(administrativeTimeout) { [self] in
            _ = try await client.query("DELETE FROM call_rollup WHERE minute < \(before)", logger: logger)
        }
    }

    public func signalCount(_ query: SignalQuery, since: Int64) async throws -> Int {
        try await bounded(administrativeTimeout) { [self] in
            let rows: PostgresRowSequence
            switch query {
            case .origins(let number):
                rows = try await client.query("""
                    SELECT (SELECT count(DISTINCT coalesce(origid, '-') || ' ' || coalesce(spc, '-') || ' ' || source) FROM verified_call
                            WHERE orig = \(number) AND time >= \(since))
                         + (SELECT count(DISTINCT customer_id) FROM signed_call WHERE orig = \(number) AND time >= \(since))
                    """, logger: logger)
            case .numbersSigned(let origid):
                rows = try await client.query("SELECT count(DISTINCT orig) FROM signed_call WHERE origid = \(origid.lowercased()) AND time >= \(since)",
                                              logger: logger)
            case .numbersVerified(let origid):
                rows = try await client.query("SELECT count(DISTINCT orig) FROM verified_call WHERE origid = \(origid) AND time >= \(since)",
                                              logger: logger)
            }
            var count: Int64 = 0
            for try await value in rows.decode(Int64.self) { count = value }
            return Int(count)
        }
    }

    @discardableResult
    public func saveAlert(_ alert: CallAlert) async throws -> Bool {
        try await bounded(administrativeTimeout) { [self] in
            var kept = false
            for try await _ in try await client.query("""
                INSERT INTO call_alert (at, signal, key, count, threshold, window_s, mode)
                SELECT \(alert.at), \(alert.signal), \(alert.key), \(alert.count), \(alert.threshold), \(alert.windowS), \(alert.mode)
                WHERE NOT EXISTS (SELECT 1 FROM call_alert WHERE signal = \(alert.signal) AND key = \(alert.key)
                                  AND at > \(alert.at - alert.windowS) AND at <= \(alert.at))
                RETURNING id
                """, logger: logger).decode(Int64.self) {
                kept = true
            }
            guard kept else { return false }
            try await client.query("DELETE FROM call_alert WHERE id <= (SELECT max(id) FROM call_alert) - \(Int64(CallAlert.kept))",
                                   logger: logger)
            return true
        }
    }

    public func alerts(limit: Int) async throws -> [CallAlert] {
        try await bounded(administrativeTimeout) { [self] in
            var alerts: [CallAlert] = []
            for try await (at, signal, key, count, threshold, window, mode) in try await client.query("""
                SELECT at, signal, key, count, threshold, window_s, mode FROM call_alert ORDER BY at DESC, id DESC
                LIMIT \(max(1, min(limit, CallAlert.kept)))
                """, logger: logger).decode((Int64, String, String, Int64, Int64, Int64, String).self) {
                alerts.append(CallAlert(signal: signal, key: key, count: count, threshold: threshold, windowS: window, mode: mode, at: at))
            }
            return alerts
        }
    }

    public func loadDNO() async throws -> DNOList {
        try await bounded(administrativeTimeout) { [self] in
            var list = DNOList()
            for try await (value, isPrefix) in try await client.query("SELECT value, is_prefix FROM dno", logger: logger).decode((String, Bool).self) {
                if isPrefix { list.add(prefix: value) } else { list.add(number: value) }
            }
            return list
        }
    }
}

/// Why the PostgreSQL store failed an operation of its own; postgres-nio's
/// errors pass through as the driver reports them.
public struct PostgresStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; the raw values are stable.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The server did not answer within the operation's bound (3 s on a call's path).
        case timeout
        /// The `postgres://` URL cannot be read.
        case badURL = "bad-url"
        /// No connection could be opened (``PostgresStore/probe(_:timeout:logger:)``).
        case unreachable
    }

    public var code: Code
    public var detail: String
    public var description: String { detail }

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }
}

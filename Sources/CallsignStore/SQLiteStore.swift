public import Callsign
public import GRDB
import GRDBSQLite
import Synchronization

/// The embedded default store: SQLite through GRDB, in WAL mode, with
/// append-only named migrations.
public final class SQLiteStore: CallsignStore, JournalTarget {
    public let pool: DatabasePool
    /// The database file (the checkpoint connection opens it too).
    private let path: String
    /// A connection of its own for ``checkpoint()``, opened on first use.
    private let checkpointConnection = Mutex<DatabaseQueue?>(nil)

    /// SQLite's busy handler for every connection of the store: retry every
    /// 100 µs for up to 5 s. SQLite's own timeout handler sleeps 1, 2, 5, 10,
    /// … 100 ms between tries, so a commit held back for 2 ms by a RESTART
    /// checkpoint would wait 3 ms or more, and every signing of its batch with it.
    static let waitWhileBusy: Database.BusyCallback = { tries in
        guard tries < 50_000 else { return false }
        usleep(100)
        return true
    }

    /// WAL frames past which ``checkpoint()`` restarts the log (see there).
    public let walRestartFrames: Int
    /// Most entries the shared certificate cache keeps.
    public let certificateCacheLimit: Int
    /// The WAL's frames at the last passive checkpoint.
    private let lastWalFrames = Mutex(0)

    /// Opens (and migrates) the database at `path`.
    /// - Parameter walRestartFrames: the WAL's bound in frames (pages) for
    ///   ``checkpoint()``: 16,384 frames is 64 MiB at SQLite's 4 KiB pages.
    /// - Parameter certificateCacheLimit: most entries the shared certificate
    ///   cache keeps (``saveCertificate(url:body:expires:)`` drops those expiring first).
    public init(path: String, walRestartFrames: Int = 16_384, certificateCacheLimit: Int = 10_000) throws {
        self.path = path
        self.certificateCacheLimit = max(1, certificateCacheLimit)
        self.walRestartFrames = max(1, walRestartFrames)
        var configuration = Configuration()
        configuration.busyMode = .callback(Self.waitWhileBusy)
        // Reads are rare on the call path (customers and tokens are cached, traceback
        // and DNO listings are admin reads): two readers bound the page caches that
        // soak runs saw grow RSS in one late step (BENCHMARKS.md, Soak).
        configuration.maximumReaderCount = 2
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
        // Records a stopped or killed `serve` answered but had not moved in yet
        // (nothing when a live process holds the journal). A store that cannot
        // take them now (read-only files) still opens for reading: the records
        // stay in the journal for the next open that can.
        _ = try? TracebackJournal.recover(base: journalBase, into: self)
        _ = try? VerificationJournal.recover(base: verificationJournalBase, into: VerificationRecords(store: self))
    }

    /// The path prefix of the traceback journal's files (``TracebackJournal``).
    public var journalBase: String { path + "-traceback" }

    /// The path prefix of the verification records' journal (``VerificationJournal``).
    public var verificationJournalBase: String { path + "-verified" }

    /// The journals opened by ``openJournal()`` and ``openVerificationJournal()``, held weakly (they hold the store).
    private let openedJournal = Mutex<WeakBox<SignedCallRecord>?>(nil)
    private let openedVerificationJournal = Mutex<WeakBox<VerifiedCallRecord>?>(nil)

    private final class WeakBox<Record: JournalRecord>: @unchecked Sendable {
        weak var journal: RecordJournal<Record>?
        init(_ journal: RecordJournal<Record>) { self.journal = journal }
    }

    /// Waits until both journals' appended records are in the database (a read sees what was answered).
    private func flushJournals() async {
        if let journal = openedJournal.withLock({ $0?.journal }) { await journal.flush() }
        if let journal = openedVerificationJournal.withLock({ $0?.journal }) { await journal.flush() }
    }

    /// Opens the traceback journal of this store for appending
    /// (``TracebackJournal/open(base:target:segmentLimit:interval:maxBacklog:eagerBatch:)``);
    /// `nil` when another process holds it. ``traceback(origid:since:until:limit:)``
    /// waits for its appended records to be in the database before reading.
    public func openJournal(interval: Duration = .milliseconds(20)) throws -> TracebackJournal? {
        guard let journal = try TracebackJournal.open(base: journalBase, target: self, interval: interval) else { return nil }
        openedJournal.withLock { $0 = WeakBox(journal) }
        return journal
    }

    /// Opens the verification records' journal of this store for appending; `nil` when another
    /// process holds it. ``calls(number:since:until:limit:)`` waits for its records before reading.
    ///
    /// Its records move into the database every 100 ms, or once 2,048 wait: each transaction
    /// writes the table's and index's last pages to the WAL again, so fewer, larger ones cost
    /// less per verification; reads in this process flush first, another process's may be 100 ms behind.
    public func openVerificationJournal(interval: Duration = .milliseconds(100), eagerBatch: Int = 2_048) throws -> VerificationJournal? {
        guard let journal = try VerificationJournal.open(base: verificationJournalBase, target: VerificationRecords(store: self),
                                                         interval: interval, eagerBatch: eagerBatch) else { return nil }
        openedVerificationJournal.withLock { $0 = WeakBox(journal) }
        return journal
    }

    public func applyJournal(_ records: [SignedCallRecord], through position: JournalPosition) throws {
        try applyJournal(table: "traceback_journal", position) { db in try Self.insertAll(records, db) }
    }

    public func journalPosition() throws -> JournalPosition {
        try journalPosition(table: "traceback_journal")
    }

    /// Where the verification journal moves its records: `verified_call`, and its position in `verification_journal`.
    public struct VerificationRecords: JournalTarget {
        let store: SQLiteStore

        public init(store: SQLiteStore) { self.store = store }

        public func applyJournal(_ records: [VerifiedCallRecord], through position: JournalPosition) throws {
            try store.applyJournal(table: "verification_journal", position) { db in try SQLiteStore.insertVerified(records, db) }
        }

        public func journalPosition() throws -> JournalPosition {
            try store.journalPosition(table: "verification_journal")
        }
    }

    /// Runs `insert` and saves `position` in `table` in one immediate transaction.
    private func applyJournal(table: String, _ position: JournalPosition, insert: (Database) throws -> Void) throws {
        try pool.writeWithoutTransaction { db in
            try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
            do {
                try insert(db)
                try db.cachedStatement(sql: """
                    INSERT INTO \(table) (id, segment, records) VALUES (1, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET segment = excluded.segment, records = excluded.records
                    """).execute(arguments: [position.segment, position.records])
                try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
            } catch {
                if db.isInsideTransaction { try? db.rollback() }
                throw error
            }
        }
    }

    private func journalPosition(table: String) throws -> JournalPosition {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT segment, records FROM \(table) WHERE id = 1") else { return .zero }
            return JournalPosition(segment: row["segment"], records: row["records"])
        }
    }

    /// Stops SQLite from checkpointing the WAL inside the commit that crosses
    /// 1,000 pages (`PRAGMA wal_autocheckpoint = 0` on the writing connection):
    /// that commit's callers would wait for the copy and its two `fdatasync`s
    /// (0.3–5 ms each on the benchmark VM, see BENCHMARKS.md; as long as
    /// the disk makes them elsewhere). Whoever calls this must call ``checkpoint()``
    /// regularly (`callsign serve` does, every second), or the WAL grows
    /// until the last connection closes.
    public func disableAutomaticCheckpoints() throws {
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
    }

    /// A PASSIVE checkpoint (SQLite §"Checkpointing") on a connection of its
    /// own, so the writer goes on committing meanwhile: copies what it can of
    /// the WAL into the database and syncs it. Runs on that connection's
    /// queue; the caller suspends, no concurrency-pool thread waits on the disk.
    ///
    /// A passive checkpoint alone never bounds the WAL under a steady write
    /// load: the log starts over only when a writer begins after *every* frame
    /// was copied, and a writer committing hundreds of times a second always
    /// appends during the copy (a soak at 3,000 signings/s grew the WAL by
    /// 12 MB/s and the mapped `-shm` index, in RSS, by 22 kB/s). So past
    /// ``walRestartFrames`` frames this also runs a RESTART checkpoint: it
    /// waits for the commit in progress, holds the next one back while it
    /// copies the last frames and syncs (most were copied by the passive
    /// checkpoints of the seconds before), and the next commit starts the log
    /// over. The WAL file keeps its size, so disk use stays near the bound.
    /// - Returns: the WAL's frames and how many of them are now checkpointed
    ///   (after a restart, both describe the log just before it starts over;
    ///   when the writer was in the way, the frames last seen and 0).
    @discardableResult
    public func checkpoint() async throws -> (walFrames: Int, checkpointed: Int) {
        let queue = try checkpointConnection.withLock { queue -> DatabaseQueue in
            if let queue { return queue }
            var configuration = Configuration()
            configuration.busyMode = .callback(Self.waitWhileBusy)
            let opened = try DatabaseQueue(path: path, configuration: configuration)
            queue = opened
            return opened
        }
        let limit = walRestartFrames
        let result = try await queue.writeWithoutTransaction { [self] db in
            do {
                let passive = try db.checkpoint(.passive)
                lastWalFrames.withLock { $0 = passive.walFrameCount }
                guard passive.walFrameCount > limit else { return passive }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                // A passive checkpoint does not wait: it gives up when a transaction of the
                // writer holds what it needs (read lock 0, held by a writer that began
                // after everything was copied). Nothing to copy then, or next time; but a
                // log known to be over its bound is restarted all the same, waiting as RESTART does.
                let last = lastWalFrames.withLock { $0 }
                guard last > limit else { return (walFrameCount: last, checkpointedFrameCount: 0) }
            }
            let restart = try db.checkpoint(.restart)
            lastWalFrames.withLock { $0 = 0 }
            return restart
        }
        return (result.walFrameCount, result.checkpointedFrameCount)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-customers-tokens-traceback") { db in
            try db.execute(sql: """
                CREATE TABLE customer (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    origid TEXT NOT NULL UNIQUE,
                    kind TEXT NOT NULL CHECK (kind IN ('direct', 'gateway'))
                );
                CREATE TABLE customer_number (
                    customer_id TEXT NOT NULL REFERENCES customer(id) ON DELETE CASCADE,
                    start TEXT NOT NULL,
                    count INTEGER NOT NULL CHECK (count > 0),
                    PRIMARY KEY (customer_id, start)
                );
                CREATE TABLE api_token (
                    hash BLOB PRIMARY KEY NOT NULL,
                    customer_id TEXT NOT NULL REFERENCES customer(id) ON DELETE CASCADE,
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER
                );
                CREATE TABLE signed_call (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    time INTEGER NOT NULL,
                    orig TEXT NOT NULL,
                    dest TEXT NOT NULL,
                    attest TEXT NOT NULL CHECK (attest IN ('A', 'B', 'C')),
                    origid TEXT NOT NULL,
                    customer_id TEXT NOT NULL,
                    trunk TEXT
                );
                CREATE INDEX signed_call_origid_time ON signed_call(origid, time);
                """)
        }
        migrator.registerMigration("v2-dno") { db in
            try db.execute(sql: """
                CREATE TABLE dno (
                    value TEXT PRIMARY KEY NOT NULL CHECK (length(value) BETWEEN 1 AND 15),
                    is_prefix INTEGER NOT NULL DEFAULT 0,
                    label TEXT,
                    added_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v3-certificate-cache") { db in
            try db.execute(sql: """
                CREATE TABLE certificate_cache (url TEXT PRIMARY KEY NOT NULL, body BLOB NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v4-signed-call-rowid") { db in
            // AUTOINCREMENT made every insert also update `sqlite_sequence` (one more
            // b-tree write per record and one more page per commit, measured in
            // BENCHMARKS.md). Rows are never deleted, so the plain rowid
            // still grows with each insert and `id` keeps ordering records of one second.
            try db.execute(sql: """
                CREATE TABLE signed_call_v4 (
                    id INTEGER PRIMARY KEY,
                    time INTEGER NOT NULL,
                    orig TEXT NOT NULL,
                    dest TEXT NOT NULL,
                    attest TEXT NOT NULL CHECK (attest IN ('A', 'B', 'C')),
                    origid TEXT NOT NULL,
                    customer_id TEXT NOT NULL,
                    trunk TEXT
                );
                INSERT INTO signed_call_v4 (id, time, orig, dest, attest, origid, customer_id, trunk)
                    SELECT id, time, orig, dest, attest, origid, customer_id, trunk FROM signed_call;
                DROP TABLE signed_call;
                ALTER TABLE signed_call_v4 RENAME TO signed_call;
                CREATE INDEX signed_call_origid_time ON signed_call(origid, time);
                DELETE FROM sqlite_sequence WHERE name = 'signed_call';
                """)
        }
        migrator.registerMigration("v5-traceback-journal") { db in
            // How far the traceback journal's records are in `signed_call` (TracebackJournal).
            try db.execute(sql: """
                CREATE TABLE traceback_journal (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    segment INTEGER NOT NULL,
                    records INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v6-signing-identity") { db in
            // Which identity signed and which rule decided the attestation (FCC 24-120).
            try db.execute(sql: """
                ALTER TABLE signed_call ADD COLUMN identity TEXT;
                ALTER TABLE signed_call ADD COLUMN attest_rule TEXT;
                """)
        }
        migrator.registerMigration("v7-protected-numbers") { db in
            // Numbers only certain SPCs and customers may present (`protected-number`).
            try db.execute(sql: """
                CREATE TABLE protected_number (
                    entry TEXT PRIMARY KEY NOT NULL CHECK (length(entry) BETWEEN 1 AND 16),
                    spcs TEXT NOT NULL DEFAULT '',
                    customers TEXT NOT NULL DEFAULT '',
                    label TEXT,
                    action TEXT NOT NULL DEFAULT 'block' CHECK (action IN ('block', 'tag')),
                    added_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v8-call-records-rollups-alerts") { db in
            // The terminating side's call records, per-minute counts for the dashboard, and alerts.
            // `signed_call` gains an index by calling number for investigations (`GET /admin/calls`).
            // `verified_call` has that index only: rows go in in time order, so the rowid orders them
            // for pruning, and one node (SQLite) needs no cross-node count by origid.
            try db.execute(sql: """
                CREATE TABLE verified_call (
                    id INTEGER PRIMARY KEY,
                    time INTEGER NOT NULL,
                    orig TEXT NOT NULL,
                    dest TEXT NOT NULL,
                    verstat TEXT NOT NULL,
                    attest TEXT,
                    spc TEXT,
                    x5u TEXT,
                    origid TEXT,
                    source TEXT NOT NULL,
                    reason TEXT,
                    policy_action TEXT NOT NULL,
                    policy_rule TEXT
                );
                CREATE INDEX verified_call_orig_time ON verified_call(orig, time);
                CREATE INDEX signed_call_orig_time ON signed_call(orig, time);
                CREATE TABLE call_rollup (
                    minute INTEGER NOT NULL,
                    series TEXT NOT NULL,
                    key TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (minute, series, key)
                ) WITHOUT ROWID;
                CREATE TABLE call_alert (
                    id INTEGER PRIMARY KEY,
                    at INTEGER NOT NULL,
                    signal TEXT NOT NULL,
                    key TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    threshold INTEGER NOT NULL,
                    window_s INTEGER NOT NULL,
                    mode TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("v9-verification-journal") { db in
            // How far the verification journal's records are in `verified_call` (VerificationJournal).
            try db.execute(sql: """
                CREATE TABLE verification_journal (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    segment INTEGER NOT NULL,
                    records INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v10-signing-record-outcome") { db in
            // Signing records carry the certificate's x5u and SPC and the policy outcome; refused signings are
            // recorded too (policy_action 'block'; NULL is allow) and kept out of the traceback.
            try db.execute(sql: """
                ALTER TABLE signed_call ADD COLUMN x5u TEXT;
                ALTER TABLE signed_call ADD COLUMN spc TEXT;
                ALTER TABLE signed_call ADD COLUMN policy_action TEXT;
                ALTER TABLE signed_call ADD COLUMN policy_rule TEXT;
                """)
        }
        return migrator
    }

    public func recordVerified(_ calls: [VerifiedCallRecord]) async throws {
        guard !calls.isEmpty else { return }
        try await pool.write { db in try Self.insertVerified(calls, db) }
    }

    private static let insertVerifiedHead = "INSERT INTO verified_call (time, orig, dest, verstat, attest, spc, x5u, origid, source, reason, policy_action, policy_rule) VALUES "
    private static let verifiedRow = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    private static let insertVerifiedManySQL = insertVerifiedHead + Array(repeating: verifiedRow, count: rowsPerInsert).joined(separator: ", ")

    /// Inserts verification records, ``rowsPerInsert`` per statement, bound with SQLite's own calls (a second's
    /// worth of calls at a time: the writer's share of each call stays a few microseconds).
    static func insertVerified(_ calls: [VerifiedCallRecord], _ db: Database) throws {
        var parameters = StatementParameters()
        var index = 0
        while index < calls.count {
            let rows = min(rowsPerInsert, calls.count - index)
            let statement = try db.cachedStatement(sql: rows == rowsPerInsert ? insertVerifiedManySQL : insertVerifiedHead + verifiedRow)
            let take = rows == rowsPerInsert ? rows : 1
            parameters.removeAll()
            for row in 0..<take { bindVerified(calls[index + row], &parameters, first: Int32(row * 12 + 1)) }
            try parameters.run(statement, in: db)
            index += take
        }
    }

    /// Binds a verification record's twelve columns from parameter `first` on (absent fields stay NULL).
    private static func bindVerified(_ call: VerifiedCallRecord, _ parameters: inout StatementParameters, first: Int32) {
        parameters.bind(first, call.time)
        parameters.bind(first + 1, call.orig)
        parameters.bind(first + 2, call.dest)
        parameters.bind(first + 3, call.verstat)
        parameters.bind(first + 4, call.attestation)
        parameters.bind(first + 5, call.spc)
        parameters.bind(first + 6, call.x5u)
        parameters.bind(first + 7, call.origid)
        parameters.bind(first + 8, call.source)
        parameters.bind(first + 9, call.reason)
        parameters.bind(first + 10, call.policyAction)
        parameters.bind(first + 11, call.policyRule)
    }

    public func calls(number: String, since: Int64?, until: Int64?, limit: Int) async throws -> [CallRecord] {
        await flushJournals()
        let limit = max(1, min(limit, 10_000))
        let arguments: StatementArguments = [number, since ?? 0, until ?? Int64.max, limit]
        return try await pool.read { db in
            let signed = try Row.fetchAll(db, sql: """
                SELECT \(Self.signedColumns) FROM signed_call
                WHERE orig = ? AND time >= ? AND time <= ? ORDER BY time DESC, id DESC LIMIT ?
                """, arguments: arguments).map { CallRecord.signed(Self.signedRecord($0)) }
            let verified = try Row.fetchAll(db, sql: """
                SELECT time, orig, dest, verstat, attest, spc, x5u, origid, source, reason, policy_action, policy_rule FROM verified_call
                WHERE orig = ? AND time >= ? AND time <= ? ORDER BY time DESC, id DESC LIMIT ?
                """, arguments: arguments).map { row in
                CallRecord.verified(VerifiedCallRecord(time: row["time"], orig: row["orig"], dest: row["dest"], verstat: row["verstat"],
                                                       attestation: row["attest"], spc: row["spc"], x5u: row["x5u"], origid: row["origid"],
                                                       source: row["source"], reason: row["reason"], policyAction: row["policy_action"],
                                                       policyRule: row["policy_rule"]))
            }
            return Array(CallRecord.newestFirst(signed, verified).prefix(limit))
        }
    }

    public func pruneVerified(before: Int64) async throws -> Int {
        try await pool.write { db in
            // Rows go in in time order: everything below the first row at or after `before` goes (a scan of what is deleted).
            try db.execute(sql: """
                DELETE FROM verified_call WHERE id < coalesce((SELECT id FROM verified_call WHERE time >= ? ORDER BY id LIMIT 1),
                                                              (SELECT max(id) + 1 FROM verified_call WHERE time < ?), 0)
                """, arguments: [before, before])
            return db.changesCount
        }
    }

    public func addRollups(_ rollups: [CallRollup]) async throws {
        guard !rollups.isEmpty else { return }
        try await pool.write { db in
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO call_rollup (minute, series, key, count) VALUES (?, ?, ?, ?)
                ON CONFLICT (minute, series, key) DO UPDATE SET count = count + excluded.count
                """)
            for r in rollups { try upsert.execute(arguments: [r.minute, r.series, r.key, r.count]) }
        }
    }

    public func rollups(since: Int64) async throws -> [CallRollup] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT minute, series, key, count FROM call_rollup WHERE minute >= ?", arguments: [since]).map {
                CallRollup(minute: $0["minute"], series: $0["series"], key: $0["key"], count: $0["count"])
            }
        }
    }

    public func pruneRollups(before: Int64) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM call_rollup WHERE minute < ?", arguments: [before]) }
    }

    public func signalCount(_ query: SignalQuery, since: Int64) async throws -> Int {
        await flushJournals()
        return try await pool.read { db in
            let count: Int?
            switch query {
            case .origins(let number):
                count = try Int.fetchOne(db, sql: """
                    SELECT (SELECT count(DISTINCT coalesce(origid, '-') || ' ' || coalesce(spc, '-') || ' ' || source) FROM verified_call
                            WHERE orig = ? AND time >= ?)
                         + (SELECT count(DISTINCT customer_id) FROM signed_call WHERE orig = ? AND time >= ?)
                    """, arguments: [number, since, number, since])
            case .numbersSigned(let origid):
                count = try Int.fetchOne(db, sql: "SELECT count(DISTINCT orig) FROM signed_call WHERE origid = ? AND time >= ?",
                                         arguments: [origid.lowercased(), since])
            case .numbersVerified(let origid):
                count = try Int.fetchOne(db, sql: "SELECT count(DISTINCT orig) FROM verified_call WHERE origid = ? AND time >= ?",
                                         arguments: [origid, since])
            }
            return count ?? 0
        }
    }

    @discardableResult
    public func saveAlert(_ alert: CallAlert) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO call_alert (at, signal, key, count, threshold, window_s, mode) SELECT ?, ?, ?, ?, ?, ?, ?
                WHERE NOT EXISTS (SELECT 1 FROM call_alert WHERE signal = ? AND key = ? AND at > ? AND at <= ?)
                """, arguments: [alert.at, alert.signal, alert.key, alert.count, alert.threshold, alert.windowS, alert.mode,
                                 alert.signal, alert.key, alert.at - alert.windowS, alert.at])
            guard db.changesCount > 0 else { return false }
            try db.execute(sql: "DELETE FROM call_alert WHERE id <= (SELECT max(id) FROM call_alert) - ?", arguments: [CallAlert.kept])
            return true
        }
    }

    public func alerts(limit: Int) async throws -> [CallAlert] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT at, signal, key, count, threshold, window_s, mode FROM call_alert ORDER BY at DESC, id DESC LIMIT ?
                """, arguments: [max(1, min(limit, CallAlert.kept))]).map {
                CallAlert(signal: $0["signal"], key: $0["key"], count: $0["count"], threshold: $0["threshold"], windowS: $0["window_s"],
                          mode: $0["mode"], at: $0["at"])
            }
        }
    }

    private static func signedRecord(_ row: Row) -> SignedCallRecord {
        let dest: String = row["dest"]
        return SignedCallRecord(time: row["time"], orig: row["orig"], dest: dest.split(separator: ",").map(String.init),
                                attestation: PASSporT.Attestation(rawValue: row["attest"]) ?? .gateway,
                                origid: row["origid"], customerID: row["customer_id"], trunk: row["trunk"],
                                identity: row["identity"], attestationRule: row["attest_rule"], x5u: row["x5u"], spc: row["spc"],
                                policyAction: row["policy_action"] ?? "allow", policyRule: row["policy_rule"])
    }

    public func cachedCertificate(url: String, now: Int64) async throws -> [UInt8]? {
        try await pool.read { db in
            try Data.fetchOne(db, sql: "SELECT body FROM certificate_cache WHERE url = ? AND expires > ?", arguments: [url, now]).map { Array($0) }
        }
    }

    public func saveCertificate(url: String, body: [UInt8], expires: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO certificate_cache (url, body, expires) VALUES (?, ?, ?)
                ON CONFLICT(url) DO UPDATE SET body = excluded.body, expires = excluded.expires
                """, arguments: [url, Data(body), expires])
            // Bounded like every cache: entries expired 30 days, then the ones expiring first past the limit
            // (x5u URLs come from calls, so a caller could otherwise grow the table one URL at a time).
            try db.execute(sql: "DELETE FROM certificate_cache WHERE expires < ?", arguments: [expires - 30 * 86_400])
            try db.execute(sql: """
                DELETE FROM certificate_cache WHERE url IN (SELECT url FROM certificate_cache ORDER BY expires, url
                    LIMIT max(0, (SELECT count(*) FROM certificate_cache) - ?))
                """, arguments: [certificateCacheLimit])
        }
    }

    public func importDNO(_ entries: [DNOEntry], replace: Bool, now: Int64, progress: (@Sendable (Int) -> Void)?) async throws {
        try await pool.write { db in
            if replace { try db.execute(sql: "DELETE FROM dno") }
            let statement = try db.cachedStatement(sql: """
                INSERT INTO dno (value, is_prefix, label, added_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(value) DO UPDATE SET is_prefix = excluded.is_prefix, label = excluded.label
                """)
            for (index, entry) in entries.enumerated() {
                try statement.execute(arguments: [entry.value, entry.isPrefix ? 1 : 0, entry.label, now])
                if (index + 1) % 100_000 == 0 { progress?(index + 1) }
            }
        }
    }

    public func removeDNO(_ value: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM dno WHERE value = ?", arguments: [value])
            return db.changesCount > 0
        }
    }

    public func listDNO(limit: Int, after: String?) async throws -> [DNOEntry] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT value, is_prefix, label FROM dno WHERE value > ? ORDER BY value LIMIT ?",
                             arguments: [after ?? "", max(1, min(limit, 100_000))]).map {
                DNOEntry(value: $0["value"], isPrefix: ($0["is_prefix"] as Int) != 0, label: $0["label"])
            }
        }
    }

    public func importProtected(_ entries: [ProtectedNumber], replace: Bool, now: Int64) async throws {
        try await pool.write { db in
            if replace { try db.execute(sql: "DELETE FROM protected_number") }
            let statement = try db.cachedStatement(sql: """
                INSERT INTO protected_number (entry, spcs, customers, label, action, added_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(entry) DO UPDATE SET spcs = excluded.spcs, customers = excluded.customers, label = excluded.label,
                    action = excluded.action
                """)
            for entry in entries {
                try statement.execute(arguments: [entry.entry, ProtectedNumber.joined(entry.spcs), ProtectedNumber.joined(entry.customers),
                                                  entry.label, entry.action.rawValue, now])
            }
        }
    }

    public func removeProtected(_ entry: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM protected_number WHERE entry = ?", arguments: [entry])
            return db.changesCount > 0
        }
    }

    public func listProtected(limit: Int, after: String?) async throws -> [ProtectedNumber] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT entry, spcs, customers, label, action FROM protected_number WHERE entry > ? ORDER BY entry LIMIT ?
                """, arguments: [after ?? "", max(1, min(limit, 100_000))]).map {
                ProtectedNumber(entry: $0["entry"], spcs: $0["spcs"], customers: $0["customers"], label: $0["label"], action: $0["action"])
            }
        }
    }

    public func loadProtected() async throws -> ProtectedNumbers {
        ProtectedNumbers(try await listProtected(limit: 100_000, after: nil))
    }

    public func loadDNO() async throws -> DNOList {
        try await pool.read { db in
            var list = DNOList()
            let cursor = try Row.fetchCursor(db, sql: "SELECT value, is_prefix FROM dno")
            while let row = try cursor.next() {
                let value: String = row["value"]
                if (row["is_prefix"] as Int) != 0 { list.add(prefix: value) } else { list.add(number: value) }
            }
            return list
        }
    }

    public func saveCustomer(_ customer: Customer) async throws {
        try await pool.write { db in
            // An upsert, not INSERT OR REPLACE: replacing the row would delete it first and cascade to its API tokens.
            try db.execute(sql: """
                INSERT INTO customer (id, name, origid, kind) VALUES (?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, origid = excluded.origid, kind = excluded.kind
                """, arguments: [customer.id, customer.name, customer.origid, customer.kind.rawValue])
            try db.execute(sql: "DELETE FROM customer_number WHERE customer_id = ?", arguments: [customer.id])
            for block in customer.numbers {
                try db.execute(sql: "INSERT INTO customer_number (customer_id, start, count) VALUES (?, ?, ?)",
                               arguments: [customer.id, block.start, block.count])
            }
        }
    }

    private static func loadCustomer(_ db: Database, id: String) throws -> Customer? {
        guard let row = try Row.fetchOne(db, sql: "SELECT id, name, origid, kind FROM customer WHERE id = ?", arguments: [id]) else {
            return nil
        }
        let numbers = try Row.fetchAll(db, sql: "SELECT start, count FROM customer_number WHERE customer_id = ? ORDER BY start",
                                       arguments: [id]).map { NumberBlock(start: $0["start"], count: $0["count"]) }
        return Customer(id: row["id"], name: row["name"], origid: row["origid"],
                        kind: Customer.Kind(rawValue: row["kind"]) ?? .direct, numbers: numbers)
    }

    public func customer(id: String) async throws -> Customer? {
        try await pool.read { db in try Self.loadCustomer(db, id: id) }
    }

    public func addToken(hash: [UInt8], customerID: String, now: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO api_token (hash, customer_id, created_at) VALUES (?, ?, ?)",
                           arguments: [Data(hash), customerID, now])
        }
    }

    public func revokeToken(hash: [UInt8], now: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE api_token SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL", arguments: [now, Data(hash)])
        }
    }

    public func customer(tokenHash: [UInt8]) async throws -> Customer? {
        try await pool.read { db in
            guard let id = try String.fetchOne(db, sql: "SELECT customer_id FROM api_token WHERE hash = ? AND revoked_at IS NULL",
                                               arguments: [Data(tokenHash)])
            else { return nil }
            return try Self.loadCustomer(db, id: id)
        }
    }

    public func record(_ calls: [SignedCallRecord]) async throws {
        guard !calls.isEmpty else { return }
        try await pool.write { db in try Self.insert(calls, db) }
    }

    private static let insertSQL = """
        INSERT INTO signed_call (\(signedColumns))
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    static func insert(_ calls: [SignedCallRecord], _ db: Database) throws {
        // One prepared statement for the batch (and kept by the connection for the next one).
        let insert = try db.cachedStatement(sql: insertSQL)
        var parameters = StatementParameters()
        for call in calls { try insertBound(call, insert, &parameters, db) }
    }

    /// Records per statement when the journal moves records in: one
    /// `INSERT … VALUES (…), (…), …` runs SQLite's insert program once for
    /// them all instead of once per record.
    static let rowsPerInsert = 32

    private static let insertManySQL = "INSERT INTO signed_call (\(signedColumns)) VALUES "
        + Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", count: rowsPerInsert).joined(separator: ", ")
    /// The columns of a signing record, in bind order.
    private static let signedColumns = "time, orig, dest, attest, origid, customer_id, trunk, identity, attest_rule, x5u, spc, policy_action, policy_rule"

    /// Inserts `calls`: full groups of ``rowsPerInsert`` with the multi-row statement, the rest one by one.
    private static func insertAll(_ calls: [SignedCallRecord], _ db: Database) throws {
        var parameters = StatementParameters()
        var index = 0
        if calls.count >= rowsPerInsert {
            let many = try db.cachedStatement(sql: insertManySQL)
            while calls.count - index >= rowsPerInsert {
                parameters.removeAll()
                for row in 0..<rowsPerInsert { bind(calls[index + row], &parameters, first: Int32(row * columns + 1)) }
                try parameters.run(many, in: db)
                index += rowsPerInsert
            }
        }
        if index < calls.count {
            let insert = try db.cachedStatement(sql: insertSQL)
            for call in calls[index...] { try insertBound(call, insert, &parameters, db) }
        }
    }

    /// Columns bound per record.
    static let columns = 13

    /// Binds `call`'s thirteen columns from parameter `first` on (`allow` and absent fields as NULL).
    private static func bind(_ call: SignedCallRecord, _ parameters: inout StatementParameters, first: Int32) {
        parameters.bind(first, call.time)
        parameters.bind(first + 1, call.orig)
        parameters.bind(first + 2, call.dest.count == 1 ? call.dest[0] : call.dest.joined(separator: ","))
        parameters.bind(first + 3, call.attestation.rawValue)
        parameters.bind(first + 4, call.origid)
        parameters.bind(first + 5, call.customerID)
        parameters.bind(first + 6, call.trunk)
        parameters.bind(first + 7, call.identity)
        parameters.bind(first + 8, call.attestationRule)
        parameters.bind(first + 9, call.x5u)
        parameters.bind(first + 10, call.spc)
        parameters.bind(first + 11, call.policyAction == "allow" ? nil : call.policyAction)
        parameters.bind(first + 12, call.policyRule)
    }

    /// Binds one record to the prepared single-row insert and runs it.
    private static func insertBound(_ call: SignedCallRecord, _ statement: Statement, _ parameters: inout StatementParameters,
                                    _ db: Database) throws
    {
        parameters.removeAll()
        bind(call, &parameters, first: 1)
        try parameters.run(statement, in: db)
    }

    public func traceback(origid: String, since: Int64?, until: Int64?, limit: Int) async throws -> [SignedCallRecord] {
        // What was answered is read back: records still in the journal go in first.
        await flushJournals()
        return try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.signedColumns) FROM signed_call
                WHERE origid = ? AND time >= ? AND time <= ? AND coalesce(policy_action, '') <> 'block' ORDER BY time DESC, id DESC LIMIT ?
                """, arguments: [origid.lowercased(), since ?? 0, until ?? Int64.max, max(1, min(limit, 10_000))]).map(Self.signedRecord)
        }
    }
}

import Foundation

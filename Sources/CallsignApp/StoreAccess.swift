public import CallsignStore
import CallsignStorePostgres
import PostgresNIO

/// The store `callsign serve` uses, for the commands that read or change it
/// outside a running server (`dno import`, `policy test`): PostgreSQL when a
/// URL is given (`--postgres`, `CALLSIGN_STORE_POSTGRES`, the configuration
/// file's `postgres`), SQLite in the data directory otherwise.
public enum StoreAccess {
    /// Runs `body` with the PostgreSQL store at `url`, migrated, its client
    /// running for the duration of the call and stopped after it. A server
    /// that cannot be reached fails at once with the cause (``PostgresStore/probe(_:timeout:logger:)``).
    public static func withPostgres<T: Sendable>(url: String, _ body: (any CallsignStore) async throws -> T) async throws -> T {
        let configuration = try PostgresStore.configuration(url: url)
        try await PostgresStore.probe(configuration)
        let client = PostgresClient(configuration: configuration)
        let store = PostgresStore(client: client)
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await store.migrate()
            return try await body(store)
        }
    }
}

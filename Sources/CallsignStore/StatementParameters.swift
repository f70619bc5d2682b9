import GRDB
import GRDBSQLite

/// The parameters of one run of a prepared insert: integers, and text copied
/// once into one buffer that SQLite reads in place (`SQLITE_STATIC`) while
/// the statement runs, instead of SQLite allocating and copying each value
/// (`SQLITE_TRANSIENT`). The journals move hundreds of records per
/// transaction, a dozen text columns each; the buffer is reused across runs.
struct StatementParameters {
    private var bytes: [UInt8] = []
    private var texts: [(index: Int32, offset: Int, count: Int)] = []
    private var integers: [(index: Int32, value: Int64)] = []

    init() {}

    /// Forgets the parameters of the previous run (keeping the storage).
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        texts.removeAll(keepingCapacity: true)
        integers.removeAll(keepingCapacity: true)
    }

    mutating func bind(_ index: Int32, _ value: Int64) {
        integers.append((index, value))
    }

    /// Binds `value` as text; `nil` leaves the parameter NULL.
    mutating func bind(_ index: Int32, _ value: String?) {
        guard let value else { return }
        let offset = bytes.count
        bytes.append(contentsOf: value.utf8)
        texts.append((index, offset, bytes.count - offset))
    }

    /// Runs `statement` once with these parameters (``step(_:)``).
    /// - Throws: `DatabaseError` with SQLite's code and message unless the step completed.
    func run(_ statement: Statement, in db: Database) throws {
        let code = step(statement.sqliteStatement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    /// Binds the parameters to `handle` (after resetting it and clearing its
    /// bindings), steps it once and resets it, then clears the bindings again
    /// so that no pointer into the buffer outlives this call. The step's
    /// result code, or the first failed bind's.
    private func step(_ handle: OpaquePointer?) -> Int32 {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        defer { sqlite3_clear_bindings(handle) }
        return bytes.withUnsafeBufferPointer { buffer -> Int32 in
            for (index, value) in integers {
                let code = sqlite3_bind_int64(handle, index, value)
                guard code == SQLITE_OK else { return code }
            }
            for (index, offset, count) in texts {
                let code: Int32
                if count > 0, let base = buffer.baseAddress {
                    code = UnsafeRawPointer(base + offset).withMemoryRebound(to: CChar.self, capacity: count) {
                        sqlite3_bind_text(handle, index, $0, Int32(count), nil)  // SQLITE_STATIC
                    }
                } else {
                    code = sqlite3_bind_text(handle, index, "", 0, nil)  // "" (a null pointer would bind NULL)
                }
                guard code == SQLITE_OK else { return code }
            }
            let code = sqlite3_step(handle)
            sqlite3_reset(handle)
            return code
        }
    }
}

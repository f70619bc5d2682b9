@testable import CallsignStore
import GRDB
import Testing

/// The journals' inserts bind text in place (SQLITE_STATIC) from one reused buffer.
@Suite("Statement parameters bound in place")
struct StatementParametersTests {
    @Test("text, empty text, NULL and integers arrive as bound, across reused runs of a multi-row insert")
    func valuesArriveAsBound() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (n INTEGER, a TEXT, b TEXT)")
            let insert = try db.makeStatement(sql: "INSERT INTO t (n, a, b) VALUES (?, ?, ?), (?, ?, ?)")
            var parameters = StatementParameters()
            for run in 0..<3 {
                parameters.removeAll()
                parameters.bind(1, Int64(run * 2))
                parameters.bind(2, "caf\u{e9} \"\(run)\"")
                parameters.bind(3, "")
                parameters.bind(4, Int64(run * 2 + 1))
                parameters.bind(5, String?.none)
                parameters.bind(6, String(repeating: "x", count: 1_000 + run))
                try parameters.run(insert, in: db)
            }
            let rows = try Row.fetchAll(db, sql: "SELECT n, a, b FROM t ORDER BY n")
            #expect(rows.count == 6)
            for run in 0..<3 {
                let even = rows[run * 2], odd = rows[run * 2 + 1]
                #expect(even["n"] == Int64(run * 2))
                #expect(even["a"] == "caf\u{e9} \"\(run)\"")
                #expect(even["b"] == "")  // empty text, not NULL
                #expect(odd["a"] == String?.none)
                #expect(odd["b"] == String(repeating: "x", count: 1_000 + run))
            }
        }
    }

    @Test("no binding outlives a run: the statement run again without parameters inserts NULLs")
    func bindingsClearedAfterRun() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (a TEXT)")
            let insert = try db.makeStatement(sql: "INSERT INTO t (a) VALUES (?)")
            var parameters = StatementParameters()
            parameters.bind(1, "kept")
            try parameters.run(insert, in: db)
            try StatementParameters().run(insert, in: db)
            #expect(try String?.fetchAll(db, sql: "SELECT a FROM t ORDER BY rowid") == ["kept", nil])
        }
    }

    @Test("a failed step throws SQLite's error, not a crash")
    func failedStepThrows() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (a TEXT NOT NULL)")
            let insert = try db.makeStatement(sql: "INSERT INTO t (a) VALUES (?)")
            #expect(throws: DatabaseError.self) { try StatementParameters().run(insert, in: db) }
        }
    }
}

import ArgumentParser
import Callsign
import CallsignStore
import Foundation

/// `callsign token`: API tokens for signing customers.
struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or revoke signing API tokens (stored hashed; a token is shown once).",
        subcommands: [Create.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token for a customer and print it.")
        @Option(name: .long, help: "Data directory of `callsign serve`.")
        var data = "./callsign-data"
        @Option(name: .long, help: "Customer id (from the configuration file).")
        var customer: String

        func run() async throws {
            let store = try openStore(data)
            guard try await store.customer(id: customer) != nil else {
                printError("no customer '\(customer)' in \(data) (configure it in config.json and start serve once)")
                throw Exit.badInput
            }
            let token = APIToken.generate()
            try await store.addToken(hash: APIToken.hash(token), customerID: customer, now: currentEpochSeconds())
            print(token)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token.")
        @Option(name: .long, help: "Data directory of `callsign serve`.")
        var data = "./callsign-data"
        @Option(name: .long, help: "The token to revoke.")
        var token: String

        func run() async throws {
            try await openStore(data).revokeToken(hash: APIToken.hash(token), now: currentEpochSeconds())
            print("revoked")
        }
    }
}

/// `callsign traceback`: who signed calls with an origid.
struct Traceback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the calls signed with an origid (RFC 8588 §5): time, orig, dest, attestation, customer.")
    @Option(name: .long, help: "Data directory of `callsign serve`.")
    var data = "./callsign-data"
    @Option(name: .long, help: "The origid (UUID) from a received PASSporT.")
    var origid: String
    @Option(name: .long, help: "Earliest time, seconds since the epoch.")
    var since: Int64?
    @Option(name: .long, help: "Latest time, seconds since the epoch.")
    var until: Int64?
    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func validate() throws {
        if !UUIDText.isValid(origid) { throw ValidationError("--origid must be a UUID") }
    }

    func run() async throws {
        let records = try await openStore(data).traceback(origid: origid, since: since, until: until, limit: 10_000)
        if json {
            print(JSONWriter.pretty(.array(records.map { .object($0.json) })))
            return
        }
        if records.isEmpty { print("no calls signed with \(origid)") }
        for record in records {
            let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(record.time)))
            print("\(when)  \(record.attestation.rawValue)  orig \(record.orig)  dest \(record.dest.joined(separator: ","))  customer \(record.customerID)\(record.trunk.map { "  trunk \($0)" } ?? "")\(record.identity.map { "  signed by \($0)" } ?? "")\(record.attestationRule.map { "  (\($0))" } ?? "")")
        }
        if records.isEmpty { throw Exit.invalid }
    }
}

func openStore(_ data: String) throws -> SQLiteStore {
    let path = data + "/callsign.sqlite"
    guard FileManager.default.fileExists(atPath: path) else {
        printError("no store at \(path) (run `callsign serve --data \(data)` once)")
        throw Exit.badInput
    }
    return try SQLiteStore(path: path)
}

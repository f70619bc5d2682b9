import ArgumentParser
import Callsign
import CallsignApp
import CallsignStore
import Foundation

/// The store `serve` on this data directory uses: PostgreSQL with `postgres`
/// (or `CALLSIGN_STORE_POSTGRES`), else SQLite in `data` (made when missing).
func withStore<T: Sendable>(data: String, postgres: String?, _ body: @Sendable (any CallsignStore) async throws -> T) async throws -> T {
    if let url = postgres ?? ProcessInfo.processInfo.environment["CALLSIGN_STORE_POSTGRES"] {
        return try await StoreAccess.withPostgres(url: url) { try await body($0) }
    }
    return try await body(try openOrCreateStore(data))
}

/// `callsign protected`: the protected numbers in the store (`protected-number` rule).
struct Protected: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage protected numbers: numbers (a bank's outbound lines) only certain carriers' SPCs and customers may present.",
        subcommands: [Import.self, Add.self, Remove.self, List.self])

    /// Where the list is kept.
    struct Location: ParsableArguments {
        @Option(name: .long, help: "Data directory of `callsign serve`.")
        var data = "./callsign-data"
        @Option(name: .long, help: "PostgreSQL URL of a store shared by several nodes (CALLSIGN_STORE_POSTGRES); SQLite in DATA otherwise.")
        var postgres: String?
    }

    /// The canonical entry of a NUMBER or PREFIX* argument, or exit 2 naming it.
    static func entry(_ text: String) throws -> String {
        guard let entry = ProtectedNumber.entry(text) else {
            printError("\(text) is not a telephone number or prefix")
            throw Exit.badInput
        }
        return entry
    }

    static func importing(_ entries: [ProtectedNumber], replace: Bool, at location: Location) async throws {
        try await withStore(data: location.data, postgres: location.postgres) { store in
            try await store.importProtected(entries, replace: replace, now: currentEpochSeconds())
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a CSV with a header row: number,spc,label (optionally customers, action; several SPCs separated by spaces).",
            discussion: "All or nothing: a bad row stops the import with its line number and the list is unchanged.")
        @OptionGroup var location: Location
        @Flag(name: .long, help: "Replace the whole list instead of adding to it.")
        var replace = false
        @Argument(help: "CSV file.")
        var file: String

        func run() async throws {
            let entries: [ProtectedNumber]
            do {
                entries = try ProtectedNumber.parse(csv: try readTextFile(file))
            } catch let error as CallsignError {
                printError("\(file): \(error.description); nothing imported")
                throw Exit.badInput
            }
            try await Protected.importing(entries, replace: replace, at: location)
            print("imported \(entries.count) protected \(entries.count == 1 ? "number" : "numbers")")
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add one number (or prefix with a trailing '*').")
        @OptionGroup var location: Location
        @Option(name: .long, help: "An SPC whose A-attested calls may present it. Repeatable.")
        var spc: [String] = []
        @Option(name: .long, help: "A customer allowed to sign calls presenting it. Repeatable.")
        var customer: [String] = []
        @Option(name: .long, help: "Whose number it is (e.g. the bank's name).")
        var label: String?
        @Option(name: .long, help: "block (default) or tag.")
        var action = "block"
        @Argument(help: "Number, or prefix ending in '*'.")
        var number: String

        func run() async throws {
            let entry = try Protected.entry(number)
            guard let policyAction = PolicyAction(rawValue: action), policyAction != .allow else {
                printError("--action must be block or tag")
                throw Exit.badInput
            }
            let isPrefix = entry.hasSuffix("*")
            let protected = ProtectedNumber(value: isPrefix ? String(entry.dropLast()) : entry, isPrefix: isPrefix, spcs: Set(spc),
                                            customers: Set(customer), label: label, action: policyAction)
            try await Protected.importing([protected], replace: false, at: location)
            print("added \(entry)")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove one number or prefix.")
        @OptionGroup var location: Location
        @Argument(help: "Number, or prefix ending in '*'.")
        var number: String

        func run() async throws {
            let entry = try Protected.entry(number)
            if try await withStore(data: location.data, postgres: location.postgres, { try await $0.removeProtected(entry) }) {
                print("removed \(entry)")
            } else {
                print("\(entry) was not listed")
                throw Exit.invalid
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List entries as CSV (paged by --after).")
        @OptionGroup var location: Location
        @Option(name: .long, help: "Most entries to print.")
        var limit = 100
        @Option(name: .long, help: "Start after this entry.")
        var after: String?
        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() async throws {
            let (limit, after) = (self.limit, self.after)
            let entries = try await withStore(data: location.data, postgres: location.postgres) {
                try await $0.listProtected(limit: limit, after: after)
            }
            if json {
                printJSON(JSONObject(["entries": .array(entries.map { .object($0.json) })]))
                return
            }
            print("number,spc,label,customers,action")
            for entry in entries {
                func quoted(_ text: String) -> String { text.contains(",") || text.contains("\"") ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text }
                print([entry.entry, entry.spcs.sorted().joined(separator: " "), quoted(entry.label ?? ""),
                       entry.customers.sorted().joined(separator: " "), entry.action.rawValue].joined(separator: ","))
            }
        }
    }
}

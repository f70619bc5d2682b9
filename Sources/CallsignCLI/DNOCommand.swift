import ArgumentParser
import Callsign
import CallsignApp
import CallsignStore
import Foundation

/// `callsign dno`: the Do-Not-Originate list in the store.
struct DNO: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the Do-Not-Originate list (numbers that never place calls: bank and government inbound lines).",
        subcommands: [Import.self, Add.self, Remove.self, List.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a CSV (one number per line, optional '+', trailing '*' for a prefix, optional label column).",
            discussion: "All or nothing: a bad row stops the import with its line number and the list is unchanged. Idempotent: importing the same file twice changes nothing.")
        @Option(name: .long, help: "Data directory of `callsign serve`.")
        var data = "./callsign-data"
        @Option(name: .long, help: "PostgreSQL URL of a store shared by several nodes (CALLSIGN_STORE_POSTGRES); SQLite in DATA otherwise.")
        var postgres: String?
        @Flag(name: .long, help: "Replace the whole list instead of adding to it.")
        var replace = false
        @Argument(help: "CSV file.")
        var file: String

        func run() async throws {
            let started = Date()
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: file), let size = attributes[.size] as? Int else {
                printError("cannot read \(file)")
                throw Exit.badInput
            }
            guard size <= 1 << 30, let bytes = FileManager.default.contents(atPath: file) else {
                printError("\(file) is larger than 1 GiB or unreadable")
                throw Exit.badInput
            }
            let entries: [DNOEntry]
            do {
                entries = try DNOEntry.parse(csv: String(decoding: bytes, as: UTF8.self)) { line in
                    printProgress("parsed \(line) lines")
                }
            } catch {
                printError("\(file): \(error.description); nothing imported")
                throw Exit.badInput
            }
            let replace = replace
            @Sendable func store(into store: any CallsignStore) async throws {
                try await store.importDNO(entries, replace: replace, now: currentEpochSeconds()) { done in
                    printProgress("stored \(done) of \(entries.count)")
                }
            }
            try await withStore(data: data, postgres: postgres) { try await store(into: $0) }
            let seconds = Date().timeIntervalSince(started)
            printProgress("")
            print("imported \(entries.count) \(entries.count == 1 ? "entry" : "entries") in \(String(format: "%.1f", seconds)) s")
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add one number (or prefix with a trailing '*').")
        @Option(name: .long, help: "Data directory of `callsign serve`.")
        var data = "./callsign-data"
        @Option(name: .long, help: "A label (e.g. the bank's name).")
        var label: String?
        @Argument(help: "Number, or prefix ending in '*'.")
        var entry: String

        func run() async throws {
            let entries: [DNOEntry]
            do { entries = try DNOEntry.parse(csv: entry + (label.map { "," + $0 } ?? "")) } catch {
                printError("\(entry) is not a telephone number")
                throw Exit.badInput
            }
            try await openOrCreateStore(data).importDNO(entries, replace: false, now: currentEpochSeconds(), progress: nil)
            print("added \(entries.first?.value ?? "")\(entries.first?.isPrefix == true ? "*" : "")")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove one number or prefix.")
        @Option(name: .long, help: "Data directory of `callsign serve`.")
        var data = "./callsign-data"
        @Argument(help: "Number or prefix.")
        var entry: String

        func run() async throws {
            guard let tn = TelephoneNumber.canonicalNumber(entry.hasSuffix("*") ? String(entry.dropLast()) : entry, policy: .e164) else {
                printError("\(entry) is not a telephone number")
                throw Exit.badInput
            }
            if try await openStore(data).removeDNO(tn) { print("removed \(tn)") } else {
                print("\(tn) was not listed")
                throw Exit.invalid
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List entries (paged by --after).")
        @Option(name: .long, help: "Data directory of `callsign serve`.")
        var data = "./callsign-data"
        @Option(name: .long, help: "Most entries to print.")
        var limit = 100
        @Option(name: .long, help: "Start after this value.")
        var after: String?

        func run() async throws {
            for entry in try await openStore(data).listDNO(limit: limit, after: after) {
                print("\(entry.value)\(entry.isPrefix ? "*" : "")\(entry.label.map { ",\($0)" } ?? "")")
            }
        }
    }
}

/// A progress line on standard error (overwritten in place on a terminal).
func printProgress(_ text: String) {
    let line = isatty(2) != 0 ? "\r\u{1B}[K" + text : (text.isEmpty ? "" : text + "\n")
    var copy = line
    copy.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func openOrCreateStore(_ data: String) throws -> SQLiteStore {
    try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
    return try SQLiteStore(path: data + "/callsign.sqlite")
}

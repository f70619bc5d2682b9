import ArgumentParser
import Callsign
import CallsignStore

/// `callsign calls`: both sides' records of one calling number, for a traceback request.
struct Calls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the calls presenting a calling number: signed or refused (origination) and verified (termination), newest first.",
        discussion: """
            Answers a traceback request ("who handed you this call at 14:02?") in one query. \
            Times are seconds since the epoch or UTC as 2026-12-07T14:02:00Z. \
            Verification records are kept for records.retention_days (7).
            """)
    @OptionGroup var location: Protected.Location
    @Option(name: .long, help: "The calling number (E.164, or national under --numbering).")
    var number: String
    @Option(name: .long, help: "Earliest time.")
    var since: String?
    @Option(name: .long, help: "Latest time.")
    var until: String?
    @Option(name: .long, help: "Most records.")
    var limit = 1000
    @Option(name: .long, help: "How national numbers are read: e164, nanp, uk or fr.")
    var numbering: NumberingOption = .e164
    @Flag(name: .long, help: "Print JSON.")
    var json = false
    @Flag(name: .long, help: "Print CSV with a header row.")
    var csv = false

    func validate() throws {
        if json && csv { throw ValidationError("--json and --csv exclude each other") }
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, CivilTime.parseQueryTime(value) == nil {
                throw ValidationError("\(name) must be seconds since the epoch or UTC as 2026-12-07T14:02:00Z")
            }
        }
        if !(1...10_000).contains(limit) { throw ValidationError("--limit must be 1 to 10000") }
    }

    func run() async throws {
        guard let canonical = TelephoneNumber.canonicalNumber(number, policy: numbering.policy) else {
            printError("\(number) is not a telephone number")
            throw Exit.badInput
        }
        let since = since.flatMap(CivilTime.parseQueryTime), until = until.flatMap(CivilTime.parseQueryTime), limit = limit
        let records = try await withStore(data: location.data, postgres: location.postgres) {
            try await $0.calls(number: canonical, since: since, until: until, limit: limit)
        }
        if json {
            print(JSONWriter.pretty(.array(records.map { .object($0.json) })))
            return
        }
        if csv {
            print(CallRecord.csvLine(CallRecord.csvHeader))
            for record in records { print(CallRecord.csvLine(record.csvFields)) }
            return
        }
        if records.isEmpty { print("no calls from +\(canonical) in the records") }
        for record in records {
            switch record {
            case .signed(let r):
                let kind = r.refused ? "refused " : "signed  "
                let policy = r.policyAction == "allow" ? "" : "  policy \(r.policyAction)\(r.policyRule.map { " (\($0))" } ?? "")"
                print("\(CivilTime.iso8601(r.time))  \(kind)  \(r.attestation.rawValue)  to \(r.dest.joined(separator: ","))  customer \(r.customerID)\(r.trunk.map { "  trunk \($0)" } ?? "")  origid \(r.origid)\(r.x5u.map { "  x5u \($0)" } ?? "")\(policy)")
            case .verified(let r):
                print("\(CivilTime.iso8601(r.time))  verified  \(r.attestation ?? "-")  to \(r.dest)  \(r.verstat)\(r.reason.map { " (\($0))" } ?? "")  from \(r.source)\(r.spc.map { "  spc \($0)" } ?? "")\(r.origid.map { "  origid \($0)" } ?? "")  policy \(r.policyAction)\(r.policyRule.map { " (\($0))" } ?? "")")
            }
        }
    }
}

/// Why the store refused or failed an operation of Callsign's own (the
/// traceback journal and writer); SQLite's and PostgreSQL's errors pass
/// through as the drivers report them. A signing whose record cannot be made
/// durable is answered with an error (ATIS-1000082 POL5000): a call that
/// cannot be traced back is not signed.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; the raw values are stable (logs and metrics use them).
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The journal's files cannot be opened, grown or mapped (disk full, permissions).
        case journalUnavailable = "journal-unavailable"
        /// The journal was closed (the server is stopping).
        case journalClosed = "journal-closed"
        /// Too many records not yet moved from the journal into the database.
        case backlogFull = "backlog-full"
        /// One record is larger than a journal entry can hold.
        case recordTooLarge = "record-too-large"
        /// The transaction holding the caller's records failed.
        case writeFailed = "write-failed"
        /// The traceback writer stopped before the records were written.
        case writerStopped = "writer-stopped"
    }

    public var code: Code
    public var detail: String
    public var description: String { "\(code.rawValue): \(detail)" }

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }
}

import Callsign
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A kind of record a ``RecordJournal`` holds: how its payload is written and read back.
public protocol JournalRecord: Sendable {
    /// What the journal's errors call it ("traceback", "verification").
    static var journalName: String { get }
    /// Appends the record's payload (without framing); `false` when a field is too long.
    func encodePayload(into bytes: inout [UInt8]) -> Bool
    /// The record of a payload written by ``encodePayload(into:)`` (or an earlier version of it); `nil` when it is not one.
    static func decodePayload(_ payload: ArraySlice<UInt8>) -> Self?
}

/// Where a ``RecordJournal`` moves its records: a store that writes a
/// batch and the journal position it reaches in one transaction, so a record
/// is never applied twice (SQLite: ``SQLiteStore`` for traceback,
/// ``SQLiteStore/VerificationRecords`` for verification records).
public protocol JournalTarget<Record>: Sendable {
    associatedtype Record: JournalRecord
    /// Inserts `records` and remembers `position` in one transaction.
    func applyJournal(_ records: [Record], through position: JournalPosition) throws
    /// The position of the last transaction of ``applyJournal(_:through:)`` (zero when none).
    func journalPosition() throws -> JournalPosition
}

/// How far a journal's records were moved into the store: `records` of segment `segment`.
public struct JournalPosition: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var segment: Int64
    public var records: Int64

    public init(segment: Int64, records: Int64) {
        self.segment = segment
        self.records = records
    }

    public static let zero = JournalPosition(segment: 0, records: 0)

    public static func < (lhs: JournalPosition, rhs: JournalPosition) -> Bool {
        (lhs.segment, lhs.records) < (rhs.segment, rhs.records)
    }

    public var description: String { "\(segment):\(records)" }
}

/// The journal of answered signings' traceback records (`DATA/callsign.sqlite-traceback.N`).
public typealias TracebackJournal = RecordJournal<SignedCallRecord>
/// The journal of verification call records (`DATA/callsign.sqlite-verified.N`).
public typealias VerificationJournal = RecordJournal<VerifiedCallRecord>

/// A mapped window's alignment: the system's page size.
private let journalPageBytes = max(4096, sysconf(Int32(_SC_PAGESIZE)))

/// Records of answered calls, made durable by a copy into a shared mapping
/// of an append-only file before the call is answered, and moved into the
/// store in large transactions by a thread of its own. One journal per
/// record kind: ``TracebackJournal`` (signings) and ``VerificationJournal``.
///
/// Why: a signing may be answered only once its record — who signed which
/// call, by `origid` (RFC 8588 §4, ATIS-1000074 traceback) — can no longer be
/// lost with the process (the `kill -9` durability test). Committing each
/// event-loop pass's few records to SQLite cost 16–20 % of a signing's CPU
/// (a transaction per ~5 records: two file locks, ~3 page writes, two thread
/// wake-ups; BENCHMARKS.md rounds 6–7). A journal append is one small copy
/// into the page cache on the thread that answers (a `write(2)` until round
/// 9); the store then takes hundreds of records per transaction. The guarantee is the one SQLite gave with
/// `synchronous=NORMAL` in WAL mode: what was answered survives the process
/// (the kernel holds the written pages), not a power cut.
///
/// Files: `BASE.N` segments (N grows, never reused) and `BASE.lock`, held
/// with `flock(2)` by the one process appending. A segment past
/// ``segmentLimit`` bytes is closed and a new one started; a segment is
/// deleted once all of its records are in the store. Opening the store
/// (``recover(base:into:)``) moves whatever a stopped or killed process left
/// into it, skipping what the store already has (its journal position).
///
/// Each record is `length (UInt32 LE) · FNV-1a-32 of the payload (UInt32 LE)
/// · payload`; recovery stops at the first record that is cut short or does
/// not match its hash (the one write a crash interrupted, never answered).
public final class RecordJournal<Record: JournalRecord>: Sendable {
    public typealias Position = JournalPosition

    private struct State {
        var fd: Int32
        var segment: Int64
        var recordsInSegment: Int64 = 0
        var bytesInSegment = 0
        /// The mapped window of the open segment (``Window``), `nil` before the first append.
        var window: Window?
        var pending: [Record] = []
        /// Records appended since open.
        var appended: Int = 0
        var closed = false

        /// Unmaps the window and closes the open segment's file.
        mutating func closeSegment() {
            window?.unmap()
            window = nil
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    /// A `MAP_SHARED` mapping of part of the open segment: appends copy
    /// into it. The pages belong to the kernel's page cache, so what is
    /// copied survives the process as a `write(2)` would, without the system
    /// call per signing (4 % of a REST signing's CPU in the profile).
    /// Its file range is reserved with `posix_fallocate` before it is mapped:
    /// a full disk fails the append instead of raising `SIGBUS` on the copy.
    private struct Window {
        var base: UnsafeMutableRawPointer
        /// File offset of `base` (page-aligned) and the mapped length.
        var offset: Int
        var length: Int

        func unmap() { munmap(base, length) }
    }

    /// The mapped window's size: the most of a segment held in memory (the
    /// process's file-backed RSS) at a time.
    static var windowBytes: Int { 1 << 20 }

    private let state: Mutex<State>
    /// Records moved into the store since open.
    private let applied = Atomic<Int>(0)
    private let running = Atomic<Bool>(false)
    private let counters = Mutex((transactions: 0, records: 0, failures: 0))
    private let signal = WriterSignal()
    private let lockFD: Int32
    private let target: any JournalTarget<Record>

    /// The path prefix of the segments and the lock (`BASE.N`, `BASE.lock`).
    public let base: String
    /// A segment past this many bytes is closed and the next one started.
    public let segmentLimit: Int
    /// Longest a record waits in the journal before its transaction starts
    /// (also how stale a traceback read from another process may be).
    public let interval: Duration
    /// Most records appended and not yet in the store: past it appends fail
    /// (a store that stopped taking writes must not grow memory without bound).
    public let maxBacklog: Int
    /// The indexer starts a transaction early once this many records wait.
    public let eagerBatch: Int

    /// Largest encoded record accepted back from a segment.
    static var maxRecordBytes: Int { 64 * 1024 }

    /// Opens the journal for appending: takes the lock, moves what an earlier
    /// process left into `target` (``recover(base:into:)``), and starts a new
    /// segment. Returns `nil` when another process holds the lock (it journals
    /// for this store; the caller writes without a journal then).
    public static func open(base: String, target: any JournalTarget<Record>, segmentLimit: Int = 16 << 20,
                            interval: Duration = .milliseconds(20), maxBacklog: Int = 200_000,
                            eagerBatch: Int = 1_024) throws -> RecordJournal?
    {
        guard let lock = try lockFile(base: base) else { return nil }
        do {
            let segment = try recoverLocked(base: base, into: target).highest + 1
            let fd = try openSegment(base: base, segment: segment)
            return RecordJournal(base: base, target: target, lockFD: lock, fd: fd, segment: segment,
                                    segmentLimit: segmentLimit, interval: interval, maxBacklog: maxBacklog,
                                    eagerBatch: eagerBatch)
        } catch {
            close(lock)
            throw error
        }
    }

    private init(base: String, target: any JournalTarget<Record>, lockFD: Int32, fd: Int32, segment: Int64,
                 segmentLimit: Int, interval: Duration, maxBacklog: Int, eagerBatch: Int)
    {
        self.base = base
        self.target = target
        self.lockFD = lockFD
        self.segmentLimit = max(4096, segmentLimit)
        self.interval = interval
        self.maxBacklog = max(1, maxBacklog)
        self.eagerBatch = max(1, eagerBatch)
        state = Mutex(State(fd: fd, segment: segment))
    }

    deinit {
        state.withLock { $0.closeSegment() }
        close(lockFD)
    }

    /// Moves the records a stopped or killed process left in `BASE.N` into
    /// `target` and deletes those segments — unless a live process holds the
    /// journal's lock (then nothing is touched). Called when a store opens.
    /// - Returns: how many records were moved.
    @discardableResult
    public static func recover(base: String, into target: any JournalTarget<Record>) throws -> Int {
        guard let lock = try lockFile(base: base) else { return 0 }
        defer { close(lock) }
        return try recoverLocked(base: base, into: target).moved
    }

    /// With the lock held: applies every segment's records past the store's
    /// position, deletes the segments, and returns the highest segment number
    /// seen (or the store's) and how many records were moved.
    private static func recoverLocked(base: String, into target: any JournalTarget<Record>) throws -> (highest: Int64, moved: Int) {
        let position = try target.journalPosition()
        var highest = position.segment
        var moved = 0
        for segment in segments(base: base) {
            highest = max(highest, segment)
            let path = "\(base).\(segment)"
            if segment >= position.segment {
                let records = try readSegment(path)
                let skip = segment == position.segment ? Int(max(0, min(position.records, Int64(records.count)))) : 0
                if records.count > skip {
                    try target.applyJournal(Array(records[skip...]), through: Position(segment: segment, records: Int64(records.count)))
                    moved += records.count - skip
                }
            }
            unlink(path)
        }
        return (highest, moved)
    }

    /// Segment numbers present for `base`, in order.
    static func segments(base: String) -> [Int64] {
        let url = URL(fileURLWithPath: base)
        let directory = url.deletingLastPathComponent().path
        let prefix = url.lastPathComponent + "."
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.compactMap { name -> Int64? in
            guard name.hasPrefix(prefix) else { return nil }
            let rest = name.dropFirst(prefix.count)
            guard !rest.isEmpty, rest.count <= 18, rest.allSatisfy({ $0 >= "0" && $0 <= "9" }) else { return nil }
            return Int64(rest)
        }.sorted()
    }

    /// `BASE.lock`, locked exclusively; `nil` when another open file holds it.
    private static func lockFile(base: String) throws -> Int32? {
        let fd = Glibc.open("\(base).lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError(.journalUnavailable, "cannot open \(base).lock: \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            return nil
        }
        return fd
    }

    private static func openSegment(base: String, segment: Int64) throws -> Int32 {
        // Read-write, not append: appends copy into a shared mapping (``remap(_:covering:count:)``).
        let fd = Glibc.open("\(base).\(segment)", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError(.journalUnavailable, "cannot open \(base).\(segment): \(String(cString: strerror(errno)))") }
        return fd
    }

    // MARK: Appending (on the thread that answers the call)

    /// Makes `records` durable (copied into the segment's shared mapping) and
    /// queues them for the store. Returns once the kernel has the bytes: the caller may answer.
    /// - Throws: ``StoreError`` when the journal is closed, the backlog is
    ///   full or the segment could not be grown or mapped (nothing of it is kept then).
    public func append(_ records: [Record]) throws {
        guard !records.isEmpty else { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.reservedBytesPerRecord * records.count)
        for record in records {
            guard Self.encode(record, into: &bytes) else { throw StoreError(.recordTooLarge, "\(Record.journalName) record too large") }
        }
        try append(bytes, count: records.count) { $0.append(contentsOf: records) }
    }

    /// Room reserved per record before encoding: a signing record with its
    /// Identity header takes 700–800 bytes, and growing the buffer costs more than the slack.
    static var reservedBytesPerRecord: Int { 1024 }

    /// Appends one record: ``append(_:)-([Record])`` without an array per call.
    public func append(_ record: Record) throws {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.reservedBytesPerRecord)
        guard Self.encode(record, into: &bytes) else { throw StoreError(.recordTooLarge, "\(Record.journalName) record too large") }
        try append(bytes, count: 1) { $0.append(record) }
    }

    /// Copies the framed `bytes` of `count` records into the open segment and queues the records (`queue`).
    private func append(_ bytes: [UInt8], count: Int, queue: (inout [Record]) -> Void) throws {
        let wake = try state.withLock { state -> Bool in
            guard !state.closed, state.fd >= 0 else { throw StoreError(.journalClosed, "\(Record.journalName) journal closed") }
            guard state.appended - applied.load(ordering: .relaxed) + count <= maxBacklog else {
                throw StoreError(.backlogFull, "\(Record.journalName) backlog full (\(maxBacklog) records not yet in the store)")
            }
            let at = state.bytesInSegment
            let window: Window
            if let current = state.window, at + bytes.count <= current.offset + current.length {
                window = current
            } else {
                window = try Self.remap(&state, covering: at, count: bytes.count)
            }
            bytes.withUnsafeBytes { source in
                guard let from = source.baseAddress else { return }
                (window.base + (at - window.offset)).copyMemory(from: from, byteCount: source.count)
            }
            queue(&state.pending)
            state.recordsInSegment += Int64(count)
            state.bytesInSegment += bytes.count
            state.appended += count
            return state.pending.count == eagerBatch
        }
        if wake { signal.signal() }
    }

    /// Maps the window of the open segment that holds `count` bytes from
    /// file offset `at` (a page-aligned start, at least ``windowBytes`` long),
    /// after reserving that range on disk; the previous window is unmapped.
    /// The file grows by whole windows: its zero tail ends recovery's read
    /// like a record cut short.
    private static func remap(_ state: inout State, covering at: Int, count: Int) throws -> Window {
        state.window?.unmap()
        state.window = nil
        let page = journalPageBytes
        let offset = at - at % page
        let needed = at + count - offset
        let length = max(windowBytes, (needed + page - 1) / page * page)
        let reserved = posix_fallocate(state.fd, off_t(offset), off_t(length))
        guard reserved == 0 else {
            throw StoreError(.journalUnavailable, "\(Record.journalName) journal cannot grow: \(String(cString: strerror(reserved)))")
        }
        guard let base = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, state.fd, off_t(offset)),
              base != UnsafeMutableRawPointer(bitPattern: -1)
        else { throw StoreError(.journalUnavailable, "\(Record.journalName) journal cannot map: \(String(cString: strerror(errno)))") }
        let window = Window(base: base, offset: offset, length: length)
        state.window = window
        return window
    }

    /// Whether appends are accepted (read without the append lock: the two
    /// event loops ask it per signing).
    public var isOpen: Bool { !closedFlag.load(ordering: .acquiring) }
    private let closedFlag = Atomic<Bool>(false)

    /// Returns once every record appended before the call is in the store
    /// (a traceback query reads what was answered). Gives up after `timeout`
    /// (a store refusing writes), or at once when the journal is closed and
    /// its indexer stopped (what is left is moved in when the store next opens).
    public func flush(timeout: Duration = .seconds(10)) async {
        let (target, closed) = state.withLock { ($0.appended, $0.closed) }
        guard applied.load(ordering: .acquiring) < target else { return }
        signal.signal()
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var stopped = closed && !running.load(ordering: .acquiring)
        while applied.load(ordering: .acquiring) < target, !stopped, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
            stopped = state.withLock { $0.closed } && !running.load(ordering: .acquiring)
        }
    }

    /// Transactions and records moved into the store, and failed transactions.
    public var statistics: (transactions: Int, records: Int, failures: Int) { counters.withLock { $0 } }

    // MARK: Moving records into the store (a thread of its own)

    /// The indexer thread's name in `top -H`, `perf` and `/proc` (Linux: at most 15 bytes).
    public static var threadName: String { Record.self == SignedCallRecord.self ? "traceback-jrnl" : "verified-jrnl" }

    /// Names the calling thread for the kernel, through `/proc/thread-self/comm`
    /// (Foundation's `Thread.name` does not always reach it).
    static func nameThisThread() {
        Thread.current.name = threadName
        if let handle = FileHandle(forWritingAtPath: "/proc/thread-self/comm") {
            try? handle.write(contentsOf: Array(threadName.utf8))
            try? handle.close()
        }
    }

    /// Moves appended records into the store every ``interval`` (sooner when
    /// ``eagerBatch`` wait) from a thread of its own, until the task is
    /// cancelled; then moves the rest, closes the journal (later appends
    /// fail) and deletes the segments the store has all of.
    public func run() async {
        signal.reset(keepingSignal: true)  // a flush asked for before the indexer started still counts
        running.store(true, ordering: .releasing)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
                let thread = Thread { [self] in
                    Self.nameThisThread()
                    indexLoop()
                    finished.resume()
                }
                thread.start()
            }
        } onCancel: {
            signal.stop()
        }
        running.store(false, ordering: .releasing)
    }

    private func indexLoop() {
        var carry: [Record] = []
        var carryPosition: Position?
        var retired: [Int64] = []
        var failures = 0
        while true {
            let stopping = !signal.wait(timeout: interval)
            // The last pass closes the journal: nothing is appended after its take.
            let (batch, position, old) = take(closing: stopping)
            carry += batch
            if !batch.isEmpty { carryPosition = position }
            retired += old
            if !carry.isEmpty, let position = carryPosition {
                do {
                    try target.applyJournal(carry, through: position)
                    applied.add(carry.count, ordering: .releasing)
                    counters.withLock { counters in
                        counters.transactions += 1
                        counters.records += carry.count
                    }
                    carry.removeAll(keepingCapacity: true)
                    failures = 0
                } catch {
                    // Kept: the next pass tries again (the records are in the journal meanwhile).
                    counters.withLock { $0.failures += 1 }
                    failures += 1
                    if !stopping { Thread.sleep(forTimeInterval: min(1.0, 0.01 * Double(failures))) }
                }
            }
            if carry.isEmpty {
                for segment in retired { unlink("\(base).\(segment)") }
                retired.removeAll()
            }
            if stopping {
                if carry.isEmpty {
                    // Everything is in the store: the open segment goes too.
                    let last = state.withLock { state -> Int64 in
                        state.closeSegment()
                        return state.segment
                    }
                    unlink("\(base).\(last)")
                }
                return
            }
        }
    }

    /// Takes the pending records and the position they reach; starts the next
    /// segment when this one is past its limit (returned to delete once applied).
    private func take(closing: Bool) -> ([Record], Position, [Int64]) {
        state.withLock { state in
            let batch = state.pending
            state.pending.removeAll(keepingCapacity: true)
            let position = Position(segment: state.segment, records: state.recordsInSegment)
            if closing {
                state.closed = true
                closedFlag.store(true, ordering: .releasing)
                return (batch, position, [])
            }
            guard state.bytesInSegment >= segmentLimit,
                  let fd = try? Self.openSegment(base: base, segment: state.segment + 1) else { return (batch, position, []) }
            let old = state.segment
            state.closeSegment()
            state.fd = fd
            state.segment += 1
            state.recordsInSegment = 0
            state.bytesInSegment = 0
            return (batch, position, [old])
        }
    }

    // MARK: Encoding

    /// Appends `record` framed (length, FNV-1a-32, payload); `false` when a field is too long.
    static func encode(_ record: Record, into bytes: inout [UInt8]) -> Bool {
        let start = bytes.count
        bytes.append(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0])
        guard record.encodePayload(into: &bytes), bytes.count - start - 8 <= maxRecordBytes else {
            bytes.removeSubrange(start...)
            return false
        }
        let length = bytes.count - start - 8
        let hash = fnv1a(bytes[(start + 8)...])
        for i in 0..<4 {
            bytes[start + i] = UInt8(truncatingIfNeeded: UInt32(length) >> (8 * i))
            bytes[start + 4 + i] = UInt8(truncatingIfNeeded: hash >> (8 * i))
        }
        return true
    }

    static func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in bytes {
            hash ^= UInt32(byte)
            hash &*= 16_777_619
        }
        return hash
    }

    /// The records of a segment, up to the first one cut short or damaged.
    static func readSegment(_ path: String) throws -> [Record] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return decodeAll(Array(data))
    }

    /// Framed records from `bytes`, stopping at the first invalid one.
    static func decodeAll(_ bytes: [UInt8]) -> [Record] {
        var records: [Record] = []
        var offset = 0
        while bytes.count - offset >= 8 {
            let length = Int(le32(bytes, offset))
            let hash = le32(bytes, offset + 4)
            guard length > 0, length <= maxRecordBytes, bytes.count - offset - 8 >= length else { break }
            let payload = bytes[(offset + 8)..<(offset + 8 + length)]
            guard fnv1a(payload) == hash, let record = Record.decodePayload(payload) else { break }
            records.append(record)
            offset += 8 + length
        }
        return records
    }

    private static func le32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }
}

/// The pieces of a journal payload: little-endian integers and strings of at most 65,535 bytes.
struct JournalWriter {
    var bytes: [UInt8]
    var ok = true

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func int64(_ value: Int64) {
        var value = UInt64(bitPattern: value).littleEndian
        withUnsafeBytes(of: &value) { bytes.append(contentsOf: $0) }
    }

    mutating func uint16(_ value: Int) {
        guard value >= 0, value <= 0xFFFF else {
            ok = false
            return
        }
        bytes.append(UInt8(value & 0xFF))
        bytes.append(UInt8(value >> 8))
    }

    mutating func string(_ value: String) {
        uint16(value.utf8.count)
        if ok { bytes.append(contentsOf: value.utf8) }
    }

    /// A presence byte, then the string when there is one.
    mutating func optional(_ value: String?) {
        if let value {
            byte(1)
            string(value)
        } else {
            byte(0)
        }
    }
}

/// Reads what ``JournalWriter`` wrote; each read is `nil` past the end.
struct JournalReader {
    var bytes: ArraySlice<UInt8>
    var atEnd: Bool { bytes.isEmpty }

    mutating func byte() -> UInt8? { bytes.popFirst() }

    mutating func uint16() -> Int? {
        guard bytes.count >= 2 else { return nil }
        let value = Int(bytes[bytes.startIndex]) | Int(bytes[bytes.startIndex + 1]) << 8
        bytes = bytes.dropFirst(2)
        return value
    }

    mutating func int64() -> Int64? {
        guard bytes.count >= 8 else { return nil }
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[bytes.startIndex + i]) << (8 * UInt64(i)) }
        bytes = bytes.dropFirst(8)
        return Int64(bitPattern: value)
    }

    mutating func string() -> String? {
        guard let count = uint16(), bytes.count >= count else { return nil }
        let value = String(decoding: bytes.prefix(count), as: UTF8.self)
        bytes = bytes.dropFirst(count)
        return value
    }

    /// A presence byte and the string: `.some(nil)` when absent, `nil` when damaged.
    mutating func optional() -> String?? {
        switch byte() {
        case 0: return .some(nil)
        case 1:
            guard let value = string() else { return nil }
            return .some(value)
        default: return nil
        }
    }
}

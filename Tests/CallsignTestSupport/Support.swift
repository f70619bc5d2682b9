package import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The result of running a child process.
package struct ProcessOutput: Sendable {
    package var status: Int32
    package var stdout: String
    package var stderr: String
}

package enum ProcessError: Error, CustomStringConvertible {
    case timedOut(String)
    package var description: String {
        switch self {
        case .timedOut(let command): "timed out: \(command)"
        }
    }
}

/// Runs a program with a hard time limit; output goes through files so a
/// chatty child can never block on a full pipe. Started with ``spawn`` and
/// reaped with waitpid: on a time-out the whole group is killed.
///
/// The wait is a `Task.sleep` poll, so a test waiting for a child gives its
/// thread back: Swift Testing runs tests on the cooperative pool (one thread
/// per core), and a blocking wait there starves every other test's timers
/// and continuations (CI once saw a 500 ms fetch time-out fire after 5.3 s).
package func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
         timeout: Double = 60) async throws -> ProcessOutput
{
    var child = try Child(executable, arguments, environment: environment, timeout: timeout)
    var pause = Duration.milliseconds(1)
    while try !child.exited() {
        do {
            try await Task.sleep(for: pause)
        } catch {
            child.kill()
            throw error
        }
        pause = min(pause * 2, .milliseconds(20))
    }
    return child.output()
}

/// ``run`` for the few places that cannot await (a once-per-run trait
/// condition); keep what it runs short.
package func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                 timeout: Double = 60) throws -> ProcessOutput
{
    var child = try Child(executable, arguments, environment: environment, timeout: timeout)
    while try !child.exited() { usleep(2_000) }
    return child.output()
}

/// A child of ``run`` / ``runBlocking``: started with ``spawn``, output in a
/// directory of its own (removed by ``output()`` or ``kill()``).
private struct Child {
    let pid: pid_t
    let command: String
    let directory: URL
    let deadline: ContinuousClock.Instant
    var status: Int32 = 0

    init(_ executable: String, _ arguments: [String], environment: [String: String], timeout: Double) throws {
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        command = ([executable] + arguments).joined(separator: " ")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        do {
            pid = try spawn(executable, arguments, environment: env, stdout: directory.appendingPathComponent("out").path,
                            stderr: directory.appendingPathComponent("err").path)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
    }

    /// Whether the child has exited; past the deadline it is killed with its group and this throws.
    mutating func exited() throws -> Bool {
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid { return true }
        if reaped < 0 && errno != EINTR {
            kill()
            throw PeerError("waitpid failed: errno \(errno)")
        }
        guard ContinuousClock.now <= deadline else {
            kill()
            throw ProcessError.timedOut(command)
        }
        return false
    }

    /// Kills the child's group, reaps it and removes its output.
    func kill() {
        Glibc.kill(-pid, SIGKILL)
        var ignored: Int32 = 0
        _ = waitpid(pid, &ignored, 0)
        try? FileManager.default.removeItem(at: directory)
    }

    /// The exit status and output of the exited child; stops anything it left in its group.
    func output() -> ProcessOutput {
        defer { try? FileManager.default.removeItem(at: directory) }
        Glibc.kill(-pid, SIGTERM)
        let exitStatus: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return ProcessOutput(status: exitStatus,
                             stdout: (try? String(contentsOfFile: directory.appendingPathComponent("out").path, encoding: .utf8)) ?? "",
                             stderr: (try? String(contentsOfFile: directory.appendingPathComponent("err").path, encoding: .utf8)) ?? "")
    }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+; not in Swift's Glibc module).
private let closeFromAction: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
    // A null handle is RTLD_DEFAULT on glibc: the process's global symbols.
    guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
}()

/// Starts `argv` with posix_spawn in its own process group, stdin from
/// /dev/null, stdout/stderr to files, an empty signal mask and default
/// handlers (test-runner threads block signals, and a child inheriting that
/// mask ignores SIGTERM), and no other descriptor of the test process: NIO
/// accepts connections without close-on-exec, and a child holding a test
/// server's connection kept it open after the server closed it (a test
/// waiting for that close saw none while the child lived).
package func spawn(_ executable: String, _ arguments: [String], environment: [String: String], stdout outPath: String,
           stderr errPath: String) throws -> pid_t
{
    var fileActions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&fileActions)
    defer { posix_spawn_file_actions_destroy(&fileActions) }
    posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&fileActions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&fileActions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    if let closeFrom = closeFromAction { _ = closeFrom(&fileActions, 3) }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var emptyMask = sigset_t()
    sigemptyset(&emptyMask)
    var defaults = sigset_t()
    sigfillset(&defaults)
    sigdelset(&defaults, SIGKILL)
    sigdelset(&defaults, SIGSTOP)
    posix_spawnattr_setsigmask(&attributes, &emptyMask)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setpgroup(&attributes, 0)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        argv.forEach { free($0) }
        envp.forEach { free($0) }
    }
    var pid: pid_t = 0
    let status = posix_spawn(&pid, executable, &fileActions, &attributes, argv, envp)
    guard status == 0 else { throw PeerError("cannot start \(executable): errno \(status)") }
    return pid
}

/// The `callsign` executable built next to this test bundle.
package enum CLI {
    package static let path: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // On macOS the bundle is one level deeper (…/X.xctest/Contents/MacOS/X).
        while !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("callsign").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("callsign").path
    }()

    package static func callsign(_ arguments: String...) async throws -> ProcessOutput {
        try await run(path, arguments)
    }

    package static func callsign(arguments: [String]) async throws -> ProcessOutput {
        try await run(path, arguments)
    }
}

/// Third-party peers (secsipidx, OpenSSL, PyJWT, Kamailio, SIPp) and the
/// repository's scripts around them. With CALLSIGN_REQUIRE_PEERS=1 (CI) a missing peer fails the
/// test; otherwise the interop suites are skipped and say so.
package enum Peers {
    package static let required = ProcessInfo.processInfo.environment["CALLSIGN_REQUIRE_PEERS"] == "1"

    package static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The repository's peer scripts (`scripts/peers`): the OpenSSL test PKI,
    /// the OpenSSL-only JWS reference, a one-INVITE SIP client, secsipidx's check.
    package static let directory = repositoryRoot.appendingPathComponent("scripts/peers")

    package static func script(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// A Kamailio configuration or SIPp scenario of the tests (`Tests/CallsignCLITests/…`).
    package static func testFile(_ path: String) -> String {
        repositoryRoot.appendingPathComponent("Tests/CallsignCLITests").appendingPathComponent(path).path
    }

    package static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    package static var haveSecsipidx: Bool { which("secsipidx") != nil }
    package static var haveOpenSSL: Bool { which("openssl") != nil && which("python3") != nil }
    package static var havePyJWT: Bool {
        guard which("python3") != nil else { return false }
        return (try? runBlocking("/usr/bin/env", ["python3", "-c", "import jwt, cryptography"], timeout: 30).status) == 0
    }

    /// Enables a test when the peer is present, or always when peers are required.
    package static func enabled(_ present: Bool) -> Bool { required || present }

    /// A port for the x5u server of this test run (the scripts default to 18080).
    package static let certPort: Int = TestPorts.take()

    /// The test PKI (`scripts/peers/test-pki.sh`), made once per test run; the
    /// first caller makes it, the others wait for it without blocking a thread.
    package static func pkiDirectory() async throws -> URL { try await PKIOnce.shared.get() }

    package static var x5u: String { "http://127.0.0.1:\(certPort)/sp-chain.pem" }
}

/// Ports for the servers and peers the tests start: blocks handed out from
/// one counter, so no two tests of a run share one, and below Linux's
/// ephemeral range (32768–60999), so no client connection's local port is
/// one of them (CI once saw a test's server fail with EADDRINUSE on a random
/// port in that range).
package enum TestPorts {
    private static let next = Atomic<Int>(Int.random(in: 10_000...20_000))

    /// The first of `count` consecutive ports for this caller alone.
    package static func take(_ count: Int = 1) -> Int {
        next.wrappingAdd(count, ordering: .relaxed).oldValue
    }

    /// Waits until something accepts TCP connections on 127.0.0.1:`port` (at most `timeout` seconds).
    package static func waitForListener(_ port: Int, timeout: Double = 30) async throws {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while ContinuousClock.now < deadline {
            if (try? TestConnection(port: port, timeout: 1)) != nil { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw PeerError("nothing listens on 127.0.0.1:\(port) after \(timeout) s")
    }
}

/// Makes the test PKI once; concurrent callers wait on continuations.
package actor PKIOnce {
    package static let shared = PKIOnce()
    private var result: Result<URL, any Error>?
    private var waiters: [CheckedContinuation<URL, any Error>]?

    package func get() async throws -> URL {
        if let result { return try result.get() }
        if waiters != nil {
            return try await withCheckedThrowingContinuation { waiters?.append($0) }
        }
        waiters = []
        let made: Result<URL, any Error>
        do {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsign-pki-\(UUID().uuidString)")
            let output = try await run("/bin/bash", [Peers.script("test-pki.sh"), dir.path, "1234",
                                                     "http://127.0.0.1:\(Peers.certPort)"], timeout: 120)
            guard output.status == 0 else {
                throw PeerError("test-pki.sh failed (\(output.status)): \(output.stderr.suffix(500))")
            }
            made = .success(dir)
        } catch {
            made = .failure(error)
        }
        result = made
        for waiter in waiters ?? [] { waiter.resume(with: made) }
        waiters = nil
        return try made.get()
    }
}

package struct PeerError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// Parses JSON printed by the CLI.
package func jsonObject(_ text: String) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw PeerError("not a JSON object: \(text.prefix(200))")
    }
    return object
}

package func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

/// A child process running in the background (own process group, output to
/// files, killed by PID with its group on stop).
package final class BackgroundProcess: @unchecked Sendable {
    package let pid: pid_t
    package let outPath: String
    package let errPath: String

    package init(_ executable: String, _ arguments: [String], directory: String) throws {
        outPath = directory + "/bg-\(UUID().uuidString).out"
        errPath = directory + "/bg-\(UUID().uuidString).err"
        // `cd DIR && exec …` keeps the PID while starting in DIR.
        func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let script = "cd \(quote(directory)) && exec " + ([executable] + arguments).map(quote).joined(separator: " ")
        pid = try spawn("/bin/sh", ["-c", script], environment: ProcessInfo.processInfo.environment, stdout: outPath, stderr: errPath)
    }

    package var output: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    package var errors: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// Waits until the output contains `text` (or the process dies, or the time is up).
    package func waitForOutput(_ text: String, timeout: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if output.contains(text) { return true }
            if reapOnce() != nil { return output.contains(text) }
            do { try await Task.sleep(for: .milliseconds(20)) } catch { return false }
        }
        return false
    }

    /// The exit status once reaped (so a second stop neither signals a
    /// reused PID nor waits on a child that is gone).
    private let exited = Mutex<Int32?>(nil)

    private func reapOnce() -> Int32? {
        exited.withLock { exited in
            if let exited { return exited }
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid {
                kill(-pid, SIGKILL)
                exited = status
                return status
            }
            if reaped < 0 && errno == ECHILD {
                exited = -1
                return -1
            }
            return nil
        }
    }

    private func killAndReap() -> Int32 {
        exited.withLock { exited in
            if let exited { return exited }
            kill(-pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            exited = status
            return status
        }
    }

    /// SIGTERM, then SIGKILL after 5 s; returns the exit status. Waits
    /// without holding a thread; use it wherever the caller can await.
    @discardableResult package func terminate() async -> Int32 {
        if let status = reapOnce() { return status }
        kill(pid, SIGTERM)
        for _ in 0..<250 {
            if let status = reapOnce() { return status }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return killAndReap()
    }

    /// ``terminate()`` for `defer` blocks, which cannot await: a safety net
    /// after the test has already stopped the process (then it returns at once).
    @discardableResult package func stop() -> Int32 {
        if let status = reapOnce() { return status }
        kill(pid, SIGTERM)
        for _ in 0..<250 {
            if let status = reapOnce() { return status }
            usleep(20_000)
        }
        return killAndReap()
    }
}

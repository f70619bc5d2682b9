import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Prints the "listening" banner once every listener of `serve` is bound,
/// never before: a listener that cannot bind ends the process with its name
/// and address instead.
final class StartupGate: Sendable {
    private let waiting: Mutex<Int>
    private let onReady: @Sendable () -> Void

    init(listeners: Int, onReady: @escaping @Sendable () -> Void) {
        waiting = Mutex(listeners)
        self.onReady = onReady
        if listeners == 0 { onReady() }
    }

    /// One listener is bound; the last one prints the banner.
    func bound() {
        let last = waiting.withLock { count -> Bool in
            count -= 1
            return count == 0
        }
        if last { onReady() }
    }
}

/// A listener's failure, naming it: `SIP signing listener 127.0.0.1:5060 (UDP): address already in use`.
struct ListenerError: Error, CustomStringConvertible {
    var description: String

    init(_ listener: String, _ address: String, _ error: any Error) {
        description = "\(listener) \(address): \(Self.reason(error))"
    }

    /// The cause in words: errno names for socket errors, else the error itself.
    static func reason(_ error: any Error) -> String {
        guard let io = error as? IOError else { return String(describing: error) }
        switch io.errnoCode {
        case EADDRINUSE: return "address already in use"
        case EADDRNOTAVAIL: return "address not available on this host"
        case EACCES: return "permission denied (a port below 1024 needs privileges)"
        default: return String(cString: strerror(io.errnoCode))
        }
    }

    /// `HOST:PORT`, with brackets around an IPv6 host.
    static func address(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// Runs a service and names its listener in any error it ends with.
struct NamedListener<Inner: Service>: Service {
    let name: String
    let address: String
    let inner: Inner

    func run() async throws {
        do {
            try await inner.run()
        } catch {
            throw ListenerError(name, address, error)
        }
    }
}

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

/// Runs a service and names its listener in any error it ends with.
struct NamedListener<Inner: Service>: Service {
    let name: String
    let address: String
    let inner: Inner

    func run() async throws {
        do {
            try await inner.run()
        } catch {
            throw AppError.listener(name, address, error)
        }
    }
}

/// `HOST:PORT`, with brackets around an IPv6 host (RFC 3986 §3.2.2): in URLs and in the names of listeners.
func authority(_ host: String, _ port: Int) -> String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
}

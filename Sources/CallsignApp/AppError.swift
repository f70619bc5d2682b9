import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Why `callsign serve` cannot start or go on: a configuration file at fault
/// (naming the key), a file or setting of the setup, or a listener that cannot
/// bind (naming it: `SIP signing listener 127.0.0.1:5060 (UDP): address already in use`).
public struct AppError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where the fault is; the raw values are stable.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The configuration file (JSON, a key's value).
        case configuration
        /// A file or option the setup reads: a key, a trust anchor, an address, the data directory.
        case setup
        /// A listener's address cannot be bound or used.
        case listener
    }

    public var code: Code
    /// The message, naming what is at fault (never a key's material or a token).
    public var detail: String
    public var description: String { detail }

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// A listener's failure: `LISTENER ADDRESS: cause`.
    static func listener(_ listener: String, _ address: String, _ error: any Error) -> AppError {
        AppError(.listener, "\(listener) \(address): \(reason(error))")
    }

    /// The cause in words: errno names for socket errors, else the error itself.
    static func reason(_ error: any Error) -> String {
        if let named = error as? AppError { return named.detail }
        guard let io = error as? IOError else { return String(describing: error) }
        switch io.errnoCode {
        case EADDRINUSE: return "address already in use"
        case EADDRNOTAVAIL: return "address not available on this host"
        case EACCES: return "permission denied (a port below 1024 needs privileges)"
        default: return String(cString: strerror(io.errnoCode))
        }
    }
}

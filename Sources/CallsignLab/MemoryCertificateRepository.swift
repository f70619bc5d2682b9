public import Callsign
import Synchronization

/// A certificate repository held in memory (URL → body): for tests,
/// benchmarks, and a server's own published certificates.
public final class MemoryCertificateRepository: CertificateRepository {
    private let contents: Mutex<[String: [UInt8]]>
    private let fetchCount = Mutex(0)

    public init(_ contents: [String: [UInt8]] = [:]) {
        self.contents = Mutex(contents)
    }

    /// Publishes or replaces a body.
    public func set(_ url: String, _ body: [UInt8]) { contents.withLock { $0[url] = body } }

    /// How many fetches were made.
    public var fetches: Int { fetchCount.withLock { $0 } }

    /// Everything here is in memory: the body (counted as a fetch), or `nil` to let ``fetch(_:target:)`` answer 404.
    public func cachedBody(_ url: String, at time: Int64) -> [UInt8]? {
        guard let body = contents.withLock({ $0[url] }) else { return nil }
        fetchCount.withLock { $0 += 1 }
        return body
    }

    public func fetch(_ url: String, target: X5UPolicy.Target) async throws(VerificationError) -> [UInt8] {
        fetchCount.withLock { $0 += 1 }
        guard let body = contents.withLock({ $0[url] }) else {
            throw VerificationError(.certificateUnavailable, "x5u answered HTTP 404")
        }
        return body
    }
}

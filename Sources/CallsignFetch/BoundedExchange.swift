public import AsyncHTTPClient
public import Callsign
public import NIOHTTP1
import NIOCore
import Synchronization
public import NIOSSL

/// One HTTP exchange under the certificate-repository rules (ATIS-1000074
/// §5.3.1): the URL already passed ``X5UPolicy/check(_:)``; no redirects; a
/// total deadline that covers the name lookup, connection, request and
/// body; a body cap; a host name resolved once, every address checked
/// against the special-purpose ranges, and the connection made to that
/// checked address (so a second lookup cannot rebind it). Shared by the x5u
/// and CRL fetcher and the STI-PA client.
public struct BoundedExchange: Sendable {
    /// What came back.
    public struct Response: Sendable {
        public var status: HTTPResponseStatus
        public var headers: HTTPHeaders
        public var body: [UInt8]
    }

    /// The shared client (no redirects) for lab-allowed URLs and literal addresses.
    let client: HTTPClient
    public var timeout: Duration
    public var maxBodyBytes: Int
    /// TLS settings (e.g. extra trust roots) of `client`, also used for pinned connections.
    public var tls: TLSConfiguration?

    public init(client: HTTPClient, timeout: Duration, maxBodyBytes: Int, tls: TLSConfiguration? = nil) {
        self.client = client
        self.timeout = timeout
        self.maxBodyBytes = maxBodyBytes
        self.tls = tls
    }

    /// A client that never follows redirects, for ``init(client:timeout:maxBodyBytes:tls:)``.
    public static func makeClient(timeout: Duration = .seconds(2), tls: TLSConfiguration? = nil) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        if let tls { configuration.tlsConfiguration = tls }
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: TimeAmount(timeout), read: TimeAmount(timeout))
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Sends `request` to `target` and reads the whole body (any status).
    /// - Throws: ``VerificationError`` `certificateUnavailable` (timeouts, refusals, an
    ///   oversized body) or `badInfo` (a name resolving to a special-purpose address).
    public func perform(_ request: HTTPClientRequest, target: X5UPolicy.Target) async throws(VerificationError) -> Response {
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        do {
            return try await withTimeout(timeout) { [self] in
                if target.labAllowed || X5UPolicy.parseIPv4(target.host) != nil || X5UPolicy.parseIPv6(target.host) != nil {
                    // Lab URLs and literal addresses (checked by X5UPolicy) need no lookup.
                    return try await exchange(request, with: client, deadline: deadline)
                }
                let address = try await HTTPCertificateRepository.resolveChecked(target.host, port: target.port)
                var pinned = HTTPClient.Configuration()
                if let tls { pinned.tlsConfiguration = tls }
                pinned.redirectConfiguration = .disallow
                pinned.decompression = .disabled
                pinned.dnsOverride = [target.host: address]
                pinned.timeout = .init(connect: TimeAmount(timeout), read: TimeAmount(timeout))
                let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: pinned)
                let result: Result<Response, any Error>
                do {
                    result = .success(try await exchange(request, with: client, deadline: deadline))
                } catch {
                    result = .failure(error)
                }
                try? await client.shutdown()
                return try result.get()
            }
        } catch let error as VerificationError {
            throw error
        } catch is TimeoutError {
            throw VerificationError(.certificateUnavailable, "fetch timed out")
        } catch is CancellationError {
            throw VerificationError(.certificateUnavailable, "fetch timed out")
        } catch let error as HTTPClientError {
            if error == .deadlineExceeded || error == .cancelled { throw VerificationError(.certificateUnavailable, "fetch timed out") }
            throw VerificationError(.certificateUnavailable, "fetch failed: \(HTTPCertificateRepository.describe(error))")
        } catch {
            throw VerificationError(.certificateUnavailable, "fetch failed")
        }
    }

    private func exchange(_ request: HTTPClientRequest, with client: HTTPClient, deadline: NIODeadline) async throws -> Response {
        let response = try await client.execute(request, deadline: deadline)
        let buffer: ByteBuffer
        do {
            buffer = try await response.body.collect(upTo: maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw VerificationError(.certificateUnavailable, "body larger than \(maxBodyBytes) bytes")
        }
        return Response(status: response.status, headers: response.headers, body: Array(buffer.readableBytesView))
    }
}

/// An HTTP client owned by one object: shut down once, by ``shutdown()`` or,
/// when its owner is dropped without it, asynchronously at deinit
/// (AsyncHTTPClient requires a shutdown before a client is released).
final class OwnedHTTPClient: Sendable {
    let client: HTTPClient
    private let isShutDown = Mutex(false)

    init(_ client: HTTPClient) { self.client = client }

    func shutdown() async {
        guard isShutDown.withLock({ let was = $0; $0 = true; return !was }) else { return }
        try? await client.shutdown()
    }

    deinit {
        if !isShutDown.withLock({ $0 }) { _ = client.shutdown() }
    }
}

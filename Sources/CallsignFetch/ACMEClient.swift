import AsyncHTTPClient
public import Callsign
public import Crypto
public import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Metrics
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Why an ACME exchange failed: the problem document's `type` (RFC 8555
/// §6.7, e.g. `urn:ietf:params:acme:error:badNonce`) or a local code
/// (`transport`, `protocol`, `timeout`, `token`, `certificate`), the HTTP
/// status, and the detail. The error type of ``ACMEClient``.
public struct ACMEError: Error, Sendable, CustomStringConvertible {
    public var type: String
    public var status: Int?
    public var detail: String
    public var description: String { "\(type)\(status.map { " (HTTP \($0))" } ?? ""): \(detail)" }

    public init(_ type: String, status: Int? = nil, _ detail: String) {
        self.type = type
        self.status = status
        self.detail = detail
    }
}

/// Settings of ``ACMEClient``.
public struct ACMEConfiguration: Sendable {
    /// The CA's directory URL.
    public var directoryURL: String
    /// Which URLs the client may reach (the directory and every URL the CA hands back):
    /// https on 443/8443 to public addresses, unless a lab prefix allows more.
    public var policy: X5UPolicy
    /// Extra trust roots (PEM file) for the CA's TLS certificate, e.g. a lab CA's.
    public var trustRootsFile: String?
    /// Budget of one HTTP exchange.
    public var timeout: Duration = .seconds(30)
    /// Wait between polls of an order or authorization (a `Retry-After` up to 10 s is honoured).
    public var pollInterval: Duration = .seconds(1)
    /// Most polls before giving up.
    public var maxPolls = 60

    public init(directoryURL: String, policy: X5UPolicy = X5UPolicy(), trustRootsFile: String? = nil) {
        self.directoryURL = directoryURL
        self.policy = policy
        self.trustRootsFile = trustRootsFile
    }
}

/// An ACME client (RFC 8555) for STI certificates: accounts with external
/// account binding, orders for a TNAuthList identifier (RFC 9448), the
/// `tkauth-01` challenge answered with an SPC token (RFC 9447), finalize
/// with a CSR carrying the TNAuthList, and the certificate download
/// (`certificate` or `X-Shaken-Certificate-Location`). Nonces are pooled and
/// a `badNonce` is retried with the fresh nonce the error carries.
public final class ACMEClient: Sendable {
    public let configuration: ACMEConfiguration
    let accountKey: P256.Signing.PrivateKey
    let logger: Logger
    private let owned: OwnedHTTPClient
    private var client: HTTPClient { owned.client }
    private let tls: TLSConfiguration?

    private struct State {
        var directory: JSONObject?
        var nonces: [String] = []
        var account: String?
    }
    private let state = Mutex(State())

    /// Largest response accepted (a certificate chain is a few KiB).
    static let maxBodyBytes = 256 * 1024

    public init(configuration: ACMEConfiguration, accountKey: P256.Signing.PrivateKey, logger: Logger) throws(ACMEError) {
        self.configuration = configuration
        self.accountKey = accountKey
        self.logger = logger
        if let file = configuration.trustRootsFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
            } catch {
                throw ACMEError("configuration", "cannot read the trust roots \(file)")
            }
            self.tls = tls
        } else {
            self.tls = nil
        }
        owned = OwnedHTTPClient(BoundedExchange.makeClient(timeout: configuration.timeout, tls: tls))
    }

    /// Closes the HTTP client (also done, asynchronously, when this object is dropped without it).
    public func shutdown() async {
        await owned.shutdown()
    }

    /// The account key's public half (its fingerprint goes into the SPC token's `atc`).
    public var accountPublicKey: P256.Signing.PublicKey { accountKey.publicKey }

    /// The account URL once registered (the `kid` of later requests).
    public var accountURL: String? { state.withLock { $0.account } }

    // MARK: Transport

    struct Reply: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]

        var object: JSONObject? {
            guard case .object(let object)? = try? JSONParser.parse(body, limits: JSONLimits(maxDepth: 16, maxContainerCount: 1024,
                                                                                              maxBytes: ACMEClient.maxBodyBytes))
            else { return nil }
            return object
        }

        var location: String? { headers.first(name: "Location") }
    }

    private func exchange(_ url: String, method: HTTPMethod, body: [UInt8]?, accept: String = "application/json") async throws(ACMEError) -> Reply {
        let target: X5UPolicy.Target
        do {
            target = try configuration.policy.check(url)
        } catch {
            throw ACMEError("transport", "URL refused: \(url): \(error.detail)")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: accept)
        request.headers.add(name: "User-Agent", value: "callsign-acme")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/jose+json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: BoundedExchange.Response
        do {
            response = try await BoundedExchange(client: client, timeout: configuration.timeout, maxBodyBytes: Self.maxBodyBytes, tls: tls)
                .perform(request, target: target)
        } catch {
            throw ACMEError("transport", "\(url): \(error.detail)")
        }
        let reply = Reply(status: Int(response.status.code), headers: response.headers, body: response.body)
        if let nonce = reply.headers.first(name: "Replay-Nonce") {
            state.withLock { state in
                if state.nonces.count < 16 { state.nonces.append(nonce) }
            }
        }
        return reply
    }

    /// The directory (RFC 8555 §7.1.1), fetched once.
    func directory() async throws(ACMEError) -> JSONObject {
        if let directory = state.withLock({ $0.directory }) { return directory }
        let reply = try await exchange(configuration.directoryURL, method: .GET, body: nil)
        guard reply.status == 200, let directory = reply.object else {
            throw ACMEError("protocol", status: reply.status, "the directory \(configuration.directoryURL) is not a JSON object")
        }
        state.withLock { $0.directory = directory }
        return directory
    }

    func endpoint(_ name: String) async throws(ACMEError) -> String {
        guard let url = try await directory()[name]?.stringValue else {
            throw ACMEError("protocol", "the directory has no \(name)")
        }
        return url
    }

    func nonce() async throws(ACMEError) -> String {
        if let nonce = state.withLock({ $0.nonces.isEmpty ? nil : $0.nonces.removeLast() }) { return nonce }
        let reply = try await exchange(try await endpoint("newNonce"), method: .HEAD, body: nil)
        guard let nonce = reply.headers.first(name: "Replay-Nonce") else {
            throw ACMEError("protocol", status: reply.status, "newNonce gave no Replay-Nonce")
        }
        _ = state.withLock { $0.nonces.popLast() }
        return nonce
    }

    /// A signed POST (RFC 8555 §6.2); `payload` `nil` is POST-as-GET. A
    /// `badNonce` is retried (up to 5 times) with a fresh nonce; any other
    /// problem document becomes an ``ACMEError`` with its type and detail.
    func post(_ url: String, payload: JSONObject?, signer: ACMEMessage.Signer? = nil, accept: String = "application/json")
        async throws(ACMEError) -> Reply
    {
        let chosen: ACMEMessage.Signer
        if let signer {
            chosen = signer
        } else if let account = accountURL {
            chosen = .kid(account)
        } else {
            throw ACMEError("protocol", "no account: register first")
        }
        var attempt = 0
        while true {
            attempt += 1
            let fresh = try await nonce()
            let body: [UInt8]
            do {
                body = try ACMEMessage.request(url: url, nonce: fresh, payload: payload, signer: chosen, key: accountKey)
            } catch {
                throw ACMEError("protocol", "cannot sign the request")
            }
            let reply = try await exchange(url, method: .POST, body: body, accept: accept)
            if (200..<300).contains(reply.status) { return reply }
            let problem = reply.object
            let type = problem?["type"]?.stringValue ?? "protocol"
            let detail = problem?["detail"]?.stringValue ?? "HTTP \(reply.status)"
            if type == "urn:ietf:params:acme:error:badNonce", attempt < 5 {
                Counter(label: "callsign_acme_bad_nonce_retries_total").increment()
                logger.debug("ACME badNonce, retrying", metadata: ["url": "\(url)"])
                continue
            }
            throw ACMEError(type, status: reply.status, detail)
        }
    }

    // MARK: Account, order, challenge, finalize

    /// Creates (or finds) the account for the key (RFC 8555 §7.3), with an
    /// external account binding when the CA requires one (§7.3.4). Returns its URL.
    @discardableResult
    public func register(eab: (kid: String, macKey: [UInt8])?, contact: [String] = []) async throws(ACMEError) -> String {
        let url = try await endpoint("newAccount")
        var payload = JSONObject(["termsOfServiceAgreed": .bool(true)])
        if !contact.isEmpty { payload["contact"] = .array(contact.map { .string($0) }) }
        if let eab {
            payload["externalAccountBinding"] = .object(ACMEMessage.externalAccountBinding(kid: eab.kid, macKey: eab.macKey, url: url,
                                                                                           accountKey: accountKey.publicKey))
        }
        let reply = try await post(url, payload: payload, signer: .jwk)
        guard let account = reply.location else { throw ACMEError("protocol", status: reply.status, "newAccount gave no Location") }
        state.withLock { $0.account = account }
        logger.info("ACME account ready", metadata: ["account": "\(account)"])
        return account
    }

    /// An order (RFC 8555 §7.1.3) and its URL.
    public struct Order: Sendable {
        public var url: String
        public var status: String
        public var authorizations: [String]
        public var finalize: String
        public var certificate: String?

        init(url: String, _ object: JSONObject, reply: Reply) throws(ACMEError) {
            guard let status = object["status"]?.stringValue, let finalize = object["finalize"]?.stringValue else {
                throw ACMEError("protocol", "an order without status or finalize")
            }
            self.url = url
            self.status = status
            self.authorizations = object["authorizations"]?.arrayValue?.compactMap(\.stringValue) ?? []
            self.finalize = finalize
            self.certificate = object["certificate"]?.stringValue ?? reply.headers.first(name: "X-Shaken-Certificate-Location")
        }
    }

    /// Places an order for `identifiers` (`{"type","value"}` objects).
    public func newOrder(identifiers: [JSONObject]) async throws(ACMEError) -> Order {
        let reply = try await post(try await endpoint("newOrder"), payload: JSONObject(["identifiers": .array(identifiers.map { .object($0) })]))
        guard let url = reply.location, let object = reply.object else { throw ACMEError("protocol", status: reply.status, "newOrder gave no order") }
        return try Order(url: url, object, reply: reply)
    }

    /// One challenge of an authorization (RFC 8555 §8; `tkauth-01`: RFC 9447 §3).
    public struct Challenge: Sendable {
        public var type: String
        public var url: String
        public var status: String
        public var token: String?
        /// `tkauth-type` (`atc`) and `token-authority` of a `tkauth-01` challenge.
        public var tokenType: String?
        public var tokenAuthority: String?
    }

    /// An authorization (RFC 8555 §7.1.4).
    public struct Authorization: Sendable {
        public var status: String
        public var identifier: JSONObject
        public var challenges: [Challenge]
    }

    public func authorization(_ url: String) async throws(ACMEError) -> Authorization {
        let reply = try await post(url, payload: nil)
        guard let object = reply.object, let status = object["status"]?.stringValue, let identifier = object["identifier"]?.objectValue else {
            throw ACMEError("protocol", status: reply.status, "an authorization without status or identifier")
        }
        let challenges = (object["challenges"]?.arrayValue ?? []).compactMap { value -> Challenge? in
            guard let challenge = value.objectValue, let type = challenge["type"]?.stringValue, let url = challenge["url"]?.stringValue else {
                return nil
            }
            return Challenge(type: type, url: url, status: challenge["status"]?.stringValue ?? "pending", token: challenge["token"]?.stringValue,
                             tokenType: challenge["tkauth-type"]?.stringValue, tokenAuthority: challenge["token-authority"]?.stringValue)
        }
        return Authorization(status: status, identifier: identifier, challenges: challenges)
    }

    /// Tells the CA to validate `challenge` with `payload` (`{}` for most types, `{"atc": TOKEN}` for tkauth-01).
    public func answer(_ challenge: Challenge, payload: JSONObject) async throws(ACMEError) {
        _ = try await post(challenge.url, payload: payload)
    }

    func pause(_ reply: Reply?) async throws(ACMEError) {
        var wait = configuration.pollInterval
        if let text = reply?.headers.first(name: "Retry-After"), let seconds = Int(text), (0...10).contains(seconds) {
            wait = .seconds(seconds)
        }
        do {
            try await Task.sleep(for: wait)
        } catch {
            throw ACMEError("timeout", "cancelled")
        }
    }

    /// Polls an authorization until it is valid (or fails).
    public func waitForAuthorization(_ url: String) async throws(ACMEError) {
        for _ in 0..<configuration.maxPolls {
            let current = try await authorization(url)
            switch current.status {
            case "valid": return
            case "pending", "processing": try await pause(nil)
            default:
                throw ACMEError("authorization", "authorization \(current.status)")
            }
        }
        throw ACMEError("timeout", "authorization still pending after \(configuration.maxPolls) polls")
    }

    /// Finalizes with `csr` (DER) and polls until the order is valid; returns it.
    public func finalize(_ order: Order, csr: [UInt8]) async throws(ACMEError) -> Order {
        var reply = try await post(order.finalize, payload: JSONObject(["csr": .string(Base64URL.encode(csr))]))
        for _ in 0..<configuration.maxPolls {
            guard let object = reply.object else { throw ACMEError("protocol", status: reply.status, "finalize gave no order") }
            let current = try Order(url: order.url, object, reply: reply)
            switch current.status {
            case "valid":
                guard current.certificate != nil else { throw ACMEError("protocol", "a valid order without a certificate URL") }
                return current
            case "processing", "ready", "pending":
                try await pause(reply)
                reply = try await post(order.url, payload: nil)
            default:
                throw ACMEError("order", "order \(current.status): \(object["error"]?.objectValue?["detail"]?.stringValue ?? "")")
            }
        }
        throw ACMEError("timeout", "order still processing after \(configuration.maxPolls) polls")
    }

    /// Downloads the certificate chain (PEM, RFC 8555 §7.4.2).
    public func certificateChain(_ url: String) async throws(ACMEError) -> String {
        let reply = try await post(url, payload: nil, accept: "application/pem-certificate-chain")
        let text = String(decoding: reply.body, as: UTF8.self)
        guard text.contains("-----BEGIN CERTIFICATE-----") else { throw ACMEError("certificate", "the download is not a PEM chain") }
        return text
    }

    // MARK: Whole flows

    /// What an order produced.
    public struct Issued: Sendable {
        /// The chain as served (end entity first), PEM.
        public var chainPEM: String
        public var certificateURL: String
        public var orderURL: String
    }

    /// Obtains a STI certificate (ATIS-1000080 §6.3.5): an order for
    /// `tnAuthList`, each `tkauth-01` challenge answered with an SPC token
    /// from `token` (called with the challenge), finalize with a CSR for
    /// `certificateKey`, download.
    public func orderSTICertificate(tnAuthList: TNAuthorizationList, certificateKey: P256.Signing.PrivateKey, organization: String,
                                    ca: Bool = false, token: @Sendable (Challenge) async throws(ACMEError) -> String) async throws(ACMEError)
        -> Issued
    {
        let identifier: JSONObject
        let csr: [UInt8]
        do {
            identifier = try ACMEMessage.identifier(tnAuthList)
            csr = try ACMEMessage.csr(key: certificateKey, tnAuthList: tnAuthList, organization: organization, ca: ca)
        } catch {
            throw ACMEError("certificate", "cannot encode the TNAuthList or the CSR")
        }
        let order = try await newOrder(identifiers: [identifier])
        for url in order.authorizations {
            let authorization = try await authorization(url)
            if authorization.status == "valid" { continue }
            guard let challenge = authorization.challenges.first(where: { $0.type == "tkauth-01" }) else {
                throw ACMEError("authorization", "no tkauth-01 challenge offered (offered: \(authorization.challenges.map(\.type)))")
            }
            let atc = try await token(challenge)
            try await answer(challenge, payload: JSONObject(["atc": .string(atc)]))
            try await waitForAuthorization(url)
        }
        let valid = try await finalize(order, csr: csr)
        guard let certificateURL = valid.certificate else { throw ACMEError("protocol", "no certificate URL") }
        let chain = try await certificateChain(certificateURL)
        Counter(label: "callsign_acme_certificates_total").increment()
        return Issued(chainPEM: chain, certificateURL: certificateURL, orderURL: order.url)
    }

    /// Obtains a certificate for DNS names, answering each authorization's
    /// `challengeType` challenge with `{}` (a CA that validates it out of band,
    /// e.g. a lab CA): the RFC 8555 mechanics without telephone numbers.
    public func orderDNSCertificate(names: [String], certificateKey: P256.Signing.PrivateKey, challengeType: String = "http-01")
        async throws(ACMEError) -> Issued
    {
        let csr: [UInt8]
        do {
            csr = try ACMEMessage.csr(key: certificateKey, dnsNames: names)
        } catch {
            throw ACMEError("certificate", "cannot encode the CSR")
        }
        let order = try await newOrder(identifiers: names.map { JSONObject(["type": .string("dns"), "value": .string($0)]) })
        for url in order.authorizations {
            let authorization = try await authorization(url)
            if authorization.status == "valid" { continue }
            guard let challenge = authorization.challenges.first(where: { $0.type == challengeType }) else {
                throw ACMEError("authorization", "no \(challengeType) challenge offered")
            }
            try await answer(challenge, payload: JSONObject())
            try await waitForAuthorization(url)
        }
        let valid = try await finalize(order, csr: csr)
        guard let certificateURL = valid.certificate else { throw ACMEError("protocol", "no certificate URL") }
        return Issued(chainPEM: try await certificateChain(certificateURL), certificateURL: certificateURL, orderURL: order.url)
    }
}


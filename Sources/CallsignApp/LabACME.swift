import Callsign
import CallsignFetch
import CallsignLab
import Crypto
import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
public import ServiceLifecycle
import SwiftASN1
import Synchronization
import UnixSignals
public import X509

/// An ACME directory on the lab STI-CA (`callsign ca serve-acme`): RFC 8555
/// accounts with external account binding, TNAuthList orders (RFC 9448),
/// `tkauth-01` answered with an SPC token that is checked (signature by a
/// signer under the pinned STI-PA root, `exp`, `tkvalue` equal to the order's
/// TNAuthList, `fingerprint` equal to the account key's), finalize with a CSR
/// carrying the same TNAuthList, and the chain download. On loopback only;
/// for tests and labs, not a production STI-CA.
public final class LabACME: Sendable {
    /// The CA it issues from: the lab intermediate of a `callsign ca init` directory.
    struct Issuer: Sendable {
        let certificate: Certificate
        let key: P256.Signing.PrivateKey
        let chainPEM: String
        let crlURL: String
        let organization: String
    }

    public let baseURL: String
    let issuer: Issuer
    let stiPA: STIPAClient
    /// EAB key identifiers → MAC keys.
    public let eabKeys: [String: [UInt8]]
    /// Lifetime of issued certificates, in seconds.
    public let lifetime: Int64
    let now: @Sendable () -> Int64

    struct Account {
        var key: P256.Signing.PublicKey
    }

    struct Order {
        var account: String
        var status: String
        var identifier: [UInt8]  // the TNAuthList DER
        var identifierValue: String
        var authorization: String
        var certificate: String?
        var error: String?
        var expires: Int64
    }

    struct Authorization {
        var order: String
        var status: String
        var challenge: String
        var token: String
        var error: String?
    }

    struct State {
        var nonces: Set<String> = []
        var accounts: [String: Account] = [:]
        var orders: [String: Order] = [:]
        var authorizations: [String: Authorization] = [:]
        var challenges: [String: String] = [:]  // challenge id → authorization id
        var certificates: [String: String] = [:]
    }

    private let state = Mutex(State())

    /// - Parameters:
    ///   - caDirectory: a `callsign ca init` directory (its intermediate issues).
    ///   - stiPARoots: the pinned STI-PA root(s) SPC tokens must chain to.
    ///   - labAllow: URL prefixes the token's `x5u` may be fetched from over http/loopback.
    ///   - eabKeys: EAB key identifiers and MAC keys; accounts without a valid binding are refused.
    public init(caDirectory: String, baseURL: String, stiPARoots: [Certificate], labAllow: [String], eabKeys: [String: [UInt8]],
                lifetimeDays: Int64 = 30, now: @escaping @Sendable () -> Int64) throws {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        func read(_ name: String) throws -> String {
            guard let data = FileManager.default.contents(atPath: caDirectory + "/" + name) else {
                throw AppError(.setup, "cannot read \(caDirectory)/\(name) (make the CA with `callsign ca init`)")
            }
            return String(decoding: data, as: UTF8.self)
        }
        let state = try JSONParser.parse(Array(try read("ca.json").utf8), limits: JSONLimits(maxDepth: 8, maxContainerCount: 100_000,
                                                                                            maxBytes: 1 << 20)).objectValue
        let inter = try KeyLoading.firstCertificate(pem: try read("inter-ca.pem"))
        issuer = Issuer(certificate: inter, key: try KeyLoading.privateKey(pem: try read("inter-ca.key")),
                        chainPEM: try inter.serializeAsPEM().pemString + "\n",
                        crlURL: (state?["base_url"]?.stringValue ?? "") + "/inter-ca.crl",
                        organization: state?["organization"]?.stringValue ?? "Callsign Lab")
        stiPA = STIPAClient(settings: STIPASettings(baseURL: "", roots: stiPARoots), policy: X5UPolicy(labAllowPrefixes: labAllow),
                            now: now)
        self.eabKeys = eabKeys
        self.lifetime = lifetimeDays * 86_400
        self.now = now
    }

    static func random() -> String { Base64URL.encode((0..<16).map { _ in UInt8.random(in: 0...255) }) }

    func nonce() -> String {
        let value = Self.random()
        state.withLock { state in
            if state.nonces.count > 10_000 { state.nonces.removeAll() }
            state.nonces.insert(value)
        }
        return value
    }

    // MARK: Responses

    /// The fields of every answer (a fresh `Replay-Nonce`, RFC 8555 §6.5) and `extra`.
    func headers(_ extra: [(HTTPField.Name?, String)] = []) -> HTTPFields {
        var fields = HTTPFields()
        if let name = HTTPField.Name("Replay-Nonce") { fields[name] = nonce() }
        fields[.cacheControl] = "no-store"
        for case (let name?, let value) in extra { fields.append(HTTPField(name: name, value: value)) }
        return fields
    }

    func json(_ status: HTTPResponse.Status, _ object: JSONObject, _ extra: [(HTTPField.Name?, String)] = []) -> Response {
        var fields = headers(extra)
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONWriter.canonical(.object(object)))))
    }

    /// A problem document (RFC 8555 §6.7).
    func problem(_ type: String, _ detail: String, status: HTTPResponse.Status = .badRequest) -> Response {
        var fields = headers()
        fields[.contentType] = "application/problem+json"
        let body = JSONObject(["type": .string("urn:ietf:params:acme:error:" + type), "detail": .string(detail), "status": .integer(Int64(status.code))])
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONWriter.canonical(.object(body)))))
    }

    struct Refusal: Error {
        let type: String
        let detail: String
        var status: HTTPResponse.Status = .badRequest
    }

    // MARK: JWS (RFC 8555 §6.2)

    struct Signed {
        let payload: JSONObject?  // nil: POST-as-GET
        let rawPayload: String
        let protected: JSONObject
        let account: String?
        let key: P256.Signing.PublicKey
    }

    /// Checks a request's JWS: ES256, a nonce this server issued (used once),
    /// `url` equal to the request's, and a `jwk` (new accounts) or a known `kid`.
    func verify(_ request: Request, path: String, newAccount: Bool = false) async throws -> Signed {
        let body = try await request.body.collect(upTo: 64 * 1024)
        guard case .object(let jws)? = try? JSONParser.parse(Array(buffer: body), limits: JSONLimits(maxDepth: 8, maxContainerCount: 256, maxBytes: 64 * 1024)),
              let protectedText = jws["protected"]?.stringValue, let payloadText = jws["payload"]?.stringValue,
              let signatureText = jws["signature"]?.stringValue,
              let protectedBytes = Base64URL.decode(protectedText), let signature = Base64URL.decode(signatureText),
              case .object(let protected)? = try? JSONParser.parse(protectedBytes)
        else { throw Refusal(type: "malformed", detail: "not a flattened JWS") }
        guard protected["alg"]?.stringValue == "ES256" else { throw Refusal(type: "badSignatureAlgorithm", detail: "ES256 only") }
        guard let nonce = protected["nonce"]?.stringValue, state.withLock({ $0.nonces.remove(nonce) != nil }) else {
            throw Refusal(type: "badNonce", detail: "unknown or used nonce")
        }
        guard protected["url"]?.stringValue == baseURL + path else { throw Refusal(type: "unauthorized", detail: "url does not match the request") }
        let key: P256.Signing.PublicKey
        var account: String?
        if newAccount {
            guard let jwk = protected["jwk"]?.objectValue, let parsed = Self.key(jwk) else { throw Refusal(type: "malformed", detail: "a P-256 jwk is required") }
            key = parsed
        } else {
            guard let kid = protected["kid"]?.stringValue, let known = state.withLock({ $0.accounts[kid] }) else {
                throw Refusal(type: "accountDoesNotExist", detail: "unknown kid")
            }
            key = known.key
            account = kid
        }
        guard let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature),
              key.isValidSignature(ecdsa, for: SHA256.hash(data: Array((protectedText + "." + payloadText).utf8)))
        else { throw Refusal(type: "unauthorized", detail: "bad signature") }
        var payload: JSONObject?
        if !payloadText.isEmpty {
            guard let bytes = Base64URL.decode(payloadText), case .object(let object)? = try? JSONParser.parse(bytes) else {
                throw Refusal(type: "malformed", detail: "payload is not a JSON object")
            }
            payload = object
        }
        return Signed(payload: payload, rawPayload: payloadText, protected: protected, account: account, key: key)
    }

    static func key(_ jwk: JSONObject) -> P256.Signing.PublicKey? {
        guard jwk["kty"]?.stringValue == "EC", jwk["crv"]?.stringValue == "P-256", let x = jwk["x"]?.stringValue.flatMap(Base64URL.decode),
              let y = jwk["y"]?.stringValue.flatMap(Base64URL.decode), x.count == 32, y.count == 32
        else { return nil }
        return try? P256.Signing.PublicKey(rawRepresentation: x + y)
    }

    /// Checks the external account binding (RFC 8555 §7.3.4): HS256 by a known key over the account's JWK.
    func checkBinding(_ binding: JSONObject?, accountKey: P256.Signing.PublicKey) throws {
        guard let binding else { throw Refusal(type: "externalAccountRequired", detail: "an external account binding is required") }
        guard let protectedText = binding["protected"]?.stringValue, let payloadText = binding["payload"]?.stringValue,
              let signatureText = binding["signature"]?.stringValue, let protectedBytes = Base64URL.decode(protectedText),
              case .object(let protected)? = try? JSONParser.parse(protectedBytes), protected["alg"]?.stringValue == "HS256",
              let kid = protected["kid"]?.stringValue, let macKey = eabKeys[kid],
              protected["url"]?.stringValue == baseURL + "/acme/new-account",
              let payload = Base64URL.decode(payloadText), case .object(let jwk)? = try? JSONParser.parse(payload),
              let bound = Self.key(jwk), bound.rawRepresentation == accountKey.rawRepresentation,
              let signature = Base64URL.decode(signatureText)
        else { throw Refusal(type: "unauthorized", detail: "bad external account binding") }
        let expected = HMAC<SHA256>.authenticationCode(for: Array((protectedText + "." + payloadText).utf8), using: SymmetricKey(data: macKey))
        guard Array(expected) == signature else { throw Refusal(type: "unauthorized", detail: "bad external account binding MAC") }
    }

    // MARK: Objects

    func orderJSON(_ id: String, _ order: Order) -> JSONObject {
        var object = JSONObject([
            "status": .string(order.status), "expires": .string(CivilTime.iso8601(order.expires)),
            "identifiers": .array([.object(JSONObject(["type": .string("TNAuthList"), "value": .string(order.identifierValue)]))]),
            "authorizations": .array([.string(baseURL + "/acme/authz/" + order.authorization)]),
            "finalize": .string(baseURL + "/acme/order/\(id)/finalize"),
        ])
        if let certificate = order.certificate { object["certificate"] = .string(baseURL + "/acme/cert/" + certificate) }
        if let error = order.error { object["error"] = .object(JSONObject(["type": .string("urn:ietf:params:acme:error:unauthorized"), "detail": .string(error)])) }
        return object
    }

    func authorizationJSON(_ authorization: Authorization, identifier: String) -> JSONObject {
        var challenge = JSONObject([
            "type": .string("tkauth-01"), "tkauth-type": .string("atc"), "url": .string(baseURL + "/acme/challenge/" + authorization.challenge),
            "token": .string(authorization.token), "status": .string(authorization.status == "valid" ? "valid" : (authorization.status == "invalid" ? "invalid" : "pending")),
        ])
        if let error = authorization.error {
            challenge["error"] = .object(JSONObject(["type": .string("urn:ietf:params:acme:error:unauthorized"), "detail": .string(error)]))
        }
        return JSONObject([
            "status": .string(authorization.status),
            "identifier": .object(JSONObject(["type": .string("TNAuthList"), "value": .string(identifier)])),
            "challenges": .array([.object(challenge)]),
        ])
    }

    /// A TNAuthList identifier's DER (base64 with or without padding, or base64url).
    static func identifierDER(_ value: String) -> [UInt8]? {
        if let bytes = Data(base64Encoded: value) { return Array(bytes) }
        return Base64URL.decode(value.filter { $0 != "=" })
    }

    /// Checks an SPC token for an order (RFC 9447 §5, RFC 9448 §5).
    func checkToken(_ compact: String, identifier: [UInt8], accountKey: P256.Signing.PublicKey) async throws -> Void {
        let token: SPCToken
        do {
            token = try SPCToken(compact: compact)
        } catch {
            throw Refusal(type: "unauthorized", detail: error.detail)
        }
        guard token.authority.type == "TNAuthList", let tkvalue = Data(base64Encoded: token.authority.value), Array(tkvalue) == identifier else {
            throw Refusal(type: "unauthorized", detail: "the token's tkvalue is not the order's TNAuthList")
        }
        guard token.authority.fingerprint == SPCTokenAuthority.fingerprint(of: accountKey) else {
            throw Refusal(type: "unauthorized", detail: "the token's fingerprint is not the account key's")
        }
        guard !token.authority.ca else { throw Refusal(type: "unauthorized", detail: "a CA token for an end-entity order") }
        do {
            let chain = try await stiPA.signerChain(token.signerURL, what: "SPC token")
            try await token.check(signerChain: chain, roots: stiPA.settings.roots, at: now(), expected: nil)
        } catch {
            throw Refusal(type: "unauthorized", detail: error.detail)
        }
    }

    /// Issues the certificate for a finalize request's CSR.
    func issue(csrText: String, identifier: [UInt8]) throws -> String {
        guard let der = Base64URL.decode(csrText), let csr = try? CertificateSigningRequest(derEncoded: der) else {
            throw Refusal(type: "badCSR", detail: "not a DER CSR")
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else { throw Refusal(type: "badCSR", detail: "bad CSR signature") }
        guard let extensions = (try? csr.attributes.extensionRequest)??.extensions, let ext = extensions[oid: TNAuthorizationList.oid],
              Array(ext.value) == identifier, let list = try? TNAuthorizationList(ext)
        else { throw Refusal(type: "badCSR", detail: "the CSR's TNAuthList is not the order's") }
        guard let key = P256.Signing.PublicKey(csr.publicKey) else { throw Refusal(type: "badPublicKey", detail: "P-256 only") }
        let time = now()
        let certificate: Certificate
        do {
            certificate = try LabCertificateAuthority.issueEndEntity(
                publicKey: key, tnAuthList: list, issuer: issuer.certificate, issuerKey: issuer.key, organization: issuer.organization,
                crlURL: issuer.crlURL, notBefore: time - 300, notAfter: time + lifetime)
            return try certificate.serializeAsPEM().pemString + "\n" + issuer.chainPEM
        } catch {
            throw Refusal(type: "serverInternal", detail: "cannot issue", status: .internalServerError)
        }
    }

    // MARK: Router

    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let acme = self
        let base = baseURL
        router.get("/acme/directory") { _, _ in
            acme.json(.ok, JSONObject([
                "newNonce": .string(base + "/acme/new-nonce"), "newAccount": .string(base + "/acme/new-account"),
                "newOrder": .string(base + "/acme/new-order"),
                "meta": .object(JSONObject(["externalAccountRequired": .bool(true)])),
            ]))
        }
        router.head("/acme/new-nonce") { _, _ in Response(status: .ok, headers: acme.headers()) }
        router.get("/acme/new-nonce") { _, _ in Response(status: .noContent, headers: acme.headers()) }

        /// Runs a handler, turning a refusal into its problem document.
        @Sendable func answer(_ work: () async throws -> Response) async -> Response {
            do {
                return try await work()
            } catch let refusal as Refusal {
                return acme.problem(refusal.type, refusal.detail, status: refusal.type == "badNonce" ? .badRequest : refusal.status)
            } catch {
                return acme.problem("malformed", "bad request")
            }
        }

        router.post("/acme/new-account") { request, _ in
            await answer {
                let signed = try await acme.verify(request, path: "/acme/new-account", newAccount: true)
                let existing = acme.state.withLock { state in
                    state.accounts.first { $0.value.key.rawRepresentation == signed.key.rawRepresentation }?.key
                }
                if let existing { return acme.json(.ok, JSONObject(["status": .string("valid")]), [(.location, existing)]) }
                try acme.checkBinding(signed.payload?["externalAccountBinding"]?.objectValue, accountKey: signed.key)
                let url = base + "/acme/account/" + Self.random()
                acme.state.withLock { $0.accounts[url] = Account(key: signed.key) }
                return acme.json(.created, JSONObject(["status": .string("valid")]), [(.location, url)])
            }
        }
        router.post("/acme/new-order") { request, _ in
            await answer {
                let signed = try await acme.verify(request, path: "/acme/new-order")
                guard let identifiers = signed.payload?["identifiers"]?.arrayValue, identifiers.count == 1,
                      let identifier = identifiers[0].objectValue, identifier["type"]?.stringValue == "TNAuthList",
                      let value = identifier["value"]?.stringValue, let der = Self.identifierDER(value), (try? TNAuthorizationList(derEncoded: der)) != nil
                else { throw Refusal(type: "rejectedIdentifier", detail: "one TNAuthList identifier expected") }
                let id = Self.random()
                let authorizationID = Self.random()
                let order = Order(account: signed.account ?? "", status: "pending", identifier: der, identifierValue: value,
                                  authorization: authorizationID, expires: acme.now() + 86_400)
                acme.state.withLock { state in
                    state.orders[id] = order
                    let challenge = Self.random()
                    state.authorizations[authorizationID] = Authorization(order: id, status: "pending", challenge: challenge, token: Self.random())
                    state.challenges[challenge] = authorizationID
                }
                return acme.json(.created, acme.orderJSON(id, order), [(.location, base + "/acme/order/" + id)])
            }
        }
        router.post("/acme/authz/:id") { request, context in
            await answer {
                let id = context.parameters.get("id") ?? ""
                let signed = try await acme.verify(request, path: "/acme/authz/" + id)
                guard let (authorization, order) = acme.state.withLock({ state -> (Authorization, Order)? in
                    guard let authorization = state.authorizations[id], let order = state.orders[authorization.order] else { return nil }
                    return (authorization, order)
                }), order.account == signed.account else { throw Refusal(type: "malformed", detail: "no such authorization", status: .notFound) }
                return acme.json(.ok, acme.authorizationJSON(authorization, identifier: order.identifierValue))
            }
        }
        router.post("/acme/challenge/:id") { request, context in
            await answer {
                let id = context.parameters.get("id") ?? ""
                let signed = try await acme.verify(request, path: "/acme/challenge/" + id)
                guard let authorizationID = acme.state.withLock({ $0.challenges[id] }),
                      let authorization = acme.state.withLock({ $0.authorizations[authorizationID] }),
                      let order = acme.state.withLock({ $0.orders[authorization.order] }), order.account == signed.account
                else { throw Refusal(type: "malformed", detail: "no such challenge", status: .notFound) }
                guard let atc = signed.payload?["atc"]?.stringValue else { throw Refusal(type: "malformed", detail: "{\"atc\": TOKEN} expected") }
                var status = "valid"
                var failure: String?
                do {
                    try await acme.checkToken(atc, identifier: order.identifier, accountKey: signed.key)
                } catch let refusal as Refusal {
                    status = "invalid"
                    failure = refusal.detail
                }
                let updated = acme.state.withLock { state -> Authorization? in
                    state.authorizations[authorizationID]?.status = status
                    state.authorizations[authorizationID]?.error = failure
                    state.orders[authorization.order]?.status = status == "valid" ? "ready" : "invalid"
                    state.orders[authorization.order]?.error = failure
                    return state.authorizations[authorizationID]
                }
                var challenge = acme.authorizationJSON(updated ?? authorization, identifier: order.identifierValue)["challenges"]?.arrayValue?.first?.objectValue
                    ?? JSONObject()
                challenge["status"] = .string(status)
                return acme.json(.ok, challenge, [(.init("Link"), "<\(base)/acme/authz/\(authorizationID)>;rel=\"up\"")])
            }
        }
        router.post("/acme/order/:id") { request, context in
            await answer {
                let id = context.parameters.get("id") ?? ""
                let signed = try await acme.verify(request, path: "/acme/order/" + id)
                guard let order = acme.state.withLock({ $0.orders[id] }), order.account == signed.account else {
                    throw Refusal(type: "malformed", detail: "no such order", status: .notFound)
                }
                return acme.json(.ok, acme.orderJSON(id, order))
            }
        }
        router.post("/acme/order/:id/finalize") { request, context in
            await answer {
                let id = context.parameters.get("id") ?? ""
                let signed = try await acme.verify(request, path: "/acme/order/\(id)/finalize")
                guard let order = acme.state.withLock({ $0.orders[id] }), order.account == signed.account else {
                    throw Refusal(type: "malformed", detail: "no such order", status: .notFound)
                }
                guard order.status == "ready" else { throw Refusal(type: "orderNotReady", detail: "order is \(order.status)", status: .forbidden) }
                guard let csr = signed.payload?["csr"]?.stringValue else { throw Refusal(type: "malformed", detail: "csr expected") }
                let chain = try acme.issue(csrText: csr, identifier: order.identifier)
                let certificateID = Self.random()
                let finished = acme.state.withLock { state -> Order? in
                    state.certificates[certificateID] = chain
                    state.orders[id]?.status = "valid"
                    state.orders[id]?.certificate = certificateID
                    return state.orders[id]
                }
                return acme.json(.ok, acme.orderJSON(id, finished ?? order),
                                 [(.init("X-Shaken-Certificate-Location"), base + "/acme/cert/" + certificateID)])
            }
        }
        router.post("/acme/cert/:id") { request, context in
            await answer {
                let id = context.parameters.get("id") ?? ""
                _ = try await acme.verify(request, path: "/acme/cert/" + id)
                guard let chain = acme.state.withLock({ $0.certificates[id] }) else {
                    throw Refusal(type: "malformed", detail: "no such certificate", status: .notFound)
                }
                var fields = acme.headers()
                fields[.contentType] = "application/pem-certificate-chain"
                return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: chain)))
            }
        }
        return router
    }

    /// The ACME directory as a service on `host:port` (loopback only).
    public func service(host: String, port: Int, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws
        -> some Service
    {
        try LabListener.service(router(), name: "callsign-lab-acme", host: host, port: port, logger: logger, onRunning: onRunning)
    }

    /// Serves until SIGTERM or SIGINT; `banner` is called once the listener is bound.
    public func run(host: String, port: Int, logger: Logger, banner: @escaping @Sendable () -> Void) async throws {
        try await LabListener.run(try service(host: host, port: port, logger: logger) { _ in banner() }, logger: logger)
        await stiPA.shutdown()
    }

    /// The EAB keys of `path` (JSON `{"kid": "base64url MAC key"}`), made with one random key when missing
    /// (its key alone also written beside it, `.key` for `.json`).
    public static func eabKeys(at path: String) throws -> [String: [UInt8]] {
        if let data = FileManager.default.contents(atPath: path) {
            guard case .object(let object) = try JSONParser.parse(Array(data)) else { throw AppError(.setup, "\(path) is not a JSON object") }
            var keys: [String: [UInt8]] = [:]
            for member in object.members {
                guard let text = member.value.stringValue, let key = Base64URL.decode(text), !key.isEmpty else {
                    throw AppError(.setup, "\(path): the key of \(member.key) is not base64url")
                }
                keys[member.key] = key
            }
            return keys
        }
        let key = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let kid = "lab-" + Base64URL.encode((0..<6).map { _ in UInt8.random(in: 0...255) })
        var object = JSONObject()
        object[kid] = .string(Base64URL.encode(key))
        try Data(JSONWriter.pretty(.object(object)).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        // The key alone too, for `callsign acme order --eab-key-file`.
        let keyPath = (path.hasSuffix(".json") ? String(path.dropLast(5)) : path) + ".key"
        try Data((Base64URL.encode(key) + "\n").utf8).write(to: URL(fileURLWithPath: keyPath), options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyPath)
        return [kid: key]
    }
}

import AsyncHTTPClient
public import Callsign
import NIOCore
import NIOHTTP1
import Synchronization
import SwiftASN1
public import X509
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where the STI-PA is and what pins it (the `sti_pa` configuration object).
public struct STIPASettings: Sendable {
    /// The API base, e.g. `https://sti-pa.example/api/v1` (`login` is `{base}/auth/login`).
    public var baseURL: String
    /// The pinned STI-PA root(s): every list, CRL and token must chain to one.
    public var roots: [Certificate]
    /// The account used to log in (`userId`), when the STI-PA asks for one.
    public var user: String?
    /// Its password (read from `password_file`; never logged).
    public var password: String?
    /// The STI-PA CRL URL; `nil` when no STI-PA CRL is applied.
    public var crlURL: String?

    public init(baseURL: String, roots: [Certificate], user: String? = nil, password: String? = nil, crlURL: String? = nil) {
        self.baseURL = baseURL
        self.roots = roots
        self.user = user
        self.password = password
        self.crlURL = crlURL
    }
}

/// A client of the STI-PA's API (ATIS-1000080 §6.3, as the US STI-PA serves
/// it): log in, fetch the signed list of STI-CAs, the STI-PA CRL and SPC
/// tokens, each checked (``STIPATrustList``, ``CertificateRevocationList/checkSTIPA(signerChain:roots:at:)``,
/// ``SPCToken``) before it is returned. Every URL — the base, each `x5u`
/// and the CRL's AIA — passes the same ``X5UPolicy`` as call-path fetches,
/// with a time budget and a body cap per request.
public final class STIPAClient: Sendable {
    public let settings: STIPASettings
    public let policy: X5UPolicy
    private let owned: OwnedHTTPClient
    private var client: HTTPClient { owned.client }
    private let timeout: Duration
    private let now: @Sendable () -> Int64

    /// Largest ca-list response (the JWS inside a JSON envelope).
    public static let maxTrustListBytes = (2 << 20) + 64 * 1024
    /// Largest STI-PA CRL (ATIS-1000080 clients cap it at 2 MiB).
    public static let maxCRLBytes = 2 << 20
    /// Largest login, token or signer-certificate response.
    public static let maxSmallBytes = 64 * 1024

    /// - Parameters:
    ///   - timeout: budget of each request (name lookup to last body byte).
    ///   - now: the clock the checks use, seconds since the epoch.
    public init(settings: STIPASettings, policy: X5UPolicy, timeout: Duration = .seconds(10), now: @escaping @Sendable () -> Int64) {
        self.settings = settings
        self.policy = policy
        self.timeout = timeout
        self.now = now
        self.owned = OwnedHTTPClient(BoundedExchange.makeClient(timeout: timeout))
    }

    /// Closes the HTTP client (also done, asynchronously, when this object is dropped without it).
    public func shutdown() async {
        await owned.shutdown()
    }

    func url(_ path: String) -> String {
        var base = settings.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + path
    }

    /// One request under the URL policy; refuses any status but 200.
    func send(_ url: String, method: HTTPMethod = .GET, accept: String, body: JSONObject? = nil, authorization: String? = nil,
              maxBytes: Int, what: String) async throws(CallsignError) -> [UInt8]
    {
        let target: X5UPolicy.Target
        do {
            target = try policy.check(url)
        } catch {
            throw CallsignError(.stiPA, "\(what): URL refused: \(error.detail)")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: accept)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: JSONWriter.canonical(.object(body))))
        }
        let response: BoundedExchange.Response
        do {
            response = try await BoundedExchange(client: client, timeout: timeout, maxBodyBytes: maxBytes).perform(request, target: target)
        } catch {
            throw CallsignError(.stiPA, "\(what): \(error.detail)")
        }
        guard response.status == .ok else { throw CallsignError(.stiPA, "\(what): HTTP \(response.status.code)") }
        return response.body
    }

    /// A JSON object from a response.
    static func object(_ body: [UInt8], what: String) throws(CallsignError) -> JSONObject {
        let limits = JSONLimits(maxDepth: 8, maxContainerCount: 256, maxBytes: maxTrustListBytes)
        guard case .object(let object)? = try? JSONParser.parse(body, limits: limits) else {
            throw CallsignError(.stiPA, "\(what): the response is not a JSON object")
        }
        if let status = object["status"]?.stringValue, status.lowercased() != "success" {
            throw CallsignError(.stiPA, "\(what): status \(status): \(object["message"]?.stringValue ?? "")")
        }
        return object
    }

    /// Logs in (`POST {base}/auth/login`) and returns the access token sent
    /// as `Authorization` by later calls; `nil` when no user is configured.
    public func login() async throws(CallsignError) -> String? {
        guard let user = settings.user else { return nil }
        let body = JSONObject(["userId": .string(user), "password": .string(settings.password ?? "")])
        let response = try await send(url("/auth/login"), method: .POST, accept: "application/json", body: body,
                                      maxBytes: Self.maxSmallBytes, what: "login")
        guard let token = try Self.object(response, what: "login")["accessToken"]?.stringValue, !token.isEmpty else {
            throw CallsignError(.stiPA, "login: no accessToken in the response")
        }
        return token
    }

    /// The certificates at `url` (an `x5u` or a CRL's AIA), signer first.
    public func signerChain(_ url: String, what: String) async throws(CallsignError) -> [Certificate] {
        let body = try await send(url, accept: "application/pem-certificate-chain, application/pkix-cert, */*",
                                  maxBytes: Self.maxSmallBytes, what: "\(what) signer certificate")
        if let text = String(validating: body, as: UTF8.self), text.contains("-----BEGIN") {
            do {
                return try KeyLoading.certificates(pem: text)
            } catch {
                throw CallsignError(.stiPA, "\(what) signer certificate: \(error.detail)")
            }
        }
        do {
            return [try Certificate(derEncoded: body)]
        } catch {
            throw CallsignError(.stiPA, "\(what) signer certificate: neither PEM nor DER")
        }
    }

    /// Fetches and checks the list of approved STI-CAs (`GET {base}/ca-list`).
    /// - Parameter previousSequence: the last accepted list's sequence (a lower one is a rollback).
    public func trustList(previousSequence: Int64?, accessToken: String?) async throws(CallsignError) -> STIPATrustList {
        let body = try await send(url("/ca-list"), accept: "application/jose+json, application/json", authorization: accessToken,
                                  maxBytes: Self.maxTrustListBytes, what: "trust list")
        let compact: String
        if body.first == UInt8(ascii: "{") {
            guard let jws = try Self.object(body, what: "trust list")["caList"]?.stringValue else {
                throw CallsignError(.stiPA, "trust list: no caList in the response")
            }
            compact = jws
        } else {
            compact = String(decoding: body, as: UTF8.self)
        }
        let list = try STIPATrustList(compact: compact)
        let chain = try await signerChain(list.signerURL, what: "trust list")
        try await list.check(signerChain: chain, roots: settings.roots, at: now(), previousSequence: previousSequence)
        return list
    }

    /// Fetches and checks the STI-PA CRL (`application/pkix-crl`, at most 2 MiB), its signer from its AIA.
    public func crl() async throws(CallsignError) -> CertificateRevocationList {
        guard let crlURL = settings.crlURL else { throw CallsignError(.stiPA, "STI-PA CRL: no crl URL configured") }
        let body = try await send(crlURL, accept: "application/pkix-crl", maxBytes: Self.maxCRLBytes, what: "STI-PA CRL")
        let crl: CertificateRevocationList
        do {
            crl = try CertificateRevocationList(pemOrDER: body)
        } catch {
            throw CallsignError(.stiPA, "STI-PA CRL: \(error.detail)")
        }
        guard let signerURL = crl.signerCertificateURLs.first else {
            throw CallsignError(.stiPA, "STI-PA CRL: no authority information access naming its signer")
        }
        let chain = try await signerChain(signerURL, what: "STI-PA CRL")
        try await crl.checkSTIPA(signerChain: chain, roots: settings.roots, at: now())
        return crl
    }

    /// Logs in with a client of its own, asks for an SPC token and checks it
    /// (``token(spid:authority:accessToken:)``), then closes the client.
    public static func token(settings: STIPASettings, policy: X5UPolicy, spid: String, authority: SPCTokenAuthority,
                             now: @escaping @Sendable () -> Int64) async throws(CallsignError) -> SPCToken
    {
        let client = STIPAClient(settings: settings, policy: policy, now: now)
        let result: Result<SPCToken, CallsignError>
        do throws(CallsignError) {
            result = .success(try await client.token(spid: spid, authority: authority, accessToken: try await client.login()))
        } catch {
            result = .failure(error)
        }
        await client.shutdown()
        return try result.get()
    }

    /// Asks for an SPC token (`POST {base}/account/{SPID}/token`) and checks
    /// it: signature, chain to the pinned root, `exp`, and `atc` equal to `authority`.
    public func token(spid: String, authority: SPCTokenAuthority, accessToken: String?) async throws(CallsignError) -> SPCToken {
        guard !spid.isEmpty, spid.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
            throw CallsignError(.stiPA, "SPC token: the SPC must be letters and digits")
        }
        let body = JSONObject(["atc": .object(authority.json)])
        let response = try await send(url("/account/\(spid)/token"), method: .POST, accept: "application/json", body: body,
                                      authorization: accessToken, maxBytes: Self.maxSmallBytes, what: "SPC token")
        guard let compact = try Self.object(response, what: "SPC token")["token"]?.stringValue else {
            throw CallsignError(.stiPA, "SPC token: no token in the response")
        }
        let token = try SPCToken(compact: compact)
        let chain = try await signerChain(token.signerURL, what: "SPC token")
        try await token.check(signerChain: chain, roots: settings.roots, at: now(), expected: authority)
        return token
    }
}

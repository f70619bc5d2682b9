public import Callsign
public import CallsignFetch
public import CallsignService
import Crypto
import Foundation
public import Logging
import Metrics
import SwiftASN1
import Synchronization
import X509

/// A signing identity kept current over ACME (the `acme` object of `signing`
/// or of a customer): where its STI-CA is, how it authenticates, and where
/// its certificate chains are published.
public struct ACMEIdentityOptions: Sendable, Hashable {
    /// The STI-CA's ACME directory URL.
    public var directory: String
    public var eabKid: String?
    /// File holding the EAB MAC key (base64url).
    public var eabKeyFile: String?
    /// The service provider code the certificate is for.
    public var spc: String
    /// The ACME account key (PEM); made when missing.
    public var accountKeyPath: String?
    /// Where each new chain is written; it must be served at ``x5uBase``.
    public var publishDirectory: String?
    /// The URL ``publishDirectory`` is served at: each chain's x5u is `x5uBase/<spc>-<serial>.pem`.
    public var x5uBase: String?
    /// Renew this many days before `notAfter` (default 30).
    public var renewBeforeDays: Int64 = 30
    /// An SPC token file; without it, tokens come from the configured STI-PA.
    public var tokenFile: String?
    /// Extra trust roots (PEM) for the STI-CA's TLS certificate.
    public var caBundle: String?

    public init(directory: String, spc: String) {
        self.directory = directory
        self.spc = spc
    }
}

/// Keeps one signing identity's certificate current over ACME (ATIS-1000080
/// §6.3.5; RFC 8555, RFC 9448): orders a certificate when there is none in
/// force, renews ``ACMEIdentityOptions/renewBeforeDays`` before `notAfter`,
/// publishes the new chain at an x5u of its own, and switches signing to the
/// new key only once that x5u answers with the new chain. Until then, and
/// after any failure, the certificate in force keeps signing. Every step is
/// logged and counted; `callsign_signing_certificate_days_left` and
/// `callsign_acme_renewal_failing` (1 while the last attempt failed) are the
/// gauges to alert on.
public final class ACMERenewer: Sendable {
    /// Which identity: the service's, or a customer's.
    public enum Target: Sendable, Hashable {
        case service
        case customer(String)

        public var name: String {
            switch self {
            case .service: "service"
            case .customer(let id): "customer:\(id)"
            }
        }
    }

    /// The certificate in force (or waiting for its x5u).
    public struct Certificate: Sendable, Hashable {
        public var serial: String
        public var x5u: String
        public var notBefore: Int64
        public var notAfter: Int64
        public var keyPath: String
        public var chainPath: String
    }

    public let target: Target
    public let options: ACMEIdentityOptions
    let identities: SigningIdentities
    let stateDirectory: String
    let publishDirectory: String
    let x5uBase: String
    /// Makes the ACME client for one attempt (so each attempt starts afresh and is closed after it).
    let client: @Sendable () throws(ACMEError) -> ACMEClient
    /// The SPC token for the account key's authority.
    let token: @Sendable (SPCTokenAuthority) async throws(ACMEError) -> String
    /// One uncached GET of an x5u: its body, or `nil`.
    let fetch: @Sendable (String) async -> [UInt8]?
    let logger: Logger
    let now: @Sendable () -> Int64
    /// Checks of a new chain's x5u before giving up until the next pass, and the wait between them.
    let publishChecks: Int
    let publishWait: Duration

    private struct State {
        var current: Certificate?
        var pending: Certificate?
        var lastFailure: String?
    }
    private let state = Mutex(State())

    public init(target: Target, options: ACMEIdentityOptions, identities: SigningIdentities, stateDirectory: String,
                publishDirectory: String, x5uBase: String, client: @escaping @Sendable () throws(ACMEError) -> ACMEClient,
                token: @escaping @Sendable (SPCTokenAuthority) async throws(ACMEError) -> String,
                fetch: @escaping @Sendable (String) async -> [UInt8]?, logger: Logger, now: @escaping @Sendable () -> Int64,
                publishChecks: Int = 10, publishWait: Duration = .seconds(3))
    {
        self.target = target
        self.options = options
        self.identities = identities
        self.stateDirectory = stateDirectory
        self.publishDirectory = publishDirectory
        var base = x5uBase
        while base.hasSuffix("/") { base.removeLast() }
        self.x5uBase = base
        self.client = client
        self.token = token
        self.fetch = fetch
        self.logger = logger
        self.now = now
        self.publishChecks = max(1, publishChecks)
        self.publishWait = publishWait
    }

    public var current: Certificate? { state.withLock { $0.current } }
    public var pending: Certificate? { state.withLock { $0.pending } }
    /// Why the last pass failed; `nil` after a pass that did not.
    public var lastFailure: String? { state.withLock { $0.lastFailure } }

    var currentFile: String { stateDirectory + "/current.json" }
    var pendingFile: String { stateDirectory + "/pending.json" }

    // MARK: State on disk

    static func save(_ certificate: Certificate, to path: String) throws {
        let object = JSONObject(["serial": .string(certificate.serial), "x5u": .string(certificate.x5u),
                                 "not_before": .integer(certificate.notBefore), "not_after": .integer(certificate.notAfter), "key": .string(certificate.keyPath),
                                 "chain": .string(certificate.chainPath)])
        try Data(JSONWriter.pretty(.object(object)).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func load(_ path: String) -> Certificate? {
        guard let data = FileManager.default.contents(atPath: path), case .object(let object)? = try? JSONParser.parse(Array(data)),
              let serial = object["serial"]?.stringValue, let x5u = object["x5u"]?.stringValue,
              let notBefore = object["not_before"]?.integerValue, let notAfter = object["not_after"]?.integerValue,
              let key = object["key"]?.stringValue, let chain = object["chain"]?.stringValue
        else { return nil }
        return Certificate(serial: serial, x5u: x5u, notBefore: notBefore, notAfter: notAfter, keyPath: key, chainPath: chain)
    }

    func identity(_ certificate: Certificate) throws -> SigningIdentities.Identity {
        guard let pem = FileManager.default.contents(atPath: certificate.keyPath).map({ String(decoding: $0, as: UTF8.self) }) else {
            throw AppError(.setup, "cannot read \(certificate.keyPath)")
        }
        return SigningIdentities.Identity(name: target.name, key: try KeyLoading.privateKey(pem: pem), x5u: certificate.x5u)
    }

    func putInForce(_ certificate: Certificate) throws {
        let identity = try identity(certificate)
        switch target {
        case .service: identities.replaceService(with: identity)
        case .customer(let id): identities.replace(customer: id, with: identity)
        }
        state.withLock { $0.current = certificate }
    }

    /// Puts the certificate saved in the state directory in force (at start), and remembers a chain still waiting for its x5u.
    public func loadSaved() {
        try? FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        if let saved = Self.load(currentFile) {
            do {
                try putInForce(saved)
                logger.info("ACME certificate in force", metadata: ["identity": "\(target.name)", "serial": "\(saved.serial)",
                                                                    "x5u": "\(saved.x5u)"])
            } catch {
                logger.error("saved ACME certificate not usable", metadata: ["identity": "\(target.name)", "reason": "\(error)"])
            }
        }
        if let pending = Self.load(pendingFile) { state.withLock { $0.pending = pending } }
        updateGauges()
    }

    // MARK: One pass

    /// What one pass did.
    public enum Outcome: Sendable, Equatable {
        /// Nothing due.
        case current
        /// A new certificate is in force.
        case switched(serial: String)
        /// A new chain is published but its x5u does not serve it yet; the old one keeps signing.
        case waitingForPublication(serial: String)
        case failed(String)
    }

    /// Orders a certificate when none is in force or the one in force is due
    /// for renewal, then switches once its x5u serves it.
    @discardableResult
    public func check() async -> Outcome {
        let time = now()
        let outcome: Outcome
        if let pending = state.withLock({ $0.pending }) {
            outcome = await publishAndSwitch(pending)
        } else if let current = state.withLock({ $0.current }), time < renewalTime(current) {
            outcome = .current
        } else {
            outcome = await renew()
        }
        switch outcome {
        case .current, .switched:
            state.withLock { $0.lastFailure = nil }
            Gauge(label: "callsign_acme_renewal_failing", dimensions: [("identity", target.name)]).record(0)
        case .waitingForPublication:
            break
        case .failed(let reason):
            state.withLock { $0.lastFailure = reason }
            Gauge(label: "callsign_acme_renewal_failing", dimensions: [("identity", target.name)]).record(1)
            Counter(label: "callsign_acme_renewals_total", dimensions: [("identity", target.name), ("outcome", "failure")]).increment()
            logger.error("ACME renewal failed; the certificate in force keeps signing",
                         metadata: ["identity": "\(target.name)", "reason": "\(reason)"])
        }
        updateGauges()
        return outcome
    }

    /// When `certificate` is due: ``ACMEIdentityOptions/renewBeforeDays``
    /// before `notAfter`, or a third of its lifetime before it when that is
    /// sooner (a certificate shorter than three windows is not renewed at
    /// every pass from the day it was issued).
    public func renewalTime(_ certificate: Certificate) -> Int64 {
        let window = min(max(0, options.renewBeforeDays) * 86_400, max(0, certificate.notAfter - certificate.notBefore) / 3)
        return certificate.notAfter - window
    }

    func renew() async -> Outcome {
        logger.info("ACME order", metadata: ["identity": "\(target.name)", "spc": "\(options.spc)",
                                             "reason": "\(current == nil ? "no certificate in force" : "renewal due")"])
        Counter(label: "callsign_acme_renewals_total", dimensions: [("identity", target.name), ("outcome", "started")]).increment()
        let certificateKey = P256.Signing.PrivateKey()
        let issued: ACMEClient.Issued
        let client: ACMEClient
        do {
            client = try self.client()
        } catch {
            return .failed(error.description)
        }
        do throws(ACMEError) {
            let eab = try eabKey()
            try await client.register(eab: eab)
            let accountKey = client.accountPublicKey
            let authority: SPCTokenAuthority
            do {
                authority = try SPCTokenAuthority(spc: options.spc, accountKey: accountKey)
            } catch {
                throw ACMEError("token", "SPC \(options.spc) is not a valid SPC")
            }
            let token = self.token
            issued = try await client.orderSTICertificate(tnAuthList: try Self.list(options.spc), certificateKey: certificateKey,
                                                          organization: "Callsign") { _ throws(ACMEError) in try await token(authority) }
        } catch {
            await client.shutdown()
            return .failed(error.description)
        }
        await client.shutdown()
        do {
            let certificates = try KeyLoading.certificates(pem: issued.chainPEM)
            guard let leaf = certificates.first,
                  P256.Signing.PublicKey(leaf.publicKey)?.rawRepresentation == certificateKey.publicKey.rawRepresentation
            else { return .failed("the issued certificate is not for the new key") }
            let serial = leaf.serialNumber.bytes.map { String(format: "%02x", $0) }.joined()
            let stem = "\(options.spc)-\(serial)"
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: publishDirectory, withIntermediateDirectories: true)
            let keyPath = stateDirectory + "/\(stem).key"
            try Data((certificateKey.pemRepresentation + "\n").utf8).write(to: URL(fileURLWithPath: keyPath), options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyPath)
            let chainPath = publishDirectory + "/\(stem).pem"
            try Data(issued.chainPEM.utf8).write(to: URL(fileURLWithPath: chainPath), options: .atomic)
            let pending = Certificate(serial: serial, x5u: x5uBase + "/\(stem).pem",
                                      notBefore: Int64(leaf.notValidBefore.timeIntervalSince1970),
                                      notAfter: Int64(leaf.notValidAfter.timeIntervalSince1970), keyPath: keyPath, chainPath: chainPath)
            try Self.save(pending, to: pendingFile)
            state.withLock { $0.pending = pending }
            logger.info("ACME certificate issued and published; waiting for its x5u",
                        metadata: ["identity": "\(target.name)", "serial": "\(serial)", "x5u": "\(pending.x5u)"])
            return await publishAndSwitch(pending)
        } catch {
            return .failed("cannot keep the new certificate: \(error)")
        }
    }

    /// Switches to `pending` once its x5u answers with its chain.
    func publishAndSwitch(_ pending: Certificate) async -> Outcome {
        guard let chain = FileManager.default.contents(atPath: pending.chainPath).map(Array.init) else {
            state.withLock { $0.pending = nil }
            try? FileManager.default.removeItem(atPath: pendingFile)
            return .failed("the published chain \(pending.chainPath) is gone")
        }
        for attempt in 0..<publishChecks {
            if attempt > 0 {
                do { try await Task.sleep(for: publishWait) } catch { break }
            }
            if await fetch(pending.x5u) == chain {
                do {
                    try putInForce(pending)
                    try Self.save(pending, to: currentFile)
                    try? FileManager.default.removeItem(atPath: pendingFile)
                    state.withLock { $0.pending = nil }
                } catch {
                    return .failed("cannot switch to the new certificate: \(error)")
                }
                Counter(label: "callsign_acme_renewals_total", dimensions: [("identity", target.name), ("outcome", "switched")]).increment()
                logger.info("signing with the new certificate", metadata: ["identity": "\(target.name)", "serial": "\(pending.serial)",
                                                                           "x5u": "\(pending.x5u)"])
                return .switched(serial: pending.serial)
            }
        }
        Counter(label: "callsign_acme_renewals_total", dimensions: [("identity", target.name), ("outcome", "waiting")]).increment()
        logger.warning("the new chain's x5u does not serve it yet; the certificate in force keeps signing",
                       metadata: ["identity": "\(target.name)", "x5u": "\(pending.x5u)"])
        return .waitingForPublication(serial: pending.serial)
    }

    func eabKey() throws(ACMEError) -> (kid: String, macKey: [UInt8])? {
        guard let kid = options.eabKid else { return nil }
        guard let file = options.eabKeyFile, let data = FileManager.default.contents(atPath: file) else {
            throw ACMEError("configuration", "eab_kid needs a readable eab_key_file")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let key = Base64URL.decode(text), !key.isEmpty else { throw ACMEError("configuration", "\(file) is not a base64url key") }
        return (kid, key)
    }

    static func list(_ spc: String) throws(ACMEError) -> TNAuthorizationList {
        do {
            return try TNAuthorizationList([.spc(spc)])
        } catch {
            throw ACMEError("configuration", "SPC \(spc): \(error.detail)")
        }
    }

    /// Sets `callsign_signing_certificate_days_left{identity}`.
    func updateGauges() {
        guard let current else { return }
        Gauge(label: "callsign_signing_certificate_days_left", dimensions: [("identity", target.name)])
            .record(Double(current.notAfter - now()) / 86_400)
    }

    /// Passes every `interval` until cancelled, the first one at once.
    public func run(interval: Duration = .seconds(3600)) async {
        while !Task.isCancelled {
            await check()
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }
}

import Callsign
import CallsignLab
import Crypto
import Foundation
public import Hummingbird
public import Logging
import NIOCore
public import ServiceLifecycle
import Synchronization
import UnixSignals
import SwiftASN1
public import X509

/// A lab STI-PA (`callsign lab sti-pa`): the API of ATIS-1000080 §6.3 as
/// the US STI-PA serves it — login, the signed list of STI-CAs, SPC tokens
/// and the indirect STI-PA CRL — from a directory, on loopback, so that
/// every STI-PA flow runs in tests and labs without the internet. Not a
/// production service.
///
/// The directory:
/// - `root.pem` (pin it: `--sti-pa-root`), `signer.pem`/`.key`, `crl-signer.pem`/`.key`: made on first run;
/// - `sti-cas/*.pem`: the approved STI-CAs (the first certificate of each file); the list's
///   `sequence` goes up whenever this set changes;
/// - `revoked/*.pem`: certificates the STI-PA CRL revokes (named by issuer and serial);
/// - `users`: `user:password` lines (made with one `lab` user and a random password, also in `password`);
/// - `state.json`: the sequence and the digest of the set it was given for.
public final class LabSTIPA: Sendable {
    public let directory: String
    public let baseURL: String
    let authority: LabSTIPAAuthority
    let now: @Sendable () -> Int64
    /// Lifetime of a list, a CRL and a token, in seconds.
    public let listLifetime: Int64 = 2 * 86_400
    public let crlLifetime: Int64 = 86_400
    public let tokenLifetime: Int64 = 3 * 86_400
    private let sessions = Mutex(Set<String>())

    func file(_ name: String) -> String { directory + "/" + name }

    /// Opens (or creates) the lab STI-PA in `directory`, served at `baseURL`.
    public init(directory: String, baseURL: String, now: @escaping @Sendable () -> Int64) throws {
        self.directory = directory
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.now = now
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory + "/sti-cas", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: directory + "/revoked", withIntermediateDirectories: true)
        func read(_ name: String) -> String? {
            manager.contents(atPath: directory + "/" + name).map { String(decoding: $0, as: UTF8.self) }
        }
        if let rootPEM = read("root.pem"), let rootKey = read("root.key"), let signerPEM = read("signer.pem"),
            let signerKey = read("signer.key"), let crlPEM = read("crl-signer.pem"), let crlKey = read("crl-signer.key")
        {
            authority = LabSTIPAAuthority(
                rootKey: try KeyLoading.privateKey(pem: rootKey), root: try KeyLoading.firstCertificate(pem: rootPEM),
                signerKey: try KeyLoading.privateKey(pem: signerKey), signer: try KeyLoading.firstCertificate(pem: signerPEM),
                crlSignerKey: try KeyLoading.privateKey(pem: crlKey), crlSigner: try KeyLoading.firstCertificate(pem: crlPEM))
        } else {
            let made = try LabSTIPAAuthority.create(notBefore: now() - 300)
            func write(_ name: String, _ text: String, secret: Bool) throws {
                let path = directory + "/" + name
                try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
                if secret { try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path) }
            }
            try write("root.key", made.rootKey.pemRepresentation + "\n", secret: true)
            try write("root.pem", try made.root.serializeAsPEM().pemString + "\n", secret: false)
            try write("signer.key", made.signerKey.pemRepresentation + "\n", secret: true)
            try write("signer.pem", try made.signer.serializeAsPEM().pemString + "\n", secret: false)
            try write("crl-signer.key", made.crlSignerKey.pemRepresentation + "\n", secret: true)
            try write("crl-signer.pem", try made.crlSigner.serializeAsPEM().pemString + "\n", secret: false)
            authority = made
        }
        if read("users") == nil {
            let password = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            try Data("lab:\(password)\n".utf8).write(to: URL(fileURLWithPath: directory + "/users"), options: .atomic)
            try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/password"), options: .atomic)
            try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory + "/users")
            try manager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory + "/password")
        }
    }

    /// The root to pin.
    public var root: Certificate { authority.root }
    public var signerURL: String { baseURL + "/cert/signer.pem" }
    public var crlSignerURL: String { baseURL + "/cert/crl-signer.pem" }
    public var crlURL: String { baseURL + "/download/v1/crl" }

    /// Certificates of the PEM files in `sub` (first of each file), sorted by file name.
    func certificates(in sub: String) -> [Certificate] {
        let path = file(sub)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".pem") }.sorted()
        return names.compactMap { name in
            FileManager.default.contents(atPath: path + "/" + name)
                .flatMap { try? KeyLoading.firstCertificate(pem: String(decoding: $0, as: UTF8.self)) }
        }
    }

    /// The current list's sequence: raised whenever the set of approved STI-CAs changes.
    func sequence(for certificates: [Certificate]) throws -> Int64 {
        var hasher = SHA256()
        for certificate in certificates {
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            hasher.update(data: serializer.serializedBytes)
        }
        let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        let statePath = file("state.json")
        var sequence: Int64 = 0
        var known = ""
        if let data = FileManager.default.contents(atPath: statePath),
            case .object(let object)? = try? JSONParser.parse(Array(data))
        {
            sequence = object["sequence"]?.integerValue ?? 0
            known = object["digest"]?.stringValue ?? ""
        }
        if known != digest {
            sequence += 1
            let state = JSONObject(["sequence": .integer(sequence), "digest": .string(digest)])
            try Data(JSONWriter.pretty(.object(state)).utf8).write(to: URL(fileURLWithPath: statePath), options: .atomic)
        }
        return sequence
    }

    func users() -> [String: String] {
        guard let data = FileManager.default.contents(atPath: file("users")) else { return [:] }
        var users: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            users[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return users
    }

    static func json(_ status: HTTPResponse.Status, _ object: JSONObject) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONWriter.canonical(.object(object)))))
    }

    static func failure(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(status, JSONObject(["status": .string("failed"), "message": .string(message)]))
    }

    func authorized(_ request: Request) -> Bool {
        guard let token = request.headers[.authorization] else { return false }
        return sessions.withLock { $0.contains(token) }
    }

    /// The router: `POST /auth/login`, `GET /ca-list`, `POST /account/{spid}/token`,
    /// `GET /download/v1/crl`, `GET /cert/signer.pem`, `GET /cert/crl-signer.pem`, `GET /root.pem`.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let lab = self
        router.post("/auth/login") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 * 1024)
            guard case .object(let object)? = try? JSONParser.parse(Array(buffer: body)),
                  let user = object["userId"]?.stringValue, let password = object["password"]?.stringValue,
                  let expected = lab.users()[user], Array(expected.utf8) == Array(password.utf8)
            else { return Self.failure(.unauthorized, "bad userId or password") }
            let token = (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            lab.sessions.withLock { sessions in
                if sessions.count > 10_000 { sessions.removeAll() }
                sessions.insert(token)
            }
            return Self.json(.ok, JSONObject(["status": .string("success"), "accessToken": .string(token)]))
        }
        router.get("/ca-list") { request, _ -> Response in
            guard lab.authorized(request) else { return Self.failure(.unauthorized, "log in first") }
            let cas = lab.certificates(in: "sti-cas")
            let time = lab.now()
            let jws = try lab.authority.trustList(cas, sequence: try lab.sequence(for: cas), expires: time + lab.listLifetime,
                                                  signerURL: lab.signerURL)
            return Self.json(.ok, JSONObject(["status": .string("success"), "message": .string("CA list"), "caList": .string(jws)]))
        }
        router.post("/account/:spid/token") { request, context -> Response in
            guard lab.authorized(request) else { return Self.failure(.unauthorized, "log in first") }
            let spid = context.parameters.get("spid") ?? ""
            let body = try await request.body.collect(upTo: 16 * 1024)
            guard case .object(let object)? = try? JSONParser.parse(Array(buffer: body)), let atcObject = object["atc"]?.objectValue,
                  let type = atcObject["tktype"]?.stringValue, let value = atcObject["tkvalue"]?.stringValue,
                  let fingerprint = atcObject["fingerprint"]?.stringValue
            else { return Self.failure(.badRequest, "atc with tktype, tkvalue and fingerprint expected") }
            var ca = false
            if case .bool(let flag)? = atcObject["ca"] { ca = flag }
            let asked = SPCTokenAuthority(type: type, value: value, ca: ca, fingerprint: fingerprint)
            // The lab grants a token for the account's own SPC only, as the STI-PA does.
            guard type == "TNAuthList", let list = try? asked.tnAuthList(), list.spcs == [spid], list.entries.count == 1 else {
                return Self.failure(.forbidden, "tkvalue must be the TNAuthList of SPC \(spid)")
            }
            let token = try lab.authority.token(asked, issuer: lab.baseURL, expires: lab.now() + lab.tokenLifetime, signerURL: lab.signerURL)
            return Self.json(.ok, JSONObject(["status": .string("success"), "message": .string("token issued"), "token": .string(token),
                                              "crl": .string(lab.crlURL)]))
        }
        router.get("/download/v1/crl") { _, _ -> Response in
            let time = lab.now()
            let der = try lab.authority.crl(revoking: lab.certificates(in: "revoked"), at: time - 60, nextUpdate: time + lab.crlLifetime,
                                            signerURL: lab.crlSignerURL, number: Int(time))
            return Response(status: .ok, headers: [.contentType: "application/pkix-crl"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: der)))
        }
        for (path, name) in [("/cert/signer.pem", "signer.pem"), ("/cert/crl-signer.pem", "crl-signer.pem"), ("/root.pem", "root.pem")] {
            router.get(RouterPath(path)) { _, _ -> Response in
                guard let data = FileManager.default.contents(atPath: lab.file(name)) else { return Response(status: .notFound) }
                return Response(status: .ok, headers: [.contentType: "application/pem-certificate-chain"],
                                body: ResponseBody(byteBuffer: ByteBuffer(bytes: Array(data))))
            }
        }
        return router
    }

    /// The lab STI-PA as a service listening on `host:port` (loopback only).
    public func service(host: String, port: Int, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        throws -> some Service
    {
        try LabListener.service(router(), name: "callsign-lab-sti-pa", host: host, port: port, logger: logger, onRunning: onRunning)
    }

    /// Serves until SIGTERM or SIGINT; `banner` is called once the listener is bound.
    public func run(host: String, port: Int, logger: Logger, banner: @escaping @Sendable () -> Void) async throws {
        try await LabListener.run(try service(host: host, port: port, logger: logger) { _ in banner() }, logger: logger)
    }
}

/// How the lab services (STI-PA, ACME directory) listen: on loopback only, until a signal.
enum LabListener {
    static func service(_ router: Router<BasicRequestContext>, name: String, host: String, port: Int, logger: Logger,
                        onRunning: @escaping @Sendable (Int) async -> Void) throws -> some Service
    {
        guard host == "127.0.0.1" || host == "::1" || host == "localhost" else {
            throw AppError(.setup, "\(name) listens on loopback only (127.0.0.1 or ::1), not \(host)")
        }
        return Application(router: router, configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: name),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
    }

    static func run(_ service: some Service, logger: Logger) async throws {
        let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

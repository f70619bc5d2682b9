public import Hummingbird
import Callsign
import CallsignService
import CallsignStore
import Crypto
import NIOCore
public import Prometheus
import Foundation
import HTTPTypes

/// Echoes `X-RequestID` (ATIS-1000082) on every response, and answers 400 to a
/// request without exactly one Host field (RFC 9112 §3.2).
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        if let refusal = HotPathRequestCheck.hostRefusal(request.head) {
            response = refusal.http
        } else {
            response = try await next(request, context)
        }
        if let name = HotPathRequestCheck.requestID, let id = request.headers[name], id.utf8.count <= 128 { response.headers[name] = id }
        return response
    }
}

extension APIResponse {
    var http: Response {
        let bytes = encodedBody
        return Response(status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// What the HTTP face needs besides the service.
public struct HTTPFaceConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Directory served at `/certs/` (certificates and CRLs only).
    public var certificatesDirectory: String?
    /// SHA-256 of the admin token that may read `/traceback`.
    public var adminTokenHash: [UInt8]?
    /// Timeouts and caps of the listener; the router uses ``HTTPLimits/maxInFlight``.
    public var limits: HTTPLimits
    /// What `/healthz` reports besides "ok": e.g. an STI-PA list or CRL past its validity.
    public var health: @Sendable () -> [String]

    public init(host: String = "127.0.0.1", port: Int = 8080, certificatesDirectory: String? = nil, adminTokenHash: [UInt8]? = nil,
                limits: HTTPLimits = HTTPLimits(), health: @escaping @Sendable () -> [String] = { [] })
    {
        self.health = health
        self.host = host
        self.port = port
        self.certificatesDirectory = certificatesDirectory
        self.adminTokenHash = adminTokenHash
        self.limits = limits
    }
}

/// Builds the router of `callsign serve`: ATIS-1000082 signing and
/// verification, traceback, health, metrics, the OpenAPI document, and the
/// lab certificate repository.
public func buildRouter(service: STIService, configuration: HTTPFaceConfiguration,
                       registry: PrometheusCollectorRegistry,
                       beforeMetrics: @escaping @Sendable () -> Void = {}) -> Router<BasicRequestContext>
{
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: InFlightMiddleware(limit: InFlightLimit(limit: configuration.limits.maxInFlight)))

    @Sendable func body(_ request: inout Request) async -> Result<[UInt8], APIResponse> {
        if let refusal = HotPathRequestCheck.refusal(request.headers) { return .failure(refusal) }
        do {
            let buffer = try await request.collectBody(upTo: STIService.maxBodyBytes)
            return .success(Array(buffer.readableBytesView))
        } catch {
            return .failure(.error("SVC4006", ["larger than \(STIService.maxBodyBytes) bytes"], status: 413))
        }
    }

    router.post("/stir/v1/signing") { request, _ -> Response in
        var request = request
        switch await body(&request) {
        case .failure(let error): return error.http
        case .success(let bytes):
            return await service.sign(body: bytes, bearerToken: HotPathRequestCheck.bearerToken(request.headers)).http
        }
    }
    router.post("/stir/v1/verification") { request, _ -> Response in
        var request = request
        switch await body(&request) {
        case .failure(let error): return error.http
        case .success(let bytes): return await service.verify(body: bytes).http
        }
    }
    for path in ["/stir/v1/signing", "/stir/v1/verification"] {
        for method in [HTTPRequest.Method.get, .put, .delete, .patch] {
            router.on(RouterPath(path), method: method) { _, _ in APIResponse.error("POL4050").http }
        }
    }

    // 200 while the process serves calls; "degraded" with the problems when the trust in force is stale
    // (a balancer must not drop every node at once because the STI-PA is unreachable).
    router.get("/healthz") { _, _ in
        let problems = configuration.health()
        if problems.isEmpty { return APIResponse(status: 200, body: JSONObject(["status": .string("ok")])).http }
        return APIResponse(status: 200, body: JSONObject(["status": .string("degraded"),
                                                          "problems": .array(problems.map { .string($0) })])).http
    }

    router.get("/metrics") { _, _ -> Response in
        beforeMetrics()
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    router.get("/openapi.yaml") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/yaml"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml + "\n")))
    }

    /// The admin token's check, with the Authorization parsing of signing (``HotPathRequestCheck/bearerToken(_:)``).
    @Sendable func isAdmin(_ request: Request) -> Bool {
        guard let expected = configuration.adminTokenHash, let token = HotPathRequestCheck.bearerToken(request.headers) else { return false }
        return APIToken.hash(token) == expected
    }

    // The managed number lists (admin token): list, add (CSV body with a header row, all or nothing), remove.
    let store = service.store
    addAdminList(AdminList<DNOEntry>(
        path: "/admin/dno", parameter: "value", maxBodyMiB: 64,
        parse: { try DNOEntry.parse(csv: $0) },
        json: { JSONObject(["value": .string($0.value), "prefix": .bool($0.isPrefix), "label": $0.label.map { .string($0) } ?? .null]) },
        list: { try await store.listDNO(limit: $0, after: $1) },
        add: { try await store.importDNO($0, replace: false, now: $1, progress: nil) },
        key: { TelephoneNumber.canonicalNumber($0, policy: .e164) }, keyProblem: "Not a telephone number",
        remove: { try await store.removeDNO($0) }),
        to: router, service: service, isAdmin: isAdmin)
    addAdminList(AdminList<ProtectedNumber>(
        path: "/admin/protected", parameter: "entry", maxBodyMiB: 16,
        parse: { try ProtectedNumber.parse(csv: $0) },
        json: { $0.json },
        list: { try await store.listProtected(limit: $0, after: $1) },
        add: { try await store.importProtected($0, replace: false, now: $1) },
        key: { ProtectedNumber.entry($0) }, keyProblem: "Not a telephone number or prefix",
        remove: { try await store.removeProtected($0) }),
        to: router, service: service, isAdmin: isAdmin)

    // Which rule fires for a call (like `callsign policy test`), admin token.
    router.get("/admin/policy/test") { request, _ -> Response in
        guard isAdmin(request) else { return APIResponse.error("POL4001", ["admin token"]).http }
        guard let from = request.uri.queryParameters["from"].map(String.init),
            let orig = TelephoneNumber.canonicalNumber(from, policy: service.numbering)
        else { return APIResponse.invalid("from", "Not a telephone number").http }
        let ingress = request.uri.queryParameters["ingress"].map(String.init) ?? "domestic"
        guard ingress == "domestic" || ingress == "international" else { return APIResponse.invalid("ingress", "domestic or international").http }
        let verstatText = request.uri.queryParameters["verstat"].map(String.init)
        let verstat = verstatText.flatMap(Verstat.init(rawValue:))
        if verstatText != nil && verstat == nil { return APIResponse.invalid("verstat", "Not a verstat value").http }
        let attest = request.uri.queryParameters["attest"].flatMap { PASSporT.Attestation(rawValue: String($0)) }
        let facts = CallFacts(orig: orig, ingress: ingress == "international" ? .international : .domestic, verstat: verstat, attestation: attest,
                              signerSPCs: request.uri.queryParameters["spc"].map { [String($0)] } ?? [],
                              customer: request.uri.queryParameters["customer"].map(String.init))
        let source = request.uri.queryParameters["trunk"].map(String.init)
        return APIResponse(status: 200, body: service.policy.explain(facts, source: source).json).http
    }

    router.get("/traceback") { request, _ -> Response in
        guard isAdmin(request) else { return APIResponse.error("POL4001", ["admin token"]).http }
        guard let origid = request.uri.queryParameters["origid"].map(String.init), UUIDText.isValid(origid) else {
            return APIResponse.invalid("origid", "Must be a UUID").http
        }
        let since = request.uri.queryParameters["since"].flatMap { Int64(String($0)) }
        let until = request.uri.queryParameters["until"].flatMap { Int64(String($0)) }
        do {
            let records = try await service.store.traceback(origid: origid, since: since, until: until, limit: 1000)
            return APIResponse(status: 200, body: JSONObject(["calls": .array(records.map { .object($0.json) })])).http
        } catch {
            return APIResponse.error("POL5000").http
        }
    }

    // Investigations (traceback requests): both sides' records of one calling number in a time range; CSV on `Accept: text/csv`.
    router.get("/admin/calls") { request, _ -> Response in
        guard isAdmin(request) else { return APIResponse.error("POL4001", ["admin token"]).http }
        guard let text = request.uri.queryParameters["number"].map(String.init), let number = TelephoneNumber.canonicalNumber(text, policy: service.numbering)
        else { return APIResponse.invalid("number", "Must be a telephone number").http }
        var range: [Int64?] = []
        for name in ["since", "until"] {
            guard let value = request.uri.queryParameters[Substring(name)] else {
                range.append(nil)
                continue
            }
            guard let time = CivilTime.parseQueryTime(String(value)) else {
                return APIResponse.invalid(name, "Seconds since the epoch, or UTC as 2026-12-07T14:02:00Z").http
            }
            range.append(time)
        }
        let limit = request.uri.queryParameters["limit"].flatMap { Int(String($0)) } ?? 1000
        let records: [CallRecord]
        do {
            records = try await service.store.calls(number: number, since: range[0], until: range[1], limit: max(1, min(limit, 10_000)))
        } catch {
            return APIResponse.error("POL5000").http
        }
        if request.headers[.accept]?.contains("text/csv") == true {
            var csv = CallRecord.csvLine(CallRecord.csvHeader) + "\r\n"
            for record in records { csv += CallRecord.csvLine(record.csvFields) + "\r\n" }
            return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8; header=present",
                                                   .contentDisposition: "attachment; filename=\"calls-\(number).csv\""],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: csv)))
        }
        return APIResponse(status: 200, body: JSONObject(["number": .string(number), "calls": .array(records.map { .object($0.json) })])).http
    }

    // Alerts of the signals' triggers, newest first.
    router.get("/admin/alerts") { request, _ -> Response in
        guard isAdmin(request) else { return APIResponse.error("POL4001", ["admin token"]).http }
        let limit = request.uri.queryParameters["limit"].flatMap { Int(String($0)) } ?? 100
        do {
            let alerts = try await service.store.alerts(limit: max(1, min(limit, CallAlert.kept)))
            return APIResponse(status: 200, body: JSONObject(["alerts": .array(alerts.map { .object($0.json) })])).http
        } catch {
            return APIResponse.error("POL5000").http
        }
    }

    // The operator dashboard: a sign-in form posting the admin token, then a session cookie (never the token).
    struct SignIn: Decodable { var token: String }
    let sessions = DashboardSessions()
    @Sendable func html(_ status: HTTPResponse.Status, _ page: String, _ extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ]
        for (name, value) in [("Referrer-Policy", "no-referrer"), ("X-Content-Type-Options", "nosniff")] {
            if let name = HTTPField.Name(name) { headers[name] = value }
        }
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
    }
    @Sendable func signedIn(_ request: Request) -> String? {
        guard let id = request.cookies[DashboardSessions.cookie]?.value, sessions.isValid(id, now: service.now()) else { return nil }
        return id
    }
    router.get("/dashboard") { request, _ -> Response in
        guard signedIn(request) != nil else { return html(.ok, Dashboard.signIn(error: nil)) }
        let now = service.now()
        do {
            async let rollups = service.store.rollups(since: now - 86_400 - 3600)
            async let alerts = service.store.alerts(limit: 20)
            return html(.ok, Dashboard.page(Dashboard.figures(rollups: try await rollups, alerts: try await alerts, now: now), now: now))
        } catch {
            return html(.serviceUnavailable, Dashboard.signIn(error: "The store did not answer; try again."))
        }
    }
    router.post("/dashboard/login") { request, _ -> Response in
        var request = request
        let now = service.now()
        if sessions.isThrottled(now: now) {
            return html(.tooManyRequests, Dashboard.signIn(error: "Too many failed sign-ins; wait a minute."))
        }
        let body = (try? await request.collectBody(upTo: 4096)).map { String(buffer: $0) } ?? ""
        guard let expected = configuration.adminTokenHash, let token = (try? URLEncodedFormDecoder().decode(SignIn.self, from: body))?.token,
            APIToken.hash(token) == expected
        else {
            _ = sessions.failed(now: now)
            return html(.unauthorized, Dashboard.signIn(error: "That is not the admin token."))
        }
        var response = Response(status: .seeOther, headers: [.location: "/dashboard", .cacheControl: "no-store"])
        response.setCookie(Cookie(name: DashboardSessions.cookie, value: sessions.create(now: now), maxAge: Int(DashboardSessions.lifetime),
                                  path: "/dashboard", httpOnly: true, sameSite: .strict))
        return response
    }
    router.post("/dashboard/logout") { request, _ -> Response in
        if let id = signedIn(request) { sessions.remove(id) }
        var response = Response(status: .seeOther, headers: [.location: "/dashboard"])
        response.setCookie(Cookie(name: DashboardSessions.cookie, value: "", maxAge: 0, path: "/dashboard", httpOnly: true, sameSite: .strict))
        return response
    }

    if let directory = configuration.certificatesDirectory {
        router.get("/certs/:name") { _, context -> Response in
            guard let name = context.parameters.get("name"), name.utf8.count <= 128, !name.hasPrefix("."),
                name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }),
                name.hasSuffix(".pem") || name.hasSuffix(".crl")
            else { return APIResponse.error("SVC4003").http }
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else {
                return APIResponse.error("SVC4003").http
            }
            let type = name.hasSuffix(".crl") ? "application/pkix-crl" : "application/pem-certificate-chain"
            return Response(status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=86400"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: Array(data))))
        }
    }
    return router
}


/// A number list the admin API manages: the DNO list and the protected numbers
/// (docs/reference.md, "Admin API"). Each is listed, added to and removed from
/// the same way; only its entries, their CSV and the store's calls differ.
struct AdminList<Entry: Sendable>: Sendable {
    /// `/admin/NAME`; removal is `DELETE /admin/NAME/:parameter`.
    var path: String
    var parameter: String
    /// The largest CSV body accepted, in MiB.
    var maxBodyMiB: Int
    /// The CSV body's entries (a header row; all or nothing).
    var parse: @Sendable (String) throws -> [Entry]
    var json: @Sendable (Entry) -> JSONObject
    /// A page of entries: at most `limit`, after the given key.
    var list: @Sendable (Int, String?) async throws -> [Entry]
    /// Adds entries (kept ones replaced) at a time.
    var add: @Sendable ([Entry], Int64) async throws -> Void
    /// The stored key a removal's path parameter names; `nil` with `keyProblem`.
    var key: @Sendable (String) -> String?
    var keyProblem: String
    /// Whether the key was there.
    var remove: @Sendable (String) async throws -> Bool
}

/// `GET`, `POST` and `DELETE` of `list` on `router`, for the admin token only;
/// every change tells the service the lists changed.
func addAdminList<Entry>(_ list: AdminList<Entry>, to router: Router<BasicRequestContext>, service: STIService,
                         isAdmin: @escaping @Sendable (Request) -> Bool) {
    router.get(RouterPath(list.path)) { request, _ -> Response in
        guard isAdmin(request) else { return APIResponse.error("POL4001", ["admin token"]).http }
        let after = request.uri.queryParameters["after"].map(String.init)
        let limit = request.uri.queryParameters["limit"].flatMap { Int(String($0)) } ?? 1000
        do {
            let entries = try await list.list(limit, after)
            return APIResponse(status: 200, body: JSONObject(["entries": .array(entries.map { .object(list.json($0)) })])).http
        } catch {
            return APIResponse.error("POL5000").http
        }
    }
    router.post(RouterPath(list.path)) { request, _ -> Response in
        guard isAdmin(request) else { return APIResponse.error("POL4001", ["admin token"]).http }
        var request = request
        guard let buffer = try? await request.collectBody(upTo: list.maxBodyMiB << 20) else {
            return APIResponse.error("SVC4006", ["larger than \(list.maxBodyMiB) MiB"], status: 413).http
        }
        let entries: [Entry]
        do {
            entries = try list.parse(String(decoding: buffer.readableBytesView, as: UTF8.self))
        } catch {
            return APIResponse.error("SVC4005", ["body", String(describing: error)]).http
        }
        do {
            try await list.add(entries, service.now())
            await service.listsChanged?()
            return APIResponse(status: 200, body: JSONObject(["imported": .integer(Int64(entries.count))])).http
        } catch {
            return APIResponse.error("POL5000").http
        }
    }
    router.delete(RouterPath(list.path + "/:" + list.parameter)) { request, context -> Response in
        guard isAdmin(request) else { return APIResponse.error("POL4001", ["admin token"]).http }
        guard let text = context.parameters.get(list.parameter), let key = list.key(text) else {
            return APIResponse.invalid(list.parameter, list.keyProblem).http
        }
        do {
            let removed = try await list.remove(key)
            await service.listsChanged?()
            return removed ? APIResponse(status: 200, body: JSONObject(["removed": .string(key)])).http
                : APIResponse.error("SVC4003", status: 404).http
        } catch {
            return APIResponse.error("POL5000").http
        }
    }
}

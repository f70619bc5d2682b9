import CallsignTestSupport
import Callsign
@testable import CallsignFetch
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@Suite("x5u certificate repository client against a local HTTP server", .serialized)
struct CertificateFetchTests {
    static let pem = Array("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".utf8)

    func repository(_ configure: (inout CertificateFetchConfiguration) -> Void = { _ in }, now: Int64 = 1_800_000_000)
        -> HTTPCertificateRepository
    {
        var configuration = CertificateFetchConfiguration()
        configuration.minimumTTL = 10
        configuration.timeout = .milliseconds(500)
        configure(&configuration)
        return HTTPCertificateRepository(configuration: configuration, now: { now })
    }

    func fetch(_ repository: HTTPCertificateRepository, _ url: String) async throws -> [UInt8] {
        let policy = X5UPolicy(labAllowPrefixes: ["http://127.0.0.1:"])
        return try await repository.fetch(url, target: try policy.check(url))
    }

    @Test("Cache-Control max-age is honoured: a second fetch within it makes no request")
    func cacheControl() async throws {
        let server = try await TestHTTPServer()
        server.set("/a.pem", .init(headers: [("Cache-Control", "public, max-age=3600")], body: Self.pem))
        var clock: Int64 = 1_800_000_000
        let time = Mutex(clock)
        var configuration = CertificateFetchConfiguration()
        configuration.minimumTTL = 10
        // Not a timeout test: the suite's first fetch may start while the whole test run is starting on 2 cores.
        configuration.timeout = .seconds(15)
        let repository = HTTPCertificateRepository(configuration: configuration, now: { time.withLock { $0 } })
        #expect(try await fetch(repository, server.url("/a.pem")) == Self.pem)
        clock += 3500
        time.withLock { $0 = clock }
        #expect(try await fetch(repository, server.url("/a.pem")) == Self.pem)
        #expect(server.requests("/a.pem") == 1)
        clock += 200
        time.withLock { $0 = clock }
        _ = try await fetch(repository, server.url("/a.pem"))
        #expect(server.requests("/a.pem") == 2)
        #expect(HTTPCertificateRepository.cacheLifetime(cacheControl: nil, expires: "Sun, 06 Nov 1994 09:49:37 GMT",
                                                        date: "Sun, 06 Nov 1994 08:49:37 GMT", now: 0,
                                                        configuration: configuration) == 3600)
        // Without directives, ATIS-1000074's 24 h default applies.
        #expect(HTTPCertificateRepository.cacheLifetime(cacheControl: nil, expires: nil, date: nil, now: 0,
                                                        configuration: CertificateFetchConfiguration()) == 86_400)
        try await repository.shutdown()
        try await server.stop()
    }

    @Test("entries close to expiry are refreshed ahead, off the call path, and keep serving while the origin fails")
    func refreshAhead() async throws {
        let server = try await TestHTTPServer()
        server.set("/r.pem", .init(headers: [("Cache-Control", "max-age=600")], body: Self.pem))
        let time = Mutex<Int64>(1_800_000_000)
        var configuration = CertificateFetchConfiguration()
        configuration.minimumTTL = 10
        configuration.refreshAhead = 120
        let repository = HTTPCertificateRepository(configuration: configuration, now: { time.withLock { $0 } })
        let policy = X5UPolicy(labAllowPrefixes: ["http://127.0.0.1:"])
        _ = try await fetch(repository, server.url("/r.pem"))
        #expect(repository.expiringURLs(now: 1_800_000_000).isEmpty)
        time.withLock { $0 = 1_800_000_500 }
        #expect(repository.expiringURLs(now: 1_800_000_500) == [server.url("/r.pem")])
        await repository.refreshExpiring(now: 1_800_000_500, policy: policy)
        #expect(server.requests("/r.pem") == 2)
        // Refreshed: valid for another 600 s, so a call at +1000 is served from cache.
        time.withLock { $0 = 1_800_001_000 }
        _ = try await fetch(repository, server.url("/r.pem"))
        #expect(server.requests("/r.pem") == 2)
        // A failing refresh keeps the old body.
        server.set("/r.pem", .init(status: .internalServerError))
        await repository.refreshExpiring(now: 1_800_001_050, policy: policy)
        #expect(try await fetch(repository, server.url("/r.pem")) == Self.pem)
        try await repository.shutdown()
        try await server.stop()
    }

    @Test("100 concurrent requests for one URL make one fetch (single-flight)")
    func singleFlight() async throws {
        let server = try await TestHTTPServer()
        server.set("/c.pem", .init(body: Self.pem, delay: .milliseconds(100)))
        // Not a test of the budget: a fetch that must succeed gets 5 s, so a loaded machine cannot fail it.
        let repository = repository { $0.timeout = .seconds(5) }
        try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<100 { group.addTask { try await fetch(repository, server.url("/c.pem")) } }
            for try await body in group { #expect(body == Self.pem) }
        }
        #expect(server.requests("/c.pem") == 1)
        #expect(repository.statistics.fetches == 1)
        try await repository.shutdown()
        try await server.stop()
    }

    @Test("404, time-out, oversized body and redirect each give 436 within the budget, and are negatively cached",
          arguments: ["/404", "/slow", "/big", "/redirect"])
    func failures(_ path: String) async throws {
        let server = try await TestHTTPServer()
        server.set("/slow", .init(body: Self.pem, delay: .seconds(3)))
        server.set("/big", .init(body: Array(repeating: 0x41, count: 100_000)))
        server.set("/redirect", .init(status: .found, headers: [("Location", server.url("/a.pem"))]))
        let repository = repository()
        let start = ContinuousClock.now
        await #expect(throws: VerificationError(.certificateUnavailable, "")) { try await fetch(repository, server.url(path)) }
        #expect(ContinuousClock.now - start < .milliseconds(1500))
        let requests = server.requests(path)
        await #expect(throws: VerificationError(.certificateUnavailable, "")) { try await fetch(repository, server.url(path)) }
        #expect(server.requests(path) == requests)  // answered from the negative cache
        #expect(server.requests("/a.pem") == 0)  // redirect not followed
        try await repository.shutdown()
        try await server.stop()
    }

    @Test("a repository that stalls after its headers, floods 10 MB, resets or answers garbage gives 436 within the budget",
          arguments: ["/stall-headers", "/flood", "/reset", "/garbage"])
    func faults(_ path: String) async throws {
        let server = try await TestHTTPServer()
        server.set("/stall-headers", .init(fault: .stallAfterHeaders))
        server.set("/flood", .init(fault: .flood(10 << 20)))
        server.set("/reset", .init(fault: .reset))
        server.set("/garbage", .init(fault: .garbage))
        let repository = repository()
        let start = ContinuousClock.now
        await #expect(throws: VerificationError(.certificateUnavailable, "")) { try await fetch(repository, server.url(path)) }
        #expect(ContinuousClock.now - start < .milliseconds(1500), "budget 500 ms")
        try await repository.shutdown()
        try await server.stop()
    }

    @Test("absurd Expires, Date and max-age are read within the cache's floor and ceiling", arguments: [
        [("Expires", "Thu, 01 Jan 2026 99999999999999999:00:00 GMT"), ("Date", "Thu, 01 Jan 2026 00:00:00 GMT")],
        [("Expires", "Fri, 31 Dec 9999 23:59:59 GMT"), ("Date", "Thu, 01 Jan 0000 00:00:00 GMT")],
        [("Cache-Control", "max-age=99999999999999999999")], [("Cache-Control", "max-age=9223372036854775807")],
        [("Cache-Control", "max-age=-9223372036854775808")], [("Expires", "Thu, 01 Jan 1970 00:00:00 GMT"), ("Date", "Fri, 31 Dec 9999 23:59:59 GMT")],
    ])
    func absurdLifetimes(_ headers: [(String, String)]) async throws {
        let server = try await TestHTTPServer()
        server.set("/a.pem", .init(headers: headers, body: Self.pem))
        // Not a test of the budget (CI once saw this fetch pass 500 ms under the parallel test load): 5 s.
        let repository = repository { $0.minimumTTL = 60; $0.maximumTTL = 3600; $0.timeout = .seconds(5) }
        #expect(try await fetch(repository, server.url("/a.pem")) == Self.pem)
        let expires = try #require(repository.cached(server.url("/a.pem"), at: 1_800_000_000)?.expires)
        #expect((1_800_000_060...1_800_003_600).contains(expires))
        try await repository.shutdown()
        try await server.stop()
    }

    @Test("the budget is a deadline each caller gets: 40 fetches of stalling URLs behind a pool of 8 connections all end within it")
    func budgetUnderLoad() async throws {
        let server = try await TestHTTPServer()
        for index in 0..<40 { server.set("/stall\(index).pem", .init(body: Self.pem, delay: .seconds(5))) }
        let repository = repository()
        let start = ContinuousClock.now
        let failures = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<40 {
                group.addTask { (try? await fetch(repository, server.url("/stall\(index).pem"))) == nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 40)
        #expect(ContinuousClock.now - start < .milliseconds(1500), "budget 500 ms")
        try await repository.shutdown()
        try await server.stop()
    }

    @Test("a host name is resolved once and refused if any address is special-purpose; the address connected to is the one checked")
    func resolvedOnce() async throws {
        await #expect(throws: VerificationError(.badInfo, "")) { try await HTTPCertificateRepository.resolveChecked("localhost", port: 443) }
        await #expect(throws: VerificationError(.certificateUnavailable, "")) {
            try await HTTPCertificateRepository.resolveChecked("no-such-host.invalid", port: 443)
        }
        #expect(HTTPCertificateRepository.addressText([192, 0, 2, 1]) == "192.0.2.1")
        #expect(HTTPCertificateRepository.addressText([0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]) == "2001:db8::1")
    }

    @Test("a lookup that is cancelled returns at once; the thread's late answer is dropped")
    func lookupAbandoned() async throws {
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                _ = try? await abandonOnCancel { () -> Int in
                    usleep(5_000_000)
                    return 1
                }
            }
            try? await Task.sleep(for: .milliseconds(100))
            group.cancelAll()
        }
        // Well before the 5 s the lookup thread is held (slack for a loaded machine).
        #expect(ContinuousClock.now - start < .seconds(4))
    }

    @Test("SSRF: loopback and private targets are refused by policy without any connection")
    func ssrf() async throws {
        let server = try await TestHTTPServer()
        server.set("/a.pem", .init(body: Self.pem))
        let policy = X5UPolicy()
        for url in ["https://127.0.0.1:\(server.port)/a.pem", "http://127.0.0.1:\(server.port)/a.pem", "https://localhost/a.pem",
                    "https://[::1]:8443/a.pem"] {
            #expect(throws: VerificationError(.badInfo, "")) { try policy.check(url) }
        }
        // A name that resolves to loopback is refused after resolution, before connecting.
        let repository = repository()
        let target = try policy.check("https://localhost.example.invalid.:443/a.pem".replacingOccurrences(of: "localhost.example.invalid.", with: "127.0.0.1.nip.invalid"))
        await #expect(throws: VerificationError.self) { try await repository.fetch("https://127.0.0.1.nip.invalid/a.pem", target: target) }
        #expect(server.totalRequests == 0)
        try await repository.shutdown()
        try await server.stop()
    }
}

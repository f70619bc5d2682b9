import Callsign
import CallsignFetch
import CallsignStore

/// Several nodes share what they fetched from certificate repositories: memory
/// first, then the shared store (PostgreSQL), then the network — whose result
/// is written back to the store for the other nodes.
struct SharedCertificateRepository: CertificateRepository {
    let http: HTTPCertificateRepository
    let store: any CallsignStore
    let now: @Sendable () -> Int64

    func cachedBody(_ url: String, at time: Int64) -> [UInt8]? {
        http.cachedBody(url, at: time)
    }

    func fetch(_ url: String, target: X5UPolicy.Target) async throws(VerificationError) -> [UInt8] {
        let time = now()
        if let (body, _) = http.cached(url, at: time) { return body }
        if let body = try? await store.cachedCertificate(url: url, now: time) {
            http.prime(url, body: body, expires: time + 300)
            return body
        }
        let body = try await http.fetch(url, target: target)
        let expires = http.cached(url, at: time)?.expires ?? time + 3600
        try? await store.saveCertificate(url: url, body: body, expires: expires)
        return body
    }
}

import Callsign
import CallsignService
import Crypto
import Logging
import ServiceLifecycle

/// Reads each signing identity's certificate from its x5u, through the same
/// resolver (and checks) as verification: the SPC of its TNAuthList (RFC 8226)
/// then goes into every signing record, and an identity whose certificate
/// does not verify or does not hold its key is named in a warning — the calls
/// it signs would fail at the terminating side (ATIS-1000074 §5.3.1).
///
/// At start, then after 1, 2, 4 … up to 60 s while an identity's SPC is
/// unknown (the x5u may be served by this process, not yet listening; a
/// renewed certificate brings a new x5u); every hour once all are known.
struct SigningIdentityCheck: Service {
    let identities: SigningIdentities
    let resolver: any CertificateResolver
    let logger: Logger
    let now: @Sendable () -> Int64

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var warned: Set<String> = []
            var retry = 1
            while !Task.isCancelled {
                let pending = await check(warned: &warned)
                let wait = pending ? retry : 3600
                retry = pending ? min(60, retry * 2) : 1
                do { try await Task.sleep(for: .seconds(wait)) } catch { break }
            }
        }
    }

    /// One pass over the identities whose SPC is unknown; whether any is left unknown.
    func check(warned: inout Set<String>) async -> Bool {
        var pending = false
        var seen: Set<String> = []
        for identity in identities.all where identity.spc == nil && !identity.x5u.isEmpty && seen.insert(identity.x5u).inserted {
            do {
                let credential = try await resolver.resolve(x5u: identity.x5u, at: now())
                if let signer = identity.signer as? Signer, signer.key.publicKey.rawRepresentation != credential.publicKey.rawRepresentation {
                    if warned.insert("key " + identity.x5u).inserted {
                        logger.warning("signing identity \(identity.name): the certificate at \(identity.x5u) does not hold its key; its calls will fail verification")
                    }
                    pending = true
                    continue
                }
                guard let spc = credential.tnAuthList?.spcs.first else {
                    pending = true
                    continue
                }
                identities.learnSPC(spc, x5u: identity.x5u)
                logger.info("signing identity \(identity.name): certificate at \(identity.x5u), SPC \(spc)")
            } catch {
                pending = true
                if warned.insert("fetch " + identity.x5u).inserted {
                    logger.notice("signing identity \(identity.name): its certificate at \(identity.x5u) cannot be read yet (\(error)); retried")
                }
            }
        }
        return pending
    }
}

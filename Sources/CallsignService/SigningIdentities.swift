public import Callsign
public import Crypto
import Synchronization

/// The signing identities in force (FCC 24-120: a third party signs a
/// provider's calls only with that provider's own certificate): the
/// service's own identity and each customer's. A customer with an identity
/// is signed with it and nothing else; a customer without one is signed with
/// the service's identity only when the configuration allows it.
///
/// A customer's identity can be replaced while the service runs (an ACME
/// renewal switches to the new certificate once its x5u serves it).
public final class SigningIdentities: Sendable {
    /// One signing identity: a key and the x5u of its certificate chain.
    public struct Identity: Sendable {
        /// `service`, or `customer:<id>`: written in each traceback record.
        public let name: String
        public let signer: any IdentitySigning
        public let x5u: String
        /// The SPC of the certificate at ``x5u`` (its TNAuthList, RFC 8226), once it has been read; written in each record.
        public let spc: String?

        public init(name: String, key: P256.Signing.PrivateKey, x5u: String, spc: String? = nil) {
            self.init(name: name, signer: Signer(key: key, x5u: x5u), x5u: x5u, spc: spc)
        }

        public init(name: String, signer: any IdentitySigning, x5u: String, spc: String? = nil) {
            self.name = name
            self.signer = signer
            self.x5u = x5u
            self.spc = spc
        }
    }

    private struct State {
        var service: Identity?
        var serviceForOthers: Bool
        var customers: [String: Identity]
    }

    private let state: Mutex<State>

    /// - Parameters:
    ///   - service: the service's own identity.
    ///   - serviceSignsForOthers: whether customers without an identity of their own are signed with the service's.
    ///   - customers: customer id → identity.
    public init(service: Identity?, serviceSignsForOthers: Bool = true, customers: [String: Identity] = [:]) {
        state = Mutex(State(service: service, serviceForOthers: serviceSignsForOthers, customers: customers))
    }

    /// The service's identity only, for every customer.
    public convenience init(key: P256.Signing.PrivateKey, x5u: String) {
        self.init(service: Identity(name: "service", key: key, x5u: x5u))
    }

    /// The identity that signs `customerID`'s calls, or `nil` when none may.
    public func identity(for customerID: String) -> Identity? {
        state.withLock { state in
            if let own = state.customers[customerID] { return own }
            return state.serviceForOthers ? state.service : nil
        }
    }

    /// The customer's own identity, if it has one.
    public func customerIdentity(_ customerID: String) -> Identity? { state.withLock { $0.customers[customerID] } }

    /// Puts `identity` in force for `customerID` (a renewed certificate).
    public func replace(customer customerID: String, with identity: Identity) {
        state.withLock { $0.customers[customerID] = identity }
    }

    /// Puts `identity` in force as the service's (a renewed certificate).
    public func replaceService(with identity: Identity) {
        state.withLock { $0.service = identity }
    }

    /// The service's identity.
    public var service: Identity? { state.withLock { $0.service } }

    /// Every identity in force: the service's and each customer's.
    public var all: [Identity] {
        state.withLock { state in (state.service.map { [$0] } ?? []) + state.customers.values.sorted { $0.name < $1.name } }
    }

    /// Records `spc` for every identity whose certificate is at `x5u` and whose SPC is not known yet.
    public func learnSPC(_ spc: String, x5u: String) {
        state.withLock { state in
            func learned(_ identity: Identity) -> Identity {
                guard identity.x5u == x5u, identity.spc == nil else { return identity }
                return Identity(name: identity.name, signer: identity.signer, x5u: identity.x5u, spc: spc)
            }
            state.service = state.service.map(learned)
            state.customers = state.customers.mapValues(learned)
        }
    }
}

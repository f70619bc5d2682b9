public import Callsign
public import CallsignStore
public import Crypto
public import CallsignService
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The STI-AS and STI-VS behind the REST API (ATIS-1000082): request
/// validation, authentication of signers, attestation by policy, traceback
/// records, and the verification procedure. Framework-free so it can be tested
/// and reused by the SIP faces.
public struct STIService: Sendable {
    /// Who signs each customer's PASSporTs (ES256, ATIS-1000074 §5.3.3): the
    /// service's identity and each customer's own (FCC 24-120).
    public var identities: SigningIdentities
    public var store: any CallsignStore
    public var verifier: Verifier
    public var resolver: any CertificateResolver
    public var numbering: NumberingPolicy
    /// How far `iat` in a signing request may be from now.
    public var signingIatWindow: Int64 = 60
    /// The anti-spoofing rules in force: applied before signing, reported after verification.
    public var policy = PolicySet()
    /// Signals, per-minute counts and verification records (``CallAnalytics``); `nil`: none.
    public var analytics: CallAnalytics? = nil
    /// Called after the DNO list or the protected numbers changed through the API (to reload the lists in force).
    public var listsChanged: (@Sendable () async -> Void)? = nil
    /// Traceback writes shared between concurrent signings (one transaction
    /// per batch); each signing still answers only after its record committed.
    /// `nil` writes each record in its own transaction.
    public var recorder: GroupCommitRecorder? = nil
    /// Recent token lookups (a revoked token stops signing within its lifetime).
    public var tokenCache: CustomerCache? = nil
    public var now: @Sendable () -> Int64

    public init(signingKey: P256.Signing.PrivateKey, x5u: String, store: any CallsignStore, verifier: Verifier,
                resolver: any CertificateResolver, numbering: NumberingPolicy = .e164, now: @escaping @Sendable () -> Int64) {
        identities = SigningIdentities(key: signingKey, x5u: x5u)
        self.store = store
        self.verifier = verifier
        self.resolver = resolver
        self.numbering = numbering
        self.now = now
    }

    static let maxBodyBytes = 16 * 1024

    /// Parses a JSON request body into its wrapper object.
    static func parseBody(_ body: [UInt8], wrapper: String) -> Result<JSONObject, APIResponse> {
        if body.isEmpty { return .failure(.error("SVC4000")) }
        let value: JSONValue
        do {
            value = try JSONParser.parse(body, limits: JSONLimits(maxDepth: 8, maxContainerCount: 64, maxBytes: maxBodyBytes))
        } catch {
            return .failure(.error("SVC4006", [error.description]))
        }
        guard let inner = value.objectValue?[wrapper] else { return .failure(.missing(wrapper)) }
        guard let object = inner.objectValue else { return .failure(.invalid(wrapper, "Must be an object")) }
        return .success(object)
    }

    /// `POST /stir/v1/signing` (ATIS-1000082 §5.2): authenticated by an API token.
    public func sign(body: [UInt8], bearerToken: String?) async -> APIResponse {
        let hash: [UInt8]
        switch Self.tokenHash(bearerToken) {
        case .failure(let refusal): return refusal
        case .success(let value): hash = value
        }
        let customer: Customer?
        do {
            customer = try await CustomerCache.customer(tokenCache, key: hash, now: now(), load: { try await store.customer(tokenHash: hash) })
        } catch {
            return .error("POL5000")
        }
        switch prepareSigning(body: body, customer: customer) {
        case .answer(let response): return response
        case .commit(let record, let response):
            do {
                try await GroupCommitRecorder.record([record], via: recorder, store: store)
            } catch {
                // A call that cannot be traced back is not signed.
                return .error("POL5000")
            }
            return Self.signed(record, response)
        }
    }

    /// What a signing request comes to before its traceback record is written.
    public enum SigningStep: Sendable {
        /// Refused or invalid: answer this.
        case answer(APIResponse)
        /// Signed: answer this once `record` has committed (or POL5000 if it cannot be).
        case commit(SignedCallRecord, APIResponse)
    }

    /// `POST /stir/v1/signing` up to the traceback write, without suspending,
    /// or `nil` when the token's customer is not in ``tokenCache``.
    public func signImmediately(body: [UInt8], bearerToken: String?) -> SigningStep? {
        let hash: [UInt8]
        switch Self.tokenHash(bearerToken) {
        case .failure(let refusal): return .answer(refusal)
        case .success(let value): hash = value
        }
        guard let cached = tokenCache?.cachedCustomer(key: hash, now: now()) else { return nil }
        return prepareSigning(body: body, customer: cached)
    }

    /// Counts a signed call once its record committed; the answer to send.
    public static func signed(_ record: SignedCallRecord, _ response: APIResponse) -> APIResponse {
        CallMetrics.signed(attest: record.attestation.rawValue, face: .rest)
        return response
    }

    /// The SHA-256 of the bearer token (tokens are stored hashed), or POL4001.
    static func tokenHash(_ bearerToken: String?) -> Result<[UInt8], APIResponse> {
        guard let token = bearerToken, !token.isEmpty else {
            CallMetrics.signingRefused("unauthenticated", face: .rest)
            return .failure(.error("POL4001", ["Authorization: Bearer <token>"]))
        }
        return .success(APIToken.hash(token))
    }

    /// Validates the `signingRequest` (ATIS-1000082 §5.2.1), applies the
    /// signing guard, decides the attestation for `customer` and signs.
    func prepareSigning(body: [UInt8], customer found: Customer?) -> SigningStep {
        guard let customer = found else {
            CallMetrics.signingRefused("bad_token", face: .rest)
            return .answer(.error("POL4001", ["unknown or revoked token"]))
        }
        let fields: SigningFields
        if let scanned = SigningFields.scan(body) {
            fields = scanned
        } else {
            switch Self.parseBody(body, wrapper: "signingRequest") {
            case .success(let object): fields = SigningFields(object)
            case .failure(let response): return .answer(response)
            }
        }
        // The members in order: each one's presence and type (from `fields`), then its value.
        let requested: PASSporT.Attestation, dest: [String], iat: Int64, time: Int64, orig: String
        do throws(APIResponse) {
            guard let attestation = PASSporT.Attestation(rawValue: try fields.attest.get()) else {
                throw .invalid("attest", "Must be 'A', 'B' or 'C'")
            }
            requested = attestation
            let destElements = try fields.dest.get()
            guard !destElements.isEmpty, destElements.count <= 32 else { throw .invalid("dest.tn", "Must hold 1 to 32 numbers") }
            var numbers: [String] = []
            numbers.reserveCapacity(destElements.count)
            for element in destElements {
                guard let text = element, let tn = TelephoneNumber.canonicalNumber(text, policy: numbering) else {
                    throw .invalid("dest.tn", "Not a telephone number")
                }
                numbers.append(tn)
            }
            dest = numbers
            iat = try fields.iat.get()
            time = now()
            guard EpochTime.isValid(iat), EpochTime.distance(iat, time) <= signingIatWindow else {
                throw .invalid("iat", "Must be within \(signingIatWindow) s of the server's time")
            }
            guard let number = TelephoneNumber.canonicalNumber(try fields.orig.get(), policy: numbering) else {
                throw .invalid("orig.tn", "Not a telephone number")
            }
            orig = number
            // origid: required by the API; the customer's configured origid is what is signed.
            guard UUIDText.isValid(try fields.origid.get()) else { throw .invalid("origid", "Must be a UUID") }
        } catch {
            return .answer(error)
        }

        switch SigningFlow(identities: identities, policy: policy, analytics: analytics).sign(customer: customer, orig: orig, dest: dest, requested: requested, iat: iat,
                                                                time: time, source: nil, face: .rest) {
        case .refused(let decision): return .answer(.error("POL4003", ["\(decision.rule ?? "policy"): \(decision.reason ?? "")"]))
        case .noIdentity: return .answer(.error("POL4003", ["signing-identity: no signing identity for this customer"]))
        case .failed: return .answer(.error("POL5000"))
        case .signed(let signed):
            return .commit(signed.record, .signed(identity: signed.identity.value, attest: signed.attestation.rawValue, origid: signed.origid))
        }
    }

    /// `POST /stir/v1/verification` (ATIS-1000082 §5.3). Verification failures
    /// are 200 responses with `verstat`, `reasoncode` and `reasontext`.
    public func verify(body: [UInt8]) async -> APIResponse {
        switch Self.parseVerificationRequest(body) {
        case .failure(let response): return response
        case .success(let request):
            let verdict = await verifier.verify(identityHeaders: [request.identity], call: request.call, now: now(), resolver: resolver)
            return verificationResponse(verdict, call: request.call)
        }
    }

    /// `POST /stir/v1/verification` answered without suspending — the same
    /// answer as ``verify(body:)`` — or `nil` when it needs I/O (the x5u or
    /// its chain is not cached, or the PASSporT needs the full procedure; see
    /// ``Verifier/verifyCached(identityHeaders:call:now:resolver:)``).
    public func verifyImmediately(body: [UInt8]) -> APIResponse? {
        switch Self.parseVerificationRequest(body) {
        case .failure(let response): return response
        case .success(let request):
            guard let verdict = verifier.verifyCached(identityHeaders: [request.identity], call: request.call, now: now(),
                                                      resolver: resolver)
            else { return nil }
            return verificationResponse(verdict, call: request.call)
        }
    }

    /// The `verificationRequest` members (ATIS-1000082 §5.3.1).
    static func parseVerificationRequest(_ body: [UInt8]) -> Result<(identity: String, call: CallContext), APIResponse> {
        let parsed: Result<(identity: String, call: CallContext), APIResponse>
        if let fields = VerificationFields.scan(body) {
            parsed = .success((fields.identity, CallContext(orig: fields.from, dest: fields.to, date: fields.time)))
        } else {
            parsed = parseVerificationRequestFromTree(body)
        }
        // `time` is compared with now and the PASSporT's iat: a value outside 1970–9999 is refused here.
        if case .success(let request) = parsed, let time = request.call.date, !EpochTime.isValid(time) {
            return .failure(.invalid("time", "Must be seconds since the epoch, 1970 to 9999"))
        }
        return parsed
    }

    /// ``parseVerificationRequest(_:)`` through a ``JSONParser`` tree: bodies the scan does not read whole.
    static func parseVerificationRequestFromTree(_ body: [UInt8]) -> Result<(identity: String, call: CallContext), APIResponse> {
        let request: JSONObject
        switch parseBody(body, wrapper: "verificationRequest") {
        case .success(let object): request = object
        case .failure(let response): return .failure(response)
        }
        guard let fromValue = request["from"] else { return .failure(.missing("from")) }
        guard let fromTN = fromValue.objectValue?["tn"] else { return .failure(.missing("from.tn")) }
        guard let from = fromTN.stringValue else { return .failure(.invalid("from.tn", "Must be a string")) }
        guard let toValue = request["to"] else { return .failure(.missing("to")) }
        guard let toTN = toValue.objectValue?["tn"] else { return .failure(.missing("to.tn")) }
        guard let toArray = toTN.arrayValue else { return .failure(.invalid("to.tn", "Must be an array")) }
        guard let to = toArray.first?.stringValue else { return .failure(.invalid("to.tn", "Must hold a telephone number")) }
        guard let timeValue = request["time"] else { return .failure(.missing("time")) }
        guard let date = timeValue.integerValue else { return .failure(.invalid("time", "Must be an integer (seconds since the epoch)")) }
        guard let identityValue = request["identity"] else { return .failure(.missing("identity")) }
        guard let identity = identityValue.stringValue else { return .failure(.invalid("identity", "Must be a string")) }
        return .success((identity, CallContext(orig: from, dest: to, date: date)))
    }

    /// The `verificationResponse` for a verdict (ATIS-1000082 §5.3.2), with the
    /// anti-spoofing policy's structured result.
    func verificationResponse(_ verdict: Verdict, call: CallContext) -> APIResponse {
        // Anti-spoofing policy after verification: a structured result (the SIP faces answer 603/608).
        let decision = VerificationFlow(policy: policy, analytics: analytics)
            .judge(verdict, orig: TelephoneNumber.canonicalNumber(call.orig, policy: numbering), calling: call.orig, dest: call.dest,
                   source: nil, time: now(), face: .rest)
        var answer = APIResponse.VerificationAnswer(verstat: verdict.verstat.rawValue, policy: decision)
        if verdict.isValid {
            answer.attest = verdict.attestation?.rawValue
            answer.origid = verdict.origid
            answer.displayName = verdict.displayName
            answer.callReason = verdict.callReason
        }
        if verdict.diversions > 0 { answer.diversions = verdict.diversions }
        if let error = verdict.error {
            answer.error = (error.sipStatus, error.reasonPhrase, "\(error.code.rawValue): \(error.detail)")
        }
        return .verified(answer)
    }
}

/// The call being verified, as the STI-VS sees it in the SIP request
/// (RFC 8224 §6.2; ATIS-1000074 §5.4).
public struct CallContext: Sendable, Hashable {
    /// The calling identity as signalled: P-Asserted-Identity if present, else From.
    public var orig: String
    /// The called identity: the To URI (or Request-URI).
    public var dest: String
    /// The SIP Date header, in seconds since the epoch, if the request has one.
    public var date: Int64?

    public init(orig: String, dest: String, date: Int64? = nil) {
        self.orig = orig
        self.dest = dest
        self.date = date
    }
}

/// Verification settings. Defaults follow ATIS-1000074 and RFC 8224; the
/// ``strictFrench`` profile follows the French MAN test matrix.
public struct VerificationOptions: Sendable {
    /// Maximum age of `iat` and of the Date header, in seconds (RFC 8224 §6.2.3 recommends 60).
    public var maxAge: Int64 = 60
    /// How far in the future `iat` or Date may be (clock skew), in seconds.
    public var maxFutureSkew: Int64 = 10
    /// Answer 428 when no Identity header is present, instead of `No-TN-Validation`.
    public var requireIdentity = false
    /// Require the `alg` Identity parameter (437 when absent).
    public var requireAlgParameter = false
    /// Require the `ppt` Identity parameter when the PASSporT has `ppt` (RFC 8224 §4; 438).
    public var requirePptParameter = true
    /// Refuse Identity parameters other than `info`, `alg`, `ppt` (438).
    public var rejectUnknownParameters = false
    /// Accept compact-form (`..sig`) headers by rebuilding the PASSporT
    /// (RFC 8225 §7). SHAKEN requires the full form (ATIS-1000074 §5.3.3).
    public var allowCompactForm = false
    /// Turns signalled numbers into canonical form (RFC 8224 §8.3).
    public var numbering: NumberingPolicy = .e164
    /// Decoding limits.
    public var limits = PASSporTLimits()
    /// Identity header limits.
    public var headerLimits = IdentityHeader.Limits()
    /// Most diversions (RFC 8946 `div` PASSporTs) followed from the original called number.
    public var maxDiversions = 5
    /// Remembers PASSporTs to flag replays (bounded); `nil` disables the check.
    public var replayCache: ReplayCache? = nil
    /// Fail (438) instead of only flagging a replayed PASSporT.
    public var rejectReplays = false
    /// Fetches URI-referenced Rich Call Data (`icn`, `jcl`) to check `rcdi`
    /// digests; `nil` checks inline members only.
    public var rcdContent: (@Sendable (String) async -> [UInt8]?)? = nil

    public init() {}

    /// French MAN profile: `alg` required (437), no extra parameters (438),
    /// national numbers in the French plan.
    public static var strictFrench: VerificationOptions {
        var options = VerificationOptions()
        options.requireAlgParameter = true
        options.rejectUnknownParameters = true
        options.numbering = .france
        return options
    }
}

/// What the STI-VS concluded about a call.
public struct Verdict: Sendable {
    public init(verstat: Verstat, attestation: PASSporT.Attestation? = nil, origid: String? = nil, error: VerificationError? = nil,
                passport: SignedPASSporT? = nil, identity: IdentityHeader? = nil, diagnostics: [String]) {
        self.verstat = verstat
        self.attestation = attestation
        self.origid = origid
        self.error = error
        self.passport = passport
        self.identity = identity
        self.diagnostics = diagnostics
    }

    /// The verstat value for P-Asserted-Identity/From (3GPP TS 24.229 §7.2A.20).
    public var verstat: Verstat
    /// The attestation of the PASSporT that verified (or, on failure, of the one decoded).
    public var attestation: PASSporT.Attestation?
    /// The origination identifier (RFC 8588 §5) of that PASSporT.
    public var origid: String?
    /// Why verification failed; `nil` when it passed or there was nothing to verify.
    public var error: VerificationError?
    /// The PASSporT the verdict is about, if one could be decoded.
    public var passport: SignedPASSporT?
    /// The Identity header the verdict is about.
    public var identity: IdentityHeader?
    /// Steps and notes, free of personal data.
    public var diagnostics: [String]
    /// The verified display name (`rcd.nam`, RFC 9795), when Rich Call Data verified.
    public var displayName: String? = nil
    /// The verified call reason (`crn`, RFC 9795).
    public var callReason: String? = nil
    /// How many verified diversions (RFC 8946 `div` PASSporTs) led to the called number.
    public var diversions: Int = 0
    /// Whether this PASSporT was already seen within its freshness window.
    public var replayed: Bool = false
    /// The SPCs of the signing certificate's TNAuthList, once the credential is at hand.
    public var signerSPCs: [String] = []

    /// Whether the call carries a verified identity.
    public var isValid: Bool { verstat == .passed }
}

/// The STI-VS verification procedure (RFC 8224 §6.2, ATIS-1000074 §5.4):
/// parse → claim checks → freshness → credential → signature → orig/dest match.
///
/// Pure: time and the credential lookup are injected.
public struct Verifier: Sendable {
    public var options: VerificationOptions

    public init(options: VerificationOptions = VerificationOptions()) {
        self.options = options
    }

    /// Verifies the Identity headers of a call.
    ///
    /// - Parameters:
    ///   - identityHeaders: the values of every Identity (`y`) header in the request.
    ///   - call: the calling and called identities and the Date header.
    ///   - now: the current time, seconds since the epoch.
    ///   - resolver: how to get the signer's key for an `x5u`.
    /// - Returns: `passed` if an acceptable SHAKEN PASSporT verifies (RFC 8224 §6.2:
    ///   with several headers, one valid one suffices), otherwise the failure
    ///   of the most relevant header.
    public func verify(identityHeaders: [String], call: CallContext, now: Int64,
                       resolver: some CertificateResolver) async -> Verdict
    {
        var values: [Substring] = []
        for header in identityHeaders {
            values.append(contentsOf: IdentityHeader.splitCommaJoined(header))
        }
        if values.isEmpty { return noIdentityVerdict() }
        var firstFailure: Verdict?
        var shakenFailure: Verdict?
        let considered = Array(values.prefix(options.headerLimits.maxHeaders))
        // Headers that are not SHAKEN (div, rcd) are used alongside a SHAKEN one.
        var divHeaders: [Substring] = []
        var rcdHeaders: [Substring] = []
        var shakenHeaders: [Substring] = []
        for value in considered {
            switch Self.peekExtension(value) {
            case PASSporT.Extension.div?: divHeaders.append(value)
            case PASSporT.Extension.rcd?: rcdHeaders.append(value)
            default: shakenHeaders.append(value)
            }
        }
        if shakenHeaders.isEmpty { shakenHeaders = considered }
        for value in shakenHeaders {
            var result = await verifyOne(value, call: call, now: now, resolver: resolver, matchDest: divHeaders.isEmpty)
            if result.error == nil, !divHeaders.isEmpty, let shaken = result.passport {
                // RFC 8946: a diverted call; follow the div chain to the called number.
                result = await followDiversions(from: shaken, result: result, divHeaders: divHeaders, call: call, now: now,
                                                 resolver: resolver)
            }
            if result.isValid {
                if !rcdHeaders.isEmpty {
                    result = await applyRCDPassports(rcdHeaders, to: result, call: call, now: now, resolver: resolver)
                }
                return result
            }
            if firstFailure == nil { firstFailure = result }
            if shakenFailure == nil, result.passport?.passport.header.ppt == PASSporT.Extension.shaken {
                shakenFailure = result
            }
        }
        guard var result = shakenFailure ?? firstFailure else {
            return Verdict(verstat: .noValidation, diagnostics: ["no Identity header considered"])
        }
        if values.count > options.headerLimits.maxHeaders {
            result.diagnostics.append("only the first \(options.headerLimits.maxHeaders) Identity headers were considered")
        }
        return result
    }

    private func noIdentityVerdict() -> Verdict {
        if options.requireIdentity {
            return Verdict(verstat: .noValidation, error: VerificationError(.missingIdentity, "no Identity header"),
                           diagnostics: ["no Identity header; policy requires one"])
        }
        return Verdict(verstat: .noValidation, diagnostics: ["no Identity header"])
    }

    /// The same verdict as ``verify(identityHeaders:call:now:resolver:)``,
    /// reached without suspending, or `nil` when that needs I/O: the
    /// credential is not in the resolver's cache
    /// (``CertificateResolver/cachedCredential(x5u:at:)``), or the call carries
    /// what the full procedure handles — several Identity headers, `div`
    /// (RFC 8946) or `rcd` (RFC 9795) PASSporTs, Rich Call Data claims.
    ///
    /// This is the warm path of a busy STI-VS (RFC 8224 §6.2, ATIS-1000074
    /// §5.4): the transport that read the request answers it on the same
    /// thread, and only a cache miss pays for a task.
    public func verifyCached(identityHeaders: [String], call: CallContext, now: Int64,
                             resolver: some CertificateResolver) -> Verdict?
    {
        // One field (nearly every call) is split without a second array.
        let values = identityHeaders.count == 1 ? IdentityHeader.splitCommaJoined(identityHeaders[0])
            : identityHeaders.flatMap { IdentityHeader.splitCommaJoined($0) }
        if values.isEmpty { return noIdentityVerdict() }
        guard values.count == 1, let value = values.first else { return nil }
        var result = Verdict(verstat: .failed, diagnostics: [])
        result.diagnostics.reserveCapacity(8)  // one allocation for the ~6 notes of a verification, not four
        do {
            // One parse: a div or rcd PASSporT (by the ppt parameter, else the PASSporT's
            // header, as ``peekExtension(_:)`` decides in the full path) steps aside.
            guard let (passport, x5u) = try parseAndCheck(value, call: call, now: now, result: &result,
                                                          expectedExtension: PASSporT.Extension.shaken, stepAsideForDivAndRCD: true)
            else { return nil }
            let claims = passport.passport.claims
            // Rich Call Data may need content fetched (icn, jcl): the full path.
            if claims.rcd != nil || claims.crn != nil { return nil }
            guard let cached = resolver.cachedCredential(x5u: x5u, at: now) else { return nil }
            try checkCredential(cached.get(), passport: passport, call: call, result: &result, matchDest: true)
            try checkReplay(result.passport, now: now, result: &result)
            Self.conclude(&result, failure: nil)
        } catch {
            Self.conclude(&result, failure: error)
        }
        return result
    }

    /// Marks the verdict passed, or failed with `error` (the one way both paths end).
    private static func conclude(_ result: inout Verdict, failure error: VerificationError?) {
        guard let error else {
            result.verstat = .passed
            result.error = nil
            return
        }
        result.verstat = .failed
        result.error = error
        result.diagnostics.append("failed: \(error.code.rawValue)")
    }

    /// Verifies one Identity header value against the call.
    public func verifyOne(_ value: some StringProtocol, call: CallContext, now: Int64,
                          resolver: some CertificateResolver, matchDest: Bool = true,
                          expectedExtension: String = PASSporT.Extension.shaken) async -> Verdict
    {
        var result = Verdict(verstat: .failed, diagnostics: [])
        do {
            try await run(value, call: call, now: now, resolver: resolver, result: &result, matchDest: matchDest,
                          expectedExtension: expectedExtension)
            if expectedExtension == PASSporT.Extension.shaken {
                try await checkRichCallData(result.passport?.passport.claims, result: &result)
            }
            try checkReplay(result.passport, now: now, result: &result)
            Self.conclude(&result, failure: nil)
        } catch {
            Self.conclude(&result, failure: error)
        }
        return result
    }

    private func run(_ value: some StringProtocol, call: CallContext, now: Int64, resolver: some CertificateResolver,
                     result: inout Verdict, matchDest: Bool, expectedExtension: String) async throws(VerificationError)
    {
        guard let (passport, x5u) = try parseAndCheck(value, call: call, now: now, result: &result, expectedExtension: expectedExtension)
        else { throw VerificationError(.malformedPASSporT, "PASSporT not decoded") }  // not reached: nil only when stepping aside
        // 5. Credential (chain, validity, CRL are the resolver's job).
        let credential = try await resolver.resolve(x5u: x5u, at: now)
        try checkCredential(credential, passport: passport, call: call, result: &result, matchDest: matchDest)
    }

    /// Steps 1–4: header syntax and parameters, the PASSporT, header and claim
    /// checks, freshness. Returns the PASSporT and its `x5u`.
    /// - Parameter stepAsideForDivAndRCD: return `nil` for a `div` or `rcd`
    ///   PASSporT instead of checking it as `expectedExtension` (the cached path
    ///   leaves those to the full procedure).
    private func parseAndCheck(_ value: some StringProtocol, call: CallContext, now: Int64, result: inout Verdict,
                               expectedExtension: String, stepAsideForDivAndRCD: Bool = false) throws(VerificationError)
        -> (SignedPASSporT, String)?
    {
        // 1. Identity header syntax and parameters (RFC 8224 §4).
        let header = try IdentityHeader(line: value, limits: options.headerLimits)
        if stepAsideForDivAndRCD, let ppt = header.ppt, ppt == PASSporT.Extension.div || ppt == PASSporT.Extension.rcd { return nil }
        result.identity = header
        guard header.hasInfo else { throw VerificationError(.missingInfo, "Identity header has no info parameter") }
        guard let info = header.info else { throw VerificationError(.badInfo, "info parameter is not a URI in <…>") }
        if let alg = header.alg {
            guard alg == "ES256" else { throw VerificationError(.unsupportedAlgorithm, "Identity alg parameter is not ES256") }
        } else if options.requireAlgParameter {
            throw VerificationError(.unsupportedAlgorithm, "Identity header has no alg parameter")
        }
        if options.rejectUnknownParameters,
            let extra = header.parameters.first(where: { parameter in
                !["info", "alg", "ppt"].contains { parameter.name.equalsIgnoringASCIICase($0) }
            })
        {
            throw VerificationError(.unexpectedParameter, "unexpected Identity parameter \(extra.name)")
        }
        result.diagnostics.append("identity header parsed")

        // 2. The PASSporT: full form, or compact form rebuilt from the call.
        let passport: SignedPASSporT
        if header.isCompactForm {
            guard options.allowCompactForm else {
                throw VerificationError(.compactFormNotAllowed, "compact form not allowed (ATIS-1000074 §5.3.3)")
            }
            passport = try rebuildCompact(header, info: info, call: call)
            result.diagnostics.append("compact form rebuilt from the request (RFC 8225 §7)")
        } else {
            passport = try SignedPASSporT(compact: header.token, limits: options.limits)
        }
        if stepAsideForDivAndRCD, header.ppt == nil, let ppt = passport.passport.header.ppt,
            ppt == PASSporT.Extension.div || ppt == PASSporT.Extension.rcd
        {
            return nil
        }
        result.passport = passport
        let claims = passport.passport.claims
        result.attestation = claims.attestation
        result.origid = claims.origid

        // 3. Header and claim checks (RFC 8588, ATIS-1000074 §5.4 step 2).
        guard let ppt = passport.passport.header.ppt else {
            throw VerificationError(.missingExtension, "PASSporT header has no ppt")
        }
        guard ppt == expectedExtension else {
            throw VerificationError(.wrongExtension, "PASSporT ppt is not \(expectedExtension)")
        }
        if let parameterPpt = header.ppt {
            guard parameterPpt == ppt else { throw VerificationError(.wrongExtension, "Identity ppt parameter differs from the PASSporT ppt") }
        } else if options.requirePptParameter {
            throw VerificationError(.wrongExtension, "Identity header has no ppt parameter (RFC 8224 §4)")
        }
        guard let x5u = passport.passport.header.x5u else { throw VerificationError(.badInfo, "PASSporT header has no x5u") }
        guard x5u == info else { throw VerificationError(.infoMismatch, "x5u differs from the info parameter") }
        if expectedExtension == PASSporT.Extension.shaken {
            guard let attest = claims.attest else { throw VerificationError(.missingClaim, "attest claim missing") }
            guard PASSporT.Attestation(rawValue: attest) != nil else {
                throw VerificationError(.invalidAttestation, "attest is not A, B or C")
            }
            guard let origid = claims.origid else { throw VerificationError(.missingClaim, "origid claim missing") }
            guard Self.isUUID(origid) else { throw VerificationError(.invalidClaim, "origid is not a UUID") }
        }
        if expectedExtension == PASSporT.Extension.div, claims.div == nil {
            throw VerificationError(.missingClaim, "div claim missing (RFC 8946 §4)")
        }
        guard case .tn = claims.orig else { throw VerificationError(.invalidClaim, "orig is not a telephone number") }
        result.diagnostics.append("claims checked")

        // 4. Freshness (RFC 8224 §6.2.3; ATIS-1000074 §5.4 step 4).
        // Differences through EpochTime: `now`, `iat` and Date come from elsewhere and must not trap.
        let age = EpochTime.seconds(from: claims.iat, to: now)
        if age > options.maxAge {
            throw VerificationError(.staleIat, "iat is \(age) s old (limit \(options.maxAge) s)")
        }
        let ahead = EpochTime.seconds(from: now, to: claims.iat)
        if ahead > options.maxFutureSkew {
            throw VerificationError(.futureIat, "iat is \(ahead) s in the future")
        }
        if let date = call.date {
            let dateAge = EpochTime.seconds(from: date, to: now)
            if dateAge > options.maxAge { throw VerificationError(.staleDate, "Date header is \(dateAge) s old") }
            if EpochTime.seconds(from: now, to: date) > options.maxFutureSkew { throw VerificationError(.staleDate, "Date header is in the future") }
            if EpochTime.distance(date, claims.iat) > options.maxAge { throw VerificationError(.staleDate, "Date header and iat differ by more than \(options.maxAge) s") }
        }
        result.diagnostics.append("iat fresh")
        return (passport, x5u)
    }

    /// Steps 5–7 once the credential is at hand: TNAuthList scope, the
    /// signature over the received signing input, orig/dest against the request.
    private func checkCredential(_ credential: ResolvedCredential, passport: SignedPASSporT, call: CallContext,
                                 result: inout Verdict, matchDest: Bool) throws(VerificationError)
    {
        let claims = passport.passport.claims
        result.diagnostics.append(contentsOf: credential.diagnostics)
        result.signerSPCs = credential.tnAuthList?.spcs ?? []
        // TNAuthList scope: a certificate listing only numbers (delegate
        // certificates, RFC 9060) signs only those numbers. An SPC entry
        // cannot be checked (no SPC → TN registry exists).
        if let list = credential.tnAuthList, list.hasNumbers, list.spcs.isEmpty, case .tn(let tn) = claims.orig {
            let canonical = TelephoneNumber.canonicalNumber(tn, policy: options.numbering) ?? tn
            guard list.covers(tn: canonical) else {
                throw VerificationError(.certificateNotAuthorized, "orig is outside the certificate's TNAuthList")
            }
            result.diagnostics.append("orig inside the certificate's TNAuthList")
        }

        // 6. Signature over the signing input as received.
        guard passport.isValidSignature(for: credential.publicKey) else {
            throw VerificationError(.badSignature, "signature does not verify with the certificate's key")
        }
        result.diagnostics.append("signature valid")

        // 7. orig / dest against the request (RFC 8224 §6.2 step 1 and §8).
        try checkParties(claims, call: call, matchDest: matchDest)
        result.diagnostics.append(matchDest ? "orig and dest match the request" : "orig matches the request")
    }

    /// Compares `orig` with the calling number and `dest` with the called one,
    /// both in canonical form.
    public func checkParties(_ claims: PASSporT.Claims, call: CallContext, matchDest: Bool = true) throws(VerificationError) {
        guard let callOrig = TelephoneNumber.canonicalize(call.orig, policy: options.numbering) else {
            throw VerificationError(.unusableRequestNumber, "calling number in the request cannot be read")
        }
        guard var callDest = TelephoneNumber.canonicalize(call.dest, policy: options.numbering) else {
            throw VerificationError(.unusableRequestNumber, "called number in the request cannot be read")
        }
        if case .tn(let tn) = callDest { callDest = .tn(TelephoneNumber.strippingRoutingPrefix(tn, policy: options.numbering)) }
        let claimOrig = canonicalClaim(claims.orig)
        guard claimOrig == callOrig else { throw VerificationError(.origMismatch, "orig does not match the calling number") }
        guard matchDest else { return }
        // Each destination compared in turn (no array of the canonical forms per call).
        let inTN = claims.dest.tn.contains { tn in
            TelephoneNumber.canonicalNumber(tn, policy: options.numbering).map(PASSporT.Party.tn) == callDest
        }
        guard inTN || claims.dest.uri.contains(where: { (TelephoneNumber.canonicalize($0, policy: options.numbering) ?? .uri($0)) == callDest })
        else {
            throw VerificationError(.destMismatch, "dest does not contain the called number")
        }
    }

    private func canonicalClaim(_ party: PASSporT.Party) -> PASSporT.Party? {
        switch party {
        case .tn(let tn): TelephoneNumber.canonicalNumber(tn, policy: options.numbering).map(PASSporT.Party.tn)
        case .uri(let uri): TelephoneNumber.canonicalize(uri, policy: options.numbering)
        }
    }

    /// Rebuilds a compact-form PASSporT from the request (RFC 8225 §7): header
    /// `{alg, ppt, typ, x5u=info}`, claims `{dest, iat=Date, orig}`.
    func rebuildCompact(_ header: IdentityHeader, info: String, call: CallContext) throws(VerificationError) -> SignedPASSporT {
        let parts = header.token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty, parts[1].isEmpty, let signature = Base64URL.decode(parts[2]),
            signature.count == 64
        else {
            throw VerificationError(.malformedPASSporT, "compact form is not ..signature")
        }
        guard let date = call.date else { throw VerificationError(.staleDate, "compact form needs a Date header for iat") }
        guard let orig = TelephoneNumber.canonicalize(call.orig, policy: options.numbering),
            let dest = TelephoneNumber.canonicalize(call.dest, policy: options.numbering)
        else {
            throw VerificationError(.unusableRequestNumber, "cannot rebuild orig/dest from the request")
        }
        var destination = PASSporT.Destination()
        switch dest {
        case .tn(let tn): destination.tn = [tn]
        case .uri(let uri): destination.uri = [uri]
        }
        let passport = PASSporT(header: PASSporT.Header(alg: "ES256", typ: "passport", ppt: header.ppt, x5u: info),
                                claims: PASSporT.Claims(dest: destination, iat: date, orig: orig))
        return SignedPASSporT(passport: passport, signingInput: SignedPASSporT.signingInput(for: passport), signature: signature)
    }

    /// RFC 4122 textual form: 8-4-4-4-12 hexadecimal digits.
    static func isUUID(_ text: String) -> Bool {
        let utf8 = text.utf8
        guard utf8.count == 36 else { return false }
        for (i, c) in utf8.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if c != UInt8(ascii: "-") { return false }
            } else if !((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)) {
                return false
            }
        }
        return true
    }
}

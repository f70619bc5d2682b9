#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto

extension Verifier {
    /// The `ppt` of an Identity header value without full decoding (from
    /// its parameter, else from the PASSporT header), or `nil`.
    static func peekExtension(_ value: some StringProtocol) -> String? {
        guard let header = try? IdentityHeader(line: value) else { return nil }
        if let ppt = header.ppt { return ppt }
        guard let jws = try? CompactJWS(header.token) else { return nil }
        return jws.header["ppt"]?.stringValue
    }

    /// RFC 8946: follows `div` PASSporTs from the SHAKEN PASSporT's `dest` to
    /// the called number. Each hop must keep the original `orig`, name the
    /// previous `dest` in `div`, verify (signature, certificate, freshness),
    /// and the last hop's `dest` must contain the request's called number.
    func followDiversions(from shaken: SignedPASSporT, result: Verdict, divHeaders: [Substring], call: CallContext, now: Int64,
                          resolver: some CertificateResolver) async -> Verdict
    {
        var result = result
        let canonical: (String) -> String = { TelephoneNumber.canonicalNumber($0, policy: self.options.numbering) ?? $0 }
        let target = TelephoneNumber.canonicalize(call.dest, policy: options.numbering)
        var current = Set(shaken.passport.claims.dest.tn.map(canonical))
        if case .tn(let tn)? = target, current.contains(tn) { return result }  // not diverted after all
        let orig = shaken.passport.claims.orig
        var remaining = divHeaders
        var hops = 0
        while hops < options.maxDiversions {
            guard let index = remaining.firstIndex(where: { value in
                guard let header = try? IdentityHeader(line: value), let passport = try? SignedPASSporT(compact: header.token),
                    case .tn(let diverted)? = passport.passport.claims.div
                else { return false }
                return current.contains(canonical(diverted))
            }) else { break }
            let value = remaining.remove(at: index)
            // The hop's own checks: signature, certificate, freshness, same orig; its dest is checked below.
            let hop = await verifyOne(value, call: call, now: now, resolver: resolver, matchDest: false,
                                      expectedExtension: PASSporT.Extension.div)
            guard hop.error == nil, let passport = hop.passport else {
                return failed(result, hop.error ?? VerificationError(.invalidClaim, "div PASSporT does not verify"), hops: hops)
            }
            guard passport.passport.claims.orig == orig else {
                return failed(result, VerificationError(.invalidClaim, "div PASSporT orig differs from the original call (RFC 8946 §4)"),
                              hops: hops)
            }
            hops += 1
            current = Set(passport.passport.claims.dest.tn.map(canonical))
            if case .tn(let tn)? = target, current.contains(tn) {
                result.diversions = hops
                result.diagnostics.append("diverted: \(hops) verified div hop(s) lead to the called number")
                return result
            }
        }
        return failed(result, VerificationError(.destMismatch, "div chain does not lead to the called number (after \(hops) hop(s))"),
                      hops: hops)
    }

    private func failed(_ result: Verdict, _ error: VerificationError, hops: Int) -> Verdict {
        var result = result
        result.verstat = .failed
        result.error = error
        result.diversions = hops
        result.diagnostics.append("failed: \(error.code.rawValue)")
        return result
    }

    /// RFC 9795: separate `rcd` PASSporTs for the same call add a verified
    /// display name and call reason when they verify.
    func applyRCDPassports(_ headers: [Substring], to result: Verdict, call: CallContext, now: Int64,
                           resolver: some CertificateResolver) async -> Verdict
    {
        var result = result
        for value in headers {
            var hop = await verifyOne(value, call: call, now: now, resolver: resolver, matchDest: result.diversions == 0,
                                      expectedExtension: PASSporT.Extension.rcd)
            if hop.error == nil {
                do {
                    try await checkRichCallData(hop.passport?.passport.claims, result: &hop)
                } catch {
                    result.diagnostics.append("rcd PASSporT ignored: \(error.code.rawValue)")
                    continue
                }
                result.displayName = hop.displayName ?? result.displayName
                result.callReason = hop.callReason ?? result.callReason
                result.diagnostics.append("rcd PASSporT verified")
            } else {
                result.diagnostics.append("rcd PASSporT ignored: \(hop.error?.code.rawValue ?? "invalid")")
            }
        }
        return result
    }

    /// RFC 9795 §6.3: every `rcdi` digest must match the content it covers —
    /// inline members by the SHA-256 of their deterministic JSON, URI members
    /// (`icn`, `jcl`) by the SHA-256 of the fetched content. On success the
    /// verdict carries the verified name and reason.
    func checkRichCallData(_ claims: PASSporT.Claims?, result: inout Verdict) async throws(VerificationError) {
        guard let claims, claims.rcd != nil || claims.crn != nil else { return }
        let rcdObject = claims.json["rcd"]?.objectValue ?? JSONObject()
        for (pointer, digest) in (claims.rcdi ?? [:]).sorted(by: { $0.key < $1.key }) {
            let parts: [String] = pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { part in
                String(part).replacing("~1", with: "/").replacing("~0", with: "~")
            }
            guard pointer.hasPrefix("/"), !parts.isEmpty else {
                throw VerificationError(.invalidClaim, "rcdi key is not a JSON pointer")
            }
            var node: JSONValue? = .object(rcdObject)
            for part in parts {
                if let object = node?.objectValue {
                    node = object[part]
                } else if let array = node?.arrayValue, let index = Int(part), array.indices.contains(index) {
                    node = array[index]
                } else {
                    node = nil
                }
            }
            guard let value = node else { throw VerificationError(.invalidClaim, "rcdi points at nothing (\(pointer))") }
            let bytes: [UInt8]
            if let uri = value.stringValue, parts.last == "icn" || parts.last == "jcl" {
                guard let fetch = options.rcdContent, let content = await fetch(uri) else {
                    result.diagnostics.append("rcdi \(pointer): content not fetched, digest not checked")
                    continue
                }
                bytes = content
            } else {
                bytes = JSONWriter.canonical(value)
            }
            let expected = "sha256-" + Self.standardBase64(Array(SHA256.hash(data: bytes)))
            let expectedURL = "sha256-" + Base64URL.encode(Array(SHA256.hash(data: bytes)))
            guard digest == expected || digest == expectedURL else {
                throw VerificationError(.invalidClaim, "rcdi digest mismatch for \(pointer) (RFC 9795)")
            }
        }
        result.displayName = claims.rcd?.nam
        result.callReason = claims.crn
        if claims.rcd?.nam != nil { result.diagnostics.append("rich call data verified") }
    }

    static func standardBase64(_ bytes: [UInt8]) -> String {
        var text = Base64URL.encode(bytes).replacing("-", with: "+").replacing("_", with: "/")
        while text.utf8.count % 4 != 0 { text += "=" }
        return text
    }

    /// Flags (or refuses) a PASSporT seen before within its freshness window.
    func checkReplay(_ passport: SignedPASSporT?, now: Int64, result: inout Verdict) throws(VerificationError) {
        guard let cache = options.replayCache, let passport else { return }
        if cache.seen(passport.signingInput, signature: passport.signature,
                      until: EpochTime.adding(options.maxAge, to: passport.passport.claims.iat), now: now) {
            result.replayed = true
            result.diagnostics.append("replayed PASSporT")
            if options.rejectReplays { throw VerificationError(.replay, "PASSporT already seen within its freshness window") }
        }
    }
}

import Callsign
import FuzzSupport

/// Compact JWS + PASSporT (RFC 7515 §7.1, RFC 8225): the scanned path (no JSON
/// tree, the common SHAKEN shape) and the tree path decode every token to the
/// same PASSporT or the same error; a decoded PASSporT's signing input is the
/// token's first two segments.
func fuzzPASSporT(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let token = String(decoding: Fuzz.bytes(data, size), as: UTF8.self)
    func outcome(_ decode: () throws(VerificationError) -> SignedPASSporT) -> String {
        do throws(VerificationError) {
            let signed = try decode()
            return "\(signed.passport) \(signed.signingInput) \(signed.signature)"
        } catch {
            return "error \(error.code) \(error.detail)"
        }
    }
    let scanned = outcome { () throws(VerificationError) in try SignedPASSporT(compact: token) }
    let tree = outcome { () throws(VerificationError) in try SignedPASSporT(jws: CompactJWS(token)) }
    Fuzz.check(scanned == tree, "scan and tree disagree:\n\(scanned)\n\(tree)")
    if let signed = try? SignedPASSporT(compact: token) {
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        Fuzz.check(segments.count == 3 && String(decoding: signed.signingInput, as: UTF8.self) == segments[0] + "." + segments[1],
                   "signing input is not the first two segments")
        Fuzz.check(EpochTime.isValid(signed.passport.claims.iat), "iat out of range")
    }
    return 0
}

import CallsignLab
import Callsign
import Crypto
import FuzzSupport
import SwiftASN1
import X509

/// Certificates and CRLs through the chain validator (RFC 5280, ATIS-1000080),
/// with a fixed clock and a lab PKI made once per run. The first input byte
/// chooses what the rest replaces:
/// 0. the end-entity certificate (DER), under the lab intermediate;
/// 1. the intermediate's CRL (DER);
/// 2. the whole x5u body (PEM text: a chain as a repository serves it);
/// 3. a CRL in PEM or DER, decoded alone;
/// 4. the STI-PA CRL (DER): checked against the lab STI-PA, then applied as an
///    authority CRL (indirect entries, issuer + serial) to the lab chain;
/// 5. an STI-PA trust list (compact JWS), checked against the lab STI-PA;
/// 6. an SPC token (compact JWS), checked against the lab STI-PA.
/// Nothing may trap; a chain that validates must hold a P-256 key and a TNAuthList;
/// a CRL that revokes the leaf must fail it.
func fuzzCertificate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Fuzz.bytes(data, size)
    guard let mode = input.first, let pki = LabPKI.shared else { return 0 }
    let rest = Array(input.dropFirst())
    var chain = [pki.leaf, pki.intermediate]
    var crls = [pki.crl]
    var trust: TrustStore?
    switch mode % 7 {
    case 0:
        guard let leaf = try? Certificate(derEncoded: rest) else { return 0 }
        chain[0] = leaf
    case 1:
        guard let crl = try? CertificateRevocationList(derEncoded: rest) else { return 0 }
        crls = [crl]
    case 2:
        guard let certificates = try? KeyLoading.certificates(pem: String(decoding: rest, as: UTF8.self)), !certificates.isEmpty else { return 0 }
        chain = certificates
    case 3:
        _ = try? CertificateRevocationList(pemOrDER: rest)
        return 0
    case 4:
        guard let crl = try? CertificateRevocationList(derEncoded: rest) else { return 0 }
        Fuzz.run { _ = try? await crl.checkSTIPA(signerChain: [pki.stiPA.crlSigner], roots: [pki.stiPA.root], at: LabPKI.now) }
        trust = TrustStore(roots: [pki.root], crls: [crl])
    case 5:
        guard let list = try? STIPATrustList(compact: String(decoding: rest, as: UTF8.self)) else { return 0 }
        Fuzz.check(list.certificates.count <= STIPA.maxTrustListEntries, "a trust list past its entry bound")
        Fuzz.run { _ = try? await list.check(signerChain: [pki.stiPA.signer], roots: [pki.stiPA.root], at: LabPKI.now, previousSequence: 1) }
        return 0
    default:
        guard let token = try? SPCToken(compact: String(decoding: rest, as: UTF8.self)) else { return 0 }
        Fuzz.run { _ = try? await token.check(signerChain: [pki.stiPA.signer], roots: [pki.stiPA.root], at: LabPKI.now, expected: nil) }
        return 0
    }
    let validator = ChainValidator(roots: [pki.root], mode: .strict, trust: trust)
    let revokedByAuthority = trust?.snapshot.crls.contains { $0.revokes(pki.leaf) } ?? false
    // The harness's one entry point is synchronous; the validator is async.
    Fuzz.run { [chain, crls] in
        if let validated = try? await validator.validate(chain: chain, crls: crls, at: LabPKI.now) {
            Fuzz.check(!validated.certificates.isEmpty, "a validated chain without certificates")
            Fuzz.check(!(revokedByAuthority && validated.certificates.first == pki.leaf), "a leaf the authority CRL revokes validated")
            _ = validated.tnAuthList.covers(tn: "12155550100")
        }
    }
    return 0
}

/// A root, an intermediate with a CRL, and an end entity with a TNAuthList, valid at ``now``.
struct LabPKI: Sendable {
    static let now: Int64 = 1_800_000_000
    static let shared: LabPKI? = try? LabPKI()

    let root: Certificate
    let intermediate: Certificate
    let leaf: Certificate
    let crl: CertificateRevocationList
    let stiPA: LabSTIPAAuthority

    init() throws {
        let rootKey = P256.Signing.PrivateKey(), interKey = P256.Signing.PrivateKey(), leafKey = P256.Signing.PrivateKey()
        let t = Self.now
        root = try LabCertificateAuthority.makeRoot(key: rootKey, organization: "Fuzz", notBefore: t - 86_400, notAfter: t + 86_400 * 365)
        intermediate = try LabCertificateAuthority.makeIntermediate(key: interKey, issuer: root, issuerKey: rootKey, organization: "Fuzz",
                                                                   crlURL: "https://cr.example/root.crl", notBefore: t - 86_400,
                                                                   notAfter: t + 86_400 * 300)
        leaf = try LabCertificateAuthority.issueEndEntity(publicKey: leafKey.publicKey, tnAuthList: try TNAuthorizationList([.spc("1234")]),
                                                          issuer: intermediate, issuerKey: interKey, organization: "Fuzz",
                                                          crlURL: "https://cr.example/inter.crl", notBefore: t - 86_400,
                                                          notAfter: t + 86_400 * 30)
        crl = try CertificateRevocationList(derEncoded: try CertificateRevocationList.make(issuer: intermediate, issuerKey: interKey, revoked: [],
                                                                                          thisUpdate: t - 60, nextUpdate: t + 3600, crlNumber: 1))
        stiPA = try LabSTIPAAuthority.create(notBefore: t - 86_400)
    }
}

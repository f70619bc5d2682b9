import Crypto
import Foundation

/// The shared secret that signs alert webhooks the Standard Webhooks 1.0 way
/// (standardwebhooks.com): each POST carries `webhook-id` (the same across a
/// delivery's retries), `webhook-timestamp` (Unix seconds of the try) and
/// `webhook-signature: v1,BASE64`, the HMAC-SHA256 of `ID.TIMESTAMP.BODY`.
/// A receiver checks it with any Standard Webhooks library and rejects
/// timestamps more than 5 minutes off, so a captured alert cannot be replayed
/// and nobody without the secret can post a false one.
public struct WebhookSigningKey: Sendable {
    private let key: SymmetricKey

    /// Fewest and most bytes a secret may have (the specification asks for 24 to 64).
    public static let lengths = 24...64

    /// Reads the serialized secret: base64 (standard alphabet, padded), with or
    /// without the customary `whsec_` prefix; surrounding white space is ignored.
    /// `nil` unless it decodes to 24–64 bytes.
    public init?(serialized text: String) {
        var value = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        if value.hasPrefix("whsec_") { value = value.dropFirst(6) }
        guard value.utf8.count <= 128, let bytes = Data(base64Encoded: String(value)), Self.lengths.contains(bytes.count) else {
            return nil
        }
        key = SymmetricKey(data: bytes)
    }

    /// The `webhook-signature` value for one try: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`.
    public func signature(id: String, timestamp: Int64, body: [UInt8]) -> String {
        var content = Array("\(id).\(timestamp).".utf8)
        content.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: content, using: key)
        return "v1," + Data(mac).base64EncodedString()
    }
}

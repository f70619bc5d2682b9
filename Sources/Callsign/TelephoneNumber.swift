/// How national numbers of one country become E.164 digit strings
/// (RFC 8224 §8.3 step "convert to E.164 by local policy").
public struct NumberingPolicy: Sendable, Hashable {
    /// A short name for diagnostics and configuration (`nanp`, `uk`, `fr`, `e164`).
    public var name: String
    /// Country calling code, without `+` (`1`, `44`, `33`); empty for none.
    public var countryCode: String
    /// National (trunk) prefix dialled before national numbers (`0` in the UK and France).
    public var trunkPrefix: String?
    /// International call prefixes that may precede a country code (`011`, `00`).
    public var internationalPrefixes: [String]
    /// Lengths of the national significant number (10 in NANP, 9–10 in the UK, 9 in France).
    public var nationalNumberLengths: ClosedRange<Int>
    /// Number-portability routing prefixes that may precede a called number
    /// (after the country code, without the trunk prefix), stripped before
    /// comparing `dest` (France: ARCEP routing prefixes 0ZAB/0ZABP/0ZABPQ).
    public var routingPrefixes: [String] = []

    public init(name: String, countryCode: String, trunkPrefix: String?, internationalPrefixes: [String],
                nationalNumberLengths: ClosedRange<Int>) {
        self.name = name
        self.countryCode = countryCode
        self.trunkPrefix = trunkPrefix
        self.internationalPrefixes = internationalPrefixes
        self.nationalNumberLengths = nationalNumberLengths
    }

    /// Only numbers already in E.164 form (`+…` or digits) are accepted; nothing is added.
    public static let e164 = NumberingPolicy(name: "e164", countryCode: "", trunkPrefix: nil, internationalPrefixes: [],
                                             nationalNumberLengths: 0...0)
    /// North American Numbering Plan: 10-digit numbers get `1` (ATIS-1000074 examples).
    public static let nanp = NumberingPolicy(name: "nanp", countryCode: "1", trunkPrefix: nil, internationalPrefixes: ["011"],
                                             nationalNumberLengths: 10...10)
    /// United Kingdom: `0…` national numbers become `44…` (Ofcom numbering plan).
    public static let uk = NumberingPolicy(name: "uk", countryCode: "44", trunkPrefix: "0", internationalPrefixes: ["00"],
                                           nationalNumberLengths: 9...10)
    /// France: `0…` national numbers become `33…` (ARCEP plan); called numbers
    /// may carry a mobile routing prefix (ARCEP decision 2022-1583 §2.5.6:
    /// 0ZABP 06000–06003, 06006–06009, 05230–05234; 0ZAB 0509–0515, 0526–0530;
    /// 0ZABPQ 070846–070849), which is removed before matching `dest`.
    public static let france: NumberingPolicy = {
        var policy = NumberingPolicy(name: "fr", countryCode: "33", trunkPrefix: "0", internationalPrefixes: ["00"],
                                     nationalNumberLengths: 9...9)
        policy.routingPrefixes = ["6000", "6001", "6002", "6003", "6006", "6007", "6008", "6009",
                                  "5230", "5231", "5232", "5233", "5234", "70846", "70847", "70848", "70849"]
            + (509...515).map(String.init) + (526...530).map(String.init)
        return policy
    }()

    /// The built-in policies by name.
    public static let builtIn: [String: NumberingPolicy] = ["e164": .e164, "nanp": .nanp, "uk": .uk, "fr": .france]
}

/// Telephone-number canonicalization for PASSporT `orig`/`dest` (RFC 8224 §8).
public enum TelephoneNumber {
    /// Canonicalizes a caller or callee identity taken from SIP: a `tel:` URI,
    /// a `sip:`/`sips:` URI (possibly inside a name-addr with a display name
    /// and `<…>`), or a bare number.
    ///
    /// URI parameters (`;tgrp`, `;npdi`, `;rn`, `;verstat`, `;phone-context`, …)
    /// are dropped, visual separators removed, `+` removed, and national
    /// numbers converted to E.164 with `policy` (RFC 8224 §8.3). A SIP URI
    /// whose user part is not a number (and lacks `user=phone`) stays a URI
    /// identity (RFC 8224 §8.5).
    ///
    /// - Returns: `nil` when the input is not a usable identity (e.g. `++4`, an
    ///   empty user part, more than 15 digits).
    public static func canonicalize(_ input: some StringProtocol, policy: NumberingPolicy = .e164) -> PASSporT.Party? {
        var text = Substring(input)
        guard text.utf8.count <= 1024 else { return nil }
        text = trimmed(text)
        // name-addr: take what is inside <…>.
        if let open = text.utf8.firstIndex(of: UInt8(ascii: "<")) {
            guard let close = text.utf8[open...].firstIndex(of: UInt8(ascii: ">")) else { return nil }
            text = text[text.utf8.index(after: open)..<close]
            text = trimmed(text)
        }
        if hasPrefixIgnoringCase(text, "tel:") {
            let body = text[text.utf8.index(text.startIndex, offsetBy: 4)...]
            let digits = body[..<(body.utf8.firstIndex(of: UInt8(ascii: ";")) ?? body.endIndex)]
            return number(percentDecoded(digits), policy: policy).map { .tn($0) }
        }
        let isSIP = hasPrefixIgnoringCase(text, "sip:")
        if isSIP || hasPrefixIgnoringCase(text, "sips:") {
            let schemeLength = isSIP ? 4 : 5
            // On UTF-8 bytes (this runs for orig and dest of every call; the delimiters are ASCII).
            let rest = text[text.utf8.index(text.startIndex, offsetBy: schemeLength)...]
            guard let at = rest.utf8.lastIndex(of: UInt8(ascii: "@")) else {
                return .uri(String(text))
            }
            let userinfo = rest[..<at]
            let hostPart = rest[rest.utf8.index(after: at)...]
            // User part: before ';' (user parameters such as ;verstat=, ;npdi) and ':' (password).
            // (The first non-empty piece, as `split` gives it.)
            func isSeparator(_ byte: UInt8) -> Bool { byte == UInt8(ascii: ";") || byte == UInt8(ascii: ":") }
            let userStart = userinfo.utf8.firstIndex(where: { !isSeparator($0) }) ?? userinfo.endIndex
            let user = userinfo[userStart..<(userinfo.utf8[userStart...].firstIndex(where: isSeparator) ?? userinfo.endIndex)]
            guard !user.isEmpty else { return nil }
            let decodedUser = percentDecoded(user)
            if let tn = number(decodedUser, policy: policy) { return .tn(tn) }
            let uriParameters = hostPart.split(separator: ";").dropFirst().map { $0.lowercased() }
            if uriParameters.contains("user=phone") { return nil }
            let host = hostPart[..<(hostPart.utf8.firstIndex(of: UInt8(ascii: ";")) ?? hostPart.endIndex)]
            return .uri("sip:\(decodedUser)@\(host.lowercased())")
        }
        if text.utf8.contains(where: { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "@") }) { return .uri(String(text)) }
        // A bare string: strip any parameters.
        let bare = text[..<(text.utf8.firstIndex(of: UInt8(ascii: ";")) ?? text.endIndex)]
        return number(bare, policy: policy).map { .tn($0) }
    }

    /// Removes a number-portability routing prefix from a canonical called
    /// number (`33` + prefix + national number → `33` + national number).
    public static func strippingRoutingPrefix(_ tn: String, policy: NumberingPolicy) -> String {
        guard !policy.routingPrefixes.isEmpty, tn.hasPrefix(policy.countryCode) else { return tn }
        let national = tn.dropFirst(policy.countryCode.count)
        for prefix in policy.routingPrefixes where national.hasPrefix(prefix) {
            let rest = national.dropFirst(prefix.count)
            if policy.nationalNumberLengths.contains(rest.count) { return policy.countryCode + rest }
        }
        return tn
    }

    /// Canonicalizes a telephone number (no URI), or returns `nil` if it is not one.
    public static func canonicalNumber(_ input: some StringProtocol, policy: NumberingPolicy = .e164) -> String? {
        if case .tn(let tn)? = canonicalize(input, policy: policy) { return tn }
        return nil
    }

    /// Turns a number with optional `+` and visual separators into canonical digits.
    static func number(_ text: some StringProtocol, policy: NumberingPolicy) -> String? {
        // On UTF-8 bytes: this runs several times per call (Character iteration costs ~10× more).
        var count = 0
        var sawPlus = false
        var isDialString = false
        // The digits go to a stack buffer, then into one String (up to 15 ASCII bytes stay inline: no allocation).
        let scanned: String? = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buffer -> String? in
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "+"):
                    // Only one leading '+'.
                    if sawPlus || count > 0 { return nil }
                    sawPlus = true
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "*"), UInt8(ascii: "#"):
                    guard count < 64 else { return nil }
                    buffer[count] = byte
                    count += 1
                    if byte == UInt8(ascii: "*") || byte == UInt8(ascii: "#") { isDialString = true }
                case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: " "):
                    continue  // visual separators (RFC 3966 §5.1.1)
                default:
                    return nil
                }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<count]), as: UTF8.self)
        }
        guard let digits = scanned else { return nil }
        guard count > 0 else { return nil }
        // `count` is the number of ASCII digits in `digits` (String.count would walk Characters).
        if sawPlus {
            guard !isDialString, count <= 15 else { return nil }
            return digits
        }
        if isDialString { return count <= 15 ? digits : nil }
        if policy.countryCode.isEmpty, policy.internationalPrefixes.isEmpty, policy.trunkPrefix == nil {
            return count <= 15 ? digits : nil  // E.164 only: nothing to add or remove
        }
        var result = digits
        if let prefix = policy.internationalPrefixes.first(where: { digits.hasPrefix($0) && count > $0.utf8.count + 6 }) {
            result = String(digits.dropFirst(prefix.count))
        } else if let trunk = policy.trunkPrefix, digits.hasPrefix(trunk),
            policy.nationalNumberLengths.contains(count - trunk.utf8.count)
        {
            result = policy.countryCode + digits.dropFirst(trunk.count)
        } else if policy.trunkPrefix == nil, !policy.countryCode.isEmpty,
            policy.nationalNumberLengths.contains(count)
        {
            result = policy.countryCode + digits
        }
        guard result.utf8.count <= 15 else { return nil }
        return result
    }

    private static func trimmed(_ text: Substring) -> Substring {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
        let utf8 = text.utf8
        guard let first = utf8.firstIndex(where: { !isSpace($0) }), let last = utf8.lastIndex(where: { !isSpace($0) }) else {
            return text[text.endIndex...]
        }
        return text[first...last]
    }

    /// Whether `text` starts with the ASCII `prefix` (given in lower case), ignoring case.
    private static func hasPrefixIgnoringCase(_ text: Substring, _ prefix: StaticString) -> Bool {
        let utf8 = text.utf8
        guard utf8.count >= prefix.utf8CodeUnitCount else { return false }
        var index = utf8.startIndex
        for i in 0..<prefix.utf8CodeUnitCount {
            var byte = utf8[index]
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte += 32 }
            if byte != prefix.utf8Start[i] { return false }
            index = utf8.index(after: index)
        }
        return true
    }

    /// Decodes `%XX` escapes (RFC 3986 §2.1), e.g. `%2B` for `+`; invalid escapes are kept.
    static func percentDecoded(_ text: some StringProtocol) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return String(text) }
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "%"), i + 2 < utf8.count,
                let value = UInt8(String(decoding: utf8[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                i += 3
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Which certificate-repository URLs a verifier may fetch (ATIS-1000074
/// §5.3.1): an SSRF guard, since `x5u` comes from untrusted callers.
///
/// By default: `https` only, ports 443 and 8443, no userinfo, query or
/// fragment, and no literal special-purpose addresses (RFC 6890: loopback,
/// RFC 1918, link-local, CGN, documentation, multicast…). Labs can allow
/// URL prefixes explicitly (e.g. `http://127.0.0.1:18080/`); nothing else
/// relaxes the rules. Host names are checked again after resolution by the
/// fetcher (``isSpecialPurpose(ipv4:)`` / ``isSpecialPurpose(ipv6:)``).
public struct X5UPolicy: Sendable, Hashable {
    /// URL prefixes allowed regardless of scheme, port and address (labs only).
    public var labAllowPrefixes: [String]
    /// Allowed https ports.
    public var allowedPorts: Set<Int>
    /// Longest accepted URL.
    public var maxURLLength: Int

    public init(labAllowPrefixes: [String] = [], allowedPorts: Set<Int> = [443, 8443], maxURLLength: Int = 2048) {
        self.labAllowPrefixes = labAllowPrefixes
        self.allowedPorts = allowedPorts
        self.maxURLLength = maxURLLength
    }

    /// A URL split into the parts the policy looks at.
    public struct Target: Sendable, Hashable {
        public var scheme: String
        public var host: String
        public var port: Int
        public var path: String
        /// Whether a lab prefix allowed it (then address checks are skipped).
        public var labAllowed: Bool
    }

    /// Checks `url` and returns its parts.
    /// - Throws: ``VerificationError`` `badInfo` (436) naming the rule broken.
    public func check(_ url: String) throws(VerificationError) -> Target {
        guard url.utf8.count <= maxURLLength else { throw VerificationError(.badInfo, "x5u longer than \(maxURLLength) bytes") }
        guard url.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw VerificationError(.badInfo, "x5u has spaces, control or non-ASCII characters")
        }
        let labAllowed = labAllowPrefixes.contains { !$0.isEmpty && url.hasPrefix($0) }
        guard let schemeEnd = url.firstRange(of: "://") else { throw VerificationError(.badInfo, "x5u is not an absolute URL") }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        var rest = url[schemeEnd.upperBound...]
        if rest.contains("#") { throw VerificationError(.badInfo, "x5u has a fragment") }
        if rest.contains("?") { throw VerificationError(.badInfo, "x5u has a query") }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        rest = rest[authorityEnd...]
        if authority.contains("@") { throw VerificationError(.badInfo, "x5u has userinfo") }
        if rest.contains(";") { throw VerificationError(.badInfo, "x5u has path parameters") }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw VerificationError(.badInfo, "x5u has a bad IPv6 literal") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw VerificationError(.badInfo, "x5u has a bad authority")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw VerificationError(.badInfo, "x5u has no host") }
        let defaultPort = scheme == "https" ? 443 : (scheme == "http" ? 80 : -1)
        let port: Int
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else { throw VerificationError(.badInfo, "x5u has a bad port") }
            port = value
        } else {
            port = defaultPort
        }
        let target = Target(scheme: scheme, host: host.lowercased(), port: port, path: rest.isEmpty ? "/" : String(rest),
                            labAllowed: labAllowed)
        if labAllowed { return target }
        guard scheme == "https" else { throw VerificationError(.badInfo, "x5u scheme must be https") }
        guard allowedPorts.contains(port) else { throw VerificationError(.badInfo, "x5u port \(port) not allowed") }
        if let v4 = Self.parseIPv4(target.host) {
            if Self.isSpecialPurpose(ipv4: v4) { throw VerificationError(.badInfo, "x5u host is a special-purpose address") }
        } else if target.host.contains(":") {
            guard let v6 = Self.parseIPv6(target.host) else { throw VerificationError(.badInfo, "x5u host is a bad IPv6 literal") }
            if Self.isSpecialPurpose(ipv6: v6) { throw VerificationError(.badInfo, "x5u host is a special-purpose address") }
        } else if target.host == "localhost" || target.host.hasSuffix(".localhost") || !target.host.contains(".") {
            throw VerificationError(.badInfo, "x5u host is not a public name")
        } else if Self.looksNumeric(target.host) {
            // inet_aton forms (0x7f.1, 2130706433, 017.0.0.1) resolve to addresses; no real TLD is numeric.
            throw VerificationError(.badInfo, "x5u host is a malformed address")
        }
        return target
    }

    static func looksNumeric(_ host: String) -> Bool {
        let labels = host.split(separator: ".")
        guard let last = labels.last else { return true }
        if last.allSatisfy(\.isNumber) || last.lowercased().hasPrefix("0x") { return true }
        return labels.allSatisfy { label in label.allSatisfy(\.isNumber) || label.lowercased().hasPrefix("0x") }
    }

    /// Dotted-quad IPv4 only (no octal/hex/short forms: those are refused as malformed).
    public static func parseIPv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber),
                part.count == 1 || !part.hasPrefix("0"), let value = UInt8(part)
            else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    /// IPv6 literal (with `::`, optional embedded IPv4) → 16 bytes.
    public static func parseIPv6(_ text: String) -> [UInt8]? {
        var text = Substring(text)
        if let percent = text.firstIndex(of: "%") { text = text[..<percent] }  // zone id
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let items = part.split(separator: ":", omittingEmptySubsequences: false)
            for (i, item) in items.enumerated() {
                if i == items.count - 1, item.contains("."), let v4 = parseIPv4(String(item)) {
                    result.append(UInt16(v4[0]) << 8 | UInt16(v4[1]))
                    result.append(UInt16(v4[2]) << 8 | UInt16(v4[3]))
                } else {
                    guard (1...4).contains(item.count), let value = UInt16(item, radix: 16) else { return nil }
                    result.append(value)
                }
            }
            return result
        }
        guard let head = groups(halves[0]) else { return nil }
        var all: [UInt16]
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard head.count == 8 else { return nil }
            all = head
        }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    /// RFC 6890 special-purpose IPv4 blocks (and multicast/reserved).
    public static func isSpecialPurpose(ipv4 a: [UInt8]) -> Bool {
        guard a.count == 4 else { return true }
        switch (a[0], a[1]) {
        case (0, _), (10, _), (127, _): return true
        case (100, 64...127): return true  // CGN
        case (169, 254): return true
        case (172, 16...31): return true
        case (192, 168): return true
        case (198, 18...19): return true  // benchmarking
        case (224...255, _): return true  // multicast, reserved, broadcast
        default: break
        }
        if a[0] == 192, a[1] == 0, a[2] == 0 || a[2] == 2 { return true }  // IETF, TEST-NET-1
        if a[0] == 192, a[1] == 88, a[2] == 99 { return true }
        if a[0] == 198, a[1] == 51, a[2] == 100 { return true }  // TEST-NET-2
        if a[0] == 203, a[1] == 0, a[2] == 113 { return true }  // TEST-NET-3
        return false
    }

    /// Special-purpose IPv6 blocks (RFC 6890 and the IANA IPv6 Special-Purpose
    /// Address Registry); IPv4-mapped addresses are judged as IPv4. Anything
    /// outside global unicast (2000::/3) is refused too: no certificate
    /// repository is on an address not yet allocated.
    public static func isSpecialPurpose(ipv6 a: [UInt8]) -> Bool {
        guard a.count == 16 else { return true }
        if a[0..<10].allSatisfy({ $0 == 0 }) && a[10] == 0xFF && a[11] == 0xFF { return isSpecialPurpose(ipv4: Array(a[12..<16])) }
        if a[0..<12].allSatisfy({ $0 == 0 }) { return true }  // ::, ::1, IPv4-compatible ::/96 (RFC 4291 §2.5.5.1)
        if a[0..<8].allSatisfy({ $0 == 0 }) && a[8] == 0xFF && a[9] == 0xFF && a[10] == 0 && a[11] == 0 { return true }  // ::ffff:0:0:0/96 (RFC 2765)
        if a[0] == 0x01 && a[1] == 0x00 && a[2..<8].allSatisfy({ $0 == 0 }) { return true }  // discard-only 100::/64 (RFC 6666)
        if a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xFF && a[3] == 0x9B { return true }  // NAT64 64:ff9b::/96, 64:ff9b:1::/48
        if a[0] == 0x20 && a[1] == 0x01 && a[2] <= 0x01 { return true }  // 2001::/23 IETF protocol assignments (Teredo, ORCHID, benchmarking…)
        if a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0D && a[3] == 0xB8 { return true }  // documentation 2001:db8::/32
        if a[0] == 0x3F && a[1] == 0xFF && a[2] & 0xF0 == 0 { return true }  // documentation 3fff::/20 (RFC 9637)
        if a[0] == 0x20 && a[1] == 0x02 { return true }  // 6to4 2002::/16
        if a[0] == 0x5F && a[1] == 0x00 { return true }  // SRv6 SIDs 5f00::/16 (RFC 9602)
        // Unique local fc00::/7, link-local fe80::/10, multicast ff00::/8, and the rest outside 2000::/3.
        return a[0] & 0xE0 != 0x20
    }
}

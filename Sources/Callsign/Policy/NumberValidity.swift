/// Whether a presented calling number is a valid CLI for its country
/// (numbering.md: NANP NPA/NXX rules, UK/Ofcom lengths and never-valid
/// ranges). Structural rules are code; ranges are data (``NumberingRanges``).
public struct NumberValidity: Sendable, Hashable {
    public var ranges: NumberingRanges

    public init(ranges: NumberingRanges = .builtIn) { self.ranges = ranges }

    /// Why `tn` (canonical E.164 digits) cannot be a genuine CLI, or `nil`.
    public func problem(_ tn: String) -> String? {
        guard !tn.isEmpty, tn.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return "not an E.164 number" }
        guard tn.utf8.count <= 15 else { return "longer than 15 digits" }
        if let range = ranges.fictional.first(where: { $0.contains(tn) }) { return "fictional number (\(range.label))" }
        if let range = ranges.neverCLI.first(where: { $0.contains(tn) }) { return "never valid as CLI (\(range.label))" }
        if tn.hasPrefix("1") { return nanp(tn) }
        if tn.hasPrefix("44") { return uk(tn) }
        return tn.utf8.count < 8 ? "too short for an international number" : nil
    }

    func nanp(_ tn: String) -> String? {
        // The digits read in place (no array per call: this runs on every call of every face).
        var digits = InlineArray<11, Int>(repeating: 0)
        var count = 0
        for byte in tn.utf8 {
            guard count < 11 else { return "NANP numbers have 10 digits after 1" }
            digits[count] = Int(byte) - 48
            count += 1
        }
        guard count == 11 else { return "NANP numbers have 10 digits after 1" }
        let (n1, n2, n3) = (digits[1], digits[2], digits[3])  // the NPA
        let (x1, x2, x3) = (digits[4], digits[5], digits[6])  // the central-office code
        guard n1 >= 2 else { return "NPA cannot start with 0 or 1" }
        guard x1 >= 2 else { return "central-office code cannot start with 0 or 1" }
        if n2 == 1 && n3 == 1 { return "N11 is not an area code" }
        if x2 == 1 && x3 == 1 { return "N11 is not a central-office code" }
        if n2 == 9 { return "N9X area codes are reserved" }
        if (n1 == 3 && n2 == 7) || (n1 == 9 && n2 == 6) { return "37X/96X area codes are reserved" }
        // 555-0100 … 555-0199 are fictitious in every geographic NPA (numbering.md §2); toll-free
        // NPAs (8YY) are assigned through the toll-free database and keep them.
        let tollFree = n1 == 8 && n2 == n3 && n2 != 1 && n2 != 9
        if !tollFree, x1 == 5, x2 == 5, x3 == 5, digits[7] == 0, digits[8] == 1 { return "fictional number (NANP 555-01XX)" }
        return nil
    }

    func uk(_ tn: String) -> String? {
        let nsn = tn.dropFirst(2)
        guard let first = nsn.first else { return "no national number" }
        guard (9...10).contains(nsn.count) else { return "UK numbers have 10 or 11 digits in national form" }
        switch first {
        case "1", "2", "3", "7", "8": return nil
        case "5": return nsn.hasPrefix("55") || nsn.hasPrefix("56") ? nil : "05 range other than 055/056"
        case "9": return "09 premium-rate numbers must not be used as CLI (Ofcom 2022)"
        default: return "not an allocated UK range"
        }
    }
}

/// Number ranges a CLI checker must carry itself (the libphonenumber data
/// treats some of them as valid): fiction ranges and never-CLI ranges.
public struct NumberingRanges: Sendable, Hashable {
    public struct Range: Sendable, Hashable {
        public var start: String
        public var end: String
        public var label: String
        public func contains(_ tn: String) -> Bool {
            tn.utf8.count == start.utf8.count && tn >= start && tn <= end
        }
    }

    public var fictional: [Range]
    public var neverCLI: [Range]

    public init(fictional: [Range], neverCLI: [Range]) {
        self.fictional = fictional
        self.neverCLI = neverCLI
    }

    /// Parses the data file format: one `kind,start,end,label` line per range
    /// (`kind` = `fiction` or `never-cli`, numbers canonical E.164), `#` comments.
    public init(csv text: String) throws(CallsignError) {
        var fictional: [Range] = []
        var never: [Range] = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let line = raw.trimmingTrailingSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", maxSplits: 3).map(String.init)
            guard fields.count == 4, fields[1].utf8.count == fields[2].utf8.count, fields[1] <= fields[2],
                fields[1].allSatisfy(\.isNumber), fields[2].allSatisfy(\.isNumber)
            else { throw CallsignError(.numberingRanges, "numbering ranges: bad line \(index + 1)") }
            let range = Range(start: fields[1], end: fields[2], label: fields[3])
            switch fields[0] {
            case "fiction": fictional.append(range)
            case "never-cli": never.append(range)
            default: throw CallsignError(.numberingRanges, "numbering ranges: bad line \(index + 1)")
            }
        }
        self.init(fictional: fictional, neverCLI: never)
    }

    /// The ranges shipped with Callsign (`numbering-ranges.csv`, generated into
    /// ``NumberingRangesData``).
    public static let builtIn: NumberingRanges = (try? NumberingRanges(csv: NumberingRangesData.csv)) ?? NumberingRanges(fictional: [], neverCLI: [])
}


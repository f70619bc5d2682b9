public import Callsign
import Synchronization

/// The anti-spoofing rules in force in one process: what every face (REST
/// signing and verification, the SIP redirect listeners, the inline proxies)
/// and `callsign policy test` evaluate, built once from the configuration
/// (Ofcom GC C6 and CLI guidance, FCC 47 CFR §64.1200, France's MAN).
///
/// Without configured rules, ``defaultRules`` are in force: a Do-Not-Originate
/// list and invalid caller IDs are refused out of the box. A source address
/// (trunk or peer) may have its own rule set, and may be an international
/// gateway (the call's ingress). The DNO list is the configured file's entries
/// and the store's, which are replaced as the store changes.
public final class PolicySet: Sendable {
    /// What the configuration says about anti-spoofing.
    public struct Configuration: Sendable {
        /// The rule set for every source without its own; ``PolicySet/defaultRules`` when `nil`.
        public var rules: [PolicyRule]?
        /// Rule sets per source address, replacing ``rules`` for calls from it.
        public var sourceRules: [String: [PolicyRule]]
        /// Source addresses that are international gateways.
        public var internationalSources: Set<String>
        /// The DNO entries of the configured file (the store's join them).
        public var fileDNO: DNOList
        /// The configured protected numbers (`protected_numbers`).
        public var protected: ProtectedNumbers

        public init(rules: [PolicyRule]? = nil, sourceRules: [String: [PolicyRule]] = [:], internationalSources: Set<String> = [],
                    fileDNO: DNOList = DNOList(), protected: ProtectedNumbers = ProtectedNumbers())
        {
            self.rules = rules
            self.sourceRules = sourceRules
            self.internationalSources = internationalSources
            self.fileDNO = fileDNO
            self.protected = protected
        }
    }

    /// The rules in force when none are configured.
    public static let defaultRules: [PolicyRule] = [.doNotOriginate(), .invalidNumber(), .protectedNumber]

    public let configuration: Configuration
    /// The lists in force: the configuration's entries and the store's.
    private struct Lists {
        var dno: DNOList
        var protected: ProtectedNumbers
    }
    private let lists: Mutex<Lists>

    public init(_ configuration: Configuration = Configuration(), storedDNO: DNOList = DNOList(),
                storedProtected: ProtectedNumbers = ProtectedNumbers()) {
        self.configuration = configuration
        lists = Mutex(Lists(dno: Self.merge(configuration.fileDNO, storedDNO), protected: Self.merge(configuration.protected, storedProtected)))
    }

    /// Replaces the store's DNO entries (after a change through the API, or a
    /// periodic reload from a store shared by several nodes).
    public func replaceStoredDNO(_ stored: DNOList) {
        let merged = Self.merge(configuration.fileDNO, stored)
        lists.withLock { $0.dno = merged }
    }

    /// Replaces the store's protected numbers (the configuration's entries win over the store's for the same entry).
    public func replaceStoredProtected(_ stored: ProtectedNumbers) {
        let merged = Self.merge(configuration.protected, stored)
        lists.withLock { $0.protected = merged }
    }

    /// Entries on the DNO list in force (file and store).
    public var dnoCount: Int { lists.withLock { $0.dno.count } }

    /// Protected numbers in force (configuration and store).
    public var protectedCount: Int { lists.withLock { $0.protected.count } }

    /// The rules for calls from `source` (`nil`: not from a SIP source, e.g. REST).
    public func rules(for source: String?) -> [PolicyRule] {
        if let source, !configuration.sourceRules.isEmpty, let own = configuration.sourceRules[source] { return own }
        return configuration.rules ?? Self.defaultRules
    }

    /// Where calls from `source` enter: an international gateway, or domestic.
    public func ingress(of source: String?) -> CallFacts.Ingress {
        guard let source, configuration.internationalSources.contains(source) else { return .domestic }
        return .international
    }

    /// The policy that applies to calls from `source`, with the DNO list in force.
    public func policy(for source: String?) -> CallPolicy {
        let (dno, protected) = lists.withLock { ($0.dno, $0.protected) }
        return CallPolicy(rules: rules(for: source), dno: dno, protected: protected)
    }

    /// Applies the rules for `source` to a call; the ingress comes from `source`
    /// unless `facts` already says international.
    public func evaluate(_ facts: CallFacts, source: String?) -> PolicyDecision {
        var facts = facts
        if facts.ingress == .domestic { facts.ingress = ingress(of: source) }
        let rules = rules(for: source)
        // The lists are only read under their lock when a rule uses them.
        let usesLists = rules.contains { rule in
            switch rule {
            case .doNotOriginate, .protectedNumber: true
            default: false
            }
        }
        if usesLists {
            return lists.withLock { CallPolicy(rules: rules, dno: $0.dno, protected: $0.protected).evaluate(facts) }
        }
        return CallPolicy(rules: rules).evaluate(facts)
    }

    /// Every rule's verdict on a call from `source` and the decision, as
    /// `callsign policy test` and `GET /admin/policy/test` show it.
    public func explain(_ facts: CallFacts, source: String?) -> PolicyExplanation {
        var facts = facts
        if facts.ingress == .domestic { facts.ingress = ingress(of: source) }
        let policy = self.policy(for: source)
        return PolicyExplanation(facts: facts, decision: policy.evaluate(facts),
                                 lines: policy.explain(facts).map { PolicyExplanation.Line(rule: $0.rule, action: $0.action, reason: $0.reason) })
    }

    /// Whether some rule set in force uses the DNO list.
    public var usesDNO: Bool {
        let sets = [configuration.rules ?? Self.defaultRules] + Array(configuration.sourceRules.values)
        return sets.contains { $0.contains { if case .doNotOriginate = $0 { return true } else { return false } } }
    }

    /// What `serve` logs at start: the rules in force and the DNO entries, and
    /// a warning when DNO entries exist but no rule uses them.
    public var summary: (rules: String, warning: String?) {
        var text = "policy: " + (configuration.rules ?? Self.defaultRules).map(\.name).joined(separator: ", ")
        if configuration.rules == nil { text += " (the defaults)" }
        for (source, rules) in configuration.sourceRules.sorted(by: { $0.key < $1.key }) {
            text += "; from \(source): " + rules.map(\.name).joined(separator: ", ")
        }
        if !configuration.internationalSources.isEmpty {
            text += "; international sources: " + configuration.internationalSources.sorted().joined(separator: ", ")
        }
        let count = dnoCount
        text += "; \(count) DNO \(count == 1 ? "entry" : "entries")"
        let protected = protectedCount
        if protected > 0 { text += "; \(protected) protected \(protected == 1 ? "number" : "numbers")" }
        let warning = count > 0 && !usesDNO
            ? "\(count) DNO entries are loaded but no rule in force uses them: add \"do-not-originate\" to policy.rules" : nil
        return (text, warning)
    }

    static func merge(_ configured: ProtectedNumbers, _ stored: ProtectedNumbers) -> ProtectedNumbers {
        var merged = stored
        for entry in configured.all { merged.add(entry) }
        return merged
    }

    static func merge(_ file: DNOList, _ stored: DNOList) -> DNOList {
        var merged = file
        for number in stored.numbers { merged.add(number: number) }
        for prefix in stored.prefixes { merged.add(prefix: prefix) }
        return merged
    }
}

/// A policy decision with every rule's verdict (for the explain tools).
public struct PolicyExplanation: Sendable {
    public struct Line: Sendable, Hashable {
        public var rule: String
        public var action: PolicyAction
        public var reason: String?
    }

    public var facts: CallFacts
    public var decision: PolicyDecision
    public var lines: [Line]

    /// `{"orig", "ingress", "action", "rule", "reason", "sip_code", "tags", "rules": [{"rule", "action", "reason"}]}`.
    public var json: JSONObject {
        func text(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        return JSONObject([
            "orig": text(facts.orig), "ingress": .string(facts.ingress.rawValue),
            "action": .string(decision.action.rawValue), "rule": text(decision.rule), "reason": text(decision.reason),
            "sip_code": decision.sipStatus.map { .integer(Int64($0)) } ?? .null,
            "tags": .array(decision.tags.map { .string($0) }),
            "rules": .array(lines.map { .object(JSONObject(["rule": .string($0.rule), "action": .string($0.action.rawValue), "reason": text($0.reason)])) }),
        ])
    }

    /// One line per rule, then the decision.
    public var text: String {
        var out = lines.map { "\($0.action.rawValue + String(repeating: " ", count: max(0, 6 - $0.action.rawValue.count))) \($0.rule)\($0.reason.map { ": \($0)" } ?? "")" }
        if decision.action == .block {
            out.append("→ block with \(decision.sipStatus ?? 603) \(decision.reasonPhrase ?? ""), Reason: \(decision.reasonHeader ?? "")")
        } else {
            out.append("→ \(decision.action.rawValue)\(decision.tags.isEmpty ? "" : " (tags: \(decision.tags.joined(separator: ",")))")")
        }
        return out.joined(separator: "\n")
    }
}

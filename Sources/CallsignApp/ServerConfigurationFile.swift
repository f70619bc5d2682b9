public import Callsign
import CallsignService
import Foundation

/// `callsign serve`'s configuration file (JSON), default `DATA/config.json`.
/// Keys (all optional): `http`, `trust`, `lab_allow` (array), `cert_profile`,
/// `require_crl`, `numbering`, `signing` {`key`, `x5u`}, `sti_pa` {`url`,
/// `root`, `user`, `password_file`, `crl`}, `analytics` {`webhook`, `webhook_secret_file`, `triggers`,
/// `log_numbers`}, `records` {`retention_days`, `verification`}, and `customers`
/// [{`id`, `name`, `origid`, `kind` (`direct`|`gateway`), `numbers`
/// ["START+COUNT" or "TN"]}]. Flags and `CALLSIGN_*` variables override it.
public struct ServerConfigurationFile: Sendable {
    public var http: String?
    public var trust: String?
    public var labAllow: [String]?
    public var certProfile: String?
    public var requireCRL: Bool?
    public var numbering: String?
    public var signingKeyPath: String?
    public var signingX5U: String?
    /// `signing.shared`: whether the service's identity signs for customers without one of their own (default true).
    public var signingShared: Bool?
    /// Customer id → its own signing identity (`customers[].signing`).
    public var customerSigning: [String: SigningIdentityOptions]?
    /// Identities kept current over ACME: `signing.acme` (the service's) and `customers[].signing.acme`.
    public var acme: [ACMERenewer.Target: ACMEIdentityOptions]?
    public var customers: [Customer]?
    public var sipSign: String?
    public var sipVerify: String?
    public var sipFailureAction: String?
    /// Source address → customer id (SIP signing trunks).
    public var trunks: [String: String]?
    /// Source address → numbering policy name (SIP trunks and verification peers).
    public var peerNumbering: [String: String]?
    /// Anti-spoofing rules, DNO list file and international gateway addresses.
    public var policyRules: [PolicyRule]?
    public var dnoFile: String?
    /// `protected_numbers`: numbers only certain carriers (SPCs) and customers may present.
    public var protectedNumbers: ProtectedNumbers?
    /// PostgreSQL URL of a shared store.
    public var postgres: String?
    /// Rule sets per trunk/peer address (`"policy": {"rules": […]}` in a trunks[] or peers[] entry).
    public var peerPolicyRules: [String: [PolicyRule]]?
    public var internationalSources: [String]?
    /// How the SIP redirect listeners read UDP: `per-loop` (default; one socket per event loop where
    /// the kernel can spread datagrams over them) or `one`.
    public var sipUDPSockets: String?
    /// The STI-PA whose trust list and CRL verification follows (`sti_pa`).
    public var stiPA: STIPAOptions?
    /// Signals, triggers, the webhook and the call records (`analytics`, `records`).
    public var analytics: AnalyticsOptions?

    public init() {}

    /// Parses the file's text; errors name the key at fault.
    public init(json text: String) throws(AppError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(Array(text.utf8), limits: JSONLimits(maxDepth: 8, maxContainerCount: 100_000, maxBytes: 8 << 20))
        } catch {
            throw AppError(.configuration, "configuration is not JSON: \(error)")
        }
        guard let object = value.objectValue else { throw AppError(.configuration, "configuration must be a JSON object") }
        let known: Set<String> = ["http", "trust", "lab_allow", "cert_profile", "require_crl", "numbering", "signing", "customers",
                                  "sip_sign", "sip_verify", "sip_failure_action", "sip_udp_sockets", "trunks", "peers", "policy", "postgres", "sti_pa",
                                  "protected_numbers", "analytics", "records"]
        if let unknown = object.keys.first(where: { !known.contains($0) }) { throw AppError(.configuration, "unknown configuration key '\(unknown)'") }
        func string(_ key: String) throws(AppError) -> String? {
            guard let v = object[key] else { return nil }
            guard let s = v.stringValue else { throw AppError(.configuration, "'\(key)' must be a string") }
            return s
        }
        http = try string("http")
        sipUDPSockets = try string("sip_udp_sockets")
        trust = try string("trust")
        certProfile = try string("cert_profile")
        numbering = try string("numbering")
        sipSign = try string("sip_sign")
        postgres = try string("postgres")
        sipVerify = try string("sip_verify")
        sipFailureAction = try string("sip_failure_action")
        if let v = object["trunks"] {
            guard let items = v.arrayValue else { throw AppError(.configuration, "'trunks' must be an array") }
            var trunks: [String: String] = [:]
            for (index, item) in items.enumerated() {
                guard let address = item.objectValue?["address"]?.stringValue, let customer = item.objectValue?["customer"]?.stringValue else {
                    throw AppError(.configuration, "trunks[\(index)] needs 'address' and 'customer'")
                }
                trunks[address] = customer
                if let policy = item.objectValue?["policy"] {
                    do {
                        peerPolicyRules = (peerPolicyRules ?? [:]).merging([address: try PolicyConfiguration.rules(policy)]) { $1 }
                    } catch {
                        throw AppError(.configuration, "trunks[\(index)].\(error.description)")
                    }
                }
                if let numbering = item.objectValue?["numbering"]?.stringValue {
                    guard NumberingPolicy.builtIn[numbering] != nil else { throw AppError(.configuration, "trunks[\(index)].numbering is unknown") }
                    peerNumbering = (peerNumbering ?? [:]).merging([address: numbering]) { $1 }
                }
            }
            self.trunks = trunks
        }
        if let v = object["policy"] {
            do {
                policyRules = try PolicyConfiguration.rules(v)
            } catch {
                throw AppError(.configuration, error.description)
            }
            if let file = v.objectValue?["dno_file"] {
                guard let path = file.stringValue else { throw AppError(.configuration, "policy.dno_file must be a path") }
                dnoFile = path
            }
            if let sources = v.objectValue?["international_sources"] {
                guard let items = sources.arrayValue?.compactMap(\.stringValue), items.count == sources.arrayValue?.count else {
                    throw AppError(.configuration, "policy.international_sources must be an array of addresses")
                }
                internationalSources = items
            }
        }
        if let v = object["peers"] {
            guard let items = v.arrayValue else { throw AppError(.configuration, "'peers' must be an array") }
            for (index, item) in items.enumerated() {
                guard let address = item.objectValue?["address"]?.stringValue else { throw AppError(.configuration, "peers[\(index)] needs an 'address'") }
                if let numbering = item.objectValue?["numbering"]?.stringValue {
                    guard NumberingPolicy.builtIn[numbering] != nil else {
                        throw AppError(.configuration, "peers[\(index)].numbering must be e164, nanp, uk or fr")
                    }
                    peerNumbering = (peerNumbering ?? [:]).merging([address: numbering]) { $1 }
                }
                if let policy = item.objectValue?["policy"] {
                    do {
                        peerPolicyRules = (peerPolicyRules ?? [:]).merging([address: try PolicyConfiguration.rules(policy)]) { $1 }
                    } catch {
                        throw AppError(.configuration, "peers[\(index)].\(error.description)")
                    }
                }
            }
        }
        if let v = object["require_crl"] {
            guard case .bool(let b) = v else { throw AppError(.configuration, "'require_crl' must be true or false") }
            requireCRL = b
        }
        if let v = object["lab_allow"] {
            guard let items = v.arrayValue?.compactMap(\.stringValue), items.count == v.arrayValue?.count else {
                throw AppError(.configuration, "'lab_allow' must be an array of strings")
            }
            labAllow = items
        }
        if let v = object["protected_numbers"] {
            do {
                protectedNumbers = try PolicyConfiguration.protectedNumbers(v)
            } catch {
                throw AppError(.configuration, error.detail)
            }
        }
        if object["analytics"] != nil || object["records"] != nil {
            analytics = try AnalyticsOptions(analytics: object["analytics"], records: object["records"])
        }
        if let v = object["sti_pa"] {
            guard let stiPA = v.objectValue else { throw AppError(.configuration, "'sti_pa' must be an object") }
            let keys: Set<String> = ["url", "root", "user", "password_file", "crl"]
            if let unknown = stiPA.keys.first(where: { !keys.contains($0) }) {
                throw AppError(.configuration, "unknown key 'sti_pa.\(unknown)'")
            }
            for key in keys where stiPA[key] != nil && stiPA[key]?.stringValue == nil {
                throw AppError(.configuration, "'sti_pa.\(key)' must be a string")
            }
            guard let url = stiPA["url"]?.stringValue, let root = stiPA["root"]?.stringValue else {
                throw AppError(.configuration, "'sti_pa' needs 'url' (the API base) and 'root' (the pinned STI-PA root, PEM)")
            }
            self.stiPA = STIPAOptions(url: url, rootPath: root, user: stiPA["user"]?.stringValue,
                                      passwordFile: stiPA["password_file"]?.stringValue, crlURL: stiPA["crl"]?.stringValue)
        }
        if let v = object["signing"] {
            guard let signing = v.objectValue else { throw AppError(.configuration, "'signing' must be an object") }
            if let unknown = signing.keys.first(where: { !["key", "x5u", "shared", "acme"].contains($0) }) {
                throw AppError(.configuration, "unknown key 'signing.\(unknown)'")
            }
            if signing["key"] != nil || signing["x5u"] != nil {
                guard let key = signing["key"]?.stringValue, let x5u = signing["x5u"]?.stringValue else {
                    throw AppError(.configuration, "'signing' must be {\"key\": PATH, \"x5u\": URL, \"shared\": BOOL}")
                }
                signingKeyPath = key
                signingX5U = x5u
            }
            if let acme = signing["acme"] {
                self.acme = (self.acme ?? [:]).merging([.service: try Self.acmeOptions(acme, at: "signing.acme")]) { $1 }
            }
            if let shared = signing["shared"] {
                guard case .bool(let value) = shared else { throw AppError(.configuration, "'signing.shared' must be true or false") }
                signingShared = value
            }
        }
        if let v = object["customers"] {
            guard let items = v.arrayValue else { throw AppError(.configuration, "'customers' must be an array") }
            var customers: [Customer] = []
            for (index, item) in items.enumerated() {
                guard let c = item.objectValue, let id = c["id"]?.stringValue, !id.isEmpty,
                    let origid = c["origid"]?.stringValue, UUIDText.isValid(origid)
                else { throw AppError(.configuration, "customers[\(index)] needs an 'id' and a UUID 'origid'") }
                let kind = Customer.Kind(rawValue: c["kind"]?.stringValue ?? "direct")
                guard let kind else { throw AppError(.configuration, "customers[\(index)].kind must be 'direct' or 'gateway'") }
                var numbers: [NumberBlock] = []
                for entry in c["numbers"]?.arrayValue ?? [] {
                    guard let text = entry.stringValue, let block = Self.block(text) else {
                        throw AppError(.configuration, "customers[\(index)].numbers: use \"START+COUNT\" or a TN")
                    }
                    numbers.append(block)
                }
                customers.append(Customer(id: id, name: c["name"]?.stringValue ?? id, origid: origid.lowercased(), kind: kind,
                                          numbers: numbers))
                if let signing = c["signing"] {
                    if let acme = signing.objectValue?["acme"], signing.objectValue?.count == 1 {
                        self.acme = (self.acme ?? [:]).merging([.customer(id): try Self.acmeOptions(acme, at: "customers[\(index)].signing.acme")]) { $1 }
                    } else {
                        guard let object = signing.objectValue, let key = object["key"]?.stringValue, let x5u = object["x5u"]?.stringValue,
                              object.keys.allSatisfy({ ["key", "x5u"].contains($0) })
                        else {
                            throw AppError(.configuration, "customers[\(index)].signing must be {\"key\": PATH, \"x5u\": URL} or {\"acme\": {…}}")
                        }
                        customerSigning = (customerSigning ?? [:]).merging([id: SigningIdentityOptions(keyPath: key, x5u: x5u)]) { $1 }
                    }
                }
            }
            self.customers = customers
        }
    }

    /// An `acme` object: `directory` and `spc` required; `eab_kid`, `eab_key_file`, `account_key`,
    /// `publish_dir`, `x5u_base`, `renew_before_days`, `token_file`, `ca_bundle` optional.
    static func acmeOptions(_ value: JSONValue, at path: String) throws(AppError) -> ACMEIdentityOptions {
        guard let object = value.objectValue else { throw AppError(.configuration, "'\(path)' must be an object") }
        let strings = ["directory", "spc", "eab_kid", "eab_key_file", "account_key", "publish_dir", "x5u_base", "token_file", "ca_bundle"]
        if let unknown = object.keys.first(where: { !strings.contains($0) && $0 != "renew_before_days" }) {
            throw AppError(.configuration, "unknown key '\(path).\(unknown)'")
        }
        for key in strings where object[key] != nil && object[key]?.stringValue == nil {
            throw AppError(.configuration, "'\(path).\(key)' must be a string")
        }
        guard let directory = object["directory"]?.stringValue, let spc = object["spc"]?.stringValue else {
            throw AppError(.configuration, "'\(path)' needs 'directory' (the STI-CA's ACME directory URL) and 'spc'")
        }
        var options = ACMEIdentityOptions(directory: directory, spc: spc)
        options.eabKid = object["eab_kid"]?.stringValue
        options.eabKeyFile = object["eab_key_file"]?.stringValue
        options.accountKeyPath = object["account_key"]?.stringValue
        options.publishDirectory = object["publish_dir"]?.stringValue
        options.x5uBase = object["x5u_base"]?.stringValue
        options.tokenFile = object["token_file"]?.stringValue
        options.caBundle = object["ca_bundle"]?.stringValue
        if let days = object["renew_before_days"] {
            guard let value = days.integerValue, (1...365).contains(value) else {
                throw AppError(.configuration, "'\(path).renew_before_days' must be 1 to 365")
            }
            options.renewBeforeDays = value
        }
        if options.eabKid != nil && options.eabKeyFile == nil { throw AppError(.configuration, "'\(path).eab_kid' needs 'eab_key_file'") }
        return options
    }

    static func block(_ text: String) -> NumberBlock? {
        let parts = text.split(separator: "+", maxSplits: 1)
        guard let start = parts.first.map(String.init), !start.isEmpty, start.allSatisfy(\.isNumber), start.count <= 15 else { return nil }
        if parts.count == 2 {
            guard let count = Int64(parts[1]), count > 0 else { return nil }
            return NumberBlock(start: start, count: count)
        }
        return NumberBlock(start: start, count: 1)
    }
}

extension AnalyticsOptions {
    /// `"analytics": {"webhook": URL, "webhook_secret_file": PATH, "log_numbers": false, "triggers": [{"signal", "window_s", "threshold", "mode", "min_calls"}]}`
    /// and `"records": {"retention_days": 7, "verification": true}`.
    init(analytics: JSONValue?, records: JSONValue?) throws(AppError) {
        self.init()
        if let analytics {
            guard let object = analytics.objectValue else { throw AppError(.configuration, "'analytics' must be an object") }
            if let unknown = object.keys.first(where: { !["webhook", "webhook_secret_file", "log_numbers", "triggers"].contains($0) }) {
                throw AppError(.configuration, "unknown key 'analytics.\(unknown)'")
            }
            if let v = object["webhook"] {
                guard let url = v.stringValue, url.hasPrefix("https://") || url.hasPrefix("http://") else {
                    throw AppError(.configuration, "'analytics.webhook' must be an http(s) URL")
                }
                webhook = url
            }
            if let v = object["webhook_secret_file"] {
                guard let path = v.stringValue, !path.isEmpty else {
                    throw AppError(.configuration, "'analytics.webhook_secret_file' must be the path of a file holding the secret")
                }
                guard webhook != nil else { throw AppError(.configuration, "'analytics.webhook_secret_file' needs 'analytics.webhook'") }
                webhookSecretFile = path
            }
            if let v = object["log_numbers"] {
                guard case .bool(let flag) = v else { throw AppError(.configuration, "'analytics.log_numbers' must be true or false") }
                logNumbers = flag
            }
            if let v = object["triggers"] {
                guard let items = v.arrayValue else { throw AppError(.configuration, "'analytics.triggers' must be an array") }
                triggers = try items.enumerated().map { (index, item) throws(AppError) in try Self.trigger(item, path: "analytics.triggers[\(index)]") }
            }
        }
        if let records {
            guard let object = records.objectValue else { throw AppError(.configuration, "'records' must be an object") }
            if let unknown = object.keys.first(where: { !["retention_days", "verification"].contains($0) }) {
                throw AppError(.configuration, "unknown key 'records.\(unknown)'")
            }
            if let v = object["retention_days"] {
                guard let days = v.integerValue, (1...3660).contains(days) else {
                    throw AppError(.configuration, "'records.retention_days' must be a whole number of days, 1 to 3660")
                }
                retentionDays = Int(days)
            }
            if let v = object["verification"] {
                guard case .bool(let flag) = v else { throw AppError(.configuration, "'records.verification' must be true or false") }
                recordVerifications = flag
            }
        }
    }

    static func trigger(_ value: JSONValue, path: String) throws(AppError) -> SignalTrigger {
        guard let object = value.objectValue else { throw AppError(.configuration, "'\(path)' must be an object") }
        if let unknown = object.keys.first(where: { !["signal", "window_s", "threshold", "mode", "min_calls"].contains($0) }) {
            throw AppError(.configuration, "unknown key '\(path).\(unknown)'")
        }
        guard let name = object["signal"]?.stringValue, let signal = CallSignal(rawValue: name) else {
            throw AppError(.configuration, "'\(path).signal' must be one of \(CallSignal.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let window = object["window_s"]?.integerValue, (1...604_800).contains(window) else {
            throw AppError(.configuration, "'\(path).window_s' must be seconds, 1 to 604800")
        }
        let range: ClosedRange<Int64> = signal.isShare ? 1...100 : 1...1_000_000
        guard let threshold = object["threshold"]?.integerValue, range.contains(threshold) else {
            throw AppError(.configuration, "'\(path).threshold' must be \(signal.isShare ? "a percentage, 1 to 100" : "a count, 1 to 1000000")")
        }
        var mode = SignalTrigger.Mode.report
        if let v = object["mode"] {
            guard let text = v.stringValue, let parsed = SignalTrigger.Mode(rawValue: text) else {
                throw AppError(.configuration, "'\(path).mode' must be report or block")
            }
            mode = parsed
        }
        var minCalls: Int64 = 20
        if let v = object["min_calls"] {
            guard let count = v.integerValue, (1...1_000_000).contains(count) else {
                throw AppError(.configuration, "'\(path).min_calls' must be a count, 1 to 1000000")
            }
            minCalls = count
        }
        return SignalTrigger(signal: signal, windowS: window, threshold: threshold, mode: mode, minCalls: minCalls)
    }
}

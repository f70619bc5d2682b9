import ArgumentParser
import Callsign
import CallsignApp
import CallsignHTTP
import CallsignService
import CallsignSIP
import Foundation

/// `callsign serve`: the STI-AS/STI-VS REST server (ATIS-1000082).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the signing and verification services (REST, ATIS-1000082) with a lab certificate repository.",
        discussion: """
            Bare, it runs in development mode: ./callsign-data gets a lab STI-CA and signing certificate \
            (served at /certs/), an SQLite store with a sample customer and its API token (dev-token), \
            and an admin token. Environment: CALLSIGN_DATA, CALLSIGN_HTTP, CALLSIGN_TRUST, CALLSIGN_LAB_ALLOW \
            (comma-separated), CALLSIGN_CERT_PROFILE, CALLSIGN_NUMBERING; flags win over the environment.
            """
    )

    @Option(name: .long, help: "Data directory (default ./callsign-data, or CALLSIGN_DATA).")
    var data: String?

    @Option(name: .long, help: "Configuration file (JSON); DATA/config.json when it exists (CALLSIGN_CONFIG).")
    var config: String?

    @Option(name: .long, help: "PostgreSQL URL for a store shared by several nodes (CALLSIGN_STORE_POSTGRES); SQLite in DATA otherwise.")
    var postgres: String?

    @Option(name: .long, help: "Seconds between reloads of the DNO list from the store (other nodes' changes).")
    var dnoRefresh: Int = 5

    @Option(name: .long, help: "HTTP listen address HOST:PORT (default 127.0.0.1:8080, or CALLSIGN_HTTP).")
    var http: String?

    @Option(name: .long, help: "Trust anchors (PEM) for verification; the development root by default (CALLSIGN_TRUST).")
    var trust: String?

    /// `--sti-pa` is the STI-PA whose list of STI-CAs verification trusts and whose CRL it applies.
    @OptionGroup var stiPA: STIPAFlags

    @Option(name: .customLong("sti-pa-crl"), help: "STI-PA CRL URL (sti_pa.crl).")
    var stiPACRL: String?

    @Option(name: .long, help: "Allow x5u/CRL URLs under this prefix over http/loopback (labs). Repeatable (CALLSIGN_LAB_ALLOW).")
    var labAllow: [String] = []

    @Option(name: .long, help: "Certificate profile: lenient or strict (CALLSIGN_CERT_PROFILE).")
    var certProfile: CertProfileOption?

    @Flag(name: .long, help: "Fail verification when no current CRL covers the chain.")
    var requireCRL = false

    @Option(name: .long, help: "National numbering policy: e164, nanp, uk, fr (CALLSIGN_NUMBERING).")
    var numbering: NumberingOption?

    @Option(name: .long, help: "SIP signing redirect listener (UDP) HOST:PORT, or 'off' (default 127.0.0.1:5060, CALLSIGN_SIP_SIGN).")
    var sipSign: String?

    @Option(name: .long, help: "SIP verification redirect listener (UDP) HOST:PORT, or 'off' (default 127.0.0.1:5062, CALLSIGN_SIP_VERIFY).")
    var sipVerify: String?

    @Option(name: .long, help: "On verification failure over SIP: reject (4xx + Reason) or continue (302 with TN-Validation-Failed + Reason).")
    var sipFailureAction: String?

    @Option(name: .long, help: "Inline signing proxy: LISTEN-HOST:PORT,NEXT-HOP-IP:PORT (UDP; off by default).")
    var sipSignProxy: String?

    @Option(name: .long, help: "Inline verification proxy: LISTEN-HOST:PORT,NEXT-HOP-IP:PORT (UDP; off by default).")
    var sipVerifyProxy: String?

    @Option(name: .long, help: "Seconds an HTTP connection may go without a byte read or written before it is closed (default 30).")
    var httpIdleTimeout: Int?

    @Option(name: .long, help: "Seconds a request head may take to arrive whole from its first byte; then 408 and the connection is closed (default 10).")
    var httpHeadTimeout: Int?

    @Option(name: .long, help: "HTTP connections open at once; more are closed as they are accepted (default 8192).")
    var httpMaxConnections: Int?

    @Option(name: .long, help: "REST requests worked on at once by the router; past it 503 with Retry-After (default 4096).")
    var httpMaxInFlight: Int?

    @Option(name: .long, help: "Requests each SIP redirect listener works on at once, UDP and TCP together; past it 503 with Retry-After (default 2048).")
    var sipMaxInFlight: Int?

    @Option(name: .long, help: "TCP connections each SIP redirect listener keeps open at once (default 4096).")
    var sipTcpMaxConnections: Int?

    @Option(name: .long, help: "Seconds a SIP TCP connection may send nothing, CRLF keep-alives included, before it is closed (default 120).")
    var sipTcpIdleTimeout: Int?

    /// `value` if it lies in `range`, else the usage error naming `option`.
    private static func bounded(_ value: Int?, _ range: ClosedRange<Int>, option: String, default fallback: Int) throws -> Int {
        guard let value else { return fallback }
        guard range.contains(value) else {
            printError("\(option) must be \(range.lowerBound) to \(range.upperBound)")
            throw Exit.badInput
        }
        return value
    }

    /// A two-valued option: `true` for `yes`, `false` for `no`, else the usage error.
    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        var options = ServeOptions()
        options.httpLimits.idleTimeout = .seconds(try Self.bounded(httpIdleTimeout, 1...3600, option: "--http-idle-timeout", default: 30))
        options.httpLimits.headTimeout = .seconds(try Self.bounded(httpHeadTimeout, 1...3600, option: "--http-head-timeout", default: 10))
        options.httpLimits.maxConnections = try Self.bounded(httpMaxConnections, 1...1_000_000, option: "--http-max-connections", default: 8192)
        options.httpLimits.maxInFlight = try Self.bounded(httpMaxInFlight, 1...1_000_000, option: "--http-max-in-flight", default: 4096)
        options.sipLimits.maxInFlight = try Self.bounded(sipMaxInFlight, 1...1_000_000, option: "--sip-max-in-flight", default: 2048)
        options.sipLimits.maxTCPConnections = try Self.bounded(sipTcpMaxConnections, 1...1_000_000, option: "--sip-tcp-max-connections",
                                                               default: 4096)
        options.sipLimits.tcpIdleTimeout = .seconds(try Self.bounded(sipTcpIdleTimeout, 1...86_400, option: "--sip-tcp-idle-timeout",
                                                                     default: 120))
        options.dataDirectory = data ?? env["CALLSIGN_DATA"] ?? "./callsign-data"
        var file = ServerConfigurationFile()
        let configPath = config ?? env["CALLSIGN_CONFIG"] ?? (options.dataDirectory + "/config.json")
        if config != nil || env["CALLSIGN_CONFIG"] != nil || FileManager.default.fileExists(atPath: configPath) {
            do {
                file = try ServerConfigurationFile(json: try readTextFile(configPath))
            } catch let error as AppError {
                printError("\(configPath): \(error)")
                throw Exit.badInput
            }
        }
        if let sockets = file.sipUDPSockets {
            guard let value = SIPUDPSockets(rawValue: sockets) else {
                printError("\(configPath): sip_udp_sockets must be per-loop or one")
                throw Exit.badInput
            }
            options.sipUDPSockets = value
        }
        options.signingKeyPath = file.signingKeyPath
        options.signingX5U = file.signingX5U
        options.customers = file.customers
        options.customerSigning = file.customerSigning ?? [:]
        options.acme = file.acme ?? [:]
        options.signingShared = file.signingShared ?? true
        let address = http ?? env["CALLSIGN_HTTP"] ?? file.http ?? "127.0.0.1:8080"
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (1...65535).contains(port)
        else {
            printError("--http must be HOST:PORT")
            throw Exit.badInput
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        options.host = host
        options.port = port
        options.trustPath = trust ?? env["CALLSIGN_TRUST"] ?? file.trust
        options.labAllow = labAllow.isEmpty
            ? (env["CALLSIGN_LAB_ALLOW"]?.split(separator: ",").map(String.init) ?? file.labAllow ?? []) : labAllow
        let profileText = env["CALLSIGN_CERT_PROFILE"] ?? file.certProfile
        if let profile = certProfile ?? profileText.flatMap(CertProfileOption.init(rawValue:)) {
            options.certificateProfile = profile.mode
        } else if let profileText {
            printError("cert_profile must be lenient or strict, not \(profileText)")
            throw Exit.badInput
        }
        options.requireCRL = requireCRL || (file.requireCRL ?? false)
        options.stiPA = try stiPA.options(over: file.stiPA, crlURL: stiPACRL)
        let numberingText = env["CALLSIGN_NUMBERING"] ?? file.numbering
        if let policy = numbering ?? numberingText.flatMap(NumberingOption.init(rawValue:)) {
            options.numbering = policy.policy
        } else if let numberingText {
            printError("numbering must be e164, nanp, uk or fr, not \(numberingText)")
            throw Exit.badInput
        }
        let sign = sipSign ?? env["CALLSIGN_SIP_SIGN"] ?? file.sipSign ?? "127.0.0.1:5060"
        let verify = sipVerify ?? env["CALLSIGN_SIP_VERIFY"] ?? file.sipVerify ?? "127.0.0.1:5062"
        options.sipSign = sign == "off" ? nil : sign
        options.sipVerify = verify == "off" ? nil : verify
        options.trunks = file.trunks
        options.postgresURL = postgres ?? env["CALLSIGN_STORE_POSTGRES"] ?? file.postgres
        options.dnoRefresh = .seconds(max(1, min(dnoRefresh, 3600)))
        options.policy = try policyConfiguration(file)
        options.analytics = file.analytics ?? AnalyticsOptions()
        options.peerNumbering = (file.peerNumbering ?? [:]).compactMapValues { NumberingPolicy.builtIn[$0] }
        let action = sipFailureAction ?? env["CALLSIGN_SIP_FAILURE_ACTION"] ?? file.sipFailureAction ?? "reject"
        guard let failureAction = VerificationFailureAction(rawValue: action) else {
            printError("sip failure action must be reject or continue")
            throw Exit.badInput
        }
        options.sipFailureAction = failureAction
        func pair(_ text: String?) throws -> (String, String)? {
            guard let text else { return nil }
            let parts = text.split(separator: ",").map(String.init)
            guard parts.count == 2 else {
                printError("proxy option must be LISTEN-HOST:PORT,NEXT-HOP-IP:PORT")
                throw Exit.badInput
            }
            return (parts[0], parts[1])
        }
        options.sipSignProxy = try pair(sipSignProxy ?? env["CALLSIGN_SIP_SIGN_PROXY"])
        options.sipVerifyProxy = try pair(sipVerifyProxy ?? env["CALLSIGN_SIP_VERIFY_PROXY"])
        do {
            try await CallsignServe.run(options) { text in
                print(text)
                fflush(nil)
            }
        } catch {
            printError("serve: \(error)")
            throw Exit.badInput
        }
    }
}

// swift-tools-version: 6.1
import PackageDescription

/// Settings shared by every target: Swift 6 language mode everywhere, and
/// upcoming features that make Sendable and imports explicit.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Callsign",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Callsign", targets: ["Callsign"]),
        // The SIP message parser and redirect logic, the decision flow and the lab CA (for the benchmarks package).
        .library(name: "CallsignSIP", targets: ["CallsignSIP"]),
        .library(name: "CallsignService", targets: ["CallsignService"]),
        .library(name: "CallsignLab", targets: ["CallsignLab"]),
        .executable(name: "callsign", targets: ["callsign"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // Core: PASSporT, Identity header, TN canonicalization, verification
        // procedure. No sockets, files or clocks (RFC 8224/8225/8588).
        .target(
            name: "Callsign",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: swiftSettings
        ),
        // Certificate repository client (x5u and CRL fetching) over AsyncHTTPClient,
        // behind the core's CertificateRepository protocol.
        .target(
            name: "CallsignFetch",
            dependencies: [
                "Callsign",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
        // The lab STI-CA (development mode, `callsign ca`) and test doubles: not the core.
        .target(
            name: "CallsignLab",
            dependencies: [
                "Callsign",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: swiftSettings
        ),
        // The decision flow shared by every face: the anti-spoofing policy in force
        // and the counters of call decisions. No NIO, no sockets.
        .target(
            name: "CallsignService",
            dependencies: [
                "Callsign", "CallsignStore",
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Storage: repository protocols, an in-memory implementation, and SQLite (GRDB).
        .target(
            name: "CallsignStore",
            dependencies: [
                "Callsign",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API (through GRDB's own module) for the traceback writer's binds.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // SIP faces: message parser, redirect logic, NIO transports.
        .target(
            name: "CallsignSIP",
            dependencies: [
                "Callsign", "CallsignService", "CallsignStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // PostgreSQL store for several nodes (its own target: postgres-nio brings a
        // second BoringSSL and most of the build time).
        .target(
            name: "CallsignStorePostgres",
            dependencies: [
                "Callsign", "CallsignStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The ATIS-1000082 REST face on Hummingbird 2: the router, the one fast path
        // of the two STI endpoints, connection bounds, response encoding.
        .target(
            name: "CallsignHTTP",
            dependencies: [
                "Callsign", "CallsignService", "CallsignStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: swiftSettings
        ),
        // `callsign serve` as an application: configuration, development setup,
        // the SIP listeners, and `buildApplication`, which wires every module
        // into one service group.
        .target(
            name: "CallsignApp",
            dependencies: [
                "Callsign", "CallsignFetch", "CallsignHTTP", "CallsignLab", "CallsignService", "CallsignStore", "CallsignStorePostgres", "CallsignSIP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: swiftSettings
        ),
        // The `callsign` command tree (thin: wiring, files, output).
        .target(
            name: "CallsignCLI",
            dependencies: [
                "Callsign",
                "CallsignFetch",
                "CallsignLab",
                "CallsignService",
                "CallsignStore",
                "CallsignHTTP",
                "CallsignSIP",
                "CallsignApp",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "callsign",
            dependencies: [
                "CallsignCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CallsignTests",
            dependencies: [
                "Callsign", "CallsignLab",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            resources: [.copy("Vectors")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CallsignServiceTests",
            dependencies: [
                "Callsign", "CallsignService", "CallsignStore",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CallsignStoreTests",
            dependencies: [
                "Callsign", "CallsignStore", "CallsignStorePostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CallsignSIPTests",
            dependencies: [
                "Callsign", "CallsignService", "CallsignSIP", "CallsignStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Helpers of the test targets below: child processes with time limits,
        // test ports, the peers, a scriptable HTTP server.
        .target(
            name: "CallsignTestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/CallsignTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CallsignFetchTests",
            dependencies: [
                "Callsign", "CallsignFetch", "CallsignLab", "CallsignTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CallsignHTTPTests",
            dependencies: [
                "Callsign", "CallsignFetch", "CallsignHTTP", "CallsignLab", "CallsignService", "CallsignStore", "CallsignTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CallsignAppTests",
            dependencies: [
                "Callsign", "CallsignApp", "CallsignFetch", "CallsignHTTP", "CallsignLab", "CallsignService", "CallsignStore",
                "CallsignTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CallsignCLITests",
            dependencies: [
                "Callsign", "CallsignFetch", "CallsignCLI", "CallsignLab", "CallsignService", "CallsignStore", "CallsignApp", "CallsignHTTP",
                "CallsignSIP", "CallsignTestSupport", "callsign",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            exclude: ["sipp", "kamailio", "clockstep"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer harnesses, outside the normal build: only with CALLSIGN_FUZZ set
// (scripts/fuzz.sh builds them with -sanitize=fuzzer,address into .build-fuzz).
if Context.environment["CALLSIGN_FUZZ"] != nil {
    let nio: (String) -> Target.Dependency = { .product(name: $0, package: "swift-nio") }
    let harnesses: [(String, [Target.Dependency])] = [
        ("identity", ["Callsign"]), ("passport", ["Callsign"]), ("json", ["Callsign"]), ("date", ["Callsign"]),
        ("tnauthlist", ["Callsign"]), ("dno", ["Callsign"]),
        ("certificate", ["Callsign", "CallsignLab", .product(name: "Crypto", package: "swift-crypto"), .product(name: "SwiftASN1", package: "swift-asn1"),
                         .product(name: "X509", package: "swift-certificates")]),
        ("sip", ["CallsignSIP", nio("NIOCore"), nio("NIOEmbedded")]),
        ("rest", ["Callsign", "CallsignHTTP", nio("NIOCore"), nio("NIOEmbedded"), nio("NIOHTTP1")]),
        ("config", ["CallsignApp"]),
    ]
    package.targets.append(.target(name: "FuzzDriver", path: "Fuzz/Driver"))
    package.targets.append(.target(name: "FuzzSupport", dependencies: ["FuzzDriver"], path: "Fuzz/Support", swiftSettings: swiftSettings))
    for (name, dependencies) in harnesses {
        package.targets.append(.executableTarget(name: "fuzz-\(name)", dependencies: dependencies + ["FuzzSupport"], path: "Fuzz/\(name)",
                                                 swiftSettings: swiftSettings))
        package.products.append(.executable(name: "fuzz-\(name)", targets: ["fuzz-\(name)"]))
    }
}

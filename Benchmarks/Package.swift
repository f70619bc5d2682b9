// swift-tools-version: 6.1
import PackageDescription

// Micro-benchmarks (ordo-one/benchmark). Run from the repository root:
//   swift package --package-path Benchmarks benchmark
let package = Package(
    name: "CallsignBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Callsign", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .executableTarget(
            name: "CallsignBenchmarks",
            dependencies: [
                .product(name: "Callsign", package: "Callsign"),
                .product(name: "CallsignSIP", package: "Callsign"),
                .product(name: "CallsignService", package: "Callsign"),
                .product(name: "CallsignLab", package: "Callsign"),
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Benchmarks/CallsignBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)

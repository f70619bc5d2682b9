import ArgumentParser
import Callsign
import Crypto
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Writes a one-line error to standard error.
func printError(_ message: String) {
    var line = "callsign: " + message + "\n"
    line.withUTF8 { buffer in _ = write(2, buffer.baseAddress, buffer.count) }
}

/// Largest input file the CLI reads (keys, certificates, headers).
let maxInputFileBytes = 1 << 20

/// Reads a small text file, refusing huge or unreadable ones.
func readTextFile(_ path: String) throws -> String {
    let url = URL(fileURLWithPath: path)
    let data: Data
    do {
        data = try Data(contentsOf: url)
    } catch {
        printError("cannot read \(path)")
        throw Exit.badInput
    }
    guard data.count <= maxInputFileBytes else {
        printError("\(path) is larger than \(maxInputFileBytes) bytes")
        throw Exit.badInput
    }
    return String(decoding: data, as: UTF8.self)
}

/// `VALUE` or `@FILE`: the file's lines are the values (one Identity header each).
func readValues(_ argument: String) throws -> [String] {
    if argument.hasPrefix("@") {
        let text = try readTextFile(String(argument.dropFirst()))
        return text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map { String($0) }
            .filter { !$0.allSatisfy(\.isWhitespace) }
    }
    return [argument]
}

/// Writes text to a file, optionally with owner-only permissions.
func writeFile(_ path: String, _ text: String, privateFile: Bool) throws {
    let flags = O_WRONLY | O_CREAT | O_TRUNC
    let fd = open(path, flags, privateFile ? 0o600 : 0o644)
    guard fd >= 0 else {
        printError("cannot write \(path)")
        throw Exit.badInput
    }
    defer { close(fd) }
    var copy = text
    let ok = copy.withUTF8 { buffer in write(fd, buffer.baseAddress, buffer.count) == buffer.count }
    guard ok else {
        printError("cannot write \(path)")
        throw Exit.badInput
    }
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// Seconds since the epoch, now.
func currentEpochSeconds() -> Int64 { Int64(Date().timeIntervalSince1970) }

/// `--numbering` values.
enum NumberingOption: String, ExpressibleByArgument, CaseIterable {
    case e164, nanp, uk, fr

    var policy: NumberingPolicy {
        switch self {
        case .e164: .e164
        case .nanp: .nanp
        case .uk: .uk
        case .fr: .france
        }
    }
}

/// `--attest` values.
enum AttestOption: String, ExpressibleByArgument, CaseIterable {
    case A, B, C

    var attestation: PASSporT.Attestation {
        switch self {
        case .A: .full
        case .B: .partial
        case .C: .gateway
        }
    }
}

/// Output helpers: JSON objects printed pretty.
func printJSON(_ object: JSONObject) {
    print(JSONWriter.pretty(.object(object)))
}

extension JSONValue {
    static func optionalString(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
}

/// `--cert-profile` values.
enum CertProfileOption: String, ExpressibleByArgument, CaseIterable {
    case strict, lenient

    var mode: STICertificateProfile.Mode { self == .strict ? .strict : .lenient }
}

import ArgumentParser
import Callsign

/// `callsign decode`: show a PASSporT without verifying it.
struct Decode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the header, claims and Identity parameters of a PASSporT as JSON, without verifying.",
        discussion: "Takes an Identity header value, a bare compact JWS, or @FILE. Problems a verifier would reject are listed under \"problems\"."
    )

    @Argument(help: "Identity header value, compact JWS, or @FILE.")
    var value: String

    func run() async throws {
        guard let first = try readValues(value).first else {
            printError("nothing to decode")
            throw Exit.badInput
        }
        let output: JSONObject
        do {
            output = try Self.decode(first)
        } catch {
            printError("cannot decode: \(error.description)")
            throw Exit.badInput
        }
        printJSON(output)
    }

    static func decode(_ text: String) throws(VerificationError) -> JSONObject {
        let header = try IdentityHeader(line: text)
        var out = JSONObject()
        var parameters = JSONObject()
        for parameter in header.parameters {
            parameters[parameter.name] = .optionalString(parameter.rawValue)
        }
        out["identity_parameters"] = .object(parameters)
        if header.isCompactForm {
            out["form"] = .string("compact")
            out["signature"] = .string(String(header.token.dropFirst(2)))
            return out
        }
        out["form"] = .string("full")
        let jws = try CompactJWS(header.token)
        out["header"] = .object(jws.header)
        out["claims"] = .object(jws.payload)
        out["signature"] = .string(Base64URL.encode(jws.signature))
        var problems: [JSONValue] = []
        do {
            _ = try SignedPASSporT(jws: jws)
        } catch {
            problems.append(.string(error.description))
        }
        out["problems"] = .array(problems)
        return out
    }
}

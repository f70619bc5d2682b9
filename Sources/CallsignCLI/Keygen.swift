import ArgumentParser
import Callsign
import Crypto

/// `callsign keygen`: a P-256 key pair for ES256 signing.
struct Keygen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a P-256 private key (PKCS#8 PEM) and its public key alongside.",
        discussion: "The public key is written next to the private key as NAME.pub.pem (for KEY.pem) or OUT.pub."
    )

    @Option(name: .long, help: "Where to write the private key (created with mode 0600).")
    var out: String

    @Flag(name: .long, help: "Overwrite existing files.")
    var force = false

    static func publicPath(for path: String) -> String {
        path.hasSuffix(".pem") ? String(path.dropLast(4)) + ".pub.pem" : path + ".pub"
    }

    func run() async throws {
        let publicPath = Self.publicPath(for: out)
        if !force, fileExists(out) || fileExists(publicPath) {
            printError("\(fileExists(out) ? out : publicPath) exists; use --force to overwrite")
            throw Exit.badInput
        }
        let key = P256.Signing.PrivateKey()
        try writeFile(out, key.pemRepresentation + "\n", privateFile: true)
        try writeFile(publicPath, key.publicKey.pemRepresentation + "\n", privateFile: false)
        print("private key: \(out)")
        print("public key:  \(publicPath)")
    }
}

import ArgumentParser
import CallsignApp
import CallsignFetch

/// The `--sti-pa…` flags `serve` and `acme order` share: where the STI-PA's
/// API is and how to log in to it (ATIS-1000080 §6.3; ATIS-1000074 §5.3.1).
struct STIPAFlags: ParsableArguments {
    @Option(name: .customLong("sti-pa"), help: "STI-PA API base URL (serve configuration: sti_pa.url).")
    var url: String?

    @Option(name: .customLong("sti-pa-root"), help: "The pinned STI-PA root certificate, PEM (serve configuration: sti_pa.root).")
    var root: String?

    @Option(name: .customLong("sti-pa-user"), help: "STI-PA login (serve configuration: sti_pa.user).")
    var user: String?

    @Option(name: .customLong("sti-pa-password-file"), help: "File holding the STI-PA password (serve configuration: sti_pa.password_file).")
    var passwordFile: String?

    /// The STI-PA these flags name, each flag over the configuration file's
    /// `configured` value; `nil` when neither names a URL.
    /// - Throws: `Exit.badInput` (said on standard error) for a URL without a root.
    func options(over configured: STIPAOptions? = nil, crlURL: String? = nil) throws -> STIPAOptions? {
        guard let url = url ?? configured?.url else { return nil }
        guard let root = root ?? configured?.rootPath else {
            printError("--sti-pa needs --sti-pa-root (the pinned STI-PA root certificate)")
            throw Exit.badInput
        }
        return STIPAOptions(url: url, rootPath: root, user: user ?? configured?.user,
                            passwordFile: passwordFile ?? configured?.passwordFile, crlURL: crlURL ?? configured?.crlURL)
    }
}

extension STIPAOptions {
    /// ``settings()`` for a command: a root or password file that cannot be
    /// read is said on standard error and exits with `Exit.badInput`.
    func commandSettings() throws -> STIPASettings {
        do {
            return try settings()
        } catch {
            printError(error.description)
            throw Exit.badInput
        }
    }
}

public import ArgumentParser

/// The `callsign` command tree. `run()` methods only wire things together:
/// the logic lives in the `Callsign` library.
public struct CallsignCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "callsign",
        abstract: "STIR/SHAKEN caller-ID authentication: sign and verify PASSporTs (RFC 8224/8225/8588).",
        discussion: """
            Exit status: 0 = valid / done, 1 = verification failed (the verdict is printed), \
            2 = unusable input (bad file, key, or header), 64 = bad command line.
            """,
        subcommands: [Serve.self, Keygen.self, Sign.self, Verify.self, Decode.self, CA.self, Cert.self, CSR.self, Token.self, Traceback.self, Calls.self, Policy.self, DNO.self, Protected.self, STIPACommand.self, ACME.self, Lab.self, Speed.self]
    )

    public init() {}
}

/// Exit statuses shared by the subcommands.
enum Exit {
    /// The identity did not verify.
    static let invalid = ExitCode(1)
    /// Input could not be used (file, key, header syntax).
    static let badInput = ExitCode(2)
}

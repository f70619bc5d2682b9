import ArgumentParser
import CallsignCLI

/// Entry point of the `callsign` executable.
@main
enum CallsignMain {
    static func main() async {
        await CallsignCommand.main()
    }
}

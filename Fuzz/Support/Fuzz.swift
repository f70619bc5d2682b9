import Dispatch
import FuzzDriver

/// What every libFuzzer harness of Callsign shares: the entry point, the
/// input as bytes, and invariant checks that stop the run with a message
/// (libFuzzer records the input that broke one as a crash).
public enum Fuzz {
    /// The harness's type: libFuzzer's callback (`LLVMFuzzerTestOneInput`).
    public typealias Harness = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    /// Runs libFuzzer with the program's arguments on `harness`; its exit status.
    public static func main(_ harness: Harness) -> CInt {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        return LLVMFuzzerRunDriver(&argc, &argv, harness)
    }

    /// The raw bytes of libFuzzer's input.
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Runs `work` to its end from the harness's synchronous entry point.
    public static func run(_ work: @escaping @Sendable () async -> Void) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await work()
            done.signal()
        }
        done.wait()
    }

    /// Stops the run when `condition` fails: the harness found a broken invariant.
    public static func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                             file: StaticString = #fileID, line: UInt = #line)
    {
        if !condition() { fatalError("invariant broken: \(message())", file: file, line: line) }
    }
}

/// What every libFuzzer harness of Callsign shares: the input as bytes and
/// text, and invariant checks that stop the run with a message (libFuzzer
/// records the input that broke one as a crash).
public enum Fuzz {
    /// The raw bytes of libFuzzer's input.
    public static func bytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
        Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Stops the run when `condition` fails: the harness found a broken invariant.
    public static func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                             file: StaticString = #fileID, line: UInt = #line)
    {
        if !condition() { fatalError("invariant broken: \(message())", file: file, line: line) }
    }
}

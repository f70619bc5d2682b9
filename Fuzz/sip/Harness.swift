import CallsignSIP
import FuzzSupport
import NIOCore
import NIOEmbedded

/// SIP messages (RFC 3261 §7, §18.3), as a datagram and as a TCP stream:
/// - a parsed message serializes to bytes that parse back to the same
///   message (start line, headers but Content-Length, body);
/// - the stream decoder frames the same messages however the bytes are cut
///   into reads, and never a frame over its cap.
/// The first input byte chooses where the stream is cut; the rest is the message.
func fuzzSIP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Fuzz.bytes(data, size)
    guard let cut = input.first else { return 0 }
    let bytes = Array(input.dropFirst())
    let parser = SIPParser()
    if let message = try? parser.parse(bytes) {
        let written = message.serialized()
        // Serialization adds a Content-Length to a message that had none: one header more may be read back.
        var reader = parser
        reader.maxHeaders += 1
        guard let again = try? reader.parse(written) else {
            Fuzz.check(false, "a parsed message does not parse back: \(String(decoding: written, as: UTF8.self))")
            return 0
        }
        Fuzz.check(again.startLine == message.startLine, "start line changed")
        // Serialization writes one Content-Length of the body's length in place of any the message had.
        func fields(_ m: SIPMessage) -> [SIPMessage.Header] { m.headers.filter { $0.canonicalName != "content-length" } }
        Fuzz.check(fields(again) == fields(message), "headers changed")
        Fuzz.check(again.body == message.body, "body changed")
    }
    let whole = frames(bytes, pieces: [bytes.count])
    let split = Int(cut) % (bytes.count + 1)
    let twoReads = frames(bytes, pieces: [split, bytes.count - split])
    Fuzz.check(whole.frames == twoReads.frames, "framing depends on where the stream is cut")
    for frame in whole.frames { Fuzz.check(frame.count <= 64 * 1024, "a frame over the cap") }
    return 0
}

/// The frames of `bytes` read in `pieces`, and whether the decoder refused the stream.
func frames(_ bytes: [UInt8], pieces: [Int]) -> (frames: [[UInt8]], refused: Bool) {
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(SIPStreamDecoder()))
    var out: [[UInt8]] = []
    var refused = false
    var start = 0
    for piece in pieces where piece > 0 {
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes[start..<(start + piece)]))
        } catch {
            refused = true
        }
        start += piece
        while let frame = try? channel.readInbound(as: ByteBuffer.self) { out.append(Array(frame.readableBytesView)) }
        if refused { break }
    }
    _ = try? channel.finish()
    return (out, refused)
}

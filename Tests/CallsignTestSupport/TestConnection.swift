import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking loopback TCP client (reads time out after `timeout` seconds).
package final class TestConnection: @unchecked Sendable {
    package let fd: Int32

    package init(port: Int, timeout: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {  // deinit closes the socket
            throw PeerError("cannot connect to 127.0.0.1:\(port): errno \(errno)")
        }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    package func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Runs a blocking read off Swift's cooperative pool: a test blocking its
    /// two threads would starve the server it talks to (its router answers in tasks).
    package static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue(label: "blocking-read").async { continuation.resume(returning: work()) }
        }
    }

    /// Reads until the peer closes (or the read times out): what was read, and whether it closed.
    package func readToEnd() async -> (text: String, closed: Bool) {
        await Self.offPool { [self] in readToEndBlocking() }
    }

    /// Reads until `marker` has been read, the peer closes or the read times out: what was read, and whether it closed.
    package func readToEnd(orUntil marker: String) async -> (text: String, closed: Bool) {
        await Self.offPool { [self] in
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while !String(decoding: received, as: UTF8.self).contains(marker) {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if n == 0 { return (String(decoding: received, as: UTF8.self), true) }
                if n < 0 { return (String(decoding: received, as: UTF8.self), errno == ECONNRESET) }
                received += buffer[0..<n]
            }
            return (String(decoding: received, as: UTF8.self), false)
        }
    }

    /// Reads until `marker` has been read (or the read times out).
    package func read(until marker: String) async -> String {
        await Self.offPool { [self] in readBlocking(until: marker) }
    }

    private func readToEndBlocking() -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n == 0 { return (String(decoding: received, as: UTF8.self), true) }
            if n < 0, errno == EINTR { continue }  // a signal (a test's child process exiting), not the peer
            if n < 0 { return (String(decoding: received, as: UTF8.self), errno == ECONNRESET) }
            received += buffer[0..<n]
        }
    }

    private func readBlocking(until marker: String) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !String(decoding: received, as: UTF8.self).contains(marker) {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }
}

extension TestConnection {
    /// The text of an HTTP/1.1 POST with these header `fields` (each ending in CRLF) and `body`.
    package static func post(_ path: String, _ fields: String, body: String = "{}") -> String {
        "POST \(path) HTTP/1.1\r\n\(fields)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }
}

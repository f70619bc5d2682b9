import NIOCore
import NIOPosix

/// One UDP socket per event loop, all bound to the same address
/// (`SO_REUSEPORT`), with a classic BPF program that hands each datagram to a
/// socket of the group at random (Linux `SO_ATTACH_REUSEPORT_CBPF`).
///
/// Why: a SIP peer is one address and port (SIPp, a Kamailio or SBC sends every
/// call from the same 4-tuple), so the kernel's default reuse-port hash would
/// put all its traffic on one socket, read by one event loop. Handing datagrams
/// from that loop to the others costs two thread wake-ups per datagram (there
/// and back for the reply); with the program each loop reads and answers on its
/// own socket. Retransmissions of one transaction may land on different loops,
/// which the redirect service's shared state already handles.
enum ReusePortUDP {
    /// `struct sock_filter` (linux/filter.h).
    struct Instruction {
        var code: UInt16
        var jt: UInt8 = 0
        var jf: UInt8 = 0
        var k: UInt32
    }

    /// `struct sock_fprog` (linux/filter.h). The pointer is only read by the
    /// kernel during `setsockopt`, which copies the program.
    struct Program: @unchecked Sendable {
        var length: UInt16
        var filter: UnsafeMutablePointer<Instruction>
    }

    /// `A = random(); A %= count; return A` — the index of a socket in the group.
    static func randomSocketProgram(count: Int) -> [Instruction] {
        let skfAdOff: Int32 = -0x1000, skfAdRandom: Int32 = 56  // SKF_AD_OFF + SKF_AD_RANDOM
        return [
            Instruction(code: 0x20, k: UInt32(bitPattern: skfAdOff + skfAdRandom)),  // BPF_LD | BPF_W | BPF_ABS
            Instruction(code: 0x94, k: UInt32(max(1, count))),  // BPF_ALU | BPF_MOD | BPF_K
            Instruction(code: 0x16, k: 0),  // BPF_RET | BPF_A
        ]
    }

    /// Binds one socket per loop of `loops` on `host:port` (the first socket's
    /// port when `port` is 0) and attaches the random-spreading program.
    /// Returns `nil`, with nothing left bound, when the platform has no
    /// reuse-port program (the caller falls back to one socket).
    static func bind(host: String, port: Int, loops: [any EventLoop],
                     configure: @escaping @Sendable (DatagramBootstrap) -> DatagramBootstrap) async throws -> [any Channel]?
    {
        #if os(Linux)
        guard loops.count > 1 else { return nil }
        var channels: [any Channel] = []
        do {
            var boundPort = port
            for loop in loops {
                let channel = try await configure(DatagramBootstrap(group: loop))
                    .channelOption(.socketOption(.init(rawValue: 15)), value: 1)  // SO_REUSEPORT (Linux)
                    .bind(host: host, port: boundPort).get()
                channels.append(channel)
                if boundPort == 0, let local = channel.localAddress?.port { boundPort = local }
            }
            guard let first = channels.first as? any SocketOptionProvider else { throw ChannelError.operationUnsupported }
            let instructions = randomSocketProgram(count: channels.count)
            let filter = UnsafeMutablePointer<Instruction>.allocate(capacity: instructions.count)
            filter.initialize(from: instructions, count: instructions.count)
            defer { filter.deallocate() }
            try await first.unsafeSetSocketOption(level: SocketOptionLevel(1),  // SOL_SOCKET
                                                  name: SocketOptionName(51),  // SO_ATTACH_REUSEPORT_CBPF
                                                  value: Program(length: UInt16(instructions.count), filter: filter)).get()
            return channels
        } catch {
            for channel in channels { try? await channel.close() }
            // A port taken by someone else is an error to report, not a reason to fall back.
            if channels.isEmpty { throw error }
            return nil
        }
        #else
        return nil
        #endif
    }
}

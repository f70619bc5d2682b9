@testable import CallsignSIP
import CallsignService
import NIOCore
import NIOEmbedded
import Testing

/// When the UDP redirect transport hands its replies to the kernel: once per
/// socket read, so the datagrams of one vector read leave in one `sendmmsg`.
@Suite("SIP over UDP: replies to one read are flushed together")
struct UDPFlushTests {
    @Test("replies written during a read wait for its read-complete, then leave together, in order")
    func flushAtReadComplete() async throws {
        let fixture = try await RedirectFixture()
        // Past the in-flight limit every INVITE is answered at once (503), inside the read.
        let channel = EmbeddedChannel(handler: SIPUDPHandler(service: fixture.signing(), inFlight: InFlightLimit(limit: 0)))
        let remote = try SocketAddress(ipAddress: "192.0.2.10", port: 5060)
        for branch in ["z9hG4bK-a", "z9hG4bK-b"] {
            channel.pipeline.fireChannelRead(AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: RedirectFixture.invite(branch: branch))))
        }
        #expect(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) == nil)
        channel.pipeline.fireChannelReadComplete()
        var branches: [String] = []
        while let reply = try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) {
            let message = try SIPParser().parse(Array(reply.data.readableBytesView))
            #expect(status(message) == 503)
            branches.append(String(message.first("via")?.split(separator: "=").last ?? ""))
        }
        #expect(branches == ["z9hG4bK-a", "z9hG4bK-b"])
        _ = try channel.finish()
    }

    @Test("the source text of an address is its IP, from the recent-sources memo or formatted, past the memo's eight entries too")
    func sourceTexts() throws {
        var sources = SIPUDPHandler.RecentSources()
        let addresses = try (1...12).map { try SocketAddress(ipAddress: "192.0.2.\($0)", port: 5060) }
            + [try SocketAddress(ipAddress: "2001:db8::1", port: 5060), try SocketAddress(ipAddress: "192.0.2.1", port: 5061)]
        for _ in 0..<3 {
            for address in addresses { #expect(sources.text(of: address) == address.ipAddress) }
        }
        #expect(sources.entries.count == 8)
    }
}

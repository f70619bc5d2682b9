import Callsign
import CallsignSIP
import CallsignService
import Crypto
import NIOCore
import NIOEmbedded
import Testing

/// Messages in the style of RFC 4475 (SIP torture tests) that apply to a
/// redirect server: valid-but-odd ones must parse, invalid ones must be refused.
@Suite("RFC 4475-style torture messages and the overload answer")
struct TortureTests {
    static let valid: [(String, String)] = [
        ("wsinv: odd whitespace and folding", "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\nTO :\r\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\nfrom   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8\r\nMaX-fOrWaRdS: 0068\r\nCall-ID: wsinv.ndaksdj@192.0.2.1\r\nCSeq: 0009\r\n  INVITE\r\nVia  : SIP  /   2.0\r\n  /UDP\r\n    192.0.2.2;branch=390skdjuw\r\ns :\r\nNewFangledHeader:   newfangled value\r\n continued newfangled value\r\nUnknownHeaderWithUnusualValue: ;;,,;;,;\r\nContent-Length: 0\r\n\r\n"),
        ("intmeth: unknown method token", "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\r\nVia: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\nTo: <sip:1_unusual@example.com>\r\nFrom: <sip:mundane@example.com>;tag=_token~1'+`*%!-.\r\nCall-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\nCSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\nMax-Forwards: 255\r\nContent-Length: 0\r\n\r\n"),
        ("noreason: response without reason phrase", "SIP/2.0 100 \r\nVia: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\r\nCall-ID: noreason.asndj203insdf99223ndf\r\nCSeq: 35 INVITE\r\nFrom: <sip:user@example.com>;tag=39ansfi3\r\nTo: <sip:user@example.edu>;tag=902jndnke3\r\nContent-Length: 0\r\n\r\n"),
        ("compact headers", "INVITE sip:x@example.com SIP/2.0\r\nv: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nf: <sip:a@example.com>;tag=1\r\nt: <sip:x@example.com>\r\ni: compact@example\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n"),
    ]

    static let invalid: [(String, String)] = [
        ("clerr: Content-Length larger than the message", "INVITE sip:user@example.com SIP/2.0\r\nMax-Forwards: 80\r\nTo: sip:j.user@example.com\r\nFrom: sip:caller@example.net;tag=93942939o2\r\nContact: <sip:caller@hungry.example.net>\r\nCall-ID: clerr.0ha0isndaksdjweiafasdk3\r\nCSeq: 8 INVITE\r\nVia: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523\r\nContent-Length: 9999\r\n\r\nv=0\r\n"),
        ("ncl: negative Content-Length", "INVITE sip:user@example.com SIP/2.0\r\nMax-Forwards: 254\r\nTo: sip:j.user@example.com\r\nFrom: sip:caller@example.net;tag=32394234\r\nCall-ID: ncl.0ha0isndaksdj2193423r542w35\r\nCSeq: 0 INVITE\r\nVia: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw\r\nContent-Length: -999\r\n\r\n"),
        ("scalar02: CSeq out of range", "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3\r\nTo: <sip:user@example.com>\r\nFrom: <sip:user@example.com>;tag=239232jh3\r\nCSeq: 36893488147419103232 REGISTER\r\nCall-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32\r\nContent-Length: 0\r\n\r\n"),
        ("badvers: SIP/7.0", "OPTIONS sip:t.watson@example.org SIP/7.0\r\nVia: SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw\r\nMax-Forwards: 70\r\nFrom: A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe\r\nTo: T. Watson <sip:t.watson@example.org>\r\nCall-ID: badvers.31417@c.example.com\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"),
        ("mismatch01: CSeq method differs", "OPTIONS sip:user@example.com SIP/2.0\r\nTo: sip:j.user@example.com\r\nFrom: sip:caller@example.net;tag=34525\r\nMax-Forwards: 6\r\nCall-ID: mismatch01.dj0234sxdfl3\r\nCSeq: 8 INVITE\r\nVia: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\r\nContent-Length: 0\r\n\r\n"),
        ("missing Call-ID", "INVITE sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCSeq: 1 INVITE\r\n\r\n"),
    ]

    @Test("valid-but-odd messages parse", arguments: valid)
    func parsesValid(_ name: String, _ text: String) throws {
        let message = try SIPParser().parse(Array(text.utf8))
        #expect(!message.headers.isEmpty, "\(name)")
    }

    @Test("invalid messages are refused (a server answers 400)", arguments: invalid)
    func refusesInvalid(_ name: String, _ text: String) {
        #expect(throws: SIPParseError.self, "\(name)") { try SIPParser().parse(Array(text.utf8)) }
    }

    @Test("past the in-flight limit the UDP handler answers 503 with Retry-After instead of queueing")
    func overload() async throws {
        let fixture = try await RedirectFixture()
        let channel = EmbeddedChannel(handler: SIPUDPHandler(service: fixture.signing(), inFlight: InFlightLimit(limit: 0)))
        let remote = try SocketAddress(ipAddress: "192.0.2.10", port: 5060)
        try channel.writeInbound(AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: RedirectFixture.invite())))
        let reply = try #require(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self))
        let message = try SIPParser().parse(Array(reply.data.readableBytesView))
        #expect(status(message) == 503)
        #expect(message.first("retry-after") == "1")
        #expect(reply.remoteAddress == remote)
        _ = try channel.finish()
    }

    @Test("past the in-flight limit the TCP handler answers 503 with Retry-After too, on the same connection")
    func overloadOverTCP() async throws {
        let fixture = try await RedirectFixture()
        // A verification whose credential needs a fetch: it would take a place in flight.
        let t = fixture.now
        let service = RedirectService(verification: .init(), store: fixture.store, resolver: NoCacheResolver(key: fixture.key.publicKey), now: { t })
        let identity = try Signer(key: fixture.key, x5u: "https://cr.example/sp.pem")
            .sign(SigningRequest(orig: "12155550042", dest: ["12125551213"], attestation: .full, origid: fixture.bank.origid, iat: t)).value
        let channel = EmbeddedChannel(handler: SIPStreamHandler(service: service, inFlight: InFlightLimit(limit: 0)))
        try channel.writeInbound(ByteBuffer(bytes: RedirectFixture.invite(extra: "Identity: \(identity)\r\n")))
        let reply = try #require(try channel.readOutbound(as: ByteBuffer.self))
        let message = try SIPParser().parse(Array(reply.readableBytesView))
        #expect(status(message) == 503)
        #expect(message.first("retry-after") == "1")
        _ = try? channel.finish()
    }

    @Test("the in-flight bound admits exactly its limit and frees places on release")
    func inFlightBound() {
        let limit = InFlightLimit(limit: 2)
        #expect(limit.acquire() && limit.acquire())
        #expect(!limit.acquire())
        limit.release()
        #expect(limit.acquire())
        #expect(limit.current == 2)
    }
}

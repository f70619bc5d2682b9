import Benchmark
import Callsign
import CallsignSIP
import Crypto

/// SIP INVITE parsing (the first step of every redirect and proxy call):
/// a SIPp-like INVITE with a SHAKEN Identity header and an SDP body.
func sipBenchmarks() {
    let key = P256.Signing.PrivateKey()
    let header = try? Signer(key: key, x5u: "https://cr.example.net/shaken/sp-chain.pem")
        .sign(SigningRequest(orig: "12155551212", dest: ["12125551213"], attestation: .full,
                             origid: "123e4567-e89b-12d3-a456-426655440000", iat: 1_800_000_000))
    let sdp = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    let invite = Array((
        "INVITE sip:+12125551213@127.0.0.1:5062;user=phone SIP/2.0\r\n"
            + "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-4711-1-0\r\n"
            + "From: \"Bank\" <sip:+12155551212@127.0.0.1:5070;user=phone>;tag=4711SIPpTag001\r\n"
            + "To: <sip:+12125551213@127.0.0.1:5062;user=phone>\r\n"
            + "Call-ID: 1-4711@127.0.0.1\r\n"
            + "CSeq: 1 INVITE\r\n"
            + "Contact: <sip:sipp@127.0.0.1:5070>\r\n"
            + "Max-Forwards: 70\r\n"
            + "Date: Tue, 15 Jan 2027 08:00:00 GMT\r\n"
            + "Identity: \(header?.value ?? "")\r\n"
            + "Content-Type: application/sdp\r\n"
            + "Content-Length: \(sdp.utf8.count)\r\n\r\n" + sdp).utf8)

    Benchmark("SIP INVITE parse (1.1 KB, Identity + SDP)") { benchmark in
        let parser = SIPParser()
        for _ in benchmark.scaledIterations {
            blackHole(try parser.parse(invite))
        }
    }

    Benchmark("SIP INVITE parse + Identity header values") { benchmark in
        let parser = SIPParser()
        for _ in benchmark.scaledIterations {
            let message = try parser.parse(invite)
            blackHole(message.values("identity").map { try? IdentityHeader(parsing: $0) })
        }
    }
}

import Callsign
import Foundation
@testable import CallsignHTTP
import FuzzSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// The REST request reader: ``RawRequestHead`` frames the two hot requests
/// from their bytes in front of NIO's HTTP/1 decoder, so it must never take
/// what NIO refuses or read it differently (request smuggling is the risk of
/// a second parser): a head it calls hot is one NIO decodes with the same
/// method, target and Content-Length, without Transfer-Encoding. The bodies
/// it reads without a JSON tree mean what ``JSONParser`` reads from them.
func fuzzREST(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    let parsed = bytes.withUnsafeBytes { RawRequestHead.parse($0, maxHeadBytes: RawHotPathHandler.maxHeadBytes) }
    if case .head(let head) = parsed, head.hot {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
        var decoded: HTTPRequestHead?
        do {
            // That request's bytes alone: what follows is the next request, which each reader judges anew.
            try channel.writeInbound(ByteBuffer(bytes: bytes.prefix(head.headLength + head.contentLength)))
            if case .head(let nioHead)? = try channel.readInbound(as: HTTPServerRequestPart.self) { decoded = nioHead }
        } catch {
            Fuzz.check(false, "NIO refuses a head read as hot: \(error)")
        }
        _ = try? channel.finish()
        if let nio = decoded {
            Fuzz.check(nio.method == .POST, "method differs")
            Fuzz.check(nio.uri == (head.verification ? "/stir/v1/verification" : "/stir/v1/signing"), "target differs: \(nio.uri)")
            Fuzz.check(nio.version == .http1_1, "version differs")
            Fuzz.check(!nio.headers.contains(name: "transfer-encoding"), "Transfer-Encoding taken as hot")
            // 1*DIGIT (RFC 9110 §8.6): leading zeros allowed, the same number on both sides.
            let length = head.hasContentLength ? [head.contentLength] : []
            Fuzz.check(nio.headers["content-length"].map { Int($0.trimmingCharacters(in: [" ", "\t"])) } == length, "Content-Length differs: \(nio.headers["content-length"])")
            Fuzz.check(nio.headers["host"].count == 1, "Host count differs")
        }
    }
    // The body readers: the scan and the JSON tree agree wherever the scan reads.
    if let scanned = SigningFields.scan(bytes), case .success(let object) = STIService.parseBody(bytes, wrapper: "signingRequest") {
        Fuzz.check(values(scanned) == values(SigningFields(object)), "signing body read differently")
    }
    if let scanned = VerificationFields.scan(bytes), case .success(let request) = STIService.parseVerificationRequestFromTree(bytes) {
        Fuzz.check(scanned.from == request.call.orig && scanned.to == request.call.dest && scanned.time == request.call.date
                   && scanned.identity == request.identity, "verification body read differently")
    }
    return 0
}

func values(_ fields: SigningFields) -> String {
    func text<T>(_ result: Result<T, APIResponse>) -> String {
        switch result {
        case .success(let value): "\(value)"
        case .failure(let response): "error \(response.status) \(response.body)"
        }
    }
    return [text(fields.attest), text(fields.dest), text(fields.iat), text(fields.orig), text(fields.origid)].joined(separator: "|")
}

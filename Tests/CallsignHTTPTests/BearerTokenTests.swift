import CallsignTestSupport
@testable import CallsignHTTP
import HTTPTypes
import Testing

@Suite("Authorization: Bearer (RFC 6750 §2.1) as the signing endpoints read it")
struct BearerTokenTests {
    static func token(_ value: String?) -> String? {
        var fields = HTTPFields()
        if let value { fields[.authorization] = value }
        return HotPathRequestCheck.bearerToken(fields)
    }

    @Test("the scheme matches in any case, and the token comes without surrounding blanks")
    func accepted() {
        #expect(Self.token("Bearer cs_abc123") == "cs_abc123")
        #expect(Self.token("bearer cs_abc123") == "cs_abc123")
        #expect(Self.token("BEARER cs_abc123") == "cs_abc123")
        #expect(Self.token("Bearer   cs_abc123 \t") == "cs_abc123")
    }

    @Test("no header, another scheme, a missing space or an empty token give no usable token")
    func refused() {
        #expect(Self.token(nil) == nil)
        #expect(Self.token("Basic dXNlcjpwYXNz") == nil)
        #expect(Self.token("Bearercs_abc123") == nil)
        #expect(Self.token("Bearer") == nil)
        #expect(Self.token("Bearer ")?.isEmpty ?? true)
        #expect((Self.token("Bearer    ") ?? "").isEmpty)
        #expect(Self.token("Béarer cs_abc123") == nil)
    }
}

import Callsign
import Foundation
import Testing

@Suite("UUID text form (origid) checked on bytes")
struct UUIDTextTests {
    @Test("the 8-4-4-4-12 hex form in either case is accepted, and Foundation parses each accepted text to the same UUID")
    func acceptsTheTextForm() throws {
        var inputs = ["8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b", "8F4A1B2C-3D4E-4F50-8A6B-7C8D9E0F1A2B", "00000000-0000-0000-0000-000000000000"]
        for _ in 0..<500 {
            inputs.append(UUID().uuidString)
            inputs.append(UUID().uuidString.lowercased())
        }
        for input in inputs {
            #expect(UUIDText.isValid(input), "\(input)")
            let parsed = try #require(UUID(uuidString: input))
            #expect(parsed.uuidString == input.uppercased())
        }
    }

    @Test("anything else is refused, including what Foundation's sscanf-based parser lets through (blanks and signs inside a group)")
    func refusesTheRest() {
        let fixed = [
            "", "8f4a1b2c3d4e4f508a6b7c8d9e0f1a2b", "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2", "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2bb",
            "8f4a1b2c-3d4e-4f50-8a6b_7c8d9e0f1a2b", "{8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b}", " 8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b",
            "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b ", "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2g", "é4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b",
            // Foundation accepts these two (sscanf's %2hhx skips blanks and takes a sign).
            "A2FC7B62--8B4-43F3-9703-580B9387D829", "DD9FA300- 40E-4B76-88F2-58D8AAE9EBCA",
        ]
        for input in fixed { #expect(!UUIDText.isValid(input), "\(input)") }
        // One character of a valid UUID replaced by something that does not belong at its place.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            var characters = Array(UUID().uuidString)
            let position = Int.random(in: 0..<characters.count, using: &generator)
            let isDash = [8, 13, 18, 23].contains(position)
            characters[position] = (isDash ? Array("0aF x+") : Array("-gx +G")).randomElement(using: &generator) ?? " "
            #expect(!UUIDText.isValid(String(characters)), "\(String(characters))")
        }
    }
}

import XCTest
import Tensors
@testable import Reporting

/// `Escape.html` returns text without special characters as it is and escapes the rest, the same
/// as escaping every scalar one by one (the reference below).
final class EscapeTests: XCTestCase {
    private func reference(_ string: String) -> String {
        var out = ""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default: out.unicodeScalars.append(scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF ? "\u{FFFD}" : scalar)
            }
        }
        return out
    }

    func testPlainAndSpecialText() {
        let samples = ["", "conv2", "0.0123", "T-shirt/top", "Ankle boot", "élan · 28×28", "a&b", "<script>", "x > y", "say \"hi\"",
                       "it's", "tab\there", "line\nbreak", "bell\u{07}", "\u{FFFE}\u{FFFF}\u{FFFD}\u{F000}", "日本語", "emoji 🙂 & more"]
        for s in samples { XCTAssertEqual(Escape.html(s), reference(s), s.debugDescription) }
        var rng = Xoshiro256(seed: 11)
        let pool: [UInt32] = [0x9, 0x1F, 0x22, 0x26, 0x27, 0x3C, 0x3E, 0x41, 0xE9, 0xFFFD, 0xFFFE, 0xFFFF, 0x1F642]
        func pick(_ n: Int) -> Int { min(n - 1, Int(rng.nextUnitFloat() * Float(n))) }
        for _ in 0..<500 {
            let scalars = (0..<pick(13)).map { _ in Unicode.Scalar(pool[pick(pool.count)])! }
            let s = String(String.UnicodeScalarView(scalars))
            XCTAssertEqual(Escape.html(s), reference(s), s.debugDescription)
        }
    }
}

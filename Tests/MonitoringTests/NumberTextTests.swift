import XCTest
import Foundation
import Tensors
import Monitoring

/// `NumberText.printf` writes what `String(format:)` writes, for the formats the report and the
/// diagnoses use, on values that exercise rounding, signs, zeros and exponents.
final class NumberTextTests: XCTestCase {
    func testSameTextAsStringFormat() {
        var rng = Xoshiro256(seed: 9)
        var values: [Double] = [0, -0.0, 1, -1, 0.5, 1.5, 2.5, 0.0005, 0.00049999, 999.5, 1_000_000, 123_456.789, 1e-300, 1e300,
                                0.1 + 0.2, 1.0 / 3, -2.0 / 3, 0.9995, 99.95, 0.025, 4.6e-7]
        for _ in 0..<2000 {
            let exponent = Double(Int(rng.nextUnitFloat() * 24) - 12)
            values.append(Double(rng.nextGaussian()) * pow(10, exponent))
        }
        for format in ["%.3g", "%.2g", "%.4g", "%.2e", "%.1e", "%.0f", "%.1f", "%.2f", "%.4f", "%.0f%%", "%.1f%%"] {
            for v in values {
                XCTAssertEqual(NumberText.printf(format, v), String(format: format, v), "\(format) of \(v)")
            }
        }
        // Past the buffer: %f of a huge number takes the general road, to the same text.
        XCTAssertEqual(NumberText.printf("%.2f", 1e200), String(format: "%.2f", 1e200))
    }
}

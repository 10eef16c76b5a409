import XCTest
@testable import Tensors

/// The vectorized plane peak against its scalar definition: same value bits and position on every
/// size around the vector width, with ties, signed zeros, infinities and NaN; the sum within rounding.
final class PlanePeakTests: XCTestCase {
    func testMatchesTheScalarDefinition() {
        var rng = Xoshiro256(seed: 8)
        for count in [1, 2, 7, 8, 9, 15, 16, 17, 49, 196] {
            for variant in 0..<7 {
                // Small integers, so ties are common; the variants plant the edge cases.
                var plane = (0..<count).map { _ in Float(Int(rng.nextUnitFloat() * 5)) - 4 }
                let spot = Int(rng.nextUnitFloat() * Float(count)) % count
                switch variant {
                case 1: plane = plane.map { _ in 0 }; plane[spot] = -0.0           // zeros of both signs
                case 2: plane = plane.map { _ in -0.0 }; plane[spot] = 0.0
                case 3: plane[spot] = .nan                                         // scalar fallback
                case 4: plane[spot] = .infinity
                case 5: plane = plane.map { _ in -.infinity }
                case 6: plane[0] = .nan                                            // NaN first: it is the peak
                default: break
                }
                plane.withUnsafeBufferPointer { p in
                    let fast = PlanePeak(p.baseAddress!, count: count), slow = PlanePeak(scalar: p.baseAddress!, count: count)
                    let label = "count \(count), variant \(variant): \(plane)"
                    XCTAssertEqual(fast.value.bitPattern, slow.value.bitPattern, label)
                    XCTAssertEqual(fast.at, slow.at, label)
                    if slow.sum.isFinite {
                        XCTAssertEqual(fast.sum, slow.sum, accuracy: 1e-5 * Float(count), label)
                    } else {
                        XCTAssertEqual(fast.sum.isNaN, slow.sum.isNaN, label)
                    }
                }
            }
        }
    }
}

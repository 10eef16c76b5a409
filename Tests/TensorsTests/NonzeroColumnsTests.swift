import XCTest
@testable import Tensors

/// `nonzeroColumns` against its definition: the columns where some row's value is `!= 0`.
final class NonzeroColumnsTests: XCTestCase {
    func testMatchesThePerValueDefinition() {
        var rng = Xoshiro256(seed: 41)
        // Widths with and without a partial last vector; a few values per row nonzero, plus -0 (zero)
        // and NaN (nonzero) placed on purpose.
        for (rows, columns) in [(1, 8), (3, 13), (32, 784), (5, 3), (2, 17)] {
            var matrix = [Float](repeating: 0, count: rows * columns)
            for _ in 0..<(rows + columns / 10) {
                matrix[Int(rng.next() % UInt64(matrix.count))] = rng.nextGaussian()
            }
            matrix[Int(rng.next() % UInt64(matrix.count))] = -0.0
            if columns > 4 { matrix[(rows - 1) * columns + columns - 2] = .nan }
            let expected = (0..<columns).filter { q in (0..<rows).contains { matrix[$0 * columns + q] != 0 } }
            var scratch = [UInt32](repeating: 0xFFFF_FFFF, count: columns)  // stale content must not leak in
            var positions = [Int32](repeating: -1, count: columns)
            let found = nonzeroColumns(matrix, rows: rows, columns: columns, scratch: &scratch, positions: &positions)
            XCTAssertEqual(positions.prefix(found).map(Int.init), expected, "\(rows) x \(columns)")
        }
    }

    func testAllZeroAndAllNonzero() {
        var scratch = [UInt32](repeating: 0, count: 20), positions = [Int32](repeating: 0, count: 20)
        XCTAssertEqual(nonzeroColumns([Float](repeating: -0.0, count: 40), rows: 2, columns: 20, scratch: &scratch, positions: &positions), 0)
        XCTAssertEqual(nonzeroColumns([Float](repeating: 1e-38, count: 20), rows: 1, columns: 20, scratch: &scratch, positions: &positions), 20)
        XCTAssertEqual(positions.map(Int.init), Array(0..<20))
    }
}

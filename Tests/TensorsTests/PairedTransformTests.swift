import XCTest
@testable import Tensors

/// The structured transforms against the dense kernel they replace: the same transform within float
/// rounding, for whole vectors and leftover lanes, with and without accumulation; and only the
/// matrices with the pattern take them.
final class PairedTransformTests: XCTestCase {
    func testPairedEqualsDenseTransform() throws {
        for (m, r) in [(4, 5), (6, 3)] {
            let t = WinogradTransform(m: m, r: r)
            let bt = TransformMatrix(t.bt, rows: 8, cols: 8)
            guard case .pairedRows = bt.kernel else { return XCTFail("F(\(m), \(r))'s Bᵀ has the paired pattern") }
            XCTAssertNil(PairedTransform8(Array(repeating: 1, count: 64)), "a dense matrix does not")
            var rng = Xoshiro256(seed: UInt64(m))
            assertMatchesDense(bt, lanes: [8, 32, 13, 3], rng: &rng, "F(\(m), \(r)) Bᵀ")
            // Its transpose B, the backward's input-gradient transform, goes through the same structure.
            let b = TransformMatrix(t.bt, rows: 8, cols: 8, transposed: true)
            guard case .pairedRowsTransposed = b.kernel else { return XCTFail("F(\(m), \(r))'s B is Bᵀ's transpose") }
            assertMatchesDense(b, lanes: [8, 32, 13, 3], rng: &rng, "F(\(m), \(r)) B")
        }
    }

    /// The structured Aᵀ of F(4, 5) against the dense 4 x 8 kernel, the same way.
    func testPairedColumnsEqualsDenseTransform() throws {
        let t = WinogradTransform(m: 4, r: 5)
        let at = TransformMatrix(t.at, rows: 4, cols: 8)
        guard case .pairedColumns = at.kernel else { return XCTFail("F(4, 5)'s Aᵀ has the paired-column pattern") }
        let f63 = WinogradTransform(m: 6, r: 3)
        guard case .dense = TransformMatrix(f63.at, rows: 6, cols: 8).kernel else { return XCTFail("F(6, 3)'s 6 x 8 Aᵀ keeps the dense kernel") }
        guard case .dense = TransformMatrix(f63.at, rows: 6, cols: 8, transposed: true).kernel else { return XCTFail("and so does its A") }
        guard case .dense = TransformMatrix(f63.g, rows: 8, cols: 3).kernel else { return XCTFail("G is dense") }
        var rng = Xoshiro256(seed: 45)
        assertMatchesDense(at, lanes: [8, 64, 13, 3], rng: &rng, "F(4, 5) Aᵀ")
        // Its transpose A, the backward's output-gradient transform, goes through the same structure.
        let a = TransformMatrix(t.at, rows: 4, cols: 8, transposed: true)
        guard case .pairedColumnsTransposed = a.kernel else { return XCTFail("F(4, 5)'s A is Aᵀ's transpose") }
        assertMatchesDense(a, lanes: [8, 64, 13, 3], rng: &rng, "F(4, 5) A")
        guard case .dense = TransformMatrix([Float](repeating: 1, count: 32), rows: 8, cols: 4).kernel else { return XCTFail("a dense 8 x 4 matrix is dense") }
    }

    /// `matrix.apply` (its structured kernel; each test checks which one it is) against `transform8`
    /// with `matrix`'s coefficients, on random inputs and starting outputs, `lanes` floats apart.
    private func assertMatchesDense(_ matrix: TransformMatrix, lanes laneCounts: [Int], rng: inout Xoshiro256, _ label: String,
                                    file: StaticString = #filePath, line: UInt = #line) {
        for lanes in laneCounts {
            let input = (0..<(matrix.cols * lanes)).map { _ in rng.nextGaussian() }
            let start = (0..<(matrix.rows * lanes)).map { _ in rng.nextGaussian() }
            for accumulate in [false, true] {
                var fast = start, slow = start
                var sink = [Float](repeating: 0, count: lanes)
                input.withUnsafeBufferPointer { i in
                    fast.withUnsafeMutableBufferPointer { o in
                        sink.withUnsafeMutableBufferPointer { s in
                            matrix.apply(input: i.baseAddress!, inputStride: lanes, output: o.baseAddress!, outputStride: lanes,
                                         sink: s.baseAddress!, lanes: lanes, accumulate: accumulate)
                        }
                    }
                    matrix.padded.withUnsafeBufferPointer { k in
                        slow.withUnsafeMutableBufferPointer { o in
                            sink.withUnsafeMutableBufferPointer { s in
                                transform8(k.baseAddress!, input: i.baseAddress!, inputStride: lanes, cols: matrix.cols, output: o.baseAddress!,
                                           outputStride: lanes, rows: matrix.rows, sink: s.baseAddress!, lanes: lanes, accumulate: accumulate)
                            }
                        }
                    }
                }
                for (a, b) in zip(fast, slow) {
                    XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b)), "\(label) lanes \(lanes) accumulate \(accumulate)", file: file, line: line)
                }
                XCTAssertNotEqual(fast, start, file: file, line: line)
            }
        }
    }
}

import XCTest
import Tensors

/// `smallGEMM` (register-tiled SIMD8 FMA, OpenBLAS for widths that are not a multiple of 8)
/// against `naiveGEMM`, with A read in place as a matrix or as the transpose of one.
final class SmallGEMMTests: XCTestCase {
    private func compare(m: Int, n: Int, k: Int, transposedA: Bool, accumulate: Bool, rng: inout Xoshiro256,
                         file: StaticString = #filePath, line: UInt = #line) {
        let (padA, padB, padC) = (3, 5, 2)
        // A stored (m, k) with row stride k + padA, or (k, m) with row stride m + padA and read transposed.
        let lda = (transposedA ? m : k) + padA, ldb = n + padB, ldc = n + padC
        let a = randomArray((transposedA ? k : m) * lda, &rng)
        let b = randomArray(k * ldb, &rng)
        let c0 = randomArray(m * ldc, &rng)
        var fast = c0, slow = c0
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in fast.withUnsafeMutableBufferPointer { cp in
            smallGEMM(m: m, n: n, k: k, a: ap.baseAddress!, aRow: transposedA ? 1 : lda, aCol: transposedA ? lda : 1,
                      b: bp.baseAddress!, ldb: ldb, c: cp.baseAddress!, ldc: ldc, accumulate: accumulate)
        } } }
        naiveGEMM(transposeA: transposedA, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                  beta: accumulate ? 1 : 0, c: &slow, ldc: ldc)
        let label = "m=\(m) n=\(n) k=\(k) transposedA=\(transposedA) accumulate=\(accumulate)"
        assertClose(fast, slow, rtol: 1e-4, atol: 1e-5 * Float(max(k, 1)).squareRoot() * 10, label, file: file, line: line)
        for i in 0..<m { for j in n..<ldc where fast[i * ldc + j] != c0[i * ldc + j] {
            XCTFail("C padding written at (\(i), \(j)), \(label)", file: file, line: line)
        } }
    }

    /// Every tile shape (1-4 rows; 16 and 8 columns) and the edges between them: m from 1 to 9 and
    /// 64, widths 8 to 40 (whole 16-column tiles plus an 8-column one), k from 0 (C = 0, or C
    /// unchanged when accumulating) to 64; widths past a multiple of 8 (tiles, then the last columns
    /// one by one: 12, 17, 225 as in a conv window); and widths under 8 (OpenBLAS).
    func testMatchesNaiveOnEveryTileShape() {
        var rng = Xoshiro256(seed: 41)
        for m in [1, 2, 3, 4, 5, 6, 7, 8, 9, 64] {
            for n in [8, 16, 24, 32, 40, 64, 5, 12, 17, 225] {
                for k in [0, 1, 7, 32, 64] {
                    for transposedA in [false, true] { for accumulate in [false, true] {
                        compare(m: m, n: n, k: k, transposedA: transposedA, accumulate: accumulate, rng: &rng)
                    } }
                }
            }
        }
    }

    /// Hand example, so the oracle is pinned down: A = [1 2; 3 4] (2x2), B = the 2x8 matrix with rows
    /// 1...8 and 10, 20, ..., 80. Row i of A x B is A[i][0] * B[0] + A[i][1] * B[1]:
    /// row 0: j + 2 * 10j = 21j, row 1: 3j + 4 * 10j = 43j, for j = 1...8. Accumulating adds it again.
    func testHandExample() {
        let a: [Float] = [1, 2, 3, 4]
        let b: [Float] = (1...8).map(Float.init) + (1...8).map { Float(10 * $0) }
        var c = [Float](repeating: -1, count: 16)
        let expected = (1...8).map { Float(21 * $0) } + (1...8).map { Float(43 * $0) }
        for accumulate in [false, true] {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                smallGEMM(m: 2, n: 8, k: 2, a: ap.baseAddress!, aRow: 2, aCol: 1, b: bp.baseAddress!, ldb: 8,
                          c: cp.baseAddress!, ldc: 8, accumulate: accumulate)
            } } }
            XCTAssertEqual(c, accumulate ? expected.map { 2 * $0 } : expected)
        }
    }
}

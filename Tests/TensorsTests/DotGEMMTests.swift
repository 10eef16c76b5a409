import XCTest
@testable import Tensors

/// `dotGEMM` (C (+)= A · Bᵀ, rows of both contiguous) against the naive GEMM with a transposed B.
final class DotGEMMTests: XCTestCase {
    /// Every tile shape (1-4 rows of A, 1-2 rows of B) and the edges between them, k with and
    /// without a partial last vector (conv1's 784 and 49 among them), row strides past the row length.
    func testMatchesNaive() {
        var rng = Xoshiro256(seed: 51)
        for m in [1, 2, 3, 4, 5, 7, 32] {
            for n in [1, 2, 3, 25, 121] {
                for k in [0, 1, 7, 8, 13, 49, 784] {
                    for accumulate in [false, true] {
                        let (lda, ldb, ldc) = (k + 3, k + 1, n + 2)
                        let a = (0..<(m * lda)).map { _ in rng.nextGaussian() }, b = (0..<(n * ldb)).map { _ in rng.nextGaussian() }
                        let start = (0..<(m * ldc)).map { _ in rng.nextGaussian() }
                        var fast = start, slow = start
                        dotGEMM(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &fast, ldc: ldc, accumulate: accumulate)
                        naiveGEMM(transposeB: true, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                                  beta: accumulate ? 1 : 0, c: &slow, ldc: ldc)
                        for i in 0..<m {
                            for j in 0..<ldc {
                                let (x, y) = (fast[i * ldc + j], slow[i * ldc + j])
                                if j >= n { XCTAssertEqual(x, start[i * ldc + j], "padding written"); continue }
                                XCTAssertEqual(x, y, accuracy: 1e-4 * max(1, abs(y)) * Float(max(1, k)).squareRoot(), "m\(m) n\(n) k\(k) acc \(accumulate) (\(i), \(j))")
                            }
                        }
                    }
                }
            }
        }
    }
}

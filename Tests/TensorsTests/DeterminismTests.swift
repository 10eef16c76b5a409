import XCTest
@testable import Tensors

/// A GEMM's result must not depend on how many threads the ComputeBudget allows at that moment
/// (a background monitor pass shrinks it), or seeded training runs stop being reproducible.
final class DeterminismTests: XCTestCase {
    func testGEMMIsBitIdenticalWhateverTheBudget() {
        var rng = Xoshiro256(seed: 4)
        let (m, n, k) = (64, 1999, 800)   // above the panel threshold, odd width
        let a = (0..<(m * k)).map { _ in rng.nextGaussian() }, b = (0..<(k * n)).map { _ in rng.nextGaussian() }
        func run() -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                gemm(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n, c: cp.baseAddress!, ldc: n)
            } } }
            return c
        }
        let alone = run()
        let shared = ComputeBudget.sharing { ComputeBudget.sharing { run() } }   // budget 1 on any machine up to 3 cores
        XCTAssertEqual(alone.map(\.bitPattern), shared.map(\.bitPattern))
    }
}

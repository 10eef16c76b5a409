import XCTest
@testable import Tensors

/// The blocked SIMD transpose against the scalar definition, on the shapes around the Winograd
/// convolution and on every kind of edge: sides below 8 (scalar path), exact multiples of 8, and
/// partial last blocks on either side (overlapping blocks).
final class TransposeTests: XCTestCase {
    func testMatchesScalarTransposeOnEveryEdge() {
        var rng = Xoshiro256(seed: 4)
        for (rows, cols) in [(8, 8), (14, 64), (64, 14), (32, 14), (14, 32), (9, 17), (16, 8), (7, 20), (20, 3), (1, 1), (13, 13)] {
            let (srcRow, dstRow) = (cols + 3, rows + 5)  // strides wider than the block, so edges are visible
            // Values around zero, including -0.0 and a NaN, so rectification and bias bits are checked.
            var src = (0..<(rows * srcRow)).map { _ in rng.nextGaussian() }
            src[0] = -0.0
            if src.count > 5 { src[5] = .nan }
            let bias = (0..<cols).map { _ in rng.nextGaussian() * 0.5 }
            for (withBias, rectified) in [(false, false), (true, false), (false, true), (true, true)] {
                let sentinel: Float = 12345
                var fast = [Float](repeating: sentinel, count: cols * dstRow)
                var slow = fast
                for i in 0..<rows {
                    for j in 0..<cols {
                        var v = src[i * srcRow + j]
                        if withBias { v += bias[j] }
                        if rectified { v = v > 0 ? v : 0 }
                        slow[j * dstRow + i] = v
                    }
                }
                src.withUnsafeBufferPointer { s in
                    bias.withUnsafeBufferPointer { b in
                        fast.withUnsafeMutableBufferPointer { d in
                            transpose(rows: rows, cols: cols, s.baseAddress!, srcRow: srcRow, d.baseAddress!, dstRow: dstRow,
                                      bias: withBias ? b.baseAddress! : nil, rectified: rectified)
                        }
                    }
                }
                // Bit patterns: NaN compares unequal to itself, and -0.0 equal to 0.0.
                XCTAssertEqual(fast.map(\.bitPattern), slow.map(\.bitPattern),
                               "\(rows)x\(cols), bias \(withBias), rectified \(rectified)")
            }
        }
    }
}

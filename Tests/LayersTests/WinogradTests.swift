import XCTest
import Tensors
import Layers

/// Winograd F(m, r): the transforms compute a correlation, and the convolution built on them
/// agrees with the direct loops of `NaiveKernels` in value and in all three gradients.
final class WinogradTests: XCTestCase {
    /// y = Aᵀ [(G g) ⊙ (Bᵀ d)] equals y_i = Σ_k g_k d_{i+k}, worked in Double from the Float
    /// matrices, for every tile size the project uses and a few it does not.
    func testTransformsComputeCorrelation() {
        var rng = Xoshiro256(seed: 500)
        for (m, r) in [(2, 3), (4, 3), (6, 3), (2, 5), (4, 5), (1, 1), (3, 2)] {
            let t = WinogradTransform(m: m, r: r)
            XCTAssertEqual(t.n, m + r - 1)
            let g = randomArray(r, &rng).map(Double.init), d = randomArray(t.n, &rng).map(Double.init)
            let gg = (0..<t.n).map { i in (0..<r).reduce(0.0) { $0 + Double(t.g[i * r + $1]) * g[$1] } }
            let bd = (0..<t.n).map { i in (0..<t.n).reduce(0.0) { $0 + Double(t.bt[i * t.n + $1]) * d[$1] } }
            for i in 0..<m {
                let y = (0..<t.n).reduce(0.0) { $0 + Double(t.at[i * t.n + $1]) * gg[$1] * bd[$1] }
                let expected = (0..<r).reduce(0.0) { $0 + g[$1] * d[i + $1] }
                XCTAssertEqual(y, expected, accuracy: 1e-5 * max(1, abs(expected)), "F(\(m), \(r)) output \(i)")
            }
        }
    }

    /// F(2, 3) with points 0, 1, -1 and infinity is Lavin & Gray's published example, up to the
    /// sign and scale of each transform-domain row: Bᵀ rows must match theirs up to a factor.
    func testF23MatchesLavinAndGray() {
        let t = WinogradTransform(m: 2, r: 3)
        let published: [[Float]] = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
        for (row, expected) in published.enumerated() {
            let mine = Array(t.bt[(row * 4)..<(row * 4 + 4)])
            let pivot = expected.firstIndex { $0 != 0 }!
            let factor = mine[pivot] / expected[pivot]
            XCTAssertNotEqual(factor, 0)
            for j in 0..<4 { XCTAssertEqual(mine[j], factor * expected[j], accuracy: 1e-6, "Bᵀ row \(row)") }
        }
        XCTAssertEqual(t.at, [1, 1, 1, 0, 0, 1, -1, 1])
    }

    /// `transformTile` computes L · X · Rᵀ lane by lane, for every matrix size up to 8 x 8, lane
    /// counts below, at and past the SIMD width, strided layouts, and accumulation.
    func testTransformTileMatchesMatrixProduct() {
        var rng = Xoshiro256(seed: 520)
        for (lr, lc, rr, rc, lanes) in [(8, 8, 8, 8, 8), (4, 8, 4, 8, 32), (8, 4, 8, 4, 13), (6, 8, 6, 8, 3), (8, 5, 8, 3, 17), (1, 1, 1, 1, 1)] {
            let l = randomArray(lr * lc, &rng), r = randomArray(rr * rc, &rng)
            // Input (lc, rc) elements of `lanes`, rows 3 elements apart to exercise the strides.
            let inRow = (rc + 3) * lanes, x = randomArray(lc * inRow, &rng)
            let outRow = (rr + 1) * lanes, outCol = lanes
            for accumulate in [false, true] {
                let start = randomArray(lr * outRow, &rng)
                var out = start
                var scratch = [Float](repeating: .nan, count: transformTileScratchLines * lanes)
                transformTile(TransformMatrix(l, rows: lr, cols: lc), TransformMatrix(r, rows: rr, cols: rc),
                              input: x, inputRowStride: inRow, inputColStride: lanes,
                              output: &out, outputRowStride: outRow, outputColStride: outCol,
                              lanes: lanes, scratch: &scratch, accumulate: accumulate)
                for o in 0..<lr { for j in 0..<rr { for c in 0..<lanes {
                    var expected = accumulate ? Double(start[o * outRow + j * outCol + c]) : 0
                    for i in 0..<lc { for q in 0..<rc {
                        expected += Double(l[o * lc + i]) * Double(x[i * inRow + q * lanes + c]) * Double(r[j * rc + q])
                    } }
                    XCTAssertEqual(Double(out[o * outRow + j * outCol + c]), expected, accuracy: 1e-4 * max(1, abs(expected)),
                                   "\(lr)x\(lc) . X . (\(rr)x\(rc))ᵀ, \(lanes) lanes, accumulate \(accumulate): (\(o), \(j), \(c))")
                } } }
                // Nothing outside the (lr, rr) elements is written.
                for o in 0..<lr { for c in (rr * outCol)..<outRow { XCTAssertEqual(out[o * outRow + c], start[o * outRow + c]) } }
            }
        }
    }

    /// Only stride-1 3x3 and 5x5 kernels over at least 8 channels take the Winograd path.
    func testEligibility() {
        func conv(_ c: Int, _ k: Int, _ s: Int) -> Conv2D {
            Conv2D(name: "c", shape: ConvShape(channels: c, height: 14, width: 14, window: WindowGeometry(kernel: k, stride: s, padding: k / 2))!, outChannels: 8)
        }
        XCTAssertTrue(conv(32, 5, 1).usesWinograd)
        XCTAssertTrue(conv(8, 3, 1).usesWinograd)
        XCTAssertFalse(conv(1, 5, 1).usesWinograd)   // zf-fmnist's conv1: im2col
        XCTAssertFalse(conv(32, 5, 2).usesWinograd)
        XCTAssertFalse(conv(32, 7, 1).usesWinograd)
    }

    /// Float32 error of the zf-fmnist conv2 forward (5x5, 32 -> 64, 14 x 14, F(4, 5)) against the
    /// Double loops, relative to the largest output: the bound the tile-size choice rests on.
    func testForwardErrorAtConv2Scale() {
        var rng = Xoshiro256(seed: 510)
        let conv = makeConv(channels: 32, height: 14, width: 14, filters: 64, kernel: 5, stride: 1, padding: 2, rng: &rng)
        conv.weight.value = randomTensor(conv.weight.value.shape, &rng, scale: 0.05)
        let raw = randomTensor([2, 32, 14, 14], &rng)
        let x = Tensor(shape: raw.shape, data: raw.data.map { max($0, 0) })   // post-ReLU inputs, as in the network
        let y = conv.forward(x, mode: .inference)
        let expected = NaiveKernels.conv2d(x, weight: conv.weight.value, bias: conv.bias.value, window: conv.shape.window)
        var worst: Float = 0, peak: Float = 0
        for i in 0..<y.count { worst = max(worst, abs(y.data[i] - expected.data[i])); peak = max(peak, abs(expected.data[i])) }
        XCTAssertLessThan(worst / peak, 2e-5, "max error \(worst) at peak \(peak)")
    }
}

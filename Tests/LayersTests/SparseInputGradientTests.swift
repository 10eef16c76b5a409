import XCTest
import Tensors
@testable import Layers

/// Conv2D's column-sparse input gradient (used when few output positions carry signal, as in a
/// deconvnet projection) against the naive transposed convolution.
final class SparseInputGradientTests: XCTestCase {
    func testSparseSeedsMatchTheNaiveTransposedConvolution() {
        var rng = Xoshiro256(seed: 21)
        for (k, s, p) in [(5, 1, 2), (3, 2, 1), (11, 4, 5), (4, 2, 0)] {
            let window = WindowGeometry(kernel: k, stride: s, padding: p)
            let conv = Conv2D(name: "c", shape: ConvShape(channels: 3, height: 13, width: 11, window: window)!, outChannels: 5)
            for i in 0..<conv.weight.value.count { conv.weight.value.data[i] = rng.nextGaussian() }
            let n = 4
            var dy = Tensor(zeros: [n] + conv.outputShape)
            // One or two active positions per image, some channels zero: well under the 25% density limit.
            let positions = conv.shape.outputPositions
            for j in 0..<n {
                for _ in 0..<(1 + j % 2) {
                    let pos = Int(rng.next() % UInt64(positions)), o = Int(rng.next() % 5)
                    dy.data[(j * 5 + o) * positions + pos] = rng.nextGaussian()
                }
            }
            let fast = conv.backward(dy, rule: .deconvnet, accumulateParameterGradients: false)
            let naive = NaiveKernels.conv2dTransposed(dy, weight: conv.weight.value, inputShape: [n, 3, 13, 11], window: window)
            XCTAssertEqual(fast.shape, naive.shape)
            for i in 0..<naive.count { XCTAssertEqual(fast.data[i], naive.data[i], accuracy: 1e-4, "k\(k) s\(s) p\(p) at \(i)") }
        }
    }

    /// Images are scanned in groups, one per core: when one group's images are dense (here image 0,
    /// every position active) the whole batch takes the dense path, and either way the result is the
    /// transposed convolution. `sparseInputGradient` itself answers nil for this batch and not for
    /// the same batch without image 0's signal.
    func testOneDenseImageSendsTheBatchToTheDensePath() {
        var rng = Xoshiro256(seed: 22)
        let window = WindowGeometry(kernel: 3, stride: 1, padding: 1)
        let conv = Conv2D(name: "c", shape: ConvShape(channels: 2, height: 7, width: 6, window: window)!, outChannels: 3)
        for i in 0..<conv.weight.value.count { conv.weight.value.data[i] = rng.nextGaussian() }
        let n = 5, positions = conv.shape.outputPositions
        var dy = Tensor(zeros: [n] + conv.outputShape)
        for j in 1..<n { dy.data[(j * 3 + j % 3) * positions + (7 * j) % positions] = rng.nextGaussian() }
        XCTAssertNotNil(conv.sparseInputGradient(dy))
        for q in 0..<(3 * positions) { dy.data[q] = rng.nextGaussian() }
        XCTAssertNil(conv.sparseInputGradient(dy))
        let fast = conv.backward(dy, rule: .deconvnet, accumulateParameterGradients: false)
        let naive = NaiveKernels.conv2dTransposed(dy, weight: conv.weight.value, inputShape: [n, 2, 7, 6], window: window)
        for i in 0..<naive.count { XCTAssertEqual(fast.data[i], naive.data[i], accuracy: 1e-4, "at \(i)") }
    }

    func testAllZeroSeedGivesZeros() {
        let conv = Conv2D(name: "c", shape: ConvShape(channels: 2, height: 6, width: 6, window: WindowGeometry(kernel: 3, stride: 1, padding: 1))!, outChannels: 3)
        let dx = conv.backward(Tensor(zeros: [2, 3, 6, 6]), rule: .deconvnet, accumulateParameterGradients: false)
        XCTAssertEqual(dx, Tensor(zeros: [2, 2, 6, 6]))
    }
}

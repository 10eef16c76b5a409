import XCTest
import Tensors
import Layers

/// dW[o, c, ky, kx] = sum over (n, oy, ox) of dy[n, o, oy, ox] * x[n, c, oy*s - p + ky, ox*s - p + kx],
/// db[o] = sum of dy[n, o, ., .]: direct loops, the oracle for Conv2D's GEMM weight gradient.
func naiveConvParameterGradients(x: Tensor, dy: Tensor, filters f: Int, window: WindowGeometry) -> (weight: Tensor, bias: Tensor) {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let k = window.kernel, oh = dy.shape[2], ow = dy.shape[3]
    var dw = [Double](repeating: 0, count: f * c * k * k), db = [Double](repeating: 0, count: f)
    for b in 0..<n { for o in 0..<f { for oy in 0..<oh { for ox in 0..<ow {
        let g = Double(dy.data[((b * f + o) * oh + oy) * ow + ox])
        db[o] += g
        for ci in 0..<c { for ky in 0..<k { for kx in 0..<k {
            let iy = oy * window.stride - window.padding + ky, ix = ox * window.stride - window.padding + kx
            guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
            dw[((o * c + ci) * k + ky) * k + kx] += g * Double(x.data[((b * c + ci) * h + iy) * w + ix])
        } } }
    } } } }
    return (Tensor(shape: [f, c, k, k], data: dw.map(Float.init)), Tensor(shape: [f], data: db.map(Float.init)))
}

final class Conv2DTests: XCTestCase {
    /// Forward vs NaiveKernels.conv2d, backward input gradient vs NaiveKernels.conv2dTransposed,
    /// parameter gradients vs the loops above, for one configuration.
    private func compareWithNaive(n: Int, c: Int, h: Int, w: Int, f: Int, k: Int, s: Int, p: Int,
                                  seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        var rng = Xoshiro256(seed: seed)
        let label = "N\(n) C\(c) H\(h) W\(w) F\(f) k\(k) s\(s) p\(p)"
        let conv = makeConv(channels: c, height: h, width: w, filters: f, kernel: k, stride: s, padding: p, rng: &rng)
        let window = WindowGeometry(kernel: k, stride: s, padding: p)
        let x = randomTensor([n, c, h, w], &rng)
        let y = conv.forward(x, mode: .inference)
        let expected = NaiveKernels.conv2d(x, weight: conv.weight.value, bias: conv.bias.value, window: window)
        XCTAssertEqual(y.shape, [n, f, window.outputLength(h)!, window.outputLength(w)!], label, file: file, line: line)
        assertClose(y, expected, rtol: 1e-4, atol: 1e-4, "forward \(label)", file: file, line: line)

        let dy = randomTensor(y.shape, &rng)
        conv.weight.gradient = Tensor(zeros: conv.weight.value.shape)
        conv.bias.gradient = Tensor(zeros: [f])
        let dx = conv.backward(dy, rule: .gradient, accumulateParameterGradients: true)
        let expectedDx = NaiveKernels.conv2dTransposed(dy, weight: conv.weight.value, inputShape: x.shape, window: window)
        assertClose(dx, expectedDx, rtol: 1e-4, atol: 1e-4, "input gradient \(label)", file: file, line: line)
        let (dw, db) = naiveConvParameterGradients(x: x, dy: dy, filters: f, window: window)
        // Sums over N*outH*outW float32 products: allow for their length.
        let atol = 1e-5 * Float(n * y.shape[2] * y.shape[3]).squareRoot() * 10
        assertClose(conv.weight.gradient, dw, rtol: 1e-4, atol: atol, "weight gradient \(label)", file: file, line: line)
        assertClose(conv.bias.gradient, db, rtol: 1e-4, atol: atol, "bias gradient \(label)", file: file, line: line)

        // A second backward accumulates: the parameter gradients double, dx does not.
        let dx2 = conv.backward(dy, rule: .gradient, accumulateParameterGradients: true)
        XCTAssertEqual(dx2, dx, "backward is repeatable \(label)", file: file, line: line)
        assertClose(conv.weight.gradient, Tensor(shape: dw.shape, data: dw.data.map { 2 * $0 }), rtol: 1e-4, atol: 2 * atol,
                    "accumulated weight gradient \(label)", file: file, line: line)
        assertClose(conv.bias.gradient, Tensor(shape: db.shape, data: db.data.map { 2 * $0 }), rtol: 1e-4, atol: 2 * atol,
                    "accumulated bias gradient \(label)", file: file, line: line)
    }

    /// N=3, C=2, H=7, W=9, 3x3 kernels at strides 1, 2, 4 and paddings 0, 1, 2, 5 (padding 5 > kernel:
    /// whole windows of zeros), plus 1x1, 5x5/3 and AlexNet's 11x11/4/5.
    func testForwardAndBackwardMatchNaiveKernels() {
        var seed: UInt64 = 100
        for s in [1, 2, 4] {
            for p in [0, 1, 2, 5] {
                compareWithNaive(n: 3, c: 2, h: 7, w: 9, f: 4, k: 3, s: s, p: p, seed: seed)
                seed += 1
            }
        }
        compareWithNaive(n: 3, c: 2, h: 7, w: 9, f: 3, k: 1, s: 1, p: 0, seed: 120)
        compareWithNaive(n: 2, c: 3, h: 9, w: 8, f: 2, k: 5, s: 3, p: 2, seed: 121)
        compareWithNaive(n: 3, c: 1, h: 28, w: 28, f: 4, k: 11, s: 4, p: 5, seed: 122)
        compareWithNaive(n: 2, c: 2, h: 13, w: 15, f: 3, k: 11, s: 4, p: 5, seed: 123)
        compareWithNaive(n: 1, c: 2, h: 3, w: 3, f: 2, k: 3, s: 1, p: 0, seed: 124)   // a single output position
    }

    /// Conv2D processes images in chunks of max(1, 4M / (C*k*k * outH*outW)) per GEMM. With
    /// C*k*k = 121 and outH*outW = 120*120 = 14400 the chunk is 4194304 / 1742400 = 2 images, so
    /// N = 3 runs a full chunk and a partial one; the weight gradient must accumulate across them.
    /// The second shape (C*k*k = 50, outH*outW = 96*96 = 9216: 288 at 5/3/2) has chunk 4194304 / 460800 = 9, N = 10.
    func testBatchesCrossingTheChunkBoundary() {
        compareWithNaive(n: 3, c: 1, h: 120, w: 120, f: 2, k: 11, s: 1, p: 5, seed: 130)
        compareWithNaive(n: 10, c: 2, h: 288, w: 288, f: 1, k: 5, s: 3, p: 2, seed: 131)
    }

    /// The Winograd path (stride 1, 3x3 and 5x5, C >= 8): sizes that are and are not multiples
    /// of the output tile, paddings 0 to 2, output smaller than one tile, and batches that
    /// cross its chunks of images (zf-fmnist's conv2 shape: 16 tiles per image, chunks of 4).
    func testWinogradPathMatchesNaiveKernels() {
        compareWithNaive(n: 3, c: 8, h: 9, w: 7, f: 5, k: 3, s: 1, p: 1, seed: 150)
        compareWithNaive(n: 2, c: 9, h: 12, w: 12, f: 8, k: 3, s: 1, p: 0, seed: 151)
        compareWithNaive(n: 2, c: 8, h: 4, w: 4, f: 3, k: 3, s: 1, p: 1, seed: 152)
        compareWithNaive(n: 3, c: 8, h: 11, w: 13, f: 4, k: 5, s: 1, p: 2, seed: 153)
        compareWithNaive(n: 2, c: 10, h: 8, w: 8, f: 6, k: 5, s: 1, p: 0, seed: 154)
        compareWithNaive(n: 2, c: 8, h: 5, w: 6, f: 2, k: 5, s: 1, p: 1, seed: 155)
        compareWithNaive(n: 19, c: 8, h: 14, w: 14, f: 8, k: 5, s: 1, p: 2, seed: 156)
    }

    /// The direct path (stride 1, at most 3 channels, output rows of 8 or more): zf-fmnist's conv1,
    /// filter counts that are not multiples of 8, three channels, rows of exactly 8 and of 8 + 1
    /// (the last vector overlapping), and padding wider than the kernel.
    func testDirectPathMatchesNaiveKernels() {
        var rng = Xoshiro256(seed: 1)
        for (c, h, w, k, p) in [(1, 28, 28, 5, 2), (3, 32, 32, 5, 2), (1, 8, 8, 1, 0), (2, 9, 10, 3, 0), (1, 6, 6, 3, 2)] {
            let conv = makeConv(channels: c, height: h, width: w, filters: 3, kernel: k, stride: 1, padding: p, rng: &rng)
            XCTAssertTrue(conv.usesDirect, "C\(c) H\(h) W\(w) k\(k) p\(p)")
        }
        XCTAssertFalse(makeConv(channels: 4, height: 9, width: 9, filters: 3, kernel: 3, stride: 1, padding: 1, rng: &rng).usesDirect)
        XCTAssertFalse(makeConv(channels: 1, height: 9, width: 9, filters: 3, kernel: 3, stride: 2, padding: 1, rng: &rng).usesDirect)
        XCTAssertFalse(makeConv(channels: 1, height: 9, width: 7, filters: 3, kernel: 3, stride: 1, padding: 1, rng: &rng).usesDirect)
        compareWithNaive(n: 3, c: 1, h: 28, w: 28, f: 32, k: 5, s: 1, p: 2, seed: 160)
        compareWithNaive(n: 2, c: 1, h: 28, w: 28, f: 13, k: 5, s: 1, p: 2, seed: 161)
        compareWithNaive(n: 2, c: 3, h: 32, w: 32, f: 10, k: 5, s: 1, p: 2, seed: 162)
        compareWithNaive(n: 2, c: 2, h: 10, w: 10, f: 5, k: 3, s: 1, p: 0, seed: 163)
        compareWithNaive(n: 3, c: 1, h: 9, w: 7, f: 9, k: 1, s: 1, p: 1, seed: 164)
        compareWithNaive(n: 1, c: 1, h: 6, w: 6, f: 4, k: 3, s: 1, p: 3, seed: 165)
    }

    /// Batch results do not depend on the batch: each image of a batch equals that image alone.
    func testBatchEqualsImagesOneByOne() {
        var rng = Xoshiro256(seed: 140)
        let conv = makeConv(channels: 2, height: 7, width: 9, filters: 3, kernel: 3, stride: 2, padding: 1, rng: &rng)
        let x = randomTensor([4, 2, 7, 9], &rng)
        let batch = conv.forward(x, mode: .inference)
        for i in 0..<4 {
            let one = conv.forward(x.slice(i..<(i + 1)), mode: .inference)
            assertClose(one, batch.slice(i..<(i + 1)), rtol: 1e-5, atol: 1e-5, "image \(i)")
        }
    }

    /// Hand example: x = arange(16) as 4x4, one all-ones 2x2 filter, bias 1:
    /// y[i][j] = x[i][j] + x[i][j+1] + x[i+1][j] + x[i+1][j+1] + 1 = 16i + 4j + 11.
    func testHandExample() {
        let conv = Conv2D(name: "c", shape: ConvShape(channels: 1, height: 4, width: 4, window: WindowGeometry(kernel: 2, stride: 1, padding: 0))!, outChannels: 1)
        conv.weight.value = Tensor(shape: [1, 1, 2, 2], repeating: 1)
        conv.bias.value = Tensor(shape: [1], data: [1])
        let y = conv.forward(Tensor(shape: [1, 1, 4, 4], data: (0..<16).map(Float.init)), mode: .inference)
        XCTAssertEqual(y, Tensor(shape: [1, 1, 3, 3], data: [11, 15, 19, 27, 31, 35, 43, 47, 51]))
        XCTAssertEqual(conv.outputShape, [1, 3, 3])
        XCTAssertEqual(conv.inputShape, [1, 4, 4])
    }
}

import XCTest
import Tensors
import Layers

/// Switches written independently of MaxPool2D: list a window's in-bounds positions in row-major
/// order, take the maximum, and the first position holding it (PyTorch's tie rule).
func referenceSwitches(_ x: Tensor, window g: WindowGeometry) -> [Int32] {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let oh = g.outputLength(h)!, ow = g.outputLength(w)!
    var out: [Int32] = []
    for plane in 0..<(n * c) { for oy in 0..<oh { for ox in 0..<ow {
        var positions: [Int] = []
        for ky in 0..<g.kernel { for kx in 0..<g.kernel {
            let iy = oy * g.stride - g.padding + ky, ix = ox * g.stride - g.padding + kx
            if (0..<h).contains(iy) && (0..<w).contains(ix) { positions.append(iy * w + ix) }
        } }
        let values = positions.map { x.data[plane * h * w + $0] }
        let best = values.max()!
        out.append(Int32(positions[values.firstIndex(of: best)!]))
    } } }
    return out
}

final class MaxPool2DTests: XCTestCase {
    private func pool(_ shape: [Int], _ k: Int, _ s: Int, _ p: Int) -> MaxPool2D {
        MaxPool2D(inputShape: shape, window: WindowGeometry(kernel: k, stride: s, padding: p))!
    }

    private func checkAgainstReference(_ x: Tensor, k: Int, s: Int, p: Int, _ label: String,
                                       file: StaticString = #filePath, line: UInt = #line) {
        let window = WindowGeometry(kernel: k, stride: s, padding: p)
        let layer = pool(Array(x.shape.dropFirst()), k, s, p)
        let y = layer.forward(x, mode: .inference)
        // A maximum is exact: equality, not tolerance.
        XCTAssertEqual(y, NaiveKernels.maxPool2d(x, window: window), "values \(label)", file: file, line: line)
        XCTAssertEqual(layer.switches, referenceSwitches(x, window: window), "switches \(label)", file: file, line: line)
        let plane = x.shape[2] * x.shape[3], outPlane = y.shape[2] * y.shape[3]
        for o in 0..<y.count where x.data[(o / outPlane) * plane + Int(layer.switches[o])] != y.data[o] {
            XCTFail("output \(o) is not the value at its switch, \(label)", file: file, line: line)
            break
        }
    }

    /// Random inputs, overlapping (3/2/1, 3/1/1, 5/2/2), tiling (2/2, 3/3) and gapped (1/1, 2/3) windows.
    func testMatchesNaiveKernelAndReferenceSwitches() {
        var rng = Xoshiro256(seed: 200)
        for (k, s, p) in [(2, 2, 0), (3, 2, 1), (3, 1, 1), (3, 3, 0), (5, 2, 2), (2, 1, 1), (4, 3, 2), (1, 1, 0), (3, 2, 0), (2, 3, 0)] {
            checkAgainstReference(randomTensor([2, 3, 7, 9], &rng), k: k, s: s, p: p, "k\(k) s\(s) p\(p)")
        }
        // More planes (75) than the 64 parallel workers, so workers take several planes each.
        checkAgainstReference(randomTensor([5, 15, 5, 6], &rng), k: 3, s: 2, p: 1, "75 planes")
    }

    /// Ties go to the first maximum in row-major window order: on a constant image, every switch is its
    /// window's first in-bounds element (max(oy*s - p, 0), max(ox*s - p, 0)), never a padded position.
    func testTiesGoToTheFirstInBoundsElement() {
        for (k, s, p) in [(3, 2, 1), (3, 1, 1), (2, 2, 1), (2, 2, 0)] {
            let (h, w) = (6, 7)
            let layer = pool([1, h, w], k, s, p)
            let y = layer.forward(Tensor(shape: [1, 1, h, w], repeating: 0.25), mode: .inference)
            XCTAssertTrue(y.data.allSatisfy { $0 == 0.25 })
            for oy in 0..<layer.outHeight { for ox in 0..<layer.outWidth {
                let expected = max(oy * s - p, 0) * w + max(ox * s - p, 0)
                XCTAssertEqual(Int(layer.switches[oy * layer.outWidth + ox]), expected, "k\(k) s\(s) p\(p) at (\(oy), \(ox))")
            } }
        }
        // Many ties among small integers: compare with the reference.
        var rng = Xoshiro256(seed: 201)
        let x = Tensor(shape: [2, 2, 7, 8], data: (0..<224).map { _ in Float(randomInt(3, &rng)) })
        checkAgainstReference(x, k: 3, s: 2, p: 1, "ties")
        checkAgainstReference(x, k: 3, s: 1, p: 1, "ties stride 1")
    }

    /// The presets' planes (28x28 and 14x14 under 3/2/1) and odd sizes, for both kernels: the stride-2
    /// one (3/2, 2/2, eight output columns per vector) and the separable one (3/1 has its own compiled
    /// copy, 5/3 none; where each input row is exactly outW*s wide its row pass runs over all rows at
    /// once). Values are small integers, so most windows hold ties.
    func testWholeRowPathsWithTiesAgainstReference() {
        var rng = Xoshiro256(seed: 203)
        for (h, w) in [(28, 28), (14, 14), (9, 11), (8, 7)] {
            let x = Tensor(shape: [2, 3, h, w], data: (0..<(6 * h * w)).map { _ in Float(randomInt(4, &rng)) })
            for (k, s, p) in [(3, 2, 1), (3, 2, 0), (2, 2, 0), (2, 2, 1), (3, 1, 1), (3, 1, 0), (5, 3, 2)] {
                checkAgainstReference(x, k: k, s: s, p: p, "\(h)x\(w) k\(k) s\(s) p\(p)")
            }
        }
    }

    /// The stride-2 kernel pads rows to whole vectors of eight outputs: every width from 1 to 40 (one
    /// to three vectors, partial and whole) and short heights, with and without padding (without, an
    /// odd last row lies in no window), against the reference, ties included.
    func testStrideTwoKernelAtEveryVectorBoundary() {
        var rng = Xoshiro256(seed: 205)
        for h in [1, 2, 3, 4, 5, 8] {
            for w in 1...40 {
                let x = Tensor(shape: [1, 2, h, w], data: (0..<(2 * h * w)).map { _ in Float(randomInt(3, &rng)) - 1 })
                for (k, p) in [(3, 1), (3, 0), (2, 0), (2, 1)] where h + 2 * p >= k && w + 2 * p >= k {
                    checkAgainstReference(x, k: k, s: 2, p: p, "\(h)x\(w) k\(k) s2 p\(p)")
                }
            }
        }
    }

    /// NaN never compares greater, so it is skipped: a window's output is the maximum of its other
    /// values, and a window of only NaN and -inf gives -inf at its first in-bounds element. Expected
    /// values from a per-window scan written here (strict `>` from -inf, in row-major order).
    func testNaNIsSkippedAndAllNaNWindowsGiveMinusInfinity() {
        var rng = Xoshiro256(seed: 204)
        for (h, w) in [(14, 14), (7, 9)] {
            var values = (0..<(2 * h * w)).map { _ in Float(randomInt(5, &rng)) - 2 }
            for i in values.indices where randomInt(4, &rng) == 0 { values[i] = .nan }
            for i in values.indices where randomInt(9, &rng) == 0 { values[i] = -.infinity }
            for i in 0..<(3 * w) { values[i] = i % 2 == 0 ? .nan : -.infinity }   // the top rows: no finite value
            let x = Tensor(shape: [1, 2, h, w], data: values)
            for (k, s, p) in [(3, 2, 1), (2, 2, 0), (3, 1, 1)] {
                let layer = pool([2, h, w], k, s, p)
                let y = layer.forward(x, mode: .inference)
                var checked = 0
                for plane in 0..<2 { for oy in 0..<layer.outHeight { for ox in 0..<layer.outWidth {
                    var best = -Float.infinity, at = max(oy * s - p, 0) * w + max(ox * s - p, 0)
                    for iy in max(oy * s - p, 0)..<min(oy * s - p + k, h) { for ix in max(ox * s - p, 0)..<min(ox * s - p + k, w) {
                        let v = values[(plane * h + iy) * w + ix]
                        if v > best { best = v; at = iy * w + ix }
                    } }
                    let o = (plane * layer.outHeight + oy) * layer.outWidth + ox
                    XCTAssertEqual(y.data[o].bitPattern, best.bitPattern, "value k\(k) s\(s) p\(p) \(h)x\(w) at \(o)")
                    XCTAssertEqual(Int(layer.switches[o]), at, "switch k\(k) s\(s) p\(p) \(h)x\(w) at \(o)")
                    if best == -.infinity { checked += 1 }
                } } }
                XCTAssertGreaterThan(checked, 0, "some window must hold no finite value (k\(k) s\(s) p\(p))")
            }
        }
    }

    /// Padding is -inf: on an all-negative image the border outputs stay negative (a zero padding
    /// would win with 0).
    func testPaddingNeverWinsOnNegativeInputs() {
        var rng = Xoshiro256(seed: 202)
        let x = Tensor(shape: [2, 2, 7, 9], data: (0..<252).map { _ in -1 - abs(rng.nextGaussian()) })
        for (k, s, p) in [(3, 2, 1), (2, 2, 1), (5, 1, 2)] {
            let y = pool([2, 7, 9], k, s, p).forward(x, mode: .inference)
            XCTAssertTrue(y.data.allSatisfy { $0 <= -1 }, "k\(k) s\(s) p\(p): padding won")
            checkAgainstReference(x, k: k, s: s, p: p, "negative k\(k) s\(s) p\(p)")
        }
    }

    /// Hand example of overlapping windows sharing a switch. Map v[i][j] = 16i + 4j + 10 (3x3, rising
    /// along both axes), kernel 3, stride 1, padding 1: each window's maximum is its bottom-right
    /// in-bounds corner (min(oy+1, 2), min(ox+1, 2)):
    ///   values   [30 34 34; 46 50 50; 46 50 50]
    ///   switches [ 4  5  5;  7  8  8;  7  8  8]   (flat y*3 + x)
    /// Backward of dy = 1...9 adds at each switch: x4 <- 1, x5 <- 2+3 = 5, x7 <- 4+7 = 11,
    /// x8 <- 5+6+8+9 = 28.
    func testOverlappingWindowsHandExample() {
        let layer = pool([1, 3, 3], 3, 1, 1)
        let v = Tensor(shape: [1, 1, 3, 3], data: [10, 14, 18, 26, 30, 34, 42, 46, 50])
        let y = layer.forward(v, mode: .inference)
        XCTAssertEqual(y.data, [30, 34, 34, 46, 50, 50, 46, 50, 50])
        XCTAssertEqual(layer.switches, [4, 5, 5, 7, 8, 8, 7, 8, 8])
        let dx = layer.backward(Tensor(shape: [1, 1, 3, 3], data: (1...9).map(Float.init)), rule: .gradient,
                                accumulateParameterGradients: false)
        XCTAssertEqual(dx, Tensor(shape: [1, 1, 3, 3], data: [0, 0, 0, 0, 1, 5, 0, 11, 28]))
        // The rule does not matter to pooling.
        for rule in BackwardRule.allCases {
            XCTAssertEqual(layer.backward(Tensor(shape: [1, 1, 3, 3], data: (1...9).map(Float.init)), rule: rule,
                                          accumulateParameterGradients: false), dx, "\(rule)")
        }
    }

    /// An `.evaluation` forward (no backward follows, so no switches) gives the bits of the
    /// `.inference` forward, whose maxima the naive kernel checks: random geometries, plane sizes
    /// and batches, values drawn from small integers (ties), +-0, +-inf and NaN.
    func testEvaluationForwardHasTheInferenceMaximaAndNoSwitches() {
        var rng = Xoshiro256(seed: 207)
        let specials: [Float] = [0, -0.0, .infinity, -.infinity, .nan, 1, 2, -1]
        for trial in 0..<300 {
            let k = 1 + randomInt(3, &rng), s = 1 + randomInt(3, &rng), p = randomInt(k / 2 + 1, &rng)
            let h = k + randomInt(30, &rng), w = k + randomInt(30, &rng), c = 1 + randomInt(3, &rng), n = 1 + randomInt(3, &rng)
            let window = WindowGeometry(kernel: k, stride: s, padding: p)
            guard let layer = MaxPool2D(inputShape: [c, h, w], window: window) else { continue }
            let special = trial % 3 == 0
            let x = Tensor(shape: [n, c, h, w], data: (0..<(n * c * h * w)).map { _ in
                special ? specials[randomInt(specials.count, &rng)] : Float(randomInt(4, &rng)) - 1.5
            })
            let strict = layer.forward(x, mode: .inference)
            let evaluated = layer.forward(x, mode: .evaluation)
            XCTAssertEqual(evaluated.data.map(\.bitPattern), strict.data.map(\.bitPattern), "k\(k) s\(s) p\(p) \(h)x\(w) trial \(trial)")
            if !special { XCTAssertEqual(evaluated, NaiveKernels.maxPool2d(x, window: window), "k\(k) s\(s) p\(p) \(h)x\(w)") }
            if StrideTwoPoolPlane(height: h, width: w, geometry: window) != nil { XCTAssertTrue(layer.switches.isEmpty, "no switches kept") }
        }
    }

    func testShapes() {
        let layer = pool([3, 28, 28], 3, 2, 1)
        XCTAssertEqual(layer.outputShape, [3, 14, 14])
        XCTAssertEqual(layer.window, WindowGeometry(kernel: 3, stride: 2, padding: 1))
        XCTAssertNil(MaxPool2D(inputShape: [1, 2, 2], window: WindowGeometry(kernel: 5, stride: 1, padding: 0)))
        XCTAssertNil(MaxPool2D(inputShape: [4], window: WindowGeometry(kernel: 1, stride: 1, padding: 0)))
    }
}

import XCTest
import Tensors

// Shared helpers for this target. Random data comes from Xoshiro256 with fixed seeds so every
// failure reproduces; the oracles are naive loops (NaiveKernels, naiveGEMM) or hand arithmetic.

func randomArray(_ count: Int, _ rng: inout Xoshiro256, scale: Float = 1) -> [Float] {
    (0..<count).map { _ in rng.nextGaussian() * scale }
}

func randomTensor(_ shape: [Int], _ rng: inout Xoshiro256, scale: Float = 1) -> Tensor {
    Tensor(shape: shape, data: randomArray(shape.reduce(1, *), &rng, scale: scale))
}

/// Inner product in Double, written here so the checks do not depend on `Tensor.dot`.
func inner(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var s = 0.0
    for i in 0..<a.count { s += Double(a[i]) * Double(b[i]) }
    return s
}

/// Elementwise |a - b| <= atol + rtol * max(|a|, |b|); reports the first few offenders.
func assertClose(_ a: [Float], _ b: [Float], rtol: Float = 1e-4, atol: Float = 1e-4, _ message: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "count mismatch \(message)", file: file, line: line)
    guard a.count == b.count else { return }
    var bad = 0
    for i in 0..<a.count {
        let tol = atol + rtol * max(abs(a[i]), abs(b[i]))
        if !(abs(a[i] - b[i]) <= tol) {
            if bad < 5 { XCTFail("\(message): element \(i): \(a[i]) vs \(b[i])", file: file, line: line) }
            bad += 1
        }
    }
    if bad > 5 { XCTFail("\(message): \(bad) elements differ in total", file: file, line: line) }
}

/// |a - b| <= tol * max(1, |a|, |b|), for inner products of adjoint checks.
func assertRelClose(_ a: Double, _ b: Double, _ tol: Double, _ message: String = "",
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertLessThanOrEqual(abs(a - b), tol * max(1, abs(a), abs(b)), "\(message): \(a) vs \(b)", file: file, line: line)
}

final class GEMMTests: XCTestCase {
    /// Runs gemm and naiveGEMM on the same random operands with padded row strides; compares all of C,
    /// and requires the padding columns of C (beyond n) to come back untouched.
    private func compareGEMM(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, alpha: Float, beta: Float,
                             rng: inout Xoshiro256, file: StaticString = #filePath, line: UInt = #line) {
        let (padA, padB, padC) = (3, 2, 5)
        // op(A) is (m, k): stored (m, k) or, transposed, (k, m).
        let (rowsA, colsA) = transposeA ? (k, m) : (m, k)
        let (rowsB, colsB) = transposeB ? (n, k) : (k, n)
        let lda = colsA + padA, ldb = colsB + padB, ldc = n + padC
        let a = randomArray(rowsA * lda, &rng)
        let b = randomArray(rowsB * ldb, &rng)
        let c0 = randomArray(m * ldc, &rng)
        var fast = c0, slow = c0
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                fast.withUnsafeMutableBufferPointer { cp in
                    gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                         a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb,
                         beta: beta, c: cp.baseAddress!, ldc: ldc)
                }
            }
        }
        naiveGEMM(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                  a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: &slow, ldc: ldc)
        let label = "m=\(m) n=\(n) k=\(k) tA=\(transposeA) tB=\(transposeB) beta=\(beta) alpha=\(alpha) panels=\(BLASThreads.panels)"
        // Entries are sums of k products of N(0, 1) values: errors grow like sqrt(k).
        assertClose(fast, slow, rtol: 1e-4, atol: 1e-5 * Float(k).squareRoot() * 10, label, file: file, line: line)
        for i in 0..<m { for j in n..<ldc where fast[i * ldc + j] != c0[i * ldc + j] {
            XCTFail("C padding written at (\(i), \(j)), \(label)", file: file, line: line)
        } }
    }

    /// gemm vs naiveGEMM (Double-accumulated triple loop) on odd shapes, all four transpose
    /// combinations, beta 0 and 1, alpha != 1, and row strides wider than the matrices.
    func testGEMMMatchesNaiveOnOddShapesAllTransposes() {
        var rng = Xoshiro256(seed: 1)
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (17, 13, 11), (33, 1, 29), (1, 31, 5), (65, 63, 64), (2, 70, 3)] {
            for transposeA in [false, true] { for transposeB in [false, true] {
                for beta: Float in [0, 1] { for alpha: Float in [1, 0.5] {
                    compareGEMM(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: beta, rng: &rng)
                } }
            } }
        }
    }

    /// Products of at least 2 MFLOP are split into row panels (m > n) or column panels (n >= m) on
    /// the thread pool; check both splits, with 2 and 3 (uneven) panels, all transposes.
    func testGEMMPanelSplitsMatchNaive() {
        let saved = BLASThreads.panels
        defer { BLASThreads.set(saved) }
        var rng = Xoshiro256(seed: 5)
        for panels in [2, 3] {
            BLASThreads.set(panels)
            for (m, n, k) in [(131, 127, 129), (61, 301, 113)] {   // each > 2M multiply-adds
                for transposeA in [false, true] { for transposeB in [false, true] {
                    let beta: Float = transposeA == transposeB ? 1 : 0
                    compareGEMM(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: 0.5, beta: beta, rng: &rng)
                } }
            }
        }
    }

    /// Hand-computed 2x2 product, so the oracle itself is pinned down:
    /// [1 2; 3 4] x [5 6; 7 8] = [1*5+2*7, 1*6+2*8; 3*5+4*7, 3*6+4*8] = [19 22; 43 50].
    func testGEMMHandExample() {
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
        var c = [Float](repeating: 100, count: 4)
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            gemm(m: 2, n: 2, k: 2, a: ap.baseAddress!, lda: 2, b: bp.baseAddress!, ldb: 2, c: cp.baseAddress!, ldc: 2)
        } } }
        XCTAssertEqual(c, [19, 22, 43, 50])
        var d = [Float](repeating: 100, count: 4)
        naiveGEMM(m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, c: &d, ldc: 2)
        XCTAssertEqual(d, [19, 22, 43, 50])
        // A^T x B = [1 3; 2 4] x [5 6; 7 8] = [26 30; 38 44], accumulated onto C = 1 (beta 1).
        var e = [Float](repeating: 1, count: 4)
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in e.withUnsafeMutableBufferPointer { cp in
            gemm(transposeA: true, m: 2, n: 2, k: 2, a: ap.baseAddress!, lda: 2, b: bp.baseAddress!, ldb: 2,
                 beta: 1, c: cp.baseAddress!, ldc: 2)
        } } }
        XCTAssertEqual(e, [27, 31, 39, 45])
    }

    /// k == 0 means C = beta * C (BLAS convention), for both implementations.
    func testGEMMEmptyInnerDimension() {
        let a: [Float] = [0], b: [Float] = [0]
        for beta: Float in [0, 1, 2] {
            let c0: [Float] = [1, -2, 3, 4, 5, 6]
            var fast = c0, slow = c0
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in fast.withUnsafeMutableBufferPointer { cp in
                gemm(m: 2, n: 3, k: 0, a: ap.baseAddress!, lda: 1, b: bp.baseAddress!, ldb: 3, beta: beta, c: cp.baseAddress!, ldc: 3)
            } } }
            naiveGEMM(m: 2, n: 3, k: 0, a: a, lda: 1, b: b, ldb: 3, beta: beta, c: &slow, ldc: 3)
            let expected = c0.map { beta * $0 }
            XCTAssertEqual(fast, expected, "beta \(beta)")
            XCTAssertEqual(slow, expected, "beta \(beta)")
        }
    }

    func testBLASThreadsSetAndRestore() {
        let before = BLASThreads.panels
        defer { BLASThreads.set(before) }
        XCTAssertGreaterThanOrEqual(before, 1)
        BLASThreads.set(3)
        XCTAssertEqual(BLASThreads.panels, 3)
        BLASThreads.set(0)   // clamped to at least one panel
        XCTAssertEqual(BLASThreads.panels, 1)
    }
}

final class Im2ColTests: XCTestCase {
    private func columnsOf(_ shape: ConvShape, _ image: [Float], ld: Int? = nil) -> [Float] {
        let ld = ld ?? shape.outputPositions
        var cols = [Float](repeating: .nan, count: shape.patchSize * ld)
        image.withUnsafeBufferPointer { ip in cols.withUnsafeMutableBufferPointer { cp in
            im2col(shape, image: ip.baseAddress!, columns: cp.baseAddress!, ld: ld)
        } }
        return cols
    }

    /// Image 1x3x3 = arange(9) = [0 1 2; 3 4 5; 6 7 8], kernel 2, stride 1, no padding -> 2x2
    /// outputs; row (ky, kx) lists x[oy+ky][ox+kx] over the outputs in row-major order.
    func testIm2ColHandExample() {
        let shape = ConvShape(channels: 1, height: 3, width: 3, window: WindowGeometry(kernel: 2, stride: 1, padding: 0))!
        XCTAssertEqual(columnsOf(shape, (0..<9).map(Float.init)), [
            0, 1, 3, 4,   // (0, 0)
            1, 2, 4, 5,   // (0, 1)
            3, 4, 6, 7,   // (1, 0)
            4, 5, 7, 8,   // (1, 1)
        ])
    }

    /// Image 1x2x2 = [1 2; 3 4], kernel 2, stride 1, padding 1 -> 3x3 outputs; output (oy, ox)
    /// reads x[oy-1+ky][ox-1+kx], zero outside the image.
    func testIm2ColPaddingHandExample() {
        let shape = ConvShape(channels: 1, height: 2, width: 2, window: WindowGeometry(kernel: 2, stride: 1, padding: 1))!
        XCTAssertEqual(shape.outHeight, 3)
        XCTAssertEqual(columnsOf(shape, [1, 2, 3, 4]), [
            0, 0, 0, 0, 1, 2, 0, 3, 4,   // (0, 0)
            0, 0, 0, 1, 2, 0, 3, 4, 0,   // (0, 1)
            0, 1, 2, 0, 3, 4, 0, 0, 0,   // (1, 0)
            1, 2, 0, 3, 4, 0, 0, 0, 0,   // (1, 1)
        ])
    }

    private static let geometries: [(c: Int, h: Int, w: Int, k: Int, s: Int, p: Int)] = [
        (2, 7, 9, 3, 1, 0), (2, 7, 9, 3, 1, 1), (2, 7, 9, 3, 2, 1), (2, 7, 9, 3, 4, 2), (2, 7, 9, 3, 2, 5),
        (3, 5, 6, 1, 1, 0), (1, 13, 11, 11, 4, 5), (2, 9, 7, 5, 3, 2), (1, 4, 4, 4, 1, 0), (3, 8, 5, 2, 2, 0),
    ]

    /// <im2col(x), y> == <x, col2im(y)> for padded, strided and overlapping geometries, with a row
    /// stride wider than one image's columns (as in Conv2D's batched column matrix).
    func testCol2ImIsAdjointOfIm2Col() {
        var rng = Xoshiro256(seed: 2)
        for g in Self.geometries {
            let shape = ConvShape(channels: g.c, height: g.h, width: g.w, window: WindowGeometry(kernel: g.k, stride: g.s, padding: g.p))!
            let ld = shape.outputPositions + 3
            let x = randomArray(shape.inputSize, &rng)
            var cols = columnsOf(shape, x, ld: ld)
            // Only the first outputPositions entries of each row belong to this image.
            var y = randomArray(shape.patchSize * ld, &rng)
            for r in 0..<shape.patchSize { for j in shape.outputPositions..<ld { y[r * ld + j] = 0; cols[r * ld + j] = 0 } }
            var back = [Float](repeating: 7, count: shape.inputSize)   // col2im must zero it first
            y.withUnsafeBufferPointer { yp in back.withUnsafeMutableBufferPointer { bp in
                col2im(shape, columns: yp.baseAddress!, ld: ld, image: bp.baseAddress!)
            } }
            assertRelClose(inner(cols, y), inner(x, back), 1e-5, "geometry \(g)")
        }
    }

    /// im2col followed by one GEMM is a convolution: compare with the direct-loop NaiveKernels.conv2d.
    func testIm2ColGEMMConvolutionMatchesNaive() {
        var rng = Xoshiro256(seed: 3)
        for g in Self.geometries {
            let window = WindowGeometry(kernel: g.k, stride: g.s, padding: g.p)
            let shape = ConvShape(channels: g.c, height: g.h, width: g.w, window: window)!
            let f = 3
            let x = randomTensor([1, g.c, g.h, g.w], &rng), wt = randomTensor([f, g.c, g.k, g.k], &rng)
            let cols = columnsOf(shape, x.data)
            var out = [Float](repeating: 0, count: f * shape.outputPositions)
            wt.data.withUnsafeBufferPointer { wp in cols.withUnsafeBufferPointer { cp in out.withUnsafeMutableBufferPointer { op in
                gemm(m: f, n: shape.outputPositions, k: shape.patchSize, a: wp.baseAddress!, lda: shape.patchSize,
                     b: cp.baseAddress!, ldb: shape.outputPositions, c: op.baseAddress!, ldc: shape.outputPositions)
            } } }
            let naive = NaiveKernels.conv2d(x, weight: wt, bias: nil, window: window)
            XCTAssertEqual(naive.shape, [1, f, shape.outHeight, shape.outWidth])
            assertClose(out, naive.data, rtol: 1e-4, atol: 1e-4, "geometry \(g)")
        }
    }
}

final class NaiveKernelTests: XCTestCase {
    /// The oracles themselves against hand arithmetic. x = arange(16) as 4x4 (x[i][j] = 4i + j),
    /// all-ones 2x2 filter, bias 1: y[i][j] = x[i][j] + x[i][j+1] + x[i+1][j] + x[i+1][j+1] + 1
    /// = 16i + 4j + 10 + 1.
    func testNaiveConvHandExample() {
        let x = Tensor(shape: [1, 1, 4, 4], data: (0..<16).map(Float.init))
        let w = Tensor(shape: [1, 1, 2, 2], repeating: 1)
        let y = NaiveKernels.conv2d(x, weight: w, bias: Tensor(shape: [1], data: [1]), window: WindowGeometry(kernel: 2, stride: 1, padding: 0))
        XCTAssertEqual(y.shape, [1, 1, 3, 3])
        XCTAssertEqual(y.data, [11, 15, 19, 27, 31, 35, 43, 47, 51])
        // Stride 2, padding 1: output (oy, ox) reads rows 2*oy-1 ... 2*oy and columns 2*ox-1 ... 2*ox.
        // (0,0): x[0][0] = 0; (0,1): x[0][1] + x[0][2] = 3; (0,2): x[0][3] = 3
        // (1,0): x[1][0] + x[2][0] = 12; (1,1): 5+6+9+10 = 30; (1,2): 7+11 = 18
        // (2,0): x[3][0] = 12; (2,1): 13+14 = 27; (2,2): 15.
        let z = NaiveKernels.conv2d(x, weight: w, bias: nil, window: WindowGeometry(kernel: 2, stride: 2, padding: 1))
        XCTAssertEqual(z.shape, [1, 1, 3, 3])
        XCTAssertEqual(z.data, [0, 3, 3, 12, 30, 18, 12, 27, 15])
    }

    /// conv2dTransposed is the adjoint of conv2d (bias-free): two separately written loops agree.
    func testNaiveTransposedConvIsAdjoint() {
        var rng = Xoshiro256(seed: 4)
        for (k, s, p) in [(3, 1, 1), (3, 2, 0), (5, 4, 2), (2, 3, 1)] {
            let window = WindowGeometry(kernel: k, stride: s, padding: p)
            let x = randomTensor([2, 3, 7, 8], &rng), w = randomTensor([4, 3, k, k], &rng)
            let y = NaiveKernels.conv2d(x, weight: w, bias: nil, window: window)
            let r = randomTensor(y.shape, &rng)
            let back = NaiveKernels.conv2dTransposed(r, weight: w, inputShape: x.shape, window: window)
            assertRelClose(inner(y.data, r.data), inner(x.data, back.data), 1e-5, "k \(k) s \(s) p \(p)")
        }
    }

    /// Max pooling pads with -inf: an all-negative image keeps its negative maxima.
    /// x = -(1 + arange(9)) as 3x3, kernel 2, stride 2, padding 1 -> 2x2:
    /// (0,0) {x00} = -1; (0,1) {x01, x02} = -2; (1,0) {x10, x20} = -4; (1,1) {x11,x12,x21,x22} = -5.
    func testNaiveMaxPoolHandExample() {
        let x = Tensor(shape: [1, 1, 3, 3], data: (0..<9).map { -1 - Float($0) })
        let y = NaiveKernels.maxPool2d(x, window: WindowGeometry(kernel: 2, stride: 2, padding: 1))
        XCTAssertEqual(y.shape, [1, 1, 2, 2])
        XCTAssertEqual(y.data, [-1, -2, -4, -5])
    }
}

final class GeometryTests: XCTestCase {
    func testOutputLength() {
        // floor((H + 2p - k) / s) + 1
        XCTAssertEqual(WindowGeometry(kernel: 5, stride: 1, padding: 2).outputLength(28), 28)
        XCTAssertEqual(WindowGeometry(kernel: 3, stride: 2, padding: 1).outputLength(28), 14)   // (30-3)/2+1
        XCTAssertEqual(WindowGeometry(kernel: 3, stride: 2, padding: 1).outputLength(14), 7)    // (16-3)/2+1
        XCTAssertEqual(WindowGeometry(kernel: 11, stride: 4, padding: 5).outputLength(28), 7)   // (38-11)/4+1
        XCTAssertEqual(WindowGeometry(kernel: 3, stride: 4, padding: 0).outputLength(9), 2)     // (9-3)/4+1
        XCTAssertEqual(WindowGeometry(kernel: 4, stride: 1, padding: 0).outputLength(4), 1)
        XCTAssertNil(WindowGeometry(kernel: 5, stride: 1, padding: 0).outputLength(4))
        XCTAssertNil(WindowGeometry(kernel: 7, stride: 1, padding: 1).outputLength(4))          // padded 6 < 7
        XCTAssertNil(WindowGeometry(kernel: 3, stride: 0, padding: 0).outputLength(9))
        XCTAssertNil(WindowGeometry(kernel: 0, stride: 1, padding: 0).outputLength(9))
        XCTAssertNil(WindowGeometry(kernel: 3, stride: 1, padding: -1).outputLength(9))
    }

    func testInputSpan() {
        // Outputs 2...3 of a 5/2/2 window read inputs 2*2-2 = 2 ... 3*2-2+4 = 8.
        XCTAssertEqual(WindowGeometry(kernel: 5, stride: 2, padding: 2).inputSpan(of: 2...3), 2...8)
        // Output 0 of 3/2/1 reaches into the padding: -1...1.
        XCTAssertEqual(WindowGeometry(kernel: 3, stride: 2, padding: 1).inputSpan(of: 0...0), -1...1)
    }

    func testConvShape() {
        let s = ConvShape(channels: 3, height: 7, width: 9, window: WindowGeometry(kernel: 3, stride: 2, padding: 1))!
        XCTAssertEqual(s.outHeight, 4)   // (9-3)/2+1
        XCTAssertEqual(s.outWidth, 5)    // (11-3)/2+1
        XCTAssertEqual(s.patchSize, 27)
        XCTAssertEqual(s.outputPositions, 20)
        XCTAssertEqual(s.inputSize, 189)
        XCTAssertNil(ConvShape(channels: 1, height: 2, width: 9, window: WindowGeometry(kernel: 5, stride: 1, padding: 1)))
    }
}

final class RandomTests: XCTestCase {
    func testSameSeedSameStreamDifferentSeedDifferentStream() {
        var a = Xoshiro256(seed: 42), b = Xoshiro256(seed: 42), c = Xoshiro256(seed: 43)
        let sa = (0..<100).map { _ in a.next() }, sb = (0..<100).map { _ in b.next() }, sc = (0..<100).map { _ in c.next() }
        XCTAssertEqual(sa, sb)
        XCTAssertNotEqual(sa, sc)
        XCTAssertEqual(Set(sa).count, 100)
    }

    /// xoshiro256** from state (1, 2, 3, 4): the first output is rotl(s1 * 5, 7) * 9 =
    /// rotl(10, 7) * 9 = 1280 * 9 = 11520 (the reference implementation's well-known first value).
    func testReferenceFirstOutput() {
        var r = Xoshiro256(state: [1, 2, 3, 4])!
        XCTAssertEqual(r.next(), 11520)
        // After one step: t = 2 << 17; s2 = 3^1 = 2; s3 = 4^2 = 6; s1 = 2^2 = 0; s0 = 1^6 = 7;
        // s2 = 2 ^ (2 << 17) = 262146; s3 = rotl(6, 45). Next output = rotl(0 * 5, 7) * 9 = 0.
        XCTAssertEqual(r.state, [7, 0, 262146, 6 << 45])
        XCTAssertEqual(r.next(), 0)
        XCTAssertNil(Xoshiro256(state: [0, 0, 0, 0]))
        XCTAssertNil(Xoshiro256(state: [1, 2, 3]))
    }

    func testStateSaveRestoreContinuesIdentically() {
        var r = Xoshiro256(seed: 7)
        for _ in 0..<37 { _ = r.next() }
        _ = r.nextGaussian()
        let saved = r.state
        let expected = (0..<50).map { _ in r.next() }
        var restored = Xoshiro256(state: saved)!
        XCTAssertEqual((0..<50).map { _ in restored.next() }, expected)
        XCTAssertEqual(restored, r)
    }

    func testUnitFloatRange() {
        var r = Xoshiro256(seed: 9)
        var sum = 0.0
        for _ in 0..<20_000 {
            let u = r.nextUnitFloat()
            XCTAssertTrue(u >= 0 && u < 1, "\(u) outside [0, 1)")
            sum += Double(u)
        }
        XCTAssertEqual(sum / 20_000, 0.5, accuracy: 0.01)   // std error ~0.002
        // The largest possible value (2^24 - 1) / 2^24 is still below 1 in Float.
        XCTAssertLessThan(Float(16_777_215) * (1.0 / 16_777_216.0), 1)
    }

    /// The extremes of nextUnitFloat, from states whose next output is known. For xoshiro256**,
    /// output = rotl(s1 * 5, 7) * 9 (mod 2^64), so s1 = rotr(target * 9^-1, 7) * 5^-1 gives any target.
    /// Top 24 bits all ones must map to (2^24 - 1) / 2^24 < 1; zero to exactly 0.
    func testUnitFloatExtremes() {
        func inverse(_ a: UInt64) -> UInt64 {   // Newton's iteration for odd a, mod 2^64
            var x = a
            for _ in 0..<6 { x = x &* (2 &- a &* x) }
            return x
        }
        func stateProducing(_ target: UInt64) -> Xoshiro256 {
            let y = target &* inverse(9)
            let s1 = ((y >> 7) | (y << 57)) &* inverse(5)
            return Xoshiro256(state: [1, s1, 0, 0])!
        }
        XCTAssertEqual(inverse(9) &* 9, 1)
        var top = stateProducing(UInt64.max)
        XCTAssertEqual(top.next(), UInt64.max)
        top = stateProducing(UInt64.max)
        let largest = top.nextUnitFloat()
        XCTAssertLessThan(largest, 1)
        XCTAssertEqual(largest, 1 - 1.0 / 16_777_216)
        var bottom = stateProducing(0xFF_FFFF_FFFF)   // only the low 40 bits set
        XCTAssertEqual(bottom.nextUnitFloat(), 0)
    }

    func testGaussianMoments() {
        var r = Xoshiro256(seed: 11)
        let n = 20_000
        var s = 0.0, s2 = 0.0
        for _ in 0..<n {
            let g = Double(r.nextGaussian())
            XCTAssertTrue(g.isFinite)
            s += g; s2 += g * g
        }
        let mean = s / Double(n), variance = s2 / Double(n) - mean * mean
        XCTAssertEqual(mean, 0, accuracy: 0.03)      // std error ~0.007
        XCTAssertEqual(variance, 1, accuracy: 0.05)  // std error ~0.01
    }
}

final class TensorTests: XCTestCase {
    func testShapesSlicesAndStacks() {
        let t = Tensor(shape: [3, 2, 2], data: (0..<12).map(Float.init))
        XCTAssertEqual(t.count, 12)
        XCTAssertEqual(t.rank, 3)
        XCTAssertEqual(t.sample(1), Tensor(shape: [2, 2], data: [4, 5, 6, 7]))
        XCTAssertEqual(t.slice(1..<3), Tensor(shape: [2, 2, 2], data: (4..<12).map(Float.init)))
        XCTAssertEqual(Tensor.stack([t.sample(0), t.sample(1), t.sample(2)]), t)
        XCTAssertEqual(t.reshaped([3, 4]).data, t.data)
        XCTAssertEqual(t.reshaped([3, 4]).shape, [3, 4])
        XCTAssertEqual(t[flat: 5], 5)
        XCTAssertEqual(Tensor(zeros: [2, 3]).data, [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Tensor(shape: [2], repeating: 1.5).data, [1.5, 1.5])
        // 1*-1 + 2*3 + -3*2 = -1
        XCTAssertEqual(Tensor(shape: [3], data: [1, 2, -3]).dot(Tensor(shape: [3], data: [-1, 3, 2])), -1)
        XCTAssertEqual(Tensor(shape: [3], data: [1, -4, 3]).maxAbs, 4)
    }

    func testParallelForRunsEveryIndexOnce() {
        for count in [0, 1, 2, 7, 100] {
            let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(count, 1))
            hits.initialize(repeating: 0)
            defer { hits.deallocate() }
            parallelFor(count) { i in hits[i] += 1 }   // each index owns its slot
            XCTAssertEqual(Array(hits.prefix(count)), [Int](repeating: 1, count: count), "count \(count)")
        }
    }

    func testParallelMapKeepsTheOrder() {
        for count in [0, 1, 2, 7, 100] {
            XCTAssertEqual(parallelMap(count) { "item \($0)" }, (0..<count).map { "item \($0)" }, "count \(count)")
        }
    }
}

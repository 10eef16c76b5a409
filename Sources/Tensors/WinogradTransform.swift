/// The matrices of Winograd's minimal filtering algorithm F(m, r) (Lavin & Gray, "Fast Algorithms
/// for Convolutional Neural Networks", 2016): m outputs of an r-tap correlation from n = m + r - 1
/// inputs with n multiplications instead of m * r,
///
///     y = Aᵀ [ (G g) ⊙ (Bᵀ d) ],   y_i = Σ_k g_k d_{i+k},
///
/// and in 2-D, Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A.
///
/// Built by Toom-Cook from n - 1 finite points and infinity, in Double: with Vandermonde rows
/// H (n, m) and G (n, r) evaluating h and g, and V (n, n) evaluating their product, linear
/// convolution is c = V⁻¹ [(G g) ⊙ (H h)]. Correlation is its transpose with respect to h, so
/// Aᵀ = Hᵀ and Bᵀ = V⁻ᵀ. Each row pair of Bᵀ and G is then rescaled so Bᵀ's row peaks at 1,
/// which balances the float32 rounding of the two transforms.
public struct WinogradTransform: Sendable {
    public let m: Int, r: Int, n: Int
    /// (m, n) output transform.
    public let at: [Float]
    /// (n, r) filter transform.
    public let g: [Float]
    /// (n, n) input transform.
    public let bt: [Float]

    /// Small points first: the transforms' entries, and so float32 error, grow with |point|.
    static let points: [Double] = [0, 1, -1, 2, -2, 0.5, -0.5, 3, -3, 1.0 / 3, -1.0 / 3]

    public init(m: Int, r: Int) {
        let n = m + r - 1
        precondition(m >= 1 && r >= 1 && n - 1 <= Self.points.count, "F(\(m), \(r)) needs more Toom-Cook points than tabulated")
        self.m = m; self.r = r; self.n = n
        let finite = Array(Self.points.prefix(n - 1))
        // Row i evaluates a polynomial with `count` coefficients at point i; the last row is infinity (its leading coefficient).
        func vandermonde(_ count: Int) -> [[Double]] {
            finite.map { a in (0..<count).map { pow(a, $0) } } + [(0..<count).map { $0 == count - 1 ? 1 : 0 }]
        }
        let h = vandermonde(m), gd = vandermonde(r), v = vandermonde(n)
        let vInverse = invert(v)
        var btd = (0..<n).map { row in (0..<n).map { col in vInverse[col][row] } }  // V⁻ᵀ
        var gScaled = gd
        for row in 0..<n {
            let peak = btd[row].map(abs).max()!
            btd[row] = btd[row].map { $0 / peak }
            gScaled[row] = gScaled[row].map { $0 * peak }
        }
        at = (0..<m).flatMap { i in (0..<n).map { Float(h[$0][i]) } }
        g = gScaled.flatMap { $0.map(Float.init) }
        bt = btd.flatMap { $0.map(Float.init) }
    }

    /// `(m, n)` pairs this project uses for a stride-1 r x r convolution: n = 8 keeps the float32
    /// error near 1e-5 relative (measured in WinogradTests) while cutting multiplications
    /// m²r² / n²-fold: 4.7x for 5x5 kernels, 5.1x for 3x3.
    public static func outputTile(forKernel r: Int) -> Int? {
        switch r {
        case 3: return 6
        case 5: return 4
        default: return nil
        }
    }
}

/// x^e for small non-negative integer e, exact for the tabulated points.
private func pow(_ x: Double, _ e: Int) -> Double {
    var result = 1.0
    for _ in 0..<e { result *= x }
    return result
}

/// Gauss-Jordan inverse with partial pivoting; the Vandermonde matrices here are at most 11 x 11
/// with distinct points, so they are invertible.
private func invert(_ matrix: [[Double]]) -> [[Double]] {
    let n = matrix.count
    var a = matrix.enumerated().map { i, row in row + (0..<n).map { $0 == i ? 1.0 : 0.0 } }
    for col in 0..<n {
        let pivot = (col..<n).max { abs(a[$0][col]) < abs(a[$1][col]) }!
        a.swapAt(col, pivot)
        let p = a[col][col]
        a[col] = a[col].map { $0 / p }
        for row in 0..<n where row != col {
            let f = a[row][col]
            if f != 0 { a[row] = zip(a[row], a[col]).map { $0 - f * $1 } }
        }
    }
    return a.map { Array($0[n...]) }
}

/// A transform matrix of at most 8 x 8, zero-padded to 8 x 8 for `transform8`.
public struct TransformMatrix: Sendable {
    public let rows: Int, cols: Int
    /// (8, 8), zero outside (rows, cols).
    let padded: [Float]

    /// From a dense (rows, cols) matrix, or its transpose.
    public init(_ dense: [Float], rows denseRows: Int, cols denseCols: Int, transposed: Bool = false) {
        rows = transposed ? denseCols : denseRows
        cols = transposed ? denseRows : denseCols
        precondition(rows <= 8 && cols <= 8, "transform matrices are at most 8 x 8, got \(rows) x \(cols)")
        var p = [Float](repeating: 0, count: 64)
        for i in 0..<rows { for j in 0..<cols { p[i * 8 + j] = transposed ? dense[j * denseCols + i] : dense[i * denseCols + j] } }
        padded = p
    }
}

/// Lines of `lanes` floats that `transformTile` needs as scratch: an 8 x 8 tile and a sink.
public let transformTileScratchLines = 65

/// `out = L · in · Rᵀ` for a tile whose every element is a vector of `lanes` contiguous floats:
/// `in` is (L.cols, R.cols) elements, `out` is (L.rows, R.rows), each addressed by a row and a
/// column stride (in floats) so tiles can be read from and written to any layout. `scratch`
/// holds `transformTileScratchLines * lanes` floats. With `accumulate`, `out` is added to.
///
/// All four Winograd transforms are this one function: input (Bᵀ, Bᵀ), output (Aᵀ, Aᵀ), and the
/// backward pass's transposes (A, A) for the output gradient and (B, B) for the input gradient.
public func transformTile(
    _ l: TransformMatrix, _ r: TransformMatrix,
    input: UnsafePointer<Float>, inputRowStride: Int, inputColStride: Int,
    output: UnsafeMutablePointer<Float>, outputRowStride: Int, outputColStride: Int,
    lanes: Int, scratch: UnsafeMutablePointer<Float>, accumulate: Bool = false
) {
    let sink = scratch + 64 * lanes
    l.padded.withUnsafeBufferPointer { lk in
    r.padded.withUnsafeBufferPointer { rk in
        // scratch[i][o] = Σ_j R[o][j] in[i][j]: one 1-D transform along each input row.
        for i in 0..<l.cols {
            transform8(rk.baseAddress!, input: input + i * inputRowStride, inputStride: inputColStride, cols: r.cols,
                       output: scratch + i * r.rows * lanes, outputStride: lanes, rows: r.rows, sink: sink, lanes: lanes, accumulate: false)
        }
        // out[o][j] = Σ_i L[o][i] scratch[i][j]: one along each column.
        for j in 0..<r.rows {
            transform8(lk.baseAddress!, input: scratch + j * lanes, inputStride: r.rows * lanes, cols: l.cols,
                       output: output + j * outputColStride, outputStride: outputRowStride, rows: l.rows, sink: sink,
                       lanes: lanes, accumulate: accumulate)
        }
    } }
}

/// One 1-D transform of `cols` input vectors into `rows` output vectors, `lanes` wide:
/// out_o (+)= Σ_j k[o][j] in_j, for k (8, 8) zero-padded.
///
/// Always 8 x 8, eight lanes at a time in SIMD registers with fused multiply-adds: all eight
/// inputs are loaded once and each output stored once. Missing inputs read input 0 with a zero
/// coefficient and missing outputs go to `sink`, so the body has no branches. Measured against
/// a loop per nonzero coefficient (one call per output, 4 vector iterations each at 32 lanes),
/// whose call and loop set-up dominated: the dense form does up to 45% more multiplies in far
/// fewer instructions. (Plain scalar loops over the lanes did not vectorize: 16 pointers are more
/// runtime alias checks than LLVM will emit.)
@inline(__always)
private func transform8(_ k: UnsafePointer<Float>, input: UnsafePointer<Float>, inputStride: Int, cols: Int,
                        output: UnsafeMutablePointer<Float>, outputStride: Int, rows: Int,
                        sink: UnsafeMutablePointer<Float>, lanes: Int, accumulate: Bool) {
    typealias V = SIMD8<Float>
    let i0 = input + (cols > 0 ? 0 * inputStride : 0), i1 = input + (cols > 1 ? 1 * inputStride : 0), i2 = input + (cols > 2 ? 2 * inputStride : 0), i3 = input + (cols > 3 ? 3 * inputStride : 0), i4 = input + (cols > 4 ? 4 * inputStride : 0), i5 = input + (cols > 5 ? 5 * inputStride : 0), i6 = input + (cols > 6 ? 6 * inputStride : 0), i7 = input + (cols > 7 ? 7 * inputStride : 0)
    let o0 = rows > 0 ? output + 0 * outputStride : sink, o1 = rows > 1 ? output + 1 * outputStride : sink, o2 = rows > 2 ? output + 2 * outputStride : sink, o3 = rows > 3 ? output + 3 * outputStride : sink, o4 = rows > 4 ? output + 4 * outputStride : sink, o5 = rows > 5 ? output + 5 * outputStride : sink, o6 = rows > 6 ? output + 6 * outputStride : sink, o7 = rows > 7 ? output + 7 * outputStride : sink
    let k00 = V(repeating: k[0]), k01 = V(repeating: k[1]), k02 = V(repeating: k[2]), k03 = V(repeating: k[3]), k04 = V(repeating: k[4]), k05 = V(repeating: k[5]), k06 = V(repeating: k[6]), k07 = V(repeating: k[7])
    let k10 = V(repeating: k[8]), k11 = V(repeating: k[9]), k12 = V(repeating: k[10]), k13 = V(repeating: k[11]), k14 = V(repeating: k[12]), k15 = V(repeating: k[13]), k16 = V(repeating: k[14]), k17 = V(repeating: k[15])
    let k20 = V(repeating: k[16]), k21 = V(repeating: k[17]), k22 = V(repeating: k[18]), k23 = V(repeating: k[19]), k24 = V(repeating: k[20]), k25 = V(repeating: k[21]), k26 = V(repeating: k[22]), k27 = V(repeating: k[23])
    let k30 = V(repeating: k[24]), k31 = V(repeating: k[25]), k32 = V(repeating: k[26]), k33 = V(repeating: k[27]), k34 = V(repeating: k[28]), k35 = V(repeating: k[29]), k36 = V(repeating: k[30]), k37 = V(repeating: k[31])
    let k40 = V(repeating: k[32]), k41 = V(repeating: k[33]), k42 = V(repeating: k[34]), k43 = V(repeating: k[35]), k44 = V(repeating: k[36]), k45 = V(repeating: k[37]), k46 = V(repeating: k[38]), k47 = V(repeating: k[39])
    let k50 = V(repeating: k[40]), k51 = V(repeating: k[41]), k52 = V(repeating: k[42]), k53 = V(repeating: k[43]), k54 = V(repeating: k[44]), k55 = V(repeating: k[45]), k56 = V(repeating: k[46]), k57 = V(repeating: k[47])
    let k60 = V(repeating: k[48]), k61 = V(repeating: k[49]), k62 = V(repeating: k[50]), k63 = V(repeating: k[51]), k64 = V(repeating: k[52]), k65 = V(repeating: k[53]), k66 = V(repeating: k[54]), k67 = V(repeating: k[55])
    let k70 = V(repeating: k[56]), k71 = V(repeating: k[57]), k72 = V(repeating: k[58]), k73 = V(repeating: k[59]), k74 = V(repeating: k[60]), k75 = V(repeating: k[61]), k76 = V(repeating: k[62]), k77 = V(repeating: k[63])
    var c = 0
    while c + 8 <= lanes {
        let d0 = V.load(i0 + c)
        let d1 = V.load(i1 + c)
        let d2 = V.load(i2 + c)
        let d3 = V.load(i3 + c)
        let d4 = V.load(i4 + c)
        let d5 = V.load(i5 + c)
        let d6 = V.load(i6 + c)
        let d7 = V.load(i7 + c)
        if accumulate {
            (o0 + c).store(V.load(o0 + c).addingProduct(k00, d0).addingProduct(k01, d1).addingProduct(k02, d2).addingProduct(k03, d3).addingProduct(k04, d4).addingProduct(k05, d5).addingProduct(k06, d6).addingProduct(k07, d7))
            (o1 + c).store(V.load(o1 + c).addingProduct(k10, d0).addingProduct(k11, d1).addingProduct(k12, d2).addingProduct(k13, d3).addingProduct(k14, d4).addingProduct(k15, d5).addingProduct(k16, d6).addingProduct(k17, d7))
            (o2 + c).store(V.load(o2 + c).addingProduct(k20, d0).addingProduct(k21, d1).addingProduct(k22, d2).addingProduct(k23, d3).addingProduct(k24, d4).addingProduct(k25, d5).addingProduct(k26, d6).addingProduct(k27, d7))
            (o3 + c).store(V.load(o3 + c).addingProduct(k30, d0).addingProduct(k31, d1).addingProduct(k32, d2).addingProduct(k33, d3).addingProduct(k34, d4).addingProduct(k35, d5).addingProduct(k36, d6).addingProduct(k37, d7))
            (o4 + c).store(V.load(o4 + c).addingProduct(k40, d0).addingProduct(k41, d1).addingProduct(k42, d2).addingProduct(k43, d3).addingProduct(k44, d4).addingProduct(k45, d5).addingProduct(k46, d6).addingProduct(k47, d7))
            (o5 + c).store(V.load(o5 + c).addingProduct(k50, d0).addingProduct(k51, d1).addingProduct(k52, d2).addingProduct(k53, d3).addingProduct(k54, d4).addingProduct(k55, d5).addingProduct(k56, d6).addingProduct(k57, d7))
            (o6 + c).store(V.load(o6 + c).addingProduct(k60, d0).addingProduct(k61, d1).addingProduct(k62, d2).addingProduct(k63, d3).addingProduct(k64, d4).addingProduct(k65, d5).addingProduct(k66, d6).addingProduct(k67, d7))
            (o7 + c).store(V.load(o7 + c).addingProduct(k70, d0).addingProduct(k71, d1).addingProduct(k72, d2).addingProduct(k73, d3).addingProduct(k74, d4).addingProduct(k75, d5).addingProduct(k76, d6).addingProduct(k77, d7))
        } else {
            (o0 + c).store((k00 * d0).addingProduct(k01, d1).addingProduct(k02, d2).addingProduct(k03, d3).addingProduct(k04, d4).addingProduct(k05, d5).addingProduct(k06, d6).addingProduct(k07, d7))
            (o1 + c).store((k10 * d0).addingProduct(k11, d1).addingProduct(k12, d2).addingProduct(k13, d3).addingProduct(k14, d4).addingProduct(k15, d5).addingProduct(k16, d6).addingProduct(k17, d7))
            (o2 + c).store((k20 * d0).addingProduct(k21, d1).addingProduct(k22, d2).addingProduct(k23, d3).addingProduct(k24, d4).addingProduct(k25, d5).addingProduct(k26, d6).addingProduct(k27, d7))
            (o3 + c).store((k30 * d0).addingProduct(k31, d1).addingProduct(k32, d2).addingProduct(k33, d3).addingProduct(k34, d4).addingProduct(k35, d5).addingProduct(k36, d6).addingProduct(k37, d7))
            (o4 + c).store((k40 * d0).addingProduct(k41, d1).addingProduct(k42, d2).addingProduct(k43, d3).addingProduct(k44, d4).addingProduct(k45, d5).addingProduct(k46, d6).addingProduct(k47, d7))
            (o5 + c).store((k50 * d0).addingProduct(k51, d1).addingProduct(k52, d2).addingProduct(k53, d3).addingProduct(k54, d4).addingProduct(k55, d5).addingProduct(k56, d6).addingProduct(k57, d7))
            (o6 + c).store((k60 * d0).addingProduct(k61, d1).addingProduct(k62, d2).addingProduct(k63, d3).addingProduct(k64, d4).addingProduct(k65, d5).addingProduct(k66, d6).addingProduct(k67, d7))
            (o7 + c).store((k70 * d0).addingProduct(k71, d1).addingProduct(k72, d2).addingProduct(k73, d3).addingProduct(k74, d4).addingProduct(k75, d5).addingProduct(k76, d6).addingProduct(k77, d7))
        }
        c += 8
    }
    while c < lanes {
        let d0 = i0[c]
        let d1 = i1[c]
        let d2 = i2[c]
        let d3 = i3[c]
        let d4 = i4[c]
        let d5 = i5[c]
        let d6 = i6[c]
        let d7 = i7[c]
        if accumulate {
            o0[c] = o0[c].addingProduct(k[0], d0).addingProduct(k[1], d1).addingProduct(k[2], d2).addingProduct(k[3], d3).addingProduct(k[4], d4).addingProduct(k[5], d5).addingProduct(k[6], d6).addingProduct(k[7], d7)
            o1[c] = o1[c].addingProduct(k[8], d0).addingProduct(k[9], d1).addingProduct(k[10], d2).addingProduct(k[11], d3).addingProduct(k[12], d4).addingProduct(k[13], d5).addingProduct(k[14], d6).addingProduct(k[15], d7)
            o2[c] = o2[c].addingProduct(k[16], d0).addingProduct(k[17], d1).addingProduct(k[18], d2).addingProduct(k[19], d3).addingProduct(k[20], d4).addingProduct(k[21], d5).addingProduct(k[22], d6).addingProduct(k[23], d7)
            o3[c] = o3[c].addingProduct(k[24], d0).addingProduct(k[25], d1).addingProduct(k[26], d2).addingProduct(k[27], d3).addingProduct(k[28], d4).addingProduct(k[29], d5).addingProduct(k[30], d6).addingProduct(k[31], d7)
            o4[c] = o4[c].addingProduct(k[32], d0).addingProduct(k[33], d1).addingProduct(k[34], d2).addingProduct(k[35], d3).addingProduct(k[36], d4).addingProduct(k[37], d5).addingProduct(k[38], d6).addingProduct(k[39], d7)
            o5[c] = o5[c].addingProduct(k[40], d0).addingProduct(k[41], d1).addingProduct(k[42], d2).addingProduct(k[43], d3).addingProduct(k[44], d4).addingProduct(k[45], d5).addingProduct(k[46], d6).addingProduct(k[47], d7)
            o6[c] = o6[c].addingProduct(k[48], d0).addingProduct(k[49], d1).addingProduct(k[50], d2).addingProduct(k[51], d3).addingProduct(k[52], d4).addingProduct(k[53], d5).addingProduct(k[54], d6).addingProduct(k[55], d7)
            o7[c] = o7[c].addingProduct(k[56], d0).addingProduct(k[57], d1).addingProduct(k[58], d2).addingProduct(k[59], d3).addingProduct(k[60], d4).addingProduct(k[61], d5).addingProduct(k[62], d6).addingProduct(k[63], d7)
        } else {
            o0[c] = (k[0] * d0).addingProduct(k[1], d1).addingProduct(k[2], d2).addingProduct(k[3], d3).addingProduct(k[4], d4).addingProduct(k[5], d5).addingProduct(k[6], d6).addingProduct(k[7], d7)
            o1[c] = (k[8] * d0).addingProduct(k[9], d1).addingProduct(k[10], d2).addingProduct(k[11], d3).addingProduct(k[12], d4).addingProduct(k[13], d5).addingProduct(k[14], d6).addingProduct(k[15], d7)
            o2[c] = (k[16] * d0).addingProduct(k[17], d1).addingProduct(k[18], d2).addingProduct(k[19], d3).addingProduct(k[20], d4).addingProduct(k[21], d5).addingProduct(k[22], d6).addingProduct(k[23], d7)
            o3[c] = (k[24] * d0).addingProduct(k[25], d1).addingProduct(k[26], d2).addingProduct(k[27], d3).addingProduct(k[28], d4).addingProduct(k[29], d5).addingProduct(k[30], d6).addingProduct(k[31], d7)
            o4[c] = (k[32] * d0).addingProduct(k[33], d1).addingProduct(k[34], d2).addingProduct(k[35], d3).addingProduct(k[36], d4).addingProduct(k[37], d5).addingProduct(k[38], d6).addingProduct(k[39], d7)
            o5[c] = (k[40] * d0).addingProduct(k[41], d1).addingProduct(k[42], d2).addingProduct(k[43], d3).addingProduct(k[44], d4).addingProduct(k[45], d5).addingProduct(k[46], d6).addingProduct(k[47], d7)
            o6[c] = (k[48] * d0).addingProduct(k[49], d1).addingProduct(k[50], d2).addingProduct(k[51], d3).addingProduct(k[52], d4).addingProduct(k[53], d5).addingProduct(k[54], d6).addingProduct(k[55], d7)
            o7[c] = (k[56] * d0).addingProduct(k[57], d1).addingProduct(k[58], d2).addingProduct(k[59], d3).addingProduct(k[60], d4).addingProduct(k[61], d5).addingProduct(k[62], d6).addingProduct(k[63], d7)
        }
        c += 1
    }
}

private extension SIMD8 where Scalar == Float {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self { UnsafeRawPointer(p).loadUnaligned(as: Self.self) }
}

private extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func store(_ v: SIMD8<Float>) { UnsafeMutableRawPointer(self).storeBytes(of: v, as: SIMD8<Float>.self) }
}

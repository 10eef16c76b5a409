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

/// A small matrix stored by rows as its nonzero entries only: the Winograd transforms are about
/// half zeros, and the tile loops run once per channel vector, so skipping zeros halves them.
public final class SparseRows: @unchecked Sendable {
    public let rows: Int, cols: Int
    let rowStart: UnsafeMutablePointer<Int>   // (rows + 1)
    let column: UnsafeMutablePointer<Int>     // (nonzeros)
    let value: UnsafeMutablePointer<Float>    // (nonzeros)

    /// From a dense (rows, cols) matrix, or its transpose.
    public init(_ dense: [Float], rows denseRows: Int, cols denseCols: Int, transposed: Bool = false) {
        rows = transposed ? denseCols : denseRows
        cols = transposed ? denseRows : denseCols
        func entry(_ i: Int, _ j: Int) -> Float { transposed ? dense[j * denseCols + i] : dense[i * denseCols + j] }
        let nonzeros = dense.filter { $0 != 0 }.count
        rowStart = .allocate(capacity: rows + 1)
        column = .allocate(capacity: max(1, nonzeros))
        value = .allocate(capacity: max(1, nonzeros))
        var q = 0
        for i in 0..<rows {
            rowStart[i] = q
            for j in 0..<cols where entry(i, j) != 0 {
                column[q] = j; value[q] = entry(i, j); q += 1
            }
        }
        rowStart[rows] = q
    }

    deinit {
        rowStart.deallocate(); column.deallocate(); value.deallocate()
    }
}

/// `out = L · in · Rᵀ` for a tile whose every element is a vector of `lanes` contiguous floats:
/// `in` is (L.cols, R.cols) elements, `out` is (L.rows, R.rows), each addressed by a row and a
/// column stride (in floats) so tiles can be read from and written to any layout. `scratch`
/// holds (L.cols, R.rows) vectors. With `accumulate`, `out` is added to instead of overwritten.
///
/// All four Winograd transforms are this one function: input (Bᵀ, Bᵀ), output (Aᵀ, Aᵀ), and the
/// backward pass's transposes (A, A) for the output gradient and (B, B) for the input gradient.
@inline(__always)
public func transformTile(
    _ l: SparseRows, _ r: SparseRows,
    input: UnsafePointer<Float>, inputRowStride: Int, inputColStride: Int,
    output: UnsafeMutablePointer<Float>, outputRowStride: Int, outputColStride: Int,
    lanes: Int, scratch: UnsafeMutablePointer<Float>, accumulate: Bool = false
) {
    // scratch[i][o] = Σ_j R[o][j] in[i][j]
    for i in 0..<l.cols {
        let row = input + i * inputRowStride
        for o in 0..<r.rows {
            combine(r, o, base: row, stride: inputColStride, into: scratch + (i * r.rows + o) * lanes, lanes: lanes, accumulate: false)
        }
    }
    // out[o][j] = Σ_i L[o][i] scratch[i][j]
    for o in 0..<l.rows {
        for j in 0..<r.rows {
            combine(l, o, base: scratch + j * lanes, stride: r.rows * lanes,
                    into: output + o * outputRowStride + j * outputColStride, lanes: lanes, accumulate: accumulate)
        }
    }
}

/// `out (+)= Σ_j M[row][j] · base[j * stride ..< j * stride + lanes]` over row's nonzeros.
///
/// One loop over the lanes per output with every term in it, so the sum stays in registers and
/// `out` is stored once; the term count is switched on because a loop over terms inside the lane
/// loop would not vectorize. Rows of the transforms used here have at most 8 nonzeros.
@inline(__always)
private func combine(_ matrix: SparseRows, _ row: Int, base: UnsafePointer<Float>, stride: Int,
                     into out: UnsafeMutablePointer<Float>, lanes: Int, accumulate: Bool) {
    let q = matrix.rowStart[row], count = matrix.rowStart[row + 1] - q
    let v = matrix.value, col = matrix.column
    switch count {
    case 0:
        if !accumulate { out.update(repeating: 0, count: lanes) }
    case 1:
        let k0 = v[q + 0]
        let s0 = base + col[q + 0] * stride
        if accumulate { for c in 0..<lanes { out[c] += k0 * s0[c] } } else { for c in 0..<lanes { out[c] = k0 * s0[c] } }
    case 2:
        let k0 = v[q + 0], k1 = v[q + 1]
        let s0 = base + col[q + 0] * stride, s1 = base + col[q + 1] * stride
        if accumulate { for c in 0..<lanes { out[c] += k0 * s0[c] + k1 * s1[c] } } else { for c in 0..<lanes { out[c] = k0 * s0[c] + k1 * s1[c] } }
    case 3:
        let k0 = v[q + 0], k1 = v[q + 1], k2 = v[q + 2]
        let s0 = base + col[q + 0] * stride, s1 = base + col[q + 1] * stride, s2 = base + col[q + 2] * stride
        if accumulate { for c in 0..<lanes { out[c] += k0 * s0[c] + k1 * s1[c] + k2 * s2[c] } } else { for c in 0..<lanes { out[c] = k0 * s0[c] + k1 * s1[c] + k2 * s2[c] } }
    case 4:
        let k0 = v[q + 0], k1 = v[q + 1], k2 = v[q + 2], k3 = v[q + 3]
        let s0 = base + col[q + 0] * stride, s1 = base + col[q + 1] * stride, s2 = base + col[q + 2] * stride, s3 = base + col[q + 3] * stride
        if accumulate { for c in 0..<lanes { out[c] += k0 * s0[c] + k1 * s1[c] + k2 * s2[c] + k3 * s3[c] } } else { for c in 0..<lanes { out[c] = k0 * s0[c] + k1 * s1[c] + k2 * s2[c] + k3 * s3[c] } }
    case 5:
        let k0 = v[q + 0], k1 = v[q + 1], k2 = v[q + 2], k3 = v[q + 3], k4 = v[q + 4]
        let s0 = base + col[q + 0] * stride, s1 = base + col[q + 1] * stride, s2 = base + col[q + 2] * stride, s3 = base + col[q + 3] * stride, s4 = base + col[q + 4] * stride
        if accumulate { for c in 0..<lanes { out[c] += k0 * s0[c] + k1 * s1[c] + k2 * s2[c] + k3 * s3[c] + k4 * s4[c] } } else { for c in 0..<lanes { out[c] = k0 * s0[c] + k1 * s1[c] + k2 * s2[c] + k3 * s3[c] + k4 * s4[c] } }
    case 6:
        let k0 = v[q + 0], k1 = v[q + 1], k2 = v[q + 2], k3 = v[q + 3], k4 = v[q + 4], k5 = v[q + 5]
        let s0 = base + col[q + 0] * stride, s1 = base + col[q + 1] * stride, s2 = base + col[q + 2] * stride, s3 = base + col[q + 3] * stride, s4 = base + col[q + 4] * stride, s5 = base + col[q + 5] * stride
        if accumulate { for c in 0..<lanes { out[c] += k0 * s0[c] + k1 * s1[c] + k2 * s2[c] + k3 * s3[c] + k4 * s4[c] + k5 * s5[c] } } else { for c in 0..<lanes { out[c] = k0 * s0[c] + k1 * s1[c] + k2 * s2[c] + k3 * s3[c] + k4 * s4[c] + k5 * s5[c] } }
    case 7:
        let k0 = v[q + 0], k1 = v[q + 1], k2 = v[q + 2], k3 = v[q + 3], k4 = v[q + 4], k5 = v[q + 5], k6 = v[q + 6]
        let s0 = base + col[q + 0] * stride, s1 = base + col[q + 1] * stride, s2 = base + col[q + 2] * stride, s3 = base + col[q + 3] * stride, s4 = base + col[q + 4] * stride, s5 = base + col[q + 5] * stride, s6 = base + col[q + 6] * stride
        if accumulate { for c in 0..<lanes { out[c] += k0 * s0[c] + k1 * s1[c] + k2 * s2[c] + k3 * s3[c] + k4 * s4[c] + k5 * s5[c] + k6 * s6[c] } } else { for c in 0..<lanes { out[c] = k0 * s0[c] + k1 * s1[c] + k2 * s2[c] + k3 * s3[c] + k4 * s4[c] + k5 * s5[c] + k6 * s6[c] } }
    case 8:
        let k0 = v[q + 0], k1 = v[q + 1], k2 = v[q + 2], k3 = v[q + 3], k4 = v[q + 4], k5 = v[q + 5], k6 = v[q + 6], k7 = v[q + 7]
        let s0 = base + col[q + 0] * stride, s1 = base + col[q + 1] * stride, s2 = base + col[q + 2] * stride, s3 = base + col[q + 3] * stride, s4 = base + col[q + 4] * stride, s5 = base + col[q + 5] * stride, s6 = base + col[q + 6] * stride, s7 = base + col[q + 7] * stride
        if accumulate { for c in 0..<lanes { out[c] += k0 * s0[c] + k1 * s1[c] + k2 * s2[c] + k3 * s3[c] + k4 * s4[c] + k5 * s5[c] + k6 * s6[c] + k7 * s7[c] } } else { for c in 0..<lanes { out[c] = k0 * s0[c] + k1 * s1[c] + k2 * s2[c] + k3 * s3[c] + k4 * s4[c] + k5 * s5[c] + k6 * s6[c] + k7 * s7[c] } }
    default:
        // Wider rows (tile sizes this project does not select): term by term.
        if !accumulate { out.update(repeating: 0, count: lanes) }
        for i in q..<(q + count) {
            let k = v[i], src = base + col[i] * stride
            for c in 0..<lanes { out[c] += k * src[c] }
        }
    }
}

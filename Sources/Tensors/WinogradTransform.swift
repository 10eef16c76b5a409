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

    /// The output tile m this project uses for a stride-1 r x r convolution, so that n = 8: that
    /// keeps the float32 error near 1e-5 of the outputs (measured in WinogradTests) while cutting
    /// multiplications m²r² / n²-fold: 6.25x for 5x5 kernels (4.8x on conv2's 14 x 14 maps, whose
    /// 4 x 4 tiles overhang to 16 x 16), 5.1x for 3x3.
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
    /// The kernel that applies it: a structured one where the matrix has the pattern, else dense.
    let kernel: Kernel

    enum Kernel: Sendable {
        /// An 8 x 8 Toom-Cook input transform (Bᵀ).
        case pairedRows(PairedTransform8)
        /// F(4, 5)'s 4 x 8 output transform (Aᵀ).
        case pairedColumns(PairedColumns4x8)
        /// B, the transpose of a paired Bᵀ (the backward's input-gradient transform).
        case pairedRowsTransposed(PairedTransform8)
        /// A, the transpose of F(4, 5)'s Aᵀ (the backward's output-gradient transform).
        case pairedColumnsTransposed(PairedColumns4x8)
        case dense
    }

    /// From a dense (rows, cols) matrix, or its transpose.
    public init(_ dense: [Float], rows denseRows: Int, cols denseCols: Int, transposed: Bool = false) {
        rows = transposed ? denseCols : denseRows
        cols = transposed ? denseRows : denseCols
        precondition(rows <= 8 && cols <= 8, "transform matrices are at most 8 x 8, got \(rows) x \(cols)")
        var p = [Float](repeating: 0, count: 64)
        for i in 0..<rows { for j in 0..<cols { p[i * 8 + j] = transposed ? dense[j * denseCols + i] : dense[i * denseCols + j] } }
        padded = p
        // The backward's B and A are the forward's Bᵀ and Aᵀ transposed, so they are recognized
        // through the transpose and applied through its structure.
        var t = [Float](repeating: 0, count: 64)
        for i in 0..<8 { for j in 0..<8 { t[i * 8 + j] = p[j * 8 + i] } }
        if rows == 8 && cols == 8, let k = PairedTransform8(p) { kernel = .pairedRows(k) }
        else if let k = PairedColumns4x8(p, rows: rows, cols: cols) { kernel = .pairedColumns(k) }
        else if rows == 8 && cols == 8, let k = PairedTransform8(t) { kernel = .pairedRowsTransposed(k) }
        else if let k = PairedColumns4x8(t, rows: cols, cols: rows) { kernel = .pairedColumnsTransposed(k) }
        else { kernel = .dense }
    }

    /// One 1-D transform, out_o (+)= Σ_j K[o][j] in_j, through the structured kernel this matrix has
    /// one for, else the dense `transform8` (whose missing outputs go to `sink`).
    @inline(__always)
    func apply(input: UnsafePointer<Float>, inputStride: Int, output: UnsafeMutablePointer<Float>, outputStride: Int,
               sink: UnsafeMutablePointer<Float>, lanes: Int, accumulate: Bool) {
        switch kernel {
        case .pairedRows(let k):
            k.apply(input: input, inputStride: inputStride, output: output, outputStride: outputStride, lanes: lanes, accumulate: accumulate)
        case .pairedColumns(let k):
            k.apply(input: input, inputStride: inputStride, output: output, outputStride: outputStride, lanes: lanes, accumulate: accumulate)
        case .pairedRowsTransposed(let k):
            k.applyTransposed(input: input, inputStride: inputStride, output: output, outputStride: outputStride, lanes: lanes, accumulate: accumulate)
        case .pairedColumnsTransposed(let k):
            k.applyTransposed(input: input, inputStride: inputStride, output: output, outputStride: outputStride, lanes: lanes, accumulate: accumulate)
        case .dense:
            padded.withUnsafeBufferPointer { k in
                transform8(k.baseAddress!, input: input, inputStride: inputStride, cols: cols,
                           output: output, outputStride: outputStride, rows: rows, sink: sink, lanes: lanes, accumulate: accumulate)
            }
        }
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
    // scratch[i][o] = Σ_j R[o][j] in[i][j]: one 1-D transform along each input row.
    for i in 0..<l.cols {
        r.apply(input: input + i * inputRowStride, inputStride: inputColStride,
                output: scratch + i * r.rows * lanes, outputStride: lanes, sink: sink, lanes: lanes, accumulate: false)
    }
    // out[o][j] = Σ_i L[o][i] scratch[i][j]: one along each column.
    for j in 0..<r.rows {
        l.apply(input: scratch + j * lanes, inputStride: r.rows * lanes,
                output: output + j * outputColStride, outputStride: outputRowStride, sink: sink, lanes: lanes, accumulate: accumulate)
    }
}

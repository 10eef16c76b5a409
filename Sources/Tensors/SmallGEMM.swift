import COpenBLAS

/// `C (m, n) = A (m, k) x B (k, n)`, or `C += A x B` when `accumulate`: the Winograd engine's many
/// small products (conv2 of zf-fmnist: 64 per chunk of 64 tiles, each 64 x 64 x 32), on the calling
/// thread.
///
/// A's element (i, p) is at `a[i * aRow + p * aCol]`, so A or Aᵀ of a row-major matrix is read in
/// place; B is row-major with row stride `ldb`, C with `ldc`.
///
/// Why not OpenBLAS: at this size a call spends as long packing A and B and zeroing or scaling C as
/// multiplying. Measured on the forward's shape, 16,384 calls: `cblas_sgemm` 47-64 GFLOP/s, this
/// kernel 85 (one core; the 1024³ peak is 89). Register tiles of 4 rows x 16 columns (8 SIMD8
/// accumulators: FMA latency 4 x 2 pipes; see `plusProduct` for builds without FMA), B's row read once per 4 rows, each A element broadcast.
/// C is written, not read, unless accumulating, so no zeroing pass is needed. The columns past the
/// last multiple of 8 are summed one by one; widths under 8 go to OpenBLAS.
public func smallGEMM(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aRow: Int, aCol: Int,
                      b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    guard m > 0, n > 0 else { return }
    guard n >= 8, k > 0 else {
        // A as row-major A or Aᵀ for OpenBLAS. A stride of a one-long dimension is free, but BLAS
        // still wants lda at least the row's length (a 1 x k A with aRow = aCol = 1, a conv with
        // one input channel and a 1x1 kernel, was refused).
        let rowMajor = aCol == 1 && (aRow >= k || m == 1)
        precondition(rowMajor || (aRow == 1 && (aCol >= m || k == 1)), "smallGEMM: OpenBLAS needs A or Aᵀ row-major")
        serialGEMM(transposeA: !rowMajor, m: m, n: n, k: k, a: a, lda: rowMajor ? max(aRow, k) : max(aCol, m),
                   b: b, ldb: ldb, beta: accumulate ? 1 : 0, c: c, ldc: ldc)
        return
    }
    let whole = n & ~7
    for j in stride(from: 0, to: whole, by: 16) {
        let wide = whole - j >= 16
        for i in stride(from: 0, to: m, by: 4) {
            let (ai, bj, cij) = (a + i * aRow, b + j, c + i * ldc + j)
            switch (min(4, m - i), wide) {
            case (4, true): tile(Rows4x16.self, k, ai, aRow, aCol, bj, ldb, cij, ldc, accumulate)
            case (3, true): tile(Rows3x16.self, k, ai, aRow, aCol, bj, ldb, cij, ldc, accumulate)
            case (2, true): tile(Rows2x16.self, k, ai, aRow, aCol, bj, ldb, cij, ldc, accumulate)
            case (_, true): tile(Rows1x16.self, k, ai, aRow, aCol, bj, ldb, cij, ldc, accumulate)
            case (4, false): tile(Rows4x8.self, k, ai, aRow, aCol, bj, ldb, cij, ldc, accumulate)
            case (3, false): tile(Rows3x8.self, k, ai, aRow, aCol, bj, ldb, cij, ldc, accumulate)
            case (2, false): tile(Rows2x8.self, k, ai, aRow, aCol, bj, ldb, cij, ldc, accumulate)
            case (_, false): tile(Rows1x8.self, k, ai, aRow, aCol, bj, ldb, cij, ldc, accumulate)
            }
        }
    }
    // The last n mod 8 columns one element at a time (a conv window's 15 x 15 = 225 positions
    // leave one).
    for i in 0..<m {
        for j in whole..<n {
            var sum: Float = 0
            for p in 0..<k { sum = sum.plusProduct(a[i * aRow + p * aCol], b[p * ldb + j]) }
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum
        }
    }
}

/// A tile's shape as a type, not as arguments: specialized for each shape, the tile compiles to
/// straight-line FMAs (with the counts as arguments, even under `@inline(__always)`, the optimizer
/// kept one copy that tested them inside the loop, at half the speed). Not integer generic
/// parameters, which need a Swift 6.2 runtime on Apple platforms.
private protocol TileShape { static var rows: Int { get }; static var vectors: Int { get } }
private enum Rows4x16: TileShape { static var rows: Int { 4 }; static var vectors: Int { 2 } }
private enum Rows3x16: TileShape { static var rows: Int { 3 }; static var vectors: Int { 2 } }
private enum Rows2x16: TileShape { static var rows: Int { 2 }; static var vectors: Int { 2 } }
private enum Rows1x16: TileShape { static var rows: Int { 1 }; static var vectors: Int { 2 } }
private enum Rows4x8: TileShape { static var rows: Int { 4 }; static var vectors: Int { 1 } }
private enum Rows3x8: TileShape { static var rows: Int { 3 }; static var vectors: Int { 1 } }
private enum Rows2x8: TileShape { static var rows: Int { 2 }; static var vectors: Int { 1 } }
private enum Rows1x8: TileShape { static var rows: Int { 1 }; static var vectors: Int { 1 } }

/// One (rows, 8 * vectors) tile of C over all of k.
@inline(__always)
private func tile<Shape: TileShape>(_: Shape.Type, _ k: Int, _ a: UnsafePointer<Float>, _ aRow: Int, _ aCol: Int,
                                    _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                                    _ accumulate: Bool) {
    let (rows, vectors) = (Shape.rows, Shape.vectors)
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
    var (ap, bp) = (a, b)
    for _ in 0..<k {
        let b0 = SIMD8.load(bp), b1 = vectors > 1 ? SIMD8.load(bp + 8) : SIMD8<Float>()
        let a0 = SIMD8<Float>(repeating: ap[0])
        c00 = c00.plusProduct(a0, b0); if vectors > 1 { c01 = c01.plusProduct(a0, b1) }
        if rows > 1 { let a1 = SIMD8<Float>(repeating: ap[aRow]); c10 = c10.plusProduct(a1, b0); if vectors > 1 { c11 = c11.plusProduct(a1, b1) } }
        if rows > 2 { let a2 = SIMD8<Float>(repeating: ap[2 &* aRow]); c20 = c20.plusProduct(a2, b0); if vectors > 1 { c21 = c21.plusProduct(a2, b1) } }
        if rows > 3 { let a3 = SIMD8<Float>(repeating: ap[3 &* aRow]); c30 = c30.plusProduct(a3, b0); if vectors > 1 { c31 = c31.plusProduct(a3, b1) } }
        ap += aCol; bp += ldb
    }
    c.store(c00, adding: accumulate); if vectors > 1 { (c + 8).store(c01, adding: accumulate) }
    if rows > 1 { (c + ldc).store(c10, adding: accumulate); if vectors > 1 { (c + ldc + 8).store(c11, adding: accumulate) } }
    if rows > 2 { (c + 2 * ldc).store(c20, adding: accumulate); if vectors > 1 { (c + 2 * ldc + 8).store(c21, adding: accumulate) } }
    if rows > 3 { (c + 3 * ldc).store(c30, adding: accumulate); if vectors > 1 { (c + 3 * ldc + 8).store(c31, adding: accumulate) } }
}

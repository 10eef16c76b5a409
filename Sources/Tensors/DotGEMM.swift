/// `C (m, n) += A (m, k) · Bᵀ` for B stored as (n, k), or `C =` without `accumulate`: every element
/// is the dot product of a row of A and a row of B, both contiguous. This is a convolution's
/// weight gradient, dW (F, K) += dY (F, P) · cols (K, P)ᵀ, where both operands run along the output
/// positions P.
///
/// Why not OpenBLAS: for conv1 of zf-fmnist (32 x 25 x 784 per image) `sgemm` with a transposed B
/// ran at about 40 GFLOP/s per core, most of it packing the thin B. Here tiles of 4 rows of A by
/// 2 rows of B keep 8 SIMD8 partial sums (6 loads per 8 FMAs) over the whole of k, then each is
/// summed across its lanes; k past the last multiple of 8 is added one by one. Deterministic:
/// the order of the sums depends only on the shapes.
public func dotGEMM(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                    c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    for i in stride(from: 0, to: m, by: 4) {
        for j in stride(from: 0, to: n, by: 2) {
            let (ai, bj, cij) = (a + i * lda, b + j * ldb, c + i * ldc + j)
            switch (min(4, m - i), min(2, n - j)) {
            case (4, 2): dotTile(DotTile4x2.self, k, ai, lda, bj, ldb, cij, ldc, accumulate)
            case (3, 2): dotTile(DotTile3x2.self, k, ai, lda, bj, ldb, cij, ldc, accumulate)
            case (2, 2): dotTile(DotTile2x2.self, k, ai, lda, bj, ldb, cij, ldc, accumulate)
            case (_, 2): dotTile(DotTile1x2.self, k, ai, lda, bj, ldb, cij, ldc, accumulate)
            case (4, _): dotTile(DotTile4x1.self, k, ai, lda, bj, ldb, cij, ldc, accumulate)
            case (3, _): dotTile(DotTile3x1.self, k, ai, lda, bj, ldb, cij, ldc, accumulate)
            case (2, _): dotTile(DotTile2x1.self, k, ai, lda, bj, ldb, cij, ldc, accumulate)
            case (_, _): dotTile(DotTile1x1.self, k, ai, lda, bj, ldb, cij, ldc, accumulate)
            }
        }
    }
}

/// A tile's shape as a type, so each compiles to straight-line code (see `smallGEMM`'s `TileShape`).
private protocol DotTileShape { static var aRows: Int { get }; static var bRows: Int { get } }
private enum DotTile4x2: DotTileShape { static var aRows: Int { 4 }; static var bRows: Int { 2 } }
private enum DotTile3x2: DotTileShape { static var aRows: Int { 3 }; static var bRows: Int { 2 } }
private enum DotTile2x2: DotTileShape { static var aRows: Int { 2 }; static var bRows: Int { 2 } }
private enum DotTile1x2: DotTileShape { static var aRows: Int { 1 }; static var bRows: Int { 2 } }
private enum DotTile4x1: DotTileShape { static var aRows: Int { 4 }; static var bRows: Int { 1 } }
private enum DotTile3x1: DotTileShape { static var aRows: Int { 3 }; static var bRows: Int { 1 } }
private enum DotTile2x1: DotTileShape { static var aRows: Int { 2 }; static var bRows: Int { 1 } }
private enum DotTile1x1: DotTileShape { static var aRows: Int { 1 }; static var bRows: Int { 1 } }

/// C's (aRows, bRows) tile at `c`: the dot products of `aRows` rows of A and `bRows` rows of B.
@inline(__always)
private func dotTile<Shape: DotTileShape>(_: Shape.Type, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                                          _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                                          _ accumulate: Bool) {
    let (rows, cols) = (Shape.aRows, Shape.bRows)
    typealias V = SIMD8<Float>
    var s00 = V(), s01 = V(), s10 = V(), s11 = V(), s20 = V(), s21 = V(), s30 = V(), s31 = V()
    var p = 0
    while p + 8 <= k {
        let b0 = V.load(b + p), b1 = cols > 1 ? V.load(b + ldb + p) : V()
        let a0 = V.load(a + p)
        s00 = s00.plusProduct(a0, b0); if cols > 1 { s01 = s01.plusProduct(a0, b1) }
        if rows > 1 { let a1 = V.load(a + lda + p); s10 = s10.plusProduct(a1, b0); if cols > 1 { s11 = s11.plusProduct(a1, b1) } }
        if rows > 2 { let a2 = V.load(a + 2 &* lda + p); s20 = s20.plusProduct(a2, b0); if cols > 1 { s21 = s21.plusProduct(a2, b1) } }
        if rows > 3 { let a3 = V.load(a + 3 &* lda + p); s30 = s30.plusProduct(a3, b0); if cols > 1 { s31 = s31.plusProduct(a3, b1) } }
        p += 8
    }
    @inline(__always) func put(_ partial: V, _ r: Int, _ q: Int) {
        var total = partial.sum()
        for t in p..<k { total = total.plusProduct(a[r * lda + t], b[q * ldb + t]) }
        let out = c + r * ldc + q
        out.pointee = accumulate ? out.pointee + total : total
    }
    put(s00, 0, 0); if cols > 1 { put(s01, 0, 1) }
    if rows > 1 { put(s10, 1, 0); if cols > 1 { put(s11, 1, 1) } }
    if rows > 2 { put(s20, 2, 0); if cols > 1 { put(s21, 2, 1) } }
    if rows > 3 { put(s30, 3, 0); if cols > 1 { put(s31, 3, 1) } }
}

extension SIMD8 where Scalar == Float {
    /// The lanes' sum, pairwise: ((0 + 4) + (2 + 6)) + ((1 + 5) + (3 + 7)).
    @inline(__always)
    fileprivate func sum() -> Float {
        let half = lowHalf + highHalf, quarter = half.lowHalf + half.highHalf
        return quarter[0] + quarter[1]
    }
}

/// `sums[r] += Σ matrix[r][0..<length]` for each of `rows` contiguous rows: a bias gradient.
///
/// Sixteen running sums per row in two SIMD registers, because a single float accumulator cannot
/// vectorize (its adds may not be reordered) and runs at one add per FP-add latency. The order
/// of the additions is fixed, so results are reproducible.
@inline(__always)
public func addRowSums(_ matrix: UnsafePointer<Float>, rows: Int, length: Int, into sums: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        let row = matrix + r * length
        var a = SIMD8<Float>(), b = SIMD8<Float>()
        var i = 0
        while i + 16 <= length {
            a += .load(row + i)
            b += .load(row + i + 8)
            i += 16
        }
        var s = (a + b).sum()
        while i < length { s += row[i]; i += 1 }
        sums[r] += s
    }
}

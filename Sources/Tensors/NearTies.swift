/// How the monitor decides which of several (nearly) equal maxima wins: the first in row-major
/// order among the values within `relativeTolerance` of the maximum, the tolerance taken relative
/// to the plane's largest magnitude.
///
/// Why not the strict first maximum: values that are equal in exact arithmetic (a filter over a
/// flat background sees identical patches) come out of float32 kernels a few ulps apart, and
/// which of them is largest then depends on where each sits in a GEMM block or Winograd tile. A
/// deconvnet projection follows the pooling switches, so such a rounding difference moved whole
/// projections: on alexnet-fmnist, conv1's 0.015445530 against 0.015445505 (equal in exact
/// arithmetic, 2 ulps apart at the right edge of the map) sent 5 of 864 conv2 projections of
/// Fashion-MNIST probes through another switch than an exact engine does, by up to 46% of their
/// peak. Measured rounding of this project's kernels against a Double reference, relative to each
/// plane's largest magnitude: 0.8-1.7e-6 (GEMM), 5e-6 (Winograd F(4,5)), 1.3e-5 (F(6,3)); the
/// tolerance stays above those. Values that truly differ by less than it may be ordered
/// differently by another engine (docs/report-data.md says so).
public enum NearTies {
    public static let relativeTolerance: Float = 1e-4

    /// How far below the maximum a value still counts as equal to it, for a plane whose largest
    /// magnitude is `magnitude`; 0 (the strict rule) when that is infinite or NaN.
    @inline(__always)
    public static func margin(magnitude: Float) -> Float {
        magnitude.isFinite ? relativeTolerance * magnitude : 0
    }

    /// The largest magnitude of `count` values (0 for an empty or all-zero plane, NaN ignored).
    @inline(__always)
    public static func magnitude(_ plane: UnsafePointer<Float>, count: Int) -> Float {
        let whole = count & ~7
        var high = SIMD8<Float>.zero, low = SIMD8<Float>.zero
        var j = 0
        while j < whole {
            let v = SIMD8.load(plane + j)
            high.replace(with: v, where: v .> high)
            low.replace(with: v, where: v .< low)
            j += 8
        }
        var m = Swift.max(high.max(), -low.min())
        while j < count { m = Swift.max(m, Swift.abs(plane[j])); j += 1 }
        return m
    }

    /// Re-decides one plane's pooling switches by this rule. `plane` is the (height, width) input
    /// the pooling read, `maxima` its (outHeight, outWidth) window maxima and `switches` the flat
    /// positions of those maxima, which this replaces.
    ///
    /// Branch-free per window: each in-plane tap sets one bit of a mask when it reaches the
    /// threshold (bit 8 * row + column of the window), and the lowest set bit is the winner. (An
    /// early-exit scan mispredicted; eight windows at a time through Swift's SIMD types, on a
    /// -inf-bordered copy of the plane, was 4x slower still. Measured on zf-fmnist's first pooling:
    /// 15 ns of CPU per window.) Windows wider than 8 scan.
    public static func settle(_ plane: UnsafePointer<Float>, height: Int, width: Int, geometry: WindowGeometry,
                              maxima: UnsafePointer<Float>, outHeight: Int, outWidth: Int, switches: UnsafeMutablePointer<Int32>) {
        let margin = margin(magnitude: magnitude(plane, count: height * width))
        guard margin > 0 else { return }   // all zero (the strict first maximum is already the first element), or not finite
        let (k, s, p) = (geometry.kernel, geometry.stride, geometry.padding)
        for oy in 0..<outHeight {
            let r0 = Swift.max(0, oy * s - p), r1 = Swift.min(height, oy * s - p + k)
            for ox in 0..<outWidth {
                let c0 = Swift.max(0, ox * s - p), c1 = Swift.min(width, ox * s - p + k)
                let o = oy * outWidth + ox
                // The strict maximum at the window's first element (an all-zero window, say) is also this rule's.
                if Int(switches[o]) == r0 * width + c0 { continue }
                let threshold = maxima[o] - margin
                if k == 3 && r1 - r0 == 3 && c1 - c0 == 3 {
                    // A whole 3x3 window (the presets' pooling), unrolled: nine compares into a mask.
                    let a = plane + r0 * width + c0, b = a + width, c = b + width
                    func bit(_ v: Float, _ i: UInt32) -> UInt32 { (v >= threshold ? 1 : 0) << i }
                    let mask = bit(a[0], 0) | bit(a[1], 1) | bit(a[2], 2) | bit(b[0], 3) | bit(b[1], 4) | bit(b[2], 5)
                             | bit(c[0], 6) | bit(c[1], 7) | bit(c[2], 8)
                    guard mask != 0 else { continue }   // a NaN maximum: keep the strict switch
                    let tap = mask.trailingZeroBitCount, row = tap / 3
                    switches[o] = Int32(truncatingIfNeeded: (r0 + row) * width + c0 + tap - 3 * row)
                } else if k <= 8 {
                    var mask: UInt64 = 0
                    for r in r0..<r1 {
                        let row = plane + r * width, shift = UInt64((r - r0) * 8)
                        for c in c0..<c1 {
                            mask |= UInt64(truncatingIfNeeded: (row[c] >= threshold) ? 1 : 0) << (shift + UInt64(c - c0))
                        }
                    }
                    guard mask != 0 else { continue }   // a NaN maximum: keep the strict switch
                    let bit = mask.trailingZeroBitCount
                    switches[o] = Int32(truncatingIfNeeded: (r0 + bit >> 3) * width + c0 + bit & 7)
                } else {
                    search: for r in r0..<r1 {
                        for c in c0..<c1 where plane[r * width + c] >= threshold {
                            switches[o] = Int32(truncatingIfNeeded: r * width + c)
                            break search
                        }
                    }
                }
            }
        }
    }
}

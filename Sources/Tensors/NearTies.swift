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
    /// the pooling read and `switches` its (outHeight, outWidth) flat positions of the window
    /// maxima (strict first maximum, as `PlanePooling` records them). Only elements before the
    /// recorded maximum in the window's row-major order can take its place, so a window whose
    /// maximum is its first element costs one comparison.
    public static func settle(_ plane: UnsafePointer<Float>, height: Int, width: Int, geometry: WindowGeometry,
                              outHeight: Int, outWidth: Int, switches: UnsafeMutablePointer<Int32>) {
        let margin = margin(magnitude: magnitude(plane, count: height * width))
        guard margin > 0 else { return }   // all zero (the first element already wins every window), or not finite
        let (k, s, p) = (geometry.kernel, geometry.stride, geometry.padding)
        for oy in 0..<outHeight {
            let rows = Swift.max(0, oy * s - p)..<Swift.min(height, oy * s - p + k)
            for ox in 0..<outWidth {
                let cols = Swift.max(0, ox * s - p)..<Swift.min(width, ox * s - p + k)
                let at = Int(switches[oy * outWidth + ox])
                let first = rows.lowerBound * width + cols.lowerBound
                guard at != first else { continue }
                let threshold = plane[at] - margin
                search: for y in rows {
                    for x in cols {
                        let i = y * width + x
                        if i == at { break search }
                        if plane[i] >= threshold { switches[oy * outWidth + ox] = Int32(truncatingIfNeeded: i); break search }
                    }
                }
            }
        }
    }
}

/// One plane's max pooling with `MaxPool2D`'s semantics. A kernel keeps nothing between planes
/// but its scratch, which `prepare` sets up once per worker and `pool` reuses plane after plane.
public protocol PlanePooling {
    var height: Int { get }
    var width: Int { get }
    var outHeight: Int { get }
    var outWidth: Int { get }
    /// Elements of the Float and Int32 scratch buffers `pool` needs.
    var scratchFloats: Int { get }
    var scratchInts: Int { get }
    func prepare(scratch: UnsafeMutablePointer<Float>, scratchArg: UnsafeMutablePointer<Int32>)
    /// Pools `src` (H, W) into `dst` and `switches` (outH, outW).
    func pool(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, switches: UnsafeMutablePointer<Int32>,
              scratch: UnsafeMutablePointer<Float>, scratchArg: UnsafeMutablePointer<Int32>)
}

/// Max pooling of one (H, W) plane, any geometry, separably: each input row's window maxima first (one per
/// output column), then, per output row, the maximum of those over the window's rows.
///
/// This is exact, ties included, because the windows are scanned in the same row-major order as
/// a per-window loop: within a row the first maximum wins (strict `>`), and across rows a later
/// row replaces the earlier rows' maximum only when its own maximum is strictly greater, which
/// is exactly when a per-window scan would first move to that row. NaN never compares greater,
/// so it is skipped as before; a window of only -inf (or NaN) keeps -inf at its first in-bounds
/// element.
///
/// Speed: away from the borders both passes are loops over whole rows, with the window's taps
/// held in registers and selects instead of branches (maxima move unpredictably), which the
/// compiler vectorizes once kernel and stride are constants: 3/1 gets its own inlined copy (stride
/// 2 with windows of 2 or 3 goes to `StrideTwoPoolPlane`). A per-window loop with bounds checks did
/// not vectorize.
public struct MaxPoolPlane: PlanePooling {
    public let height: Int, width: Int, outHeight: Int, outWidth: Int
    public let geometry: WindowGeometry

    public init(height: Int, width: Int, outHeight: Int, outWidth: Int, geometry: WindowGeometry) {
        (self.height, self.width, self.outHeight, self.outWidth, self.geometry) = (height, width, outHeight, outWidth, geometry)
    }

    /// The row pass's maxima (H, outW): values in the one scratch, their in-plane positions in the other.
    public var scratchFloats: Int { height * outWidth }
    public var scratchInts: Int { height * outWidth }

    public func prepare(scratch: UnsafeMutablePointer<Float>, scratchArg: UnsafeMutablePointer<Int32>) {}

    public func pool(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, switches: UnsafeMutablePointer<Int32>,
                     scratch: UnsafeMutablePointer<Float>, scratchArg: UnsafeMutablePointer<Int32>) {
        let (rowMax, rowArg) = (scratch, scratchArg)
        switch (geometry.kernel, geometry.stride) {
        case (3, 1): pool(src, dst, switches, rowMax, rowArg, kernel: 3, stride: 1)
        default: pool(src, dst, switches, rowMax, rowArg, kernel: geometry.kernel, stride: geometry.stride)
        }
    }

    /// Window positions (along one axis, `outputs` of them over `length` inputs) that lie wholly
    /// inside the input, so need no bounds.
    private static func interior(outputs: Int, length: Int, _ k: Int, _ s: Int, _ p: Int) -> Range<Int> {
        let first = (p + s - 1) / s                                   // smallest o with o*s - p >= 0
        let end = length - k + p >= 0 ? (length - k + p) / s + 1 : 0  // past the largest o with o*s - p + k <= length
        return first..<max(first, min(end, outputs))
    }

    @inline(__always)
    private func pool(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ switches: UnsafeMutablePointer<Int32>,
                      _ rowMax: UnsafeMutablePointer<Float>, _ rowArg: UnsafeMutablePointer<Int32>, kernel k: Int, stride s: Int) {
        let p = geometry.padding, (h, w, ow) = (height, width, outWidth)
        // 1. Rows: rowMax[iy][ox] = first maximum of row iy over columns ox*s - p ..< ox*s - p + k
        //    (in bounds), rowArg[iy][ox] its in-plane position iy*W + x.
        let columns = Self.interior(outputs: ow, length: w, k, s, p)
        if w == ow * s && !columns.isEmpty {
            // Row iy's window ox then starts at (iy*outW + ox)*s - p: all rows are one loop, long
            // enough to vectorize well (a row alone is 7-14 windows). The border windows it passes
            // over wrap into the neighbouring row; they are redone below.
            let from = columns.lowerBound, to = (h - 1) * ow + columns.upperBound
            Self.rowWindows(src + from * s - p, position: from * s - p, count: to - from, rowMax + from, rowArg + from, k, s)
        } else {
            for iy in 0..<h {
                let start = iy * w + columns.lowerBound * s - p, out = iy * ow + columns.lowerBound
                Self.rowWindows(src + start, position: start, count: columns.count, rowMax + out, rowArg + out, k, s)
            }
        }
        for iy in 0..<h {
            for ox in 0..<columns.lowerBound { Self.borderWindow(src, rowMax, rowArg, iy, ox, k, s, p, w, ow) }
            for ox in columns.upperBound..<ow { Self.borderWindow(src, rowMax, rowArg, iy, ox, k, s, p, w, ow) }
        }
        // 2. Columns: the window's first in-bounds row starts each output; a later row replaces
        //    it only where strictly greater. Interior output rows have all k rows (a constant).
        let rows = Self.interior(outputs: outHeight, length: h, k, s, p)
        for oy in 0..<rows.lowerBound { columnWindows(rowMax, rowArg, dst, switches, oy, rows: min(oy * s - p + k, h) - max(oy * s - p, 0), s, p) }
        for oy in rows { columnWindows(rowMax, rowArg, dst, switches, oy, rows: k, s, p) }
        for oy in rows.upperBound..<outHeight { columnWindows(rowMax, rowArg, dst, switches, oy, rows: min(oy * s - p + k, h) - max(oy * s - p, 0), s, p) }
    }

    /// Output row `oy` from the row pass's maxima of its window's `count` in-bounds rows.
    @inline(__always)
    private func columnWindows(_ rowMax: UnsafePointer<Float>, _ rowArg: UnsafePointer<Int32>, _ dst: UnsafeMutablePointer<Float>,
                               _ switches: UnsafeMutablePointer<Int32>, _ oy: Int, rows count: Int, _ s: Int, _ p: Int) {
        let ow = outWidth, y0 = max(oy * s - p, 0)
        let m = rowMax + y0 * ow, a = rowArg + y0 * ow, out = dst + oy * ow, outSwitch = switches + oy * ow
        for ox in 0..<ow {
            var best = m[ox], at = a[ox]
            for r in 1..<max(count, 1) {
                let v = m[r &* ow &+ ox], arg = a[r &* ow &+ ox], better = v > best
                best = better ? v : best
                at = choose(better, arg, at)
            }
            out[ox] = best
            outSwitch[ox] = at
        }
    }

    /// `count` row windows of `k` taps, window i starting at `taps + i*s` (in-plane position
    /// `position + i*s`). Wrapping arithmetic inside: an overflow trap would stop the loop from
    /// vectorizing.
    @inline(__always)
    private static func rowWindows(_ taps: UnsafePointer<Float>, position: Int, count: Int,
                                   _ m: UnsafeMutablePointer<Float>, _ a: UnsafeMutablePointer<Int32>, _ k: Int, _ s: Int) {
        for i in 0..<count {
            let window = taps + i &* s
            // From -inf, not from the first tap: a NaN there would never be replaced.
            var best = -Float.infinity, at = 0
            for kx in 0..<k {
                let v = window[kx], better = v > best
                best = better ? v : best
                at = better ? kx : at
            }
            m[i] = best
            a[i] = Int32(truncatingIfNeeded: position &+ i &* s &+ at)
        }
    }

    /// Row iy's window ox where it reaches into the padding: its in-bounds columns only.
    private static func borderWindow(_ src: UnsafePointer<Float>, _ rowMax: UnsafeMutablePointer<Float>, _ rowArg: UnsafeMutablePointer<Int32>,
                                     _ iy: Int, _ ox: Int, _ k: Int, _ s: Int, _ p: Int, _ w: Int, _ ow: Int) {
        let row = src + iy * w, x0 = max(ox * s - p, 0), x1 = min(ox * s - p + k, w)
        var best = -Float.infinity, at = x0
        for x in x0..<x1 where row[x] > best { best = row[x]; at = x }
        rowMax[iy * ow + ox] = best
        rowArg[iy * ow + ox] = Int32(truncatingIfNeeded: iy * w + at)
    }
}

/// `condition ? a : b` by bit masks. A plain `?:` lets the optimizer move the load of `a` under a
/// branch (it is only needed when `condition` holds), and a loop with a conditional load does
/// not vectorize.
@inline(__always)
private func choose(_ condition: Bool, _ a: Int32, _ b: Int32) -> Int32 {
    let mask = 0 &- Int32(truncatingIfNeeded: condition ? 1 : 0)
    return (a & mask) | (b & ~mask)
}

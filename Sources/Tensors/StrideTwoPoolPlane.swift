/// Max pooling of one (H, W) plane with windows of 2 or 3 at stride 2 (the presets' 3/2/1), eight
/// output columns per SIMD8 vector. Same results as `MaxPoolPlane`, bit for bit, ties included.
///
/// Separable like `MaxPoolPlane`: each input row's window maxima first, then per output row the
/// first strictly greater of its window's rows, which is the row-major first maximum. What differs
/// is the layout, chosen so that every vector is whole and nothing needs bounds:
/// - the plane is first copied into a scratch plane whose rows are padded with -inf on both sides
///   to `2 * lanes + 2` columns (`lanes`: outW rounded up to 8), so a row's taps for eight windows
///   are two unaligned loads and an even/odd split (`vshufps`);
/// - the row maxima live in a scratch of `paddedRows` rows, where the rows above and below the input
///   hold -inf, so each output row combines exactly `k` rows.
/// -inf never compares greater, so padding never wins; NaN never does either, so it is skipped. A
/// window with no greater-than-(-inf) value keeps -inf at its first in-bounds element, the position
/// each vector starts from. Copying the plane first also avoids store-to-load forwarding stalls: a
/// row copied just before its unaligned loads cost 24% of the kernel's samples.
///
/// Measured (`make bench`'s pool section, one thread, per 128 images): 28x28x32 5.2 -> 2.3 ms,
/// 14x14x64 4.1 -> 1.5 ms against `MaxPoolPlane`.
public struct StrideTwoPoolPlane: PlanePooling {
    public let height: Int, width: Int, outHeight: Int, outWidth: Int
    public let kernel: Int, padding: Int

    /// nil unless the stride is 2, the kernel 2 or 3, and the padding at most half the kernel.
    public init?(height: Int, width: Int, geometry: WindowGeometry) {
        guard geometry.stride == 2, geometry.kernel == 2 || geometry.kernel == 3, 2 * geometry.padding <= geometry.kernel,
              let oh = geometry.outputLength(height), let ow = geometry.outputLength(width) else { return nil }
        (self.height, self.width, outHeight, outWidth) = (height, width, oh, ow)
        (kernel, padding) = (geometry.kernel, geometry.padding)
    }

    /// Output columns rounded up to whole vectors.
    private var lanes: Int { (outWidth + 7) & ~7 }
    /// Columns of a padded input row: window `o` reads padded columns 2o ..< 2o + k, and the last
    /// vector's loads end at 2 * lanes + 2.
    private var paddedWidth: Int { 2 * lanes + 2 }
    /// Rows of row maxima: padded row r holds input row r - p; the last window ends at 2(outH - 1) + k.
    private var paddedRows: Int { 2 * (outHeight - 1) + kernel }

    // Float scratch: the padded plane (H, paddedWidth), the row maxima (paddedRows, lanes), and one
    // spill row (lanes) for the output rows whose whole vectors would pass the plane's end. Int32
    // scratch: the row maxima's positions and the spill row's switches.
    public var scratchFloats: Int { height * paddedWidth + (paddedRows + 1) * lanes }
    public var scratchInts: Int { (paddedRows + 1) * lanes }

    /// -inf everywhere: the padding columns and rows keep it, since `pool` writes only inside them.
    public func prepare(scratch: UnsafeMutablePointer<Float>, scratchArg: UnsafeMutablePointer<Int32>) {
        scratch.update(repeating: -.infinity, count: scratchFloats)
        scratchArg.update(repeating: 0, count: scratchInts)
    }

    public func pool(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, switches: UnsafeMutablePointer<Int32>,
                     scratch: UnsafeMutablePointer<Float>, scratchArg: UnsafeMutablePointer<Int32>) {
        // The kernel as a constant, so the tap and row loops unroll.
        if kernel == 3 { pool(src, dst, switches, scratch, scratchArg, k: 3) } else { pool(src, dst, switches, scratch, scratchArg, k: 2) }
    }

    /// Copies `src` into the padded plane at the start of the scratch (rows of `paddedWidth`, the
    /// input at column offset `padding`, -inf around it from `prepare`); returns the rows copied:
    /// without padding, an odd last row may lie in no window.
    @inline(__always) @discardableResult
    private func copyIntoPaddedPlane(_ src: UnsafePointer<Float>, _ plane: UnsafeMutablePointer<Float>) -> Int {
        let (p, w, pw) = (padding, width, paddedWidth)
        let usedRows = min(height, paddedRows - p)
        for iy in 0..<usedRows { copyShortRow(src + iy * w, to: plane + iy * pw + p, count: w) }
        return usedRows
    }

    @inline(__always)
    private func pool(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ switches: UnsafeMutablePointer<Int32>,
                      _ scratch: UnsafeMutablePointer<Float>, _ scratchArg: UnsafeMutablePointer<Int32>, k: Int) {
        let (p, h, w, oh, ow, lanes, pw) = (padding, height, width, outHeight, outWidth, lanes, paddedWidth)
        let plane = scratch, rowMax = scratch + h * pw, rowArg = scratchArg
        let usedRows = copyIntoPaddedPlane(src, plane)

        // 1. Rows: rowMax[iy + p][o] = first maximum of input row iy over window o's columns,
        //    rowArg its in-plane position iy*W + x.
        let firstColumns = SIMD8<Int32>(0, 2, 4, 6, 8, 10, 12, 14)
        for iy in 0..<usedRows {
            let taps = plane + iy * pw, m = rowMax + (iy + p) * lanes, a = rowArg + (iy + p) * lanes
            let rowStart = Int32(truncatingIfNeeded: iy * w)
            for o in stride(from: 0, to: lanes, by: 8) {
                let column = firstColumns &+ Int32(truncatingIfNeeded: 2 * o - p)  // each window's first column, -1 in the padding
                var best = SIMD8<Float>(repeating: -.infinity)
                var at = column & ~(column &>> 31)                                 // first in-bounds column (a mask, not a compare:
                let t0 = evenLanes(taps + 2 * o), t1 = oddLanes(taps + 2 * o)        // `.<` on Int32 vectors is built lane by lane)
                var better = t0 .> best
                best.replace(with: t0, where: better); at.replace(with: column, where: better)
                better = t1 .> best
                best.replace(with: t1, where: better); at.replace(with: column &+ 1, where: better)
                if k == 3 {
                    let t2 = evenLanes(taps + 2 * o + 2)
                    better = t2 .> best
                    best.replace(with: t2, where: better); at.replace(with: column &+ 2, where: better)
                }
                (m + o).store(best)
                (a + o).store(at &+ rowStart)
            }
        }

        // 2. Columns: from -inf at the first in-bounds row's positions, the window's k rows in order.
        //    A row's whole vectors go straight to dst: lanes past outW land on the rows after it,
        //    which overwrite them later. Only rows whose vectors would run past the plane (the last
        //    one or few) go through the spill row.
        let spill = rowMax + paddedRows * lanes, spillArg = rowArg + paddedRows * lanes
        for oy in 0..<oh {
            let top = 2 * oy, firstInBounds = max(top, p)
            let direct = oy * ow + lanes <= oh * ow
            let out = direct ? dst + oy * ow : spill, outSwitches = direct ? switches + oy * ow : spillArg
            for o in stride(from: 0, to: lanes, by: 8) {
                var best = SIMD8<Float>(repeating: -.infinity)
                var at = SIMD8<Int32>.load(rowArg + firstInBounds * lanes + o)
                for r in 0..<k {
                    let v = SIMD8<Float>.load(rowMax + (top + r) * lanes + o), better = v .> best
                    best.replace(with: v, where: better)
                    at.replace(with: .load(rowArg + (top + r) * lanes + o), where: better)
                }
                (out + o).store(best)
                (outSwitches + o).store(at)
            }
            if !direct {
                for x in 0..<ow { dst[oy * ow + x] = spill[x]; switches[oy * ow + x] = spillArg[x] }
            }
        }
    }
}

extension StrideTwoPoolPlane {
    /// `pool`'s maxima without the switches, for a forward no backward follows (the monitor's top-k
    /// pass, occlusion maps, evaluation): the same comparisons in the same order, so the same bits
    /// (`PoolMaximaTests`), with no positions to carry through the blends and stores.
    ///
    /// Why: the switches were two thirds of the pooling's work, and the monitor reads them for
    /// fewer than half of its probes' planes (`tieSwitches` decides those afterwards).
    public func poolMaxima(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        if kernel == 3 { poolMaxima(src, dst, scratch, k: 3) } else { poolMaxima(src, dst, scratch, k: 2) }
    }

    @inline(__always)
    private func poolMaxima(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>, k: Int) {
        let (p, h, oh, ow, lanes, pw) = (padding, height, outHeight, outWidth, lanes, paddedWidth)
        let plane = scratch, rowMax = scratch + h * pw
        let usedRows = copyIntoPaddedPlane(src, plane)
        // As `pool`: `v > best ? v : best` from -inf, tap by tap, so NaN never wins and ties keep the first.
        @inline(__always) func larger(_ v: SIMD8<Float>, _ best: SIMD8<Float>) -> SIMD8<Float> { best.replacing(with: v, where: v .> best) }
        for iy in 0..<usedRows {
            let taps = plane + iy * pw, m = rowMax + (iy + p) * lanes
            for o in stride(from: 0, to: lanes, by: 8) {
                var best = larger(evenLanes(taps + 2 * o), SIMD8(repeating: -.infinity))
                best = larger(oddLanes(taps + 2 * o), best)
                if k == 3 { best = larger(evenLanes(taps + 2 * o + 2), best) }
                (m + o).store(best)
            }
        }
        let spill = rowMax + paddedRows * lanes
        for oy in 0..<oh {
            let top = 2 * oy
            let direct = oy * ow + lanes <= oh * ow
            let out = direct ? dst + oy * ow : spill
            for o in stride(from: 0, to: lanes, by: 8) {
                var best = SIMD8<Float>(repeating: -.infinity)
                for r in 0..<k { best = larger(.load(rowMax + (top + r) * lanes + o), best) }
                (out + o).store(best)
            }
            if !direct { for x in 0..<ow { dst[oy * ow + x] = spill[x] } }
        }
    }

    /// The switches of one plane by the monitor's tie rule (`NearTies`), eight windows per vector:
    /// in each window the first tap within the margin of its maximum, or, where the maximum is
    /// -inf (nothing but -inf and NaN in the window), the first in-bounds tap as `pool` leaves it.
    /// Bit for bit `pool`'s strict switches re-decided by `NearTies.settle` (`NearTiesTests`), in
    /// one pass: with a zero margin (an all-zero or non-finite plane) the first tap reaching the
    /// maximum is the strict first maximum. `src` is the (H, W) plane, `maxima` its (outH, outW)
    /// window maxima (from `pool` or `poolMaxima`); `scratch` and `scratchArg` are prepared by
    /// `prepare` (the -inf padding is all this reads of them beyond the copy of `src`).
    public func tieSwitches(_ src: UnsafePointer<Float>, maxima: UnsafePointer<Float>, switches: UnsafeMutablePointer<Int32>,
                            scratch: UnsafeMutablePointer<Float>, scratchArg: UnsafeMutablePointer<Int32>) {
        let margin = NearTies.margin(magnitude: NearTies.magnitude(src, count: height * width))
        if kernel == 3 {
            tieSwitches(src, maxima, switches, scratch, scratchArg, margin, k: 3)
        } else {
            tieSwitches(src, maxima, switches, scratch, scratchArg, margin, k: 2)
        }
    }

    @inline(__always)
    private func tieSwitches(_ src: UnsafePointer<Float>, _ maxima: UnsafePointer<Float>, _ switches: UnsafeMutablePointer<Int32>,
                             _ scratch: UnsafeMutablePointer<Float>, _ scratchArg: UnsafeMutablePointer<Int32>, _ margin: Float, k: Int) {
        let (p, h, w, oh, ow, pw) = (padding, height, width, outHeight, outWidth, paddedWidth)
        let plane = scratch
        copyIntoPaddedPlane(src, plane)
        // Whole vectors only, as in `pool`: a vector that would pass the plane's end goes through
        // the spill rows (partial loads and stores built lane by lane made this kernel 3x slower).
        let spill = scratch + h * pw + paddedRows * lanes, spillArg = scratchArg + paddedRows * lanes
        let firstColumns = SIMD8<Int32>(0, 2, 4, 6, 8, 10, 12, 14)
        let negativeInfinity = SIMD8<Float>(repeating: -.infinity), marginVector = SIMD8<Float>(repeating: margin)
        for oy in 0..<oh {
            let top = 2 * oy - p
            let firstRow = Int32(truncatingIfNeeded: Swift.max(top, 0) * w)
            for o in stride(from: 0, to: ow, by: 8) {
                let at0 = oy * ow + o, direct = at0 + 8 <= oh * ow
                if !direct { for j in 0..<Swift.min(8, ow - o) { spill[j] = maxima[at0 + j] } }
                let maximum = SIMD8<Float>.load(direct ? maxima + at0 : UnsafePointer(spill))
                let decided = maximum .> negativeInfinity
                let threshold = maximum - marginVector
                let column = firstColumns &+ Int32(truncatingIfNeeded: 2 * o - p)
                // `pool`'s switch of a window whose maximum is -inf: its first in-bounds tap.
                let firstInBounds = (column & ~(column &>> 31)) &+ firstRow
                var at = firstInBounds
                var found = SIMDMask<SIMD8<Int32>>(repeating: false)
                for r in 0..<k {
                    let iy = top + r
                    guard iy >= 0 && iy < h else { continue }
                    let taps = plane + iy * pw + 2 * o
                    let rowStart = column &+ Int32(truncatingIfNeeded: iy * w)
                    func tap(_ v: SIMD8<Float>, _ t: Int32) {
                        let hit = v .>= threshold
                        at.replace(with: rowStart &+ t, where: hit .& .!found)
                        found = found .| hit
                    }
                    tap(evenLanes(taps), 0)
                    tap(oddLanes(taps), 1)
                    if k == 3 { tap(evenLanes(taps + 2), 2) }
                }
                at.replace(with: firstInBounds, where: .!decided)
                if direct {
                    (switches + at0).store(at)
                } else {
                    spillArg.store(at)
                    for j in 0..<Swift.min(8, ow - o) { switches[at0 + j] = spillArg[j] }
                }
            }
        }
    }
}

/// p[0], p[2], ..., p[14]: written as lane picks of two loads, which LLVM turns into one `vshufps`
/// and a `vpermpd` (SIMD16's `evenHalf` compiles lane by lane).
@inline(__always) private func evenLanes(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    let lo = SIMD8.load(p), hi = SIMD8.load(p + 8)
    return SIMD8(lo[0], lo[2], lo[4], lo[6], hi[0], hi[2], hi[4], hi[6])
}

/// p[1], p[3], ..., p[15].
@inline(__always) private func oddLanes(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    let lo = SIMD8.load(p), hi = SIMD8.load(p + 8)
    return SIMD8(lo[1], lo[3], lo[5], lo[7], hi[1], hi[3], hi[5], hi[7])
}

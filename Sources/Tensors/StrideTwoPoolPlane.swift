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
        // A loop, not `update(from:)`: memmove's call costs as much as copying these short rows.
        for iy in 0..<usedRows {
            let from = src + iy * w, to = plane + iy * pw + p
            for x in 0..<w { to[x] = from[x] }
        }
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
    /// `NearTies.settle` for this geometry, eight windows per vector: the same switches, bit for
    /// bit (`NearTiesTests` checks every tap order and tie against it). `src` is the (H, W) plane
    /// that `pool` read, `maxima` and `switches` its (outH, outW) output; `scratch` holds
    /// `scratchFloats` floats prepared by `prepare` (its -inf padding is all this reads of it
    /// beyond the copy of `src`).
    ///
    /// Why: the scalar rule took 25 CPU cycles per window on zf-fmnist's poolings, about a third
    /// of the pooling forward itself; here each vector compares each tap once, branch-free.
    public func settle(_ src: UnsafePointer<Float>, maxima: UnsafePointer<Float>, switches: UnsafeMutablePointer<Int32>,
                       scratch: UnsafeMutablePointer<Float>) {
        let margin = NearTies.margin(magnitude: NearTies.magnitude(src, count: height * width))
        guard margin > 0 else { return }   // as NearTies.settle: the strict switches stand
        if kernel == 3 { settle(src, maxima, switches, scratch, margin, k: 3) } else { settle(src, maxima, switches, scratch, margin, k: 2) }
    }

    @inline(__always)
    private func settle(_ src: UnsafePointer<Float>, _ maxima: UnsafePointer<Float>, _ switches: UnsafeMutablePointer<Int32>,
                        _ scratch: UnsafeMutablePointer<Float>, _ margin: Float, k: Int) {
        let (p, h, w, oh, ow, pw) = (padding, height, width, outHeight, outWidth, paddedWidth)
        let plane = scratch
        copyIntoPaddedPlane(src, plane)
        let firstColumns = SIMD8<Int32>(0, 2, 4, 6, 8, 10, 12, 14)
        for oy in 0..<oh {
            let top = 2 * oy - p
            for o in stride(from: 0, to: ow, by: 8) {
                let count = min(8, ow - o), at0 = oy * ow + o
                var maximum = SIMD8<Float>(repeating: -.infinity)
                if count == 8 { maximum = SIMD8.load(maxima + at0) } else { for j in 0..<count { maximum[j] = maxima[at0 + j] } }
                // A window whose maximum is -inf (or NaN) keeps its strict switch, as in NearTies.settle.
                let decided = maximum .> SIMD8(repeating: -.infinity)
                let threshold = maximum - SIMD8(repeating: margin)
                let column = firstColumns &+ Int32(truncatingIfNeeded: 2 * o - p)
                var at = SIMD8<Int32>(repeating: 0)
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
                let keep = found .& decided
                for j in 0..<count where keep[j] { switches[at0 + j] = at[j] }
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

/// Strided 2-D transposes in 4x4 SIMD blocks, for the layout changes around the Winograd
/// convolution (NCHW planes to channel-innermost tiles and back), which as scalar loops took 18% of
/// its forward: one strided scalar load or store per element.

/// `dst[j * dstRow + i] = src[i * srcRow + j]` for `i < rows`, `j < cols`; with `bias`, plus
/// `bias[j]`; with `rectified`, then `max(·, 0)` (as `rectify`). The same values, bit for bit, as
/// the scalar loop.
///
/// Whole 4x4 blocks where both sides have at least 4; a last partial block along either side is
/// taken overlapping the block before it, so its values are computed and stored twice, the same
/// each time, and nothing is read or written outside the two regions.
public func transpose(rows: Int, cols: Int, _ src: UnsafePointer<Float>, srcRow: Int,
                      _ dst: UnsafeMutablePointer<Float>, dstRow: Int,
                      bias: UnsafePointer<Float>? = nil, rectified: Bool = false) {
    guard rows >= 4, cols >= 4 else {
        for i in 0..<rows {
            for j in 0..<cols {
                var v = src[i * srcRow + j]
                if let bias { v += bias[j] }
                if rectified { v = v > 0 ? v : 0 }
                dst[j * dstRow + i] = v
            }
        }
        return
    }
    var i0 = 0
    while i0 < rows {
        let i = min(i0, rows - 4)
        var j0 = 0
        while j0 < cols {
            let j = min(j0, cols - 4)
            transpose4x4(src + i * srcRow + j, srcRow: srcRow, dst + j * dstRow + i, dstRow: dstRow,
                         bias: bias.map { $0 + j }, rectified: rectified)
            j0 += 4
        }
        i0 += 4
    }
}

/// One 4x4 block: four row loads, eight two-source shuffles (`_MM_TRANSPOSE4_PS`'s vunpcklps,
/// vunpckhps, vmovlhps, vmovhlps), four column stores. SSE-width on purpose: for an 8x8 block of
/// SIMD8 lane picks LLVM rebuilt the columns from scalar broadcast loads and blends, and the
/// transpose ran slower than the scalar loop it replaced.
@inline(__always)
private func transpose4x4(_ src: UnsafePointer<Float>, srcRow: Int, _ dst: UnsafeMutablePointer<Float>, dstRow: Int,
                          bias: UnsafePointer<Float>?, rectified: Bool) {
    let r0 = SIMD4.load(src), r1 = SIMD4.load(src + srcRow), r2 = SIMD4.load(src + 2 * srcRow), r3 = SIMD4.load(src + 3 * srcRow)
    let t0 = SIMD4(r0[0], r1[0], r0[1], r1[1]), t1 = SIMD4(r2[0], r3[0], r2[1], r3[1])
    let t2 = SIMD4(r0[2], r1[2], r0[3], r1[3]), t3 = SIMD4(r2[2], r3[2], r2[3], r3[3])
    @inline(__always) func store(_ j: Int, _ column: SIMD4<Float>) {
        var v = column
        if let bias { v += SIMD4(repeating: bias[j]) }
        if rectified {
            var kept = SIMD4<Float>.zero
            kept.replace(with: v, where: v .> .zero)
            v = kept
        }
        (dst + j * dstRow).store(v)
    }
    store(0, SIMD4(t0[0], t0[1], t1[0], t1[1]))
    store(1, SIMD4(t0[2], t0[3], t1[2], t1[3]))
    store(2, SIMD4(t2[0], t2[1], t3[0], t3[1]))
    store(3, SIMD4(t2[2], t2[3], t3[2], t3[3]))
}

extension SIMD4 where Scalar == Float {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self { UnsafeRawPointer(p).loadUnaligned(as: Self.self) }
}

extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func store(_ v: SIMD4<Float>) { UnsafeMutableRawPointer(self).storeBytes(of: v, as: SIMD4<Float>.self) }
}

/// Calls `body(first, count)` for the blocks of four of `count` channels, in order: a last partial
/// block overlaps the one before it (so it too has four), and fewer than four channels are one
/// block. Transposes to and from NCHW go a block of channels at a time, so memory sees four
/// sequential streams, where a whole row of every channel at once made one stream per channel
/// (32 or 64), more than the prefetcher follows: conv2's input transpose stalled on its loads.
@inline(__always)
public func forEachBlockOfFour(_ count: Int, _ body: (Int, Int) -> Void) {
    guard count >= 4 else { body(0, count); return }
    var start = 0
    while start < count {
        body(min(start, count - 4), 4)
        start += 4
    }
}

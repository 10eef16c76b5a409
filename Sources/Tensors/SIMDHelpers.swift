/// Unaligned SIMD8 loads and stores through typed pointers, and multiply-adds, for the hand-vectorized kernels
/// (Winograd transforms, small GEMMs, stride-2 pooling). Inlinable, so they compile to one
/// `vmovups` in other modules too.
extension SIMD8 where Scalar == Float {
    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> Self { UnsafeRawPointer(p).loadUnaligned(as: Self.self) }
}

extension SIMD8 where Scalar == Int32 {
    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Int32>) -> Self { UnsafeRawPointer(p).loadUnaligned(as: Self.self) }
}

extension UnsafeMutablePointer where Pointee == Float {
    @inlinable @inline(__always)
    public func store(_ v: SIMD8<Float>) { UnsafeMutableRawPointer(self).storeBytes(of: v, as: SIMD8<Float>.self) }

    /// `v` written here, or added to what is here: how the kernels write an output vector that
    /// may accumulate (C += ... in GEMMs, tiles that overlap in the Winograd transforms).
    @inlinable @inline(__always)
    public func store(_ v: SIMD8<Float>, adding: Bool) { store(adding ? SIMD8.load(self) + v : v) }
}

extension UnsafeMutablePointer where Pointee == Int32 {
    @inlinable @inline(__always)
    public func store(_ v: SIMD8<Int32>) { UnsafeMutableRawPointer(self).storeBytes(of: v, as: SIMD8<Int32>.self) }
}

extension SIMD8 where Scalar == Float {
    /// `self + a * b` lane by lane, as one fused multiply-add where the build targets FMA (`make`
    /// builds on CPUs with AVX2 and FMA pass `-D DECONVSCOPE_FMA` with `-target-cpu haswell`), and as a
    /// multiply and an add elsewhere: without the instruction, `addingProduct` must still round once,
    /// so it becomes a libm `fmaf` call per lane (measured: 40% of a debug build's time in `fmaf`).
    @inlinable @inline(__always)
    public func plusProduct(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        #if DECONVSCOPE_FMA
        return addingProduct(a, b)
        #else
        return self + a * b
        #endif
    }

    /// `self + a * b` with a scalar `a`; see the other `plusProduct`.
    @inlinable @inline(__always)
    public func plusProduct(_ a: Float, _ b: SIMD8<Float>) -> SIMD8<Float> {
        #if DECONVSCOPE_FMA
        return addingProduct(a, b)
        #else
        return self + a * b
        #endif
    }
}

extension Float {
    /// `self + a * b`; see `SIMD8.plusProduct`.
    @inlinable @inline(__always)
    public func plusProduct(_ a: Float, _ b: Float) -> Float {
        #if DECONVSCOPE_FMA
        return addingProduct(a, b)
        #else
        return self + a * b
        #endif
    }
}

/// Copies `count` floats of a short row (an image row of a few dozen values): eight at a time, the
/// last vector ending at the row's end and overlapping the one before. Not `update(from:)`
/// (memmove's call costs as much as copying such a row) nor a plain loop, which LLVM copied four
/// floats at a time with a loop around them (10% of the pooling kernel's samples for 28-float rows).
@inline(__always)
public func copyShortRow(_ from: UnsafePointer<Float>, to: UnsafeMutablePointer<Float>, count: Int) {
    guard count >= 8 else {
        for x in 0..<count { to[x] = from[x] }
        return
    }
    var x = 0
    while x + 8 < count { (to + x).store(SIMD8.load(from + x)); x += 8 }
    (to + (count - 8)).store(SIMD8.load(from + (count - 8)))
}

/// Unaligned SIMD8 loads and stores through typed pointers, for the hand-vectorized kernels
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
}

extension UnsafeMutablePointer where Pointee == Int32 {
    @inlinable @inline(__always)
    public func store(_ v: SIMD8<Int32>) { UnsafeMutableRawPointer(self).storeBytes(of: v, as: SIMD8<Int32>.self) }
}

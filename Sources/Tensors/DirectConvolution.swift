/// A stride-1 convolution computed directly, for layers with very few input channels (conv1 of
/// zf-fmnist: one channel, 5x5, 32 filters). There im2col + GEMM multiplies (F, K) x (K, P) with
/// K = C k² = 25, a depth at which OpenBLAS runs far below its peak (measured: 44 GFLOP/s per core
/// against 70 for large products, in the same minute), after writing a 25 x 784 column matrix per
/// image; and Winograd saves nothing, since with one channel its output transform costs as much as
/// the products it replaces.
///
/// Here each output row is computed eight columns and eight filters at a time: eight SIMD8
/// accumulators start at the biases, and every tap (c, ky, kx) adds one unaligned load of the
/// padded input row times eight broadcast weights. The taps are summed in the order (c, ky, kx),
/// the same for every output, so results do not depend on where a vector starts.
public struct DirectConvolution: Sendable {
    public let shape: ConvShape
    public let outChannels: Int
    /// The padded input, (C, H + 2p, W + 2p).
    let paddedHeight: Int, paddedWidth: Int

    /// Nil unless the stride is 1, there are at most `maximumChannels` input channels, and output
    /// rows are at least one vector (8) wide.
    public init?(shape: ConvShape, outChannels: Int) {
        guard shape.window.stride == 1, shape.channels <= Self.maximumChannels, shape.outWidth >= 8, outChannels >= 1 else { return nil }
        self.shape = shape
        self.outChannels = outChannels
        paddedHeight = shape.height + 2 * shape.window.padding
        paddedWidth = shape.width + 2 * shape.window.padding
    }

    /// Up to three channels (grayscale and RGB first layers); beyond, the GEMM's depth is enough.
    public static let maximumChannels = 3

    /// Floats of scratch one thread needs: the padded image and the weights as (C, k, k, F).
    public var scratchCount: Int { shape.channels * paddedHeight * paddedWidth + weightsCount }
    private var weightsCount: Int { shape.patchSize * ((outChannels + 7) & ~7) }

    /// Rearranges `weight` (F, C, k, k) into the scratch's (C, k, k, F8) block (F8: F rounded up to
    /// 8, zero beyond F), where one tap's filters are contiguous; once per batch and thread.
    public func prepare(weight: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let f8 = (outChannels + 7) & ~7, taps = shape.patchSize
        let packed = scratch + shape.channels * paddedHeight * paddedWidth
        packed.update(repeating: 0, count: weightsCount)
        for o in 0..<outChannels { for t in 0..<taps { packed[t * f8 + o] = weight[o * taps + t] } }
        // The padding of the image buffer is zero and stays so: `forward` writes only the interior.
        scratch.update(repeating: 0, count: shape.channels * paddedHeight * paddedWidth)
    }

    /// One image: `output` (F, outH, outW) = conv(`image` (C, H, W)) + `bias`, and with
    /// `rectified` max(that, 0). `scratch` must have gone through `prepare` with this layer's weights.
    public func forward(image: UnsafePointer<Float>, bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                        rectified: Bool, scratch: UnsafeMutablePointer<Float>) {
        let (c, h, w, p, k) = (shape.channels, shape.height, shape.width, shape.window.padding, shape.window.kernel)
        let (hp, wp, oh, ow, f) = (paddedHeight, paddedWidth, shape.outHeight, shape.outWidth, outChannels)
        let f8 = (f + 7) & ~7
        let padded = scratch, packed = scratch + c * hp * wp
        for ch in 0..<c {
            for y in 0..<h {
                let from = image + (ch * h + y) * w, to = padded + (ch * hp + y + p) * wp + p
                for x in 0..<w { to[x] = from[x] }
            }
        }
        for f0 in stride(from: 0, to: f, by: 8) {
            let filters = min(8, f - f0)
            for y in 0..<oh {
                var x0 = 0
                while x0 < ow {
                    // A last partial vector starts at outW - 8, overlapping the one before: the
                    // overlap is computed twice, in the same order, and stored twice the same.
                    let x = min(x0, ow - 8)
                    var a0 = SIMD8<Float>(repeating: bias[f0]), a1 = SIMD8<Float>(repeating: filters > 1 ? bias[f0 + 1] : 0)
                    var a2 = SIMD8<Float>(repeating: filters > 2 ? bias[f0 + 2] : 0), a3 = SIMD8<Float>(repeating: filters > 3 ? bias[f0 + 3] : 0)
                    var a4 = SIMD8<Float>(repeating: filters > 4 ? bias[f0 + 4] : 0), a5 = SIMD8<Float>(repeating: filters > 5 ? bias[f0 + 5] : 0)
                    var a6 = SIMD8<Float>(repeating: filters > 6 ? bias[f0 + 6] : 0), a7 = SIMD8<Float>(repeating: filters > 7 ? bias[f0 + 7] : 0)
                    var tap = packed + f0
                    for ch in 0..<c {
                        for ky in 0..<k {
                            let row = padded + (ch * hp + y + ky) * wp + x
                            for kx in 0..<k {
                                let v = SIMD8.load(row + kx)
                                a0 = a0.plusProduct(tap[0], v); a1 = a1.plusProduct(tap[1], v)
                                a2 = a2.plusProduct(tap[2], v); a3 = a3.plusProduct(tap[3], v)
                                a4 = a4.plusProduct(tap[4], v); a5 = a5.plusProduct(tap[5], v)
                                a6 = a6.plusProduct(tap[6], v); a7 = a7.plusProduct(tap[7], v)
                                tap += f8
                            }
                        }
                    }
                    let out = output + (f0 * oh + y) * ow + x, plane = oh * ow
                    @inline(__always) func store(_ j: Int, _ v: SIMD8<Float>) {
                        guard j < filters else { return }
                        var kept = v
                        if rectified {
                            kept = .zero
                            kept.replace(with: v, where: v .> .zero)
                        }
                        (out + j * plane).store(kept)
                    }
                    store(0, a0); store(1, a1); store(2, a2); store(3, a3)
                    store(4, a4); store(5, a5); store(6, a6); store(7, a7)
                    x0 += 8
                }
            }
        }
    }
}

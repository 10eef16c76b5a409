/// A stride-1 convolution computed directly, for layers with very few input channels (conv1 of
/// zf-fmnist: one channel, 5x5, 32 filters). There im2col + GEMM multiplies (F, K) x (K, P) with
/// K = C k² = 25, a depth at which OpenBLAS runs far below its peak (measured: 44 GFLOP/s per core
/// against 70 for large products, in the same minute), after writing a 25 x 784 column matrix per
/// image; and Winograd saves nothing, since with one channel its output transform costs as much as
/// the products it replaces.
///
/// Here each output row is computed sixteen columns and four filters at a time: eight SIMD8
/// accumulators start at the biases, and every tap (c, ky, kx) adds two unaligned loads of the
/// padded input row times four broadcast weights. The taps are summed in the order (c, ky, kx),
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
        // At least a block of 16 output columns' taps wide: narrower rows read zeros past the image.
        paddedWidth = max(shape.width + 2 * shape.window.padding, 16 + shape.window.kernel - 1)
    }

    /// Up to three channels (grayscale and RGB first layers); beyond, the GEMM's depth is enough.
    public static let maximumChannels = 3

    /// Floats of scratch one thread needs: the padded image, the weights as (C, k, k, F4), and a
    /// spill row of 16.
    public var scratchCount: Int { shape.channels * paddedHeight * paddedWidth + weightsCount + 16 }
    private var weightsCount: Int { shape.patchSize * ((outChannels + 3) & ~3) }

    /// Rearranges `weight` (F, C, k, k) into the scratch's (C, k, k, F4) block (F4: F rounded up to
    /// 4, zero beyond F), where one tap's filters are contiguous; once per batch and thread.
    public func prepare(weight: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let f4 = (outChannels + 3) & ~3, taps = shape.patchSize
        let packed = scratch + shape.channels * paddedHeight * paddedWidth
        packed.update(repeating: 0, count: weightsCount)
        for o in 0..<outChannels { for t in 0..<taps { packed[t * f4 + o] = weight[o * taps + t] } }
        // The padding of the image buffer is zero and stays so: `forward` writes only the interior.
        scratch.update(repeating: 0, count: shape.channels * paddedHeight * paddedWidth)
    }

    /// One image: `output` (F, outH, outW) = conv(`image` (C, H, W)) + `bias`, and with
    /// `rectified` max(that, 0). `scratch` must have gone through `prepare` with this layer's weights.
    public func forward(image: UnsafePointer<Float>, bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                        rectified: Bool, scratch: UnsafeMutablePointer<Float>) {
        let (c, h, w, p, k) = (shape.channels, shape.height, shape.width, shape.window.padding, shape.window.kernel)
        let (hp, wp, oh, ow, f) = (paddedHeight, paddedWidth, shape.outHeight, shape.outWidth, outChannels)
        let f4 = (f + 3) & ~3
        let padded = scratch, packed = scratch + c * hp * wp
        for ch in 0..<c {
            for y in 0..<h {
                copyShortRow(image + (ch * h + y) * w, to: padded + (ch * hp + y + p) * wp + p, count: w)
            }
        }
        // Four filters x sixteen columns per register block: every tap is two loads of the padded
        // row and four broadcast weights for eight FMAs. (Eight filters x eight columns needed eight
        // broadcasts per eight FMAs and ran at a third of smallGEMM's rate: broadcast-bound.)
        let narrow = ow < 16, spill = packed + weightsCount
        for f0 in stride(from: 0, to: f, by: 4) {
            let filters = min(4, f - f0)
            for y in 0..<oh {
                var x0 = 0
                while x0 < ow {
                    // A last partial block starts at outW - 16, overlapping the one before: the
                    // overlap is computed twice, in the same order, and stored twice the same.
                    let x = narrow ? 0 : min(x0, ow - 16)
                    let b0 = bias[f0], b1 = filters > 1 ? bias[f0 + 1] : 0
                    let b2 = filters > 2 ? bias[f0 + 2] : 0, b3 = filters > 3 ? bias[f0 + 3] : 0
                    var a0 = SIMD8<Float>(repeating: b0), c0 = a0, a1 = SIMD8<Float>(repeating: b1), c1 = a1
                    var a2 = SIMD8<Float>(repeating: b2), c2 = a2, a3 = SIMD8<Float>(repeating: b3), c3 = a3
                    var tap = packed + f0
                    for ch in 0..<c {
                        for ky in 0..<k {
                            let row = padded + (ch * hp + y + ky) * wp + x
                            for kx in 0..<k {
                                let u = SIMD8.load(row + kx), v = SIMD8.load(row + kx + 8)
                                let w0 = tap[0], w1 = tap[1], w2 = tap[2], w3 = tap[3]
                                a0 = a0.plusProduct(w0, u); c0 = c0.plusProduct(w0, v)
                                a1 = a1.plusProduct(w1, u); c1 = c1.plusProduct(w1, v)
                                a2 = a2.plusProduct(w2, u); c2 = c2.plusProduct(w2, v)
                                a3 = a3.plusProduct(w3, u); c3 = c3.plusProduct(w3, v)
                                tap += f4
                            }
                        }
                    }
                    @inline(__always) func store(_ j: Int, _ left: SIMD8<Float>, _ right: SIMD8<Float>) {
                        guard j < filters else { return }
                        var (l, r) = (left, right)
                        if rectified {
                            (l, r) = (.zero, .zero)
                            l.replace(with: left, where: left .> .zero)
                            r.replace(with: right, where: right .> .zero)
                        }
                        let out = output + ((f0 + j) * oh + y) * ow + x
                        if narrow {
                            // Rows narrower than a block: through a spill row, the first outW columns.
                            spill.store(l)
                            (spill + 8).store(r)
                            for i in 0..<ow { out[i] = spill[i] }
                        } else {
                            out.store(l)
                            (out + 8).store(r)
                        }
                    }
                    store(0, a0, c0); store(1, a1, c1); store(2, a2, c2); store(3, a3, c3)
                    x0 += 16
                }
            }
        }
    }
}

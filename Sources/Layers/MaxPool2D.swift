import Tensors

/// Max pooling with PyTorch semantics: the input is padded with -inf, the output is
/// `floor((H + 2p - k) / s) + 1`, and ties go to the first maximum in row-major window order.
///
/// The forward pass records the *switches*, the flat in-plane position (y*W + x) of each
/// window's maximum. Backward routes each value to its switch and adds where overlapping windows
/// share one: the exact transpose of the forward selection, and the deconvnet's unpooling.
public final class MaxPool2D: Layer {
    public let kind = "maxpool"
    public let channels: Int, height: Int, width: Int
    public let geometry: WindowGeometry
    public let outHeight: Int, outWidth: Int
    /// (N, C, outH, outW) positions of the maxima within their (H, W) plane.
    public private(set) var switches: [Int32] = []
    private var savedBatch = 0

    public init?(inputShape: [Int], window: WindowGeometry) {
        guard inputShape.count == 3, let oh = window.outputLength(inputShape[1]), let ow = window.outputLength(inputShape[2]) else { return nil }
        channels = inputShape[0]; height = inputShape[1]; width = inputShape[2]
        geometry = window; outHeight = oh; outWidth = ow
    }

    public var inputShape: [Int] { [channels, height, width] }
    public var outputShape: [Int] { [channels, outHeight, outWidth] }
    public var window: WindowGeometry? { geometry }

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let n = x.shape[0]
        precondition(Array(x.shape.dropFirst()) == inputShape, "maxpool expects \(inputShape), got \(x.shape)")
        savedBatch = n
        let planes = n * channels, h = height, w = width, oh = outHeight, ow = outWidth
        let k = geometry.kernel, s = geometry.stride, pad = geometry.padding
        var out = Tensor(uninitialized: [n, channels, oh, ow]) { _ in }  // every window writes its output
        if switches.count != planes * oh * ow { switches = [Int32](repeating: 0, count: planes * oh * ow) }
        x.data.withUnsafeBufferPointer { xp in
        out.data.withUnsafeMutableBufferPointer { op in
        switches.withUnsafeMutableBufferPointer { sp in
            let xb = xp.baseAddress!, ob = op.baseAddress!, sb = sp.baseAddress!
            parallelFor(min(planes, 64)) { worker in
                var plane = worker
                while plane < planes {
                    let src = xb + plane * h * w, dst = ob + plane * oh * ow, sw = sb + plane * oh * ow
                    for oy in 0..<oh {
                        let y0 = max(oy * s - pad, 0), y1 = min(oy * s - pad + k, h)
                        for ox in 0..<ow {
                            let x0 = max(ox * s - pad, 0), x1 = min(ox * s - pad + k, w)
                            if k == 3 && y1 - y0 == 3 && x1 - x0 == 3 {
                                // A whole 3x3 window (the presets' pooling), unrolled.
                                let (value, index) = max3x3(src, y0 * w + x0, w)
                                dst[oy * ow + ox] = value
                                sw[oy * ow + ox] = Int32(index)
                                continue
                            }
                            var best = -Float.infinity, at = y0 * w + x0
                            for iy in y0..<y1 {
                                for ix in x0..<x1 {
                                    // Selects rather than a branch: maxima move unpredictably.
                                    let index = iy * w + ix, v = src[index], better = v > best
                                    best = better ? v : best
                                    at = better ? index : at
                                }
                            }
                            dst[oy * ow + ox] = best
                            sw[oy * ow + ox] = Int32(at)
                        }
                    }
                    plane += min(planes, 64)
                }
            }
        } } }
        return out
    }

    /// Installs switches recorded by an earlier forward (`batch` samples, (batch, C, outH, outW)),
    /// so a deconvnet can unpool without running the forward again.
    public func restore(switches recorded: [Int32], batch: Int) {
        precondition(recorded.count == batch * channels * outHeight * outWidth, "maxpool restore: \(recorded.count) switches for batch \(batch)")
        switches = recorded
        savedBatch = batch
    }

    public func backward(_ dy: Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) -> Tensor {
        let n = savedBatch
        precondition(dy.shape == [n] + outputShape, "maxpool backward expects \([n] + outputShape), got \(dy.shape)")
        let plane = height * width, outPlane = outHeight * outWidth
        // Each plane is zeroed and then scattered into by one thread: planes are disjoint.
        let dx = Tensor(uninitialized: [n] + inputShape) { xp in
            dy.data.withUnsafeBufferPointer { dp in
            switches.withUnsafeBufferPointer { sp in
                let (db, sb, xb) = (dp.baseAddress!, sp.baseAddress!, xp.baseAddress!)
                parallelRanges(n * channels, minimum: 64) { planes in
                    for pl in planes {
                        let d = db + pl * outPlane, s = sb + pl * outPlane, dst = xb + pl * plane
                        dst.update(repeating: 0, count: plane)
                        for i in 0..<outPlane { dst[Int(s[i])] += d[i] }
                    }
                }
            } }
        }
        return dx
    }
}

/// Maximum of the 3x3 window whose top-left element is `src[corner]` (rows `w` apart) and the
/// flat index of its first occurrence in row-major order, as the generic loop would find it.
@inline(__always)
private func max3x3(_ src: UnsafePointer<Float>, _ corner: Int, _ w: Int) -> (Float, Int) {
    // A pure step function rather than a closure over mutable locals, which debug builds
    // (the test suite's) check for exclusive access on every call.
    @inline(__always) func offer(_ best: (Float, Int), _ index: Int) -> (Float, Int) {
        src[index] > best.0 ? (src[index], index) : best
    }
    var best = (-Float.infinity, corner)
    best = offer(best, corner); best = offer(best, corner + 1); best = offer(best, corner + 2)
    best = offer(best, corner + w); best = offer(best, corner + w + 1); best = offer(best, corner + w + 2)
    best = offer(best, corner + 2 * w); best = offer(best, corner + 2 * w + 1); best = offer(best, corner + 2 * w + 2)
    return best
}

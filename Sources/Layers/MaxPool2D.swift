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
                            var best = -Float.infinity, at = y0 * w + x0
                            for iy in y0..<y1 {
                                for ix in x0..<x1 where src[iy * w + ix] > best {
                                    best = src[iy * w + ix]; at = iy * w + ix
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
        var dx = Tensor(zeros: [n] + inputShape)
        let plane = height * width, outPlane = outHeight * outWidth
        dy.data.withUnsafeBufferPointer { dp in
        switches.withUnsafeBufferPointer { sp in
        dx.data.withUnsafeMutableBufferPointer { xp in
            for pl in 0..<(n * channels) {
                let d = dp.baseAddress! + pl * outPlane, s = sp.baseAddress! + pl * outPlane
                let dst = xp.baseAddress! + pl * plane
                for i in 0..<outPlane { dst[Int(s[i])] += d[i] }
            }
        } } }
        return dx
    }
}

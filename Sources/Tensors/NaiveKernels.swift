/// Direct-loop reference kernels: slow, obviously right, and the oracles the fast
/// im2col + GEMM paths are tested against.
public enum NaiveKernels {
    /// x (N, C, H, W), weight (F, C, k, k), bias (F) -> (N, F, outH, outW).
    public static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, window: WindowGeometry) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let f = weight.shape[0], k = window.kernel
        let oh = window.outputLength(h)!, ow = window.outputLength(w)!
        var out = Tensor(zeros: [n, f, oh, ow])
        for b in 0..<n { for o in 0..<f { for oy in 0..<oh { for ox in 0..<ow {
            var sum = Double(bias?.data[o] ?? 0)
            for ci in 0..<c { for ky in 0..<k { for kx in 0..<k {
                let iy = oy * window.stride - window.padding + ky
                let ix = ox * window.stride - window.padding + kx
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                sum += Double(x.data[((b * c + ci) * h + iy) * w + ix]) * Double(weight.data[((o * c + ci) * k + ky) * k + kx])
            } } }
            out.data[((b * f + o) * oh + oy) * ow + ox] = Float(sum)
        } } } }
        return out
    }

    /// Gradient of `sum(dy * conv2d(x))` with respect to x: the transposed convolution.
    public static func conv2dTransposed(_ dy: Tensor, weight: Tensor, inputShape: [Int], window: WindowGeometry) -> Tensor {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let f = weight.shape[0], k = window.kernel, oh = dy.shape[2], ow = dy.shape[3]
        var dx = Tensor(zeros: inputShape)
        for b in 0..<n { for o in 0..<f { for oy in 0..<oh { for ox in 0..<ow {
            let g = dy.data[((b * f + o) * oh + oy) * ow + ox]
            for ci in 0..<c { for ky in 0..<k { for kx in 0..<k {
                let iy = oy * window.stride - window.padding + ky
                let ix = ox * window.stride - window.padding + kx
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                dx.data[((b * c + ci) * h + iy) * w + ix] += g * weight.data[((o * c + ci) * k + ky) * k + kx]
            } } }
        } } } }
        return dx
    }

    /// PyTorch max pooling: pad with -inf, first maximum in row-major window order wins.
    public static func maxPool2d(_ x: Tensor, window: WindowGeometry) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = window.outputLength(h)!, ow = window.outputLength(w)!
        var out = Tensor(zeros: [n, c, oh, ow])
        for p in 0..<(n * c) { for oy in 0..<oh { for ox in 0..<ow {
            var best = -Float.infinity
            for ky in 0..<window.kernel { for kx in 0..<window.kernel {
                let iy = oy * window.stride - window.padding + ky
                let ix = ox * window.stride - window.padding + kx
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                let v = x.data[(p * h + iy) * w + ix]
                if v > best { best = v }
            } }
            out.data[(p * oh + oy) * ow + ox] = best
        } } }
        return out
    }
}

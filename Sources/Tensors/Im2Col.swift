/// Output positions `lo..<hi` along one axis whose input index `o * s - p + kOffset` lies in
/// `0..<size`; computed once per kernel row so the inner loops carry no bounds branch.
@inline(__always)
func validRange(size: Int, outputs: Int, stride s: Int, padding p: Int, kernelOffset kOffset: Int) -> (lo: Int, hi: Int) {
    // o * s >= p - kOffset  and  o * s <= size - 1 + p - kOffset
    let first = p - kOffset
    let lo = first <= 0 ? 0 : (first + s - 1) / s
    let last = size - 1 + p - kOffset
    let hi = last < 0 ? 0 : min(outputs, last / s + 1)
    return (min(lo, hi), hi)
}

/// Unfolds one image (C, H, W) into columns (C*k*k, outH*outW), written with row stride `ld`
/// so several images can sit side by side in one batched column matrix. Padding reads as 0.
public func im2col(_ shape: ConvShape, image: UnsafePointer<Float>, columns: UnsafeMutablePointer<Float>, ld: Int) {
    let k = shape.window.kernel, s = shape.window.stride, p = shape.window.padding
    let h = shape.height, w = shape.width, oh = shape.outHeight, ow = shape.outWidth
    var row = 0
    for c in 0..<shape.channels {
        let plane = image + c * h * w
        for ky in 0..<k {
            let ys = validRange(size: h, outputs: oh, stride: s, padding: p, kernelOffset: ky)
            for kx in 0..<k {
                let xs = validRange(size: w, outputs: ow, stride: s, padding: p, kernelOffset: kx)
                let dst = columns + row * ld
                if ys.lo > 0 { dst.update(repeating: 0, count: ys.lo * ow) }
                for oy in ys.lo..<ys.hi {
                    let out = dst + oy * ow
                    let src = plane + (oy * s - p + ky) * w + (kx - p)
                    if xs.lo > 0 { out.update(repeating: 0, count: xs.lo) }
                    if s == 1 {
                        if xs.hi > xs.lo { (out + xs.lo).update(from: src + xs.lo, count: xs.hi - xs.lo) }
                    } else {
                        for ox in xs.lo..<xs.hi { out[ox] = src[ox * s] }
                    }
                    if xs.hi < ow { (out + xs.hi).update(repeating: 0, count: ow - xs.hi) }
                }
                if ys.hi < oh { (dst + ys.hi * ow).update(repeating: 0, count: (oh - ys.hi) * ow) }
                row += 1
            }
        }
    }
}

/// The adjoint of `im2col`: accumulates columns back into an image (C, H, W), which it
/// zeroes first. Overlapping windows add, padding positions are dropped.
public func col2im(_ shape: ConvShape, columns: UnsafePointer<Float>, ld: Int, image: UnsafeMutablePointer<Float>) {
    let k = shape.window.kernel, s = shape.window.stride, p = shape.window.padding
    let h = shape.height, w = shape.width, oh = shape.outHeight, ow = shape.outWidth
    image.update(repeating: 0, count: shape.inputSize)
    var row = 0
    for c in 0..<shape.channels {
        let plane = image + c * h * w
        for ky in 0..<k {
            let ys = validRange(size: h, outputs: oh, stride: s, padding: p, kernelOffset: ky)
            for kx in 0..<k {
                let xs = validRange(size: w, outputs: ow, stride: s, padding: p, kernelOffset: kx)
                let src = columns + row * ld
                for oy in ys.lo..<ys.hi {
                    let col = src + oy * ow
                    let dst = plane + (oy * s - p + ky) * w + (kx - p)
                    if s == 1 {
                        for ox in xs.lo..<xs.hi { dst[ox] += col[ox] }
                    } else {
                        for ox in xs.lo..<xs.hi { dst[ox * s] += col[ox] }
                    }
                }
                row += 1
            }
        }
    }
}

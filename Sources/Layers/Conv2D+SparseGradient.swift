import Tensors

extension Conv2D {
    /// The input gradient when few output positions carry signal (a deconvnet seed, unpooled):
    /// the same GEMM with W^T and the same col2im geometry, restricted to the active columns.
    /// Returns nil when more than a quarter of the positions are active (the dense path wins).
    func sparseInputGradient(_ dy: Tensor) -> Tensor? {
        let n = dy.shape[0], p = shape.outputPositions, f = outChannels, kk = shape.patchSize
        var active: [(image: Int, position: Int)] = []
        dy.data.withUnsafeBufferPointer { d in
            for j in 0..<n {
                for pos in 0..<p {
                    for o in 0..<f where d[(j * f + o) * p + pos] != 0 { active.append((j, pos)); break }
                }
            }
        }
        guard active.count * 4 <= n * p else { return nil }
        var dx = Tensor(zeros: [n] + inputShape)
        guard !active.isEmpty else { return dx }
        let a = active.count
        var compact = [Float](repeating: 0, count: f * a)      // (F, A)
        var columns = [Float](repeating: 0, count: kk * a)     // (K, A)
        dy.data.withUnsafeBufferPointer { d in
            for (i, item) in active.enumerated() {
                for o in 0..<f { compact[o * a + i] = d[(item.image * f + o) * p + item.position] }
            }
        }
        compact.withUnsafeBufferPointer { cp in
        weight.value.data.withUnsafeBufferPointer { wp in
        columns.withUnsafeMutableBufferPointer { colp in
            gemm(transposeA: true, m: kk, n: a, k: f, a: wp.baseAddress!, lda: kk, b: cp.baseAddress!, ldb: a, c: colp.baseAddress!, ldc: a)
        } } }
        let k = shape.window.kernel, s = shape.window.stride, pad = shape.window.padding
        let (h, w, ow) = (shape.height, shape.width, shape.outWidth)
        dx.data.withUnsafeMutableBufferPointer { dxp in
            for (i, item) in active.enumerated() {
                let oy = item.position / ow, ox = item.position % ow
                let image = dxp.baseAddress! + item.image * shape.inputSize
                var row = 0
                for c in 0..<shape.channels {
                    for ky in 0..<k {
                        let iy = oy * s - pad + ky
                        for kx in 0..<k {
                            let ix = ox * s - pad + kx
                            if iy >= 0 && iy < h && ix >= 0 && ix < w { image[(c * h + iy) * w + ix] += columns[row * a + i] }
                            row += 1
                        }
                    }
                }
            }
        }
        return dx
    }
}

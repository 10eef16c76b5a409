import Tensors

extension Conv2D {
    /// The input gradient when few output positions carry signal (a deconvnet seed, unpooled):
    /// the same GEMM with W^T and the same col2im geometry, restricted to the active columns.
    /// Returns nil when more than a quarter of the positions are active (the dense path wins).
    func sparseInputGradient(_ dy: Tensor) -> Tensor? {
        let n = dy.shape[0], p = shape.outputPositions, f = outChannels, kk = shape.patchSize
        // Active (image, position) pairs, found by scanning dy in memory order. Almost all of dy is
        // zero, so the scan tests eight values at a time and looks closer only at blocks with signal.
        var active: [(image: Int, position: Int)] = []
        let limit = n * p / 4
        let dense: Bool = dy.data.withUnsafeBufferPointer { d in
            withUnsafeTemporaryAllocation(of: Bool.self, capacity: p) { marked in
                marked.initialize(repeating: false)
                for j in 0..<n {
                    for o in 0..<f {
                        let row = d.baseAddress! + (j * f + o) * p
                        // The same memory as bit patterns: a value is nonzero when its bits without the sign are.
                        let bits = UnsafeRawPointer(row).assumingMemoryBound(to: UInt32.self)
                        var pos = 0
                        while pos + 8 <= p {
                            let any = bits[pos] | bits[pos + 1] | bits[pos + 2] | bits[pos + 3]
                                | bits[pos + 4] | bits[pos + 5] | bits[pos + 6] | bits[pos + 7]
                            if any << 1 != 0 {
                                for q in pos..<(pos + 8) where row[q] != 0 { marked[q] = true }
                            }
                            pos += 8
                        }
                        while pos < p { if row[pos] != 0 { marked[pos] = true }; pos += 1 }
                    }
                    for pos in 0..<p where marked[pos] {
                        active.append((j, pos))
                        marked[pos] = false
                    }
                    if active.count > limit { return true }
                }
                return false
            }
        }
        guard !dense else { return nil }
        var dx = Tensor(zeros: [n] + inputShape)
        guard !active.isEmpty else { return dx }
        let a = active.count
        // One row per active position, so the GEMM's result is read row by row below.
        var compact = [Float](repeating: 0, count: a * f)      // (A, F)
        var columns = [Float](repeating: 0, count: a * kk)     // (A, K)
        dy.data.withUnsafeBufferPointer { d in
            for (i, item) in active.enumerated() {
                for o in 0..<f { compact[i * f + o] = d[(item.image * f + o) * p + item.position] }
            }
        }
        compact.withUnsafeBufferPointer { cp in
        weight.value.data.withUnsafeBufferPointer { wp in
        columns.withUnsafeMutableBufferPointer { colp in
            // (A, F) x W (F, K): each active position's column of W^T dy, as a row.
            gemm(m: a, n: kk, k: f, a: cp.baseAddress!, lda: f, b: wp.baseAddress!, ldb: kk, c: colp.baseAddress!, ldc: kk)
        } } }
        let k = shape.window.kernel, s = shape.window.stride, pad = shape.window.padding
        let (h, w, ow) = (shape.height, shape.width, shape.outWidth)
        columns.withUnsafeBufferPointer { colp in
        dx.data.withUnsafeMutableBufferPointer { dxp in
            for (i, item) in active.enumerated() {
                let oy = item.position / ow, ox = item.position % ow
                let image = dxp.baseAddress! + item.image * shape.inputSize
                let column = colp.baseAddress! + i * kk
                var row = 0
                for c in 0..<shape.channels {
                    for ky in 0..<k {
                        let iy = oy * s - pad + ky
                        for kx in 0..<k {
                            let ix = ox * s - pad + kx
                            if iy >= 0 && iy < h && ix >= 0 && ix < w { image[(c * h + iy) * w + ix] += column[row] }
                            row += 1
                        }
                    }
                }
            }
        } }
        return dx
    }
}

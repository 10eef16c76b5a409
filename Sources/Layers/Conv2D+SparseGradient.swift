import Tensors

extension Conv2D {
    /// The input gradient when few output positions carry signal (a deconvnet seed, unpooled):
    /// the same GEMM with W^T and the same col2im geometry, restricted to the active columns.
    /// Returns nil when more than a quarter of the positions are active (the dense path wins).
    ///
    /// Images are dealt to `groups(n)` groups as in the dense path; each group scans, multiplies
    /// and scatters its own images on its own thread (they write disjoint images of dx). On one
    /// thread the scan alone was 40% of the conv1 projections' time.
    func sparseInputGradient(_ dy: Tensor) -> Tensor? {
        let n = dy.shape[0], p = shape.outputPositions, f = outChannels, kk = shape.patchSize
        let groups = groups(n)
        // 1. Active (image, position) pairs per group, found by scanning dy in memory order.
        var active = [[(image: Int, position: Int)]](repeating: [], count: groups)
        var dense = [Bool](repeating: false, count: groups)
        dy.data.withUnsafeBufferPointer { d in
        active.withUnsafeMutableBufferPointer { activeLists in
        dense.withUnsafeMutableBufferPointer { denseFlags in
            parallelFor(groups) { g in
                let images = stride(from: g, to: n, by: groups)
                let limit = images.underestimatedCount * p / 4
                withUnsafeTemporaryAllocation(of: UInt32.self, capacity: p) { scratch in
                withUnsafeTemporaryAllocation(of: Int32.self, capacity: p) { positions in
                    var found: [(image: Int, position: Int)] = []
                    for j in images {
                        let a = nonzeroColumns(d.baseAddress! + j * f * p, rows: f, columns: p,
                                               scratch: scratch.baseAddress!, positions: positions.baseAddress!)
                        for i in 0..<a { found.append((j, Int(positions[i]))) }
                        if found.count > limit { denseFlags[g] = true; return }
                    }
                    activeLists[g] = found
                } }
            }
        } } }
        guard !dense.contains(true) else { return nil }
        var dx = Tensor(zeros: [n] + inputShape)
        let k = shape.window.kernel, s = shape.window.stride, pad = shape.window.padding
        let (h, w, ow, channels, inputSize) = (shape.height, shape.width, shape.outWidth, shape.channels, shape.inputSize)
        // 2. Per group: gather, (A, F) x W (F, K), scatter.
        dy.data.withUnsafeBufferPointer { d in
        weight.value.data.withUnsafeBufferPointer { wp in
        dx.data.withUnsafeMutableBufferPointer { dxp in
            let (db, wb, dxb) = (d.baseAddress!, wp.baseAddress!, dxp.baseAddress!)
            parallelFor(groups) { g in
                let items = active[g], a = items.count
                guard a > 0 else { return }
                // One row per active position, so the GEMM's result is read row by row below.
                withUnsafeTemporaryAllocation(of: Float.self, capacity: a * f) { compactBuffer in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: a * kk) { columnsBuffer in
                    let compact = compactBuffer.baseAddress!, columns = columnsBuffer.baseAddress!   // (A, F), (A, K)
                    for (i, item) in items.enumerated() {
                        for o in 0..<f { compact[i * f + o] = db[(item.image * f + o) * p + item.position] }
                    }
                    // Each active position's column of W^T dy, as a row.
                    smallGEMM(m: a, n: kk, k: f, a: compact, aRow: f, aCol: 1, b: wb, ldb: kk, c: columns, ldc: kk, accumulate: false)
                    for (i, item) in items.enumerated() {
                        let oy = item.position / ow, ox = item.position % ow
                        let image = dxb + item.image * inputSize, column = columns + i * kk
                        var row = 0
                        for c in 0..<channels {
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
            }
        } } }
        return dx
    }
}

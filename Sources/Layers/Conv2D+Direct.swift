import Tensors

extension Conv2D {
    /// An `.evaluation` forward of this conv, rectified, and of `pool` after it (a ReLU between),
    /// each image pooled right after its conv output is computed, while that is still in cache
    /// (conv1 of zf-fmnist writes 100 KB per image; a batch's 6.4 MB read back by the pooling came
    /// from memory). Both outputs, the same bits as the two forwards; nil unless this conv runs
    /// on the direct or the Winograd engine and `pool` has a vector kernel for its window.
    public func evaluationForward(_ x: Tensor, pooledBy pool: MaxPool2D) -> (conv: Tensor, pooled: Tensor)? {
        guard direct != nil || winograd != nil, pool.inputShape == outputShape, let pooling = pool.evaluationPooling() else { return nil }
        let n = x.shape[0]
        precondition(Array(x.shape.dropFirst()) == inputShape, "conv \(name ?? "") expects \(inputShape), got \(x.shape)")
        savedInput = .nothingKept
        var out = Tensor(uninitialized: [n] + outputShape) { _ in }
        var pooled = Tensor(uninitialized: [n] + pool.outputShape) { _ in }
        pooled.data.withUnsafeMutableBufferPointer { pp in
            let pb = pp.baseAddress!, per = pool.outputShape.reduce(1, *)
            let poolImage = { (image: Int, planes: UnsafePointer<Float>) in pooling(planes, pb + image * per) }
            if let direct {
                directForward(direct, x: x, output: &out, rectified: true, thenEachImage: poolImage)
            } else if let winograd {
                winogradForward(winograd, x: x, output: &out, rectified: true, thenEachImage: poolImage)
            }
        }
        pool.forgetSwitches(batch: n)
        return (out, pooled)
    }

    /// The forward pass through `DirectConvolution`, images dealt to groups as in the im2col path,
    /// each group with its own padded-image and packed-weight scratch.
    func directForward(_ engine: DirectConvolution, x: Tensor, output: inout Tensor, rectified: Bool,
                       thenEachImage: ((_ image: Int, _ output: UnsafePointer<Float>) -> Void)? = nil) {
        let n = x.shape[0], groups = groups(n), per = engine.scratchCount
        let inSize = shape.inputSize, outSize = outChannels * shape.outputPositions
        if directWorkspace.count < groups * per { directWorkspace = [Float](repeating: 0, count: groups * per) }
        directWorkspace.withUnsafeMutableBufferPointer { ws in
        x.data.withUnsafeBufferPointer { xp in
        weight.value.data.withUnsafeBufferPointer { wp in
        bias.value.data.withUnsafeBufferPointer { bp in
        output.data.withUnsafeMutableBufferPointer { op in
            let (scratch, xb, wb, bb, ob) = (ws.baseAddress!, xp.baseAddress!, wp.baseAddress!, bp.baseAddress!, op.baseAddress!)
            parallelFor(groups) { g in
                let mine = scratch + g * per
                engine.prepare(weight: wb, scratch: mine)
                for j in stride(from: g, to: n, by: groups) {
                    engine.forward(image: xb + j * inSize, bias: bb, output: ob + j * outSize, rectified: rectified, scratch: mine)
                    thenEachImage?(j, ob + j * outSize)
                }
            }
        } } } } }
    }
}

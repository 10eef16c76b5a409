import Tensors

extension Conv2D {
    /// The forward pass through `DirectConvolution`, images dealt to groups as in the im2col path,
    /// each group with its own padded-image and packed-weight scratch.
    func directForward(_ engine: DirectConvolution, x: Tensor, output: inout Tensor, rectified: Bool) {
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
                }
            }
        } } } } }
    }
}

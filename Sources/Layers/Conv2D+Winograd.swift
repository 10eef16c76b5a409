import Tensors

extension Conv2D {
    /// The forward pass through `WinogradConvolution` into `output` (N, F, outH, outW), with
    /// `thenEachImage` run on each image's output as soon as it is written.
    func winogradForward(_ engine: WinogradConvolution, x: Tensor, output: inout Tensor, rectified: Bool,
                         thenEachImage: ((_ image: Int, _ output: UnsafePointer<Float>) -> Void)? = nil) {
        let n = x.shape[0]
        x.data.withUnsafeBufferPointer { xp in
        weight.value.data.withUnsafeBufferPointer { wp in
        bias.value.data.withUnsafeBufferPointer { bp in
        output.data.withUnsafeMutableBufferPointer { op in
            engine.forward(input: xp.baseAddress!, count: n, weight: wp, bias: bp.baseAddress!, output: op.baseAddress!,
                           rectified: rectified, groups: groups(n), thenEachImage: thenEachImage)
        } } } }
    }

    /// The backward pass through `WinogradConvolution`: weight gradient, bias gradient and, when
    /// `computesInputGradient`, the input gradient into `dx` (N, C, H, W).
    func winogradBackward(_ engine: WinogradConvolution, x: Tensor, dy: Tensor, dx: inout Tensor, accumulateParameterGradients: Bool) {
        let n = dy.shape[0], f = outChannels, p = shape.outputPositions
        let groups = groups(n)
        let inputGradient = computesInputGradient
        x.data.withUnsafeBufferPointer { xp in
        dy.data.withUnsafeBufferPointer { dyp in
        weight.value.data.withUnsafeBufferPointer { wp in
        weight.gradient.data.withUnsafeMutableBufferPointer { dwp in
        dx.data.withUnsafeMutableBufferPointer { dxp in
            engine.backward(input: accumulateParameterGradients ? xp.baseAddress : nil, outputGradient: dyp.baseAddress!, count: n,
                            weight: wp, weightGradient: accumulateParameterGradients ? dwp.baseAddress : nil,
                            inputGradient: inputGradient ? dxp.baseAddress : nil, groups: groups)
        } } } } }
        guard accumulateParameterGradients else { return }
        // Bias gradient: each filter's output gradient summed over positions, per group of images,
        // and the groups added in a fixed order (as for the weights).
        var partial = [Float](repeating: 0, count: groups * f)
        dy.data.withUnsafeBufferPointer { d in
        partial.withUnsafeMutableBufferPointer { pp in
            let (db, sums) = (d.baseAddress!, pp.baseAddress!)
            parallelFor(groups) { g in
                for j in stride(from: g, to: n, by: groups) { addRowSums(db + j * f * p, rows: f, length: p, into: sums + g * f) }
            }
        } }
        bias.gradient.data.withUnsafeMutableBufferPointer { db in
            for g in 0..<groups { for o in 0..<f { db[o] += partial[g * f + o] } }
        }
    }
}

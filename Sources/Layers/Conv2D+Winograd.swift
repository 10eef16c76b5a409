import Tensors

extension Conv2D {
    /// The backward pass through `WinogradConvolution`: weight gradient, bias gradient and, when
    /// `computesInputGradient`, the input gradient into `dx` (N, C, H, W).
    func winogradBackward(_ engine: WinogradConvolution, x: Tensor, dy: Tensor, dx: inout Tensor, accumulateParameterGradients: Bool) {
        let n = dy.shape[0], f = outChannels, p = shape.outputPositions
        let groups = max(1, min(n, BLASThreads.panels))
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
        // Bias gradient: each filter's output gradient summed over images and positions, in a fixed order.
        dy.data.withUnsafeBufferPointer { d in
        bias.gradient.data.withUnsafeMutableBufferPointer { db in
            for j in 0..<n {
                for o in 0..<f {
                    let row = d.baseAddress! + (j * f + o) * p
                    var s: Float = 0
                    for i in 0..<p { s += row[i] }
                    db[o] += s
                }
            }
        } }
    }
}

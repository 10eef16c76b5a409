import Tensors

/// 2-D convolution (cross-correlation, as in PyTorch) through im2col + GEMM.
///
/// Input (N, C, H, W), weight (F, C, k, k), bias (F), output (N, F, outH, outW) with
/// `outH = floor((H + 2p - k) / s) + 1`. Images are processed in chunks whose column
/// matrix (C*k*k, chunk*outH*outW) stays near 16 MB, so one GEMM covers many images while
/// memory stays bounded; the chunk's buffers are reused across calls.
public final class Conv2D: Layer {
    public let kind = "conv"
    public let name: String?
    public let shape: ConvShape
    public let outChannels: Int
    public let weight: Parameter   // (F, C, k, k)
    public let bias: Parameter     // (F)

    /// Off for a network's first layer during training: nobody needs the gradient with respect to
    /// the images, and skipping it saves a GEMM and a col2im per batch. `Network.backward` sets it.
    public var computesInputGradient = true

    private var savedInput = Tensor(zeros: [0])
    private var columns: [Float] = []    // (C*k*k, chunk * outH*outW)
    private var gemmOut: [Float] = []    // (F, chunk * outH*outW)

    public init(name: String, shape: ConvShape, outChannels: Int) {
        self.name = name
        self.shape = shape
        self.outChannels = outChannels
        let k = shape.window.kernel
        weight = Parameter(name: "weight", value: Tensor(zeros: [outChannels, shape.channels, k, k]))
        bias = Parameter(name: "bias", value: Tensor(zeros: [outChannels]))
    }

    public var inputShape: [Int] { [shape.channels, shape.height, shape.width] }
    public var outputShape: [Int] { [outChannels, shape.outHeight, shape.outWidth] }
    public var window: WindowGeometry? { shape.window }
    public var parameters: [Parameter] { [weight, bias] }

    /// Images per GEMM: about 4M column entries, at least one image.
    private func chunkSize(_ n: Int) -> Int {
        max(1, min(n, (4 << 20) / max(1, shape.patchSize * shape.outputPositions)))
    }

    private func ensureBuffers(_ chunk: Int) {
        let cols = shape.patchSize * chunk * shape.outputPositions
        if columns.count < cols { columns = [Float](repeating: 0, count: cols) }
        let outs = outChannels * chunk * shape.outputPositions
        if gemmOut.count < outs { gemmOut = [Float](repeating: 0, count: outs) }
    }

    /// Fills `columns` for images [start, start+count) of `x`: (K, count*P), parallel over images.
    private func unfold(_ x: UnsafePointer<Float>, start: Int, count: Int, into cols: UnsafeMutablePointer<Float>) {
        let p = shape.outputPositions, ld = count * p, inSize = shape.inputSize, shape = self.shape
        parallelFor(count) { j in
            im2col(shape, image: x + (start + j) * inSize, columns: cols + j * p, ld: ld)
        }
    }

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let n = x.shape[0], p = shape.outputPositions, f = outChannels, kk = shape.patchSize
        precondition(Array(x.shape.dropFirst()) == inputShape, "conv \(name ?? "") expects \(inputShape), got \(x.shape)")
        savedInput = x
        var out = Tensor(uninitialized: [n, f, shape.outHeight, shape.outWidth]) { _ in }  // every element written below
        let chunk = chunkSize(n)
        ensureBuffers(chunk)
        x.data.withUnsafeBufferPointer { xp in
        weight.value.data.withUnsafeBufferPointer { wp in
        bias.value.data.withUnsafeBufferPointer { bp in
        columns.withUnsafeMutableBufferPointer { cols in
        gemmOut.withUnsafeMutableBufferPointer { tmp in
        out.data.withUnsafeMutableBufferPointer { op in
            for start in stride(from: 0, to: n, by: chunk) {
                let count = min(chunk, n - start), ld = count * p
                unfold(xp.baseAddress!, start: start, count: count, into: cols.baseAddress!)
                // (F, K) x (K, count*P) -> (F, count*P)
                gemm(m: f, n: ld, k: kk, a: wp.baseAddress!, lda: kk, b: cols.baseAddress!, ldb: ld, c: tmp.baseAddress!, ldc: ld)
                // (F, count, P) -> (count, F, P), adding the bias on the way.
                for j in 0..<count {
                    for o in 0..<f {
                        let src = tmp.baseAddress! + o * ld + j * p
                        let dst = op.baseAddress! + ((start + j) * f + o) * p
                        let b = bp[o]
                        for i in 0..<p { dst[i] = src[i] + b }
                    }
                }
            }
        } } } } } }
        return out
    }

    /// Without parameter gradients only `dy` is needed (the map is linear), so a deconvnet can
    /// run this backward without a forward pass of its own (see `Network.restoreForDeconvnet`).
    public func backward(_ dy: Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) -> Tensor {
        let x = savedInput
        let n = accumulateParameterGradients ? x.shape[0] : dy.shape[0]
        let p = shape.outputPositions, f = outChannels, kk = shape.patchSize
        precondition(dy.shape == [n] + outputShape, "conv \(name ?? "") backward expects \([n] + outputShape), got \(dy.shape)")
        if !accumulateParameterGradients, let sparse = sparseInputGradient(dy) { return sparse }
        var dx = Tensor(zeros: [n] + inputShape)
        let chunk = chunkSize(n)
        ensureBuffers(chunk)
        let inSize = shape.inputSize, shape = self.shape
        x.data.withUnsafeBufferPointer { xp in
        dy.data.withUnsafeBufferPointer { dyp in
        weight.value.data.withUnsafeBufferPointer { wp in
        weight.gradient.data.withUnsafeMutableBufferPointer { dwp in
        bias.gradient.data.withUnsafeMutableBufferPointer { dbp in
        columns.withUnsafeMutableBufferPointer { cols in
        gemmOut.withUnsafeMutableBufferPointer { tmp in
        dx.data.withUnsafeMutableBufferPointer { dxp in
            for start in stride(from: 0, to: n, by: chunk) {
                let count = min(chunk, n - start), ld = count * p
                // (count, F, P) -> (F, count*P)
                for j in 0..<count {
                    for o in 0..<f {
                        (tmp.baseAddress! + o * ld + j * p).update(from: dyp.baseAddress! + ((start + j) * f + o) * p, count: p)
                    }
                }
                if accumulateParameterGradients {
                    unfold(xp.baseAddress!, start: start, count: count, into: cols.baseAddress!)
                    // dW (F, K) += dY (F, count*P) x cols^T (count*P, K)
                    gemm(transposeB: true, m: f, n: kk, k: ld, a: tmp.baseAddress!, lda: ld,
                         b: cols.baseAddress!, ldb: ld, beta: 1, c: dwp.baseAddress!, ldc: kk)
                    for o in 0..<f {
                        let row = tmp.baseAddress! + o * ld
                        var s: Float = 0
                        for i in 0..<ld { s += row[i] }
                        dbp[o] += s
                    }
                }
                guard computesInputGradient else { continue }
                // dCols (K, count*P) = W^T (K, F) x dY (F, count*P): the transposed convolution.
                gemm(transposeA: true, m: kk, n: ld, k: f, a: wp.baseAddress!, lda: kk,
                     b: tmp.baseAddress!, ldb: ld, c: cols.baseAddress!, ldc: ld)
                let colsBase = cols.baseAddress!, dxBase = dxp.baseAddress!
                parallelFor(count) { j in
                    col2im(shape, columns: colsBase + j * p, ld: ld, image: dxBase + (start + j) * inSize)
                }
            }
        } } } } } } } }
        return dx
    }

    /// The input gradient when few output positions carry signal (a deconvnet seed, unpooled):
    /// the same GEMM with W^T and the same col2im geometry, restricted to the active columns.
    /// Returns nil when more than a quarter of the positions are active (the dense path wins).
    private func sparseInputGradient(_ dy: Tensor) -> Tensor? {
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

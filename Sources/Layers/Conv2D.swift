import Tensors

/// 2-D convolution (cross-correlation, as in PyTorch) through im2col + GEMM.
///
/// Input (N, C, H, W), weight (F, C, k, k), bias (F), output (N, F, outH, outW) with
/// `outH = floor((H + 2p - k) / s) + 1`.
///
/// Images are dealt to a fixed number of groups (one per core) that run in parallel; each group
/// unfolds one image at a time into its own column buffer (K, P), small enough to stay in the
/// core's L2 cache, and multiplies it there: (F, K) x (K, P) lands directly in the image's NCHW
/// output, so no batch-wide column matrix is written to memory and no layout transpose follows.
/// Per-image products of these shapes run as fast as one batch-wide product (measured with
/// OpenBLAS on this machine: 84-86 GFLOP/s per core for conv2's shapes, against 73 for the
/// batch-wide one). Weight gradients are summed per group and the groups added in a fixed order,
/// so results do not depend on how many threads ran.
public final class Conv2D: Layer {
    public let name: String?
    public let shape: ConvShape
    public let outChannels: Int
    public let weight: Parameter   // (F, C, k, k)
    public let bias: Parameter     // (F)

    /// Off for a network's first layer during training: nobody needs the gradient with respect to
    /// the images, and skipping it saves a GEMM and a col2im per image. `Network.backward` sets it.
    public var computesInputGradient = true

    var savedInput = Tensor(zeros: [0])
    /// The Winograd engine for stride-1 3x3 and 5x5 kernels over at least 8 input channels
    /// (conv2 of the presets); nil where im2col + GEMM is used. With fewer channels the n²
    /// transform-domain GEMMs are too thin to beat one im2col GEMM.
    let winograd: WinogradConvolution?
    public var usesWinograd: Bool { winograd != nil }
    /// The direct engine for stride-1 layers with at most three input channels (conv1 of the
    /// presets), forward only: the backward's weight gradient stays im2col + GEMM.
    let direct: DirectConvolution?
    public var usesDirect: Bool { direct != nil }
    /// Per group: `DirectConvolution`'s padded image and packed weights.
    var directWorkspace: [Float] = []
    /// Multiply-adds per image and pass in this layer's GEMMs: as executed, and as im2col + GEMM
    /// (the direct count, by which GFLOP/s figures are usually quoted) would do them.
    public var multiplyAddsPerImage: (executed: Int, direct: Int) {
        let direct = outChannels * shape.patchSize * shape.outputPositions
        return (winograd?.multiplyAddsPerImage ?? direct, direct)
    }
    /// Per group: columns (K, P), column gradient (K, P), weight gradient (F, K), bias gradient (F).
    private var workspace: [Float] = []

    public init(name: String, shape: ConvShape, outChannels: Int) {
        self.name = name
        self.shape = shape
        self.outChannels = outChannels
        let k = shape.window.kernel
        weight = Parameter(name: "weight", zerosOfShape: [outChannels, shape.channels, k, k])
        bias = Parameter(name: "bias", zerosOfShape: [outChannels])
        winograd = shape.channels >= 8 ? WinogradConvolution(shape: shape, outChannels: outChannels) : nil
        direct = DirectConvolution(shape: shape, outChannels: outChannels)
    }

    /// A conv over `shape` with another layer's parameters and no Winograd or direct engine: a
    /// window of that layer for `ReceptiveCrop`.
    init(name: String?, shape: ConvShape, outChannels: Int, sharing weight: Parameter, _ bias: Parameter) {
        precondition(weight.value.shape == [outChannels, shape.channels, shape.window.kernel, shape.window.kernel])
        self.name = name
        self.shape = shape
        self.outChannels = outChannels
        self.weight = weight
        self.bias = bias
        winograd = nil
        direct = nil
    }

    public var inputShape: [Int] { [shape.channels, shape.height, shape.width] }
    public var outputShape: [Int] { [outChannels, shape.outHeight, shape.outWidth] }
    public var window: WindowGeometry? { shape.window }
    public var parameters: [Parameter] { [weight, bias] }

    /// Groups for a batch of `n`: depends only on `n` and the core count, never on the threads
    /// available right now, so the order of the weight-gradient sums is fixed.
    func groups(_ n: Int) -> Int { max(1, min(n, BLASThreads.panels)) }

    private var groupStride: Int {
        let kk = shape.patchSize, p = shape.outputPositions, f = outChannels
        return 2 * kk * p + f * kk + f
    }

    /// The group's slices of `workspace`, sized on first use and reused across batches.
    private struct GroupBuffers {
        let columns: UnsafeMutablePointer<Float>, columnGradient: UnsafeMutablePointer<Float>
        let weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>
    }

    private func withGroupBuffers<R>(_ groups: Int, _ body: ([GroupBuffers]) -> R) -> R {
        let per = groupStride, kk = shape.patchSize, p = shape.outputPositions
        if workspace.count < groups * per { workspace = [Float](repeating: 0, count: groups * per) }
        return workspace.withUnsafeMutableBufferPointer { ws in
            body((0..<groups).map { g in
                let base = ws.baseAddress! + g * per
                return GroupBuffers(columns: base, columnGradient: base + kk * p,
                                    weightGradient: base + 2 * kk * p, biasGradient: base + 2 * kk * p + outChannels * kk)
            })
        }
    }

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor { forward(x, mode: mode, rectified: false) }

    /// With `rectified`, the output is `max(conv, 0)`, bit for bit what a ReLU after this layer
    /// would make, rectified per image while it is still in cache: `Network` fuses a conv with the
    /// ReLU after it this way, saving a pass over the whole activation (conv1's is 100 MB for the
    /// monitor's 1,024 probes).
    public func forward(_ x: Tensor, mode: ForwardMode, rectified: Bool) -> Tensor {
        let n = x.shape[0], p = shape.outputPositions, f = outChannels, kk = shape.patchSize
        precondition(Array(x.shape.dropFirst()) == inputShape, "conv \(name ?? "") expects \(inputShape), got \(x.shape)")
        savedInput = mode.keepsBackwardState ? x : .nothingKept
        let inSize = shape.inputSize, shape = self.shape, groups = groups(n)
        var out = Tensor(uninitialized: [n, f, shape.outHeight, shape.outWidth]) { _ in }  // every image's GEMM writes its slice
        if let winograd {
            winogradForward(winograd, x: x, output: &out, rectified: rectified)
            return out
        }
        if let direct {
            directForward(direct, x: x, output: &out, rectified: rectified)
            return out
        }
        withGroupBuffers(groups) { buffers in
        x.data.withUnsafeBufferPointer { xp in
        weight.value.data.withUnsafeBufferPointer { wp in
        bias.value.data.withUnsafeBufferPointer { bp in
        out.data.withUnsafeMutableBufferPointer { op in
            let xb = xp.baseAddress!, wb = wp.baseAddress!, bb = bp.baseAddress!, ob = op.baseAddress!
            parallelFor(groups) { g in
                let cols = buffers[g].columns
                for j in stride(from: g, to: n, by: groups) {
                    im2col(shape, image: xb + j * inSize, columns: cols, ld: p)
                    let y = ob + j * f * p
                    // The bias first, then (F, K) x (K, P) added onto it (beta = 1): OpenBLAS skips
                    // its zeroing pass over C, and no second pass adds the bias.
                    for o in 0..<f { (y + o * p).update(repeating: bb[o], count: p) }
                    serialGEMM(m: f, n: p, k: kk, a: wb, lda: kk, b: cols, ldb: p, beta: 1, c: y, ldc: p)
                    if rectified { rectify(y, count: f * p) }
                }
            }
        } } } } }
        return out
    }

    /// Without parameter gradients only `dy` is needed (the map is linear), so a deconvnet can
    /// run this backward without a forward pass of its own (see `ReceptiveCrop`).
    public func backward(_ dy: Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) -> Tensor {
        let x = savedInput
        let n = accumulateParameterGradients ? x.shape[0] : dy.shape[0]
        let p = shape.outputPositions, f = outChannels, kk = shape.patchSize
        precondition(dy.shape == [n] + outputShape, "conv \(name ?? "") backward expects \([n] + outputShape), got \(dy.shape)")
        if !accumulateParameterGradients, let sparse = sparseInputGradient(dy) { return sparse }
        let inputGradient = computesInputGradient
        // col2im zeroes each image it writes; without an input gradient the result is all zeros.
        var dx = inputGradient ? Tensor(uninitialized: [n] + inputShape) { _ in } : Tensor(zeros: [n] + inputShape)
        if let winograd {
            winogradBackward(winograd, x: x, dy: dy, dx: &dx, accumulateParameterGradients: accumulateParameterGradients)
            return dx
        }
        let inSize = shape.inputSize, shape = self.shape, groups = groups(n)
        withGroupBuffers(groups) { buffers in
        x.data.withUnsafeBufferPointer { xp in
        dy.data.withUnsafeBufferPointer { dyp in
        weight.value.data.withUnsafeBufferPointer { wp in
        dx.data.withUnsafeMutableBufferPointer { dxp in
            let xb = xp.baseAddress, dyb = dyp.baseAddress!, wb = wp.baseAddress!, dxb = dxp.baseAddress!
            parallelFor(groups) { g in
                let buf = buffers[g]
                if accumulateParameterGradients {
                    buf.weightGradient.update(repeating: 0, count: f * kk)
                    buf.biasGradient.update(repeating: 0, count: f)
                }
                for j in stride(from: g, to: n, by: groups) {
                    let dyj = dyb + j * f * p   // (F, P): already the layout the GEMMs want
                    if accumulateParameterGradients {
                        im2col(shape, image: xb! + j * inSize, columns: buf.columns, ld: p)
                        // dW (F, K) += dY (F, P) x cols^T (P, K)
                        dotGEMM(m: f, n: kk, k: p, a: dyj, lda: p, b: buf.columns, ldb: p, c: buf.weightGradient, ldc: kk, accumulate: true)
                        addRowSums(dyj, rows: f, length: p, into: buf.biasGradient)
                    }
                    guard inputGradient else { continue }
                    // dCols (K, P) = W^T (K, F) x dY (F, P): the transposed convolution.
                    // (Small enough for `smallGEMM`, which skips OpenBLAS's packing: measured on the
                    // monitor's conv1 windows, 25 x 225 x 32 per projection.)
                    smallGEMM(m: kk, n: p, k: f, a: wb, aRow: 1, aCol: kk, b: dyj, ldb: p, c: buf.columnGradient, ldc: p, accumulate: false)
                    col2im(shape, columns: buf.columnGradient, ld: p, image: dxb + j * inSize)
                }
            }
        } } } }
            guard accumulateParameterGradients else { return }
            weight.gradient.data.withUnsafeMutableBufferPointer { dw in
            bias.gradient.data.withUnsafeMutableBufferPointer { db in
                for buf in buffers {   // fixed group order: the sum does not depend on thread timing
                    for i in 0..<(f * kk) { dw[i] += buf.weightGradient[i] }
                    for o in 0..<f { db[o] += buf.biasGradient[o] }
                }
            } }
        }
        return dx
    }
}

extension Conv2D: LayerKind {
    public static let type = "conv"
    public static let keys = ["name", "out_channels", "kernel", "stride", "padding"]

    public static func build(_ spec: LayerSpec, input: [Int], context: inout LayerBuildContext) throws -> Conv2D {
        let name = try context.uniqueName()
        let (c, h, w) = try context.planes(input)
        let window = WindowGeometry(kernel: try context.int("kernel", min: 1), stride: try context.int("stride", default: 1, min: 1),
                                    padding: try context.int("padding", default: 0, min: 0))
        let out = try context.int("out_channels", min: 1)
        guard let shape = ConvShape(channels: c, height: h, width: w, window: window) else {
            throw context.fail("kernel \(window.kernel) is larger than its padded input \(h + 2 * window.padding)x\(w + 2 * window.padding) (input \(input), padding \(window.padding))")
        }
        try context.addParameters([[out, c, window.kernel, window.kernel], [out]])
        return Conv2D(name: name, shape: shape, outChannels: out)
    }

    public var blockRole: BlockRole { .head }
    public var initializationVarianceGain: Float? { 1 }
    public func initialize(rng: inout Xoshiro256, varianceGain: Float, std: Float?) {
        initializeHe(rng: &rng, varianceGain: varianceGain, std: std)
    }
    public var summary: String {
        let w = shape.window
        return "\(outChannels) filters \(w.kernel)x\(w.kernel), stride \(w.stride), padding \(w.padding)"
    }
}

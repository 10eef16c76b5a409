import Tensors

/// Batch normalization over the channels of (N, C, H, W), as PyTorch's `BatchNorm2d`.
///
/// Training: each channel is normalized by its batch mean and biased variance over (N, H, W),
/// `x̂ = (x - mean) / sqrt(var + eps)`, then `y = weight * x̂ + bias`; the running statistics move
/// by `momentum` toward the batch mean and the unbiased batch variance. Inference: the running
/// statistics, so the layer is the per-channel affine map `y = scale * x + shift` with
/// `scale = weight / sqrt(running_var + eps)`. Its backward under every rule is its true
/// gradient; in inference that is `dx = scale * dy`, the transpose of the affine map, so a
/// deconvnet projection through conv + BN equals one through the conv with BN folded in.
///
/// Snapshot: `/weights/<name>/{weight, bias}` (trained, with momentum) and
/// `/weights/<name>/{running_mean, running_var}` (buffers), as in a PyTorch `state_dict`.
public final class BatchNorm2D: Layer {
    public let name: String?
    public let channels: Int, height: Int, width: Int
    public let eps: Float, momentum: Float
    public let weight: Parameter      // (C) gamma
    public let bias: Parameter        // (C) beta
    public let runningMean: Buffer    // (C)
    public let runningVar: Buffer     // (C)

    /// Saved by the last forward for its backward: the mode, and in training x̂ (N, C, H, W) and 1/sqrt(var + eps) (C).
    private var trained = false
    private var savedNormalized = Tensor(zeros: [0])
    private var savedInverseStd: [Float] = []
    private var savedInput = Tensor(zeros: [0])

    public init(name: String, shape: [Int], eps: Float, momentum: Float) {
        precondition(shape.count == 3)
        self.name = name
        (channels, height, width) = (shape[0], shape[1], shape[2])
        (self.eps, self.momentum) = (eps, momentum)
        weight = Parameter(name: "weight", value: Tensor(shape: [shape[0]], repeating: 1))
        bias = Parameter(name: "bias", zerosOfShape: [shape[0]])
        runningMean = Buffer(name: "running_mean", value: Tensor(zeros: [shape[0]]))
        runningVar = Buffer(name: "running_var", value: Tensor(shape: [shape[0]], repeating: 1))
    }

    /// The same layer over planes of another size, sharing its parameters and statistics (a
    /// `ReceptiveCrop` window): inference only.
    private init(sharing other: BatchNorm2D, height: Int, width: Int) {
        name = other.name
        (channels, self.height, self.width) = (other.channels, height, width)
        (eps, momentum) = (other.eps, other.momentum)
        (weight, bias, runningMean, runningVar) = (other.weight, other.bias, other.runningMean, other.runningVar)
    }

    public var inputShape: [Int] { [channels, height, width] }
    public var outputShape: [Int] { inputShape }
    public var parameters: [Parameter] { [weight, bias] }
    public var buffers: [Buffer] { [runningMean, runningVar] }

    /// The inference map per channel: (scale, shift) with y = scale * x + shift.
    public var affine: (scale: [Float], shift: [Float]) {
        let scale = (0..<channels).map { weight.value.data[$0] / (runningVar.value.data[$0] + eps).squareRoot() }
        let shift = (0..<channels).map { bias.value.data[$0] - scale[$0] * runningMean.value.data[$0] }
        return (scale, shift)
    }

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let n = x.shape[0], plane = height * width
        precondition(Array(x.shape.dropFirst()) == inputShape, "batchnorm \(name ?? "") expects \(inputShape), got \(x.shape)")
        savedInput = mode.keepsBackwardState ? x : .nothingKept
        guard case .training = mode else {
            trained = false
            let (scale, shift) = affine
            return Tensor(uninitialized: x.shape) { y in
                x.data.withUnsafeBufferPointer { xp in
                    parallelRanges(n * channels, minimum: 8) { planes in
                        for p in planes {
                            let c = p % channels, (a, b) = (scale[c], shift[c])
                            let src = xp.baseAddress! + p * plane, dst = y.baseAddress! + p * plane
                            for i in 0..<plane { dst[i] = a * src[i] + b }
                        }
                    }
                }
            }
        }
        trained = true
        // Per channel: mean and biased variance over (N, H, W), two passes, sums in Double.
        var mean = [Float](repeating: 0, count: channels), variance = [Float](repeating: 0, count: channels)
        let count = Double(n * plane)
        x.data.withUnsafeBufferPointer { xp in
        mean.withUnsafeMutableBufferPointer { mp in
        variance.withUnsafeMutableBufferPointer { vp in
            parallelFor(channels) { c in
                var sum = 0.0
                for i in 0..<n { sum += Double(Self.sum(xp.baseAddress! + (i * channels + c) * plane, plane) { $0 }) }
                let mu = sum / count, m = SIMD8<Float>(repeating: Float(mu)), ms = Float(mu)
                var squares = 0.0
                for i in 0..<n {
                    squares += Double(Self.sum(xp.baseAddress! + (i * channels + c) * plane, plane,
                                               { let d = $0 - m; return d * d }, { let d = $0 - ms; return d * d }))
                }
                mp[c] = Float(mu)
                vp[c] = Float(squares / count)
            }
        } } }
        savedInverseStd = variance.map { 1 / ($0 + eps).squareRoot() }
        let unbiased = count > 1 ? count / (count - 1) : 1
        for c in 0..<channels {
            runningMean.value.data[c] = (1 - momentum) * runningMean.value.data[c] + momentum * mean[c]
            runningVar.value.data[c] = (1 - momentum) * runningVar.value.data[c] + momentum * Float(Double(variance[c]) * unbiased)
        }
        var normalized = Tensor(uninitialized: x.shape) { _ in }
        let y = Tensor(uninitialized: x.shape) { y in
            x.data.withUnsafeBufferPointer { xp in
            normalized.data.withUnsafeMutableBufferPointer { np in
                parallelRanges(n * channels, minimum: 8) { planes in
                    for p in planes {
                        let c = p % channels, (m, s) = (mean[c], savedInverseStd[c])
                        let (g, b) = (weight.value.data[c], bias.value.data[c])
                        let src = xp.baseAddress! + p * plane, nrm = np.baseAddress! + p * plane, dst = y.baseAddress! + p * plane
                        for i in 0..<plane { let v = (src[i] - m) * s; nrm[i] = v; dst[i] = g * v + b }
                    }
                }
            } }
        }
        savedNormalized = normalized
        return y
    }

    public func backward(_ dy: Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) -> Tensor {
        let n = dy.shape[0], plane = height * width
        precondition(Array(dy.shape.dropFirst()) == inputShape, "batchnorm \(name ?? "") backward expects \(inputShape), got \(dy.shape)")
        // Per channel: sum(dy) and sum(dy * x̂), in Double; x̂ is the training forward's, or the running statistics' in inference.
        var sums = [Double](repeating: 0, count: channels), products = [Double](repeating: 0, count: channels)
        let (scale, _) = affine
        let inferenceStd = (0..<channels).map { 1 / (runningVar.value.data[$0] + eps).squareRoot() }
        if accumulateParameterGradients || trained {
            precondition(savedInput.shape == dy.shape, "batchnorm backward without its forward")
            dy.data.withUnsafeBufferPointer { dp in
            (trained ? savedNormalized : savedInput).data.withUnsafeBufferPointer { np in
            sums.withUnsafeMutableBufferPointer { sp in
            products.withUnsafeMutableBufferPointer { pp in
                parallelFor(channels) { c in
                    // In inference x̂ = (x - running_mean) / sqrt(running_var + eps), computed here from the input.
                    let (m, s) = trained ? (Float(0), Float(1)) : (runningMean.value.data[c], inferenceStd[c])
                    var sum = 0.0, product = 0.0
                    for i in 0..<n {
                        let d = dp.baseAddress! + (i * channels + c) * plane, v = np.baseAddress! + (i * channels + c) * plane
                        sum += Double(Self.sum(d, plane) { $0 })
                        product += Double(Self.dot(d, v, plane, shift: m) * s)
                    }
                    sp[c] = sum; pp[c] = product
                }
            } } } }
        }
        if accumulateParameterGradients {
            for c in 0..<channels {
                weight.gradient.data[c] += Float(products[c])
                bias.gradient.data[c] += Float(sums[c])
            }
        }
        let count = Double(n * plane)
        return Tensor(uninitialized: dy.shape) { dx in
            dy.data.withUnsafeBufferPointer { dp in
            savedNormalized.data.withUnsafeBufferPointer { np in
                parallelRanges(n * channels, minimum: 8) { planes in
                    for p in planes {
                        let c = p % channels
                        let d = dp.baseAddress! + p * plane, out = dx.baseAddress! + p * plane
                        if trained {
                            // dx = weight / sqrt(var + eps) * (dy - mean(dy) - x̂ * mean(dy * x̂))
                            let k = weight.value.data[c] * savedInverseStd[c]
                            let (meanDy, meanProduct) = (Float(sums[c] / count), Float(products[c] / count))
                            let v = np.baseAddress! + p * plane
                            for i in 0..<plane { out[i] = k * (d[i] - meanDy - v[i] * meanProduct) }
                        } else {
                            let a = scale[c]
                            for i in 0..<plane { out[i] = a * d[i] }
                        }
                    }
                }
            } }
        }
    }

    public func cropped(toOutput output: (height: Int, width: Int)) -> (any Layer)? {
        BatchNorm2D(sharing: self, height: output.height, width: output.width)
    }

    // Reductions over one plane with eight partial sums: a Float sum in one accumulator does not
    // vectorize (its order is fixed), and these passes are most of the layer's time.

    /// Sum of `f` over `count` values (`scalar` the same map for the tail).
    @inline(__always)
    static func sum(_ p: UnsafePointer<Float>, _ count: Int, _ f: (SIMD8<Float>) -> SIMD8<Float>, _ scalar: (Float) -> Float) -> Float {
        var acc = SIMD8<Float>.zero, j = 0
        while j + 8 <= count { acc += f(SIMD8.load(p + j)); j += 8 }
        var total = acc.sum()
        while j < count { total += scalar(p[j]); j += 1 }
        return total
    }

    @inline(__always)
    static func sum(_ p: UnsafePointer<Float>, _ count: Int, _ f: (SIMD8<Float>) -> SIMD8<Float>) -> Float {
        sum(p, count, f) { $0 }
    }

    /// Sum of a[j] * (b[j] - shift) over `count` values.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int, shift: Float) -> Float {
        var acc = SIMD8<Float>.zero, j = 0
        let m = SIMD8<Float>(repeating: shift)
        while j + 8 <= count { acc += SIMD8.load(a + j) * (SIMD8.load(b + j) - m); j += 8 }
        var total = acc.sum()
        while j < count { total += a[j] * (b[j] - shift); j += 1 }
        return total
    }
}

extension BatchNorm2D: LayerKind {
    public static let type = "batchnorm"
    public static let keys = ["name", "eps", "momentum"]

    public static func build(_ spec: LayerSpec, input: [Int], context: inout LayerBuildContext) throws -> BatchNorm2D {
        let name = try context.uniqueName()
        let (c, _, _) = try context.planes(input)
        let eps = try context.float("eps", default: 1e-5, in: Float.leastNormalMagnitude...1)
        let momentum = try context.float("momentum", default: 0.1, in: 0...1)
        try context.addParameters([[c], [c], [c], [c]])
        return BatchNorm2D(name: name, shape: input, eps: eps, momentum: momentum)
    }

    public var blockRole: BlockRole { .member }
    /// weight 1, bias 0, running mean 0, running variance 1, as PyTorch; no draws.
    public func initialize(rng: inout Xoshiro256, varianceGain: Float, std: Float?) {
        weight.value = Tensor(shape: [channels], repeating: 1)
        bias.value = Tensor(zeros: [channels])
        runningMean.value = Tensor(zeros: [channels])
        runningVar.value = Tensor(shape: [channels], repeating: 1)
        weight.momentum = Tensor(zeros: [channels])
        bias.momentum = Tensor(zeros: [channels])
    }
    public var summary: String { "eps \(eps), momentum \(momentum)" }
}

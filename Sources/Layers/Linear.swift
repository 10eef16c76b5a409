import Tensors

/// Fully connected layer: input (N, in), weight (out, in) as in PyTorch, bias (out), output (N, out).
public final class Linear: Layer {
    public let name: String?
    public let inFeatures: Int, outFeatures: Int
    public let weight: Parameter   // (out, in)
    public let bias: Parameter     // (out)
    private var savedInput = Tensor(zeros: [0])

    public init(name: String, inFeatures: Int, outFeatures: Int) {
        self.name = name
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Parameter(name: "weight", zerosOfShape: [outFeatures, inFeatures])
        bias = Parameter(name: "bias", zerosOfShape: [outFeatures])
    }

    public var inputShape: [Int] { [inFeatures] }
    public var outputShape: [Int] { [outFeatures] }
    public var parameters: [Parameter] { [weight, bias] }

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let n = x.shape[0]
        precondition(x.shape == [n, inFeatures], "linear \(name ?? "") expects (N, \(inFeatures)), got \(x.shape)")
        savedInput = mode.keepsBackwardState ? x : .nothingKept
        var y = Tensor(zeros: [n, outFeatures])
        x.data.withUnsafeBufferPointer { xp in
        weight.value.data.withUnsafeBufferPointer { wp in
        y.data.withUnsafeMutableBufferPointer { yp in
            for i in 0..<n { (yp.baseAddress! + i * outFeatures).update(from: bias.value.data, count: outFeatures) }
            // y (N, out) = x (N, in) x W^T (in, out) + bias
            gemm(transposeB: true, m: n, n: outFeatures, k: inFeatures, a: xp.baseAddress!, lda: inFeatures,
                 b: wp.baseAddress!, ldb: inFeatures, beta: 1, c: yp.baseAddress!, ldc: outFeatures)
        } } }
        return y
    }

    public func backward(_ dy: Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) -> Tensor {
        let n = savedInput.shape[0]
        precondition(dy.shape == [n, outFeatures], "linear \(name ?? "") backward expects (\(n), \(outFeatures)), got \(dy.shape)")
        var dx = Tensor(zeros: [n, inFeatures])
        dy.data.withUnsafeBufferPointer { dp in
        savedInput.data.withUnsafeBufferPointer { xp in
        weight.value.data.withUnsafeBufferPointer { wp in
        dx.data.withUnsafeMutableBufferPointer { dxp in
            if accumulateParameterGradients {
                weight.gradient.data.withUnsafeMutableBufferPointer { dwp in
                    // dW (out, in) += dy^T (out, N) x x (N, in)
                    gemm(transposeA: true, m: outFeatures, n: inFeatures, k: n, a: dp.baseAddress!, lda: outFeatures,
                         b: xp.baseAddress!, ldb: inFeatures, beta: 1, c: dwp.baseAddress!, ldc: inFeatures)
                }
                bias.gradient.data.withUnsafeMutableBufferPointer { dbp in
                    for i in 0..<n { for o in 0..<outFeatures { dbp[o] += dp[i * outFeatures + o] } }
                }
            }
            // dx (N, in) = dy (N, out) x W (out, in): the transposed map.
            gemm(m: n, n: inFeatures, k: outFeatures, a: dp.baseAddress!, lda: outFeatures,
                 b: wp.baseAddress!, ldb: inFeatures, c: dxp.baseAddress!, ldc: inFeatures)
        } } } }
        return dx
    }
}

extension Linear: LayerKind {
    public static let type = "linear"
    public static let keys = ["name", "out_features"]

    public static func build(_ spec: LayerSpec, input: [Int], context: inout LayerBuildContext) throws -> Linear {
        let name = try context.uniqueName()
        guard input.count == 1 else {
            throw context.fail("linear needs a flat input but gets \(input); add {\"type\": \"flatten\"} before it")
        }
        let out = try context.int("out_features", min: 1)
        try context.addParameters([[out, input[0]], [out]])
        return Linear(name: name, inFeatures: input[0], outFeatures: out)
    }

    public var initializationVarianceGain: Float? { 1 }
    public func initialize(rng: inout Xoshiro256, varianceGain: Float, std: Float?) {
        initializeHe(rng: &rng, varianceGain: varianceGain, std: std)
    }
    public var summary: String { "\(inFeatures) -> \(outFeatures)" }
}

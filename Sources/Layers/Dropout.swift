import Tensors

/// Inverted dropout: in training each value is kept with probability `1 - rate` and scaled by
/// `1 / (1 - rate)`, so inference is the identity. The mask comes from the batch seed in
/// `ForwardMode.training`, which makes runs reproducible and resumable.
public final class Dropout: Layer {
    public let inputShape: [Int]
    public let rate: Float
    private var mask: [Float]? = nil   // nil after an inference forward: backward is the identity

    public init(shape: [Int], rate: Float) {
        inputShape = shape
        self.rate = rate
    }
    public var outputShape: [Int] { inputShape }

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        guard case .training(let seed) = mode, rate > 0 else {
            mask = nil
            return x
        }
        var rng = Xoshiro256(seed: seed)
        let scale = 1 / (1 - rate)
        var m = [Float](repeating: 0, count: x.count)
        for i in 0..<m.count { m[i] = rng.nextUnitFloat() >= rate ? scale : 0 }
        var y = x
        for i in 0..<m.count { y.data[i] *= m[i] }
        mask = m
        return y
    }

    public func backward(_ dy: Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) -> Tensor {
        guard let m = mask else { return dy }
        var dx = dy
        for i in 0..<m.count { dx.data[i] *= m[i] }
        return dx
    }
}

extension Dropout: LayerKind {
    public static let type = "dropout"
    public static let keys = ["rate"]
    public static func build(_ spec: LayerSpec, input: [Int], context: inout LayerBuildContext) throws -> Dropout {
        let rate = spec.rate ?? 0.5
        guard spec.values["rate"] == nil || spec.rate != nil, rate >= 0, rate < 1 else {
            throw context.fail("dropout rate must be in [0, 1), got \(spec.values["rate"]?.text ?? "\(rate)")")
        }
        return Dropout(shape: input, rate: rate)
    }
    public var summary: String { "rate \(rate)" }
}

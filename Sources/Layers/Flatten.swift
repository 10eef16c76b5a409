import Tensors

/// (N, C, H, W) -> (N, C*H*W) in C order, like `torch.flatten(x, 1)`.
public final class Flatten: Layer {
    public let inputShape: [Int]
    public init(shape: [Int]) { inputShape = shape }
    public var outputShape: [Int] { [inputShape.reduce(1, *)] }

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        x.reshaped([x.shape[0]] + outputShape)
    }

    public func backward(_ dy: Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) -> Tensor {
        dy.reshaped([dy.shape[0]] + inputShape)
    }
}

extension Flatten: LayerKind {
    public static let type = "flatten"
    public static let keys: [String] = []
    public static func build(_ spec: LayerSpec, input: [Int], context: inout LayerBuildContext) throws -> Flatten { Flatten(shape: input) }
}

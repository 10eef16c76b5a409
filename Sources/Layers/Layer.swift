import Tensors

/// What the ReLU's backward returns; every other layer's backward is the same linear map
/// (its exact transpose) under every rule. This is the whole difference between the plain
/// gradient, Zeiler & Fergus's deconvnet, and guided backpropagation (as in Captum).
public enum BackwardRule: String, Sendable, CaseIterable, Codable {
    /// `dx = dy * 1[forward input > 0]`: the true gradient.
    case gradient
    /// `dx = max(dy, 0)`: rectify the signal going down, ignore the forward activation.
    case deconvnet
    /// Both: `dx = max(dy, 0) * 1[forward input > 0]`.
    case guided
}

/// How a forward pass runs. Training carries a per-batch seed for dropout masks, so the whole
/// random state of a run is the trainer's one generator (see `Xoshiro256`).
public enum ForwardMode: Sendable, Equatable {
    case inference
    case training(seed: UInt64)
}

/// A learnable tensor with its gradient and SGD momentum buffer, all of the same shape.
public final class Parameter {
    public let name: String
    public var value: Tensor
    public var gradient: Tensor
    public var momentum: Tensor

    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
        self.gradient = Tensor(zeros: value.shape)
        self.momentum = Tensor(zeros: value.shape)
    }
}

/// One stage of a network. `forward` saves what `backward` needs (its input, switches, masks),
/// so `backward` must follow the `forward` whose batch it differentiates.
public protocol Layer: AnyObject {
    /// The `type` of this layer in the model JSON.
    var kind: String { get }
    /// The layer's name in the model JSON (conv and linear layers only).
    var name: String? { get }
    /// Per-sample input shape, (C, H, W) or (F).
    var inputShape: [Int] { get }
    /// Per-sample output shape.
    var outputShape: [Int] { get }
    /// The spatial window this layer slides, for receptive-field geometry; nil for pointwise layers.
    var window: WindowGeometry? { get }
    var parameters: [Parameter] { get }

    func forward(_ x: Tensor, mode: ForwardMode) -> Tensor
    /// Maps `dy` (shaped like the last output) to `dx` (shaped like the last input). When
    /// `accumulateParameterGradients` is set, adds this batch's parameter gradients.
    func backward(_ dy: Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) -> Tensor

    /// `forward` and `backward` that may write their result into the storage of their argument
    /// (pointwise layers do). `Network` calls these: its intermediate tensors are referenced by no
    /// one else, so a 12.8 MB activation is rewritten where it is instead of copied into a fresh
    /// allocation. Copy-on-write keeps them safe when someone else does hold the tensor.
    func forward(inPlace x: inout Tensor, mode: ForwardMode)
    func backward(inPlace dy: inout Tensor, rule: BackwardRule, accumulateParameterGradients: Bool)

    /// This layer restricted to the unpadded window of its input that an `output`-sized window of
    /// its output sees, sharing its weights (see `ReceptiveCrop`); nil for layers without planes.
    func cropped(toOutput output: (height: Int, width: Int)) -> (any Layer)?
}

extension Layer {
    public func forward(inPlace x: inout Tensor, mode: ForwardMode) { x = forward(x, mode: mode) }
    public func backward(inPlace dy: inout Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) {
        dy = backward(dy, rule: rule, accumulateParameterGradients: accumulateParameterGradients)
    }
    public var window: WindowGeometry? { nil }
    public func cropped(toOutput output: (height: Int, width: Int)) -> (any Layer)? { nil }
    public var parameters: [Parameter] { [] }
    public var name: String? { nil }
}

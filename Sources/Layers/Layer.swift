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
    /// Inference that a backward may follow (a deconvnet projection, a gradient check): every
    /// layer keeps what its backward reads.
    case inference
    /// Inference that no backward follows (accuracy, the monitor's top-k pass and occlusion maps):
    /// the same outputs, bit for bit, but a layer may skip state only its backward reads. Max
    /// pooling then records no switches (the monitor asks `MaxPool2D.tieSwitches` for the few
    /// planes a projection reads).
    case evaluation
    case training(seed: UInt64)

    /// Whether a layer keeps what its backward reads (its input, its output, pooling switches):
    /// not in `.evaluation`, where dropping them also frees each batch's activations as soon as
    /// the next layer has read them, so the next batch reuses their memory (the monitor's
    /// processes touched 6k fewer fresh pages).
    public var keepsBackwardState: Bool { self != .evaluation }
}

extension Tensor {
    /// What a layer keeps instead of a tensor its backward would read, after an `.evaluation`
    /// forward: nothing, so the activation it replaced can be freed.
    public static let nothingKept = Tensor(zeros: [0])
}

/// A learnable tensor with its gradient and SGD momentum buffer, all of the same shape.
public final class Parameter {
    public let name: String
    public var value: Tensor
    public var gradient: Tensor
    public var momentum: Tensor

    /// Gradient and momentum start as one zero buffer: they are copied apart (copy-on-write) when
    /// training first writes them, and a network that is only run (monitor, inspect, export) keeps
    /// one allocation instead of two (fc3 of zf-fmnist: 3.2 MB, 800 page faults per process).
    public init(name: String, value: Tensor) {
        let zeros = Tensor(zeros: value.shape)
        self.name = name
        self.value = value
        self.gradient = zeros
        self.momentum = zeros
    }

    /// A parameter whose value starts at zero too, sharing the same zero buffer until written.
    public init(name: String, zerosOfShape shape: [Int]) {
        let zeros = Tensor(zeros: shape)
        self.name = name
        self.value = zeros
        self.gradient = zeros
        self.momentum = zeros
    }
}

/// A tensor a layer keeps and snapshots but SGD does not train: BatchNorm's running statistics.
public final class Buffer {
    /// Its name in the snapshot, `/weights/<layer>/<name>`.
    public let name: String
    public var value: Tensor
    public init(name: String, value: Tensor) { self.name = name; self.value = value }
}

/// A layer's part in a conv block (a conv and the layers that directly follow it; the monitor
/// looks at the block's last layer).
public enum BlockRole: Sendable {
    /// Starts a block: a conv.
    case head
    /// Joins the block of the conv before it when it follows the block directly.
    case member
    /// Ends any block.
    case outside
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
    /// its output sees, sharing its weights (see `ReceptiveCrop`); nil for layers without planes
    /// and for those whose deconvnet needs forward state (a window never runs a forward).
    func cropped(toOutput output: (height: Int, width: Int)) -> (any Layer)?

    /// The input rows and columns (unclipped, may reach into padding) that output rows `rows` and
    /// columns `cols` depend on: receptive fields compose these.
    func inputSpan(rows: ClosedRange<Int>, cols: ClosedRange<Int>) -> (rows: ClosedRange<Int>, cols: ClosedRange<Int>)

    /// Trained tensors (`parameters`, with SGD state) and kept ones (`buffers`), each under its
    /// snapshot name `/weights/<layer>/<name>`.
    var buffers: [Buffer] { get }
    /// Fresh values for the parameters and buffers. `varianceGain` is what the nonlinearity after
    /// this layer asks for (He et al.'s weight variance is varianceGain / fan-in: 2 before a ReLU);
    /// `std` replaces the layer's own weight scale when given. Layers draw the same number of
    /// values from `rng` either way.
    func initialize(rng: inout Xoshiro256, varianceGain: Float, std: Float?)
    /// What the layer asks of the initialization of the parameter layer before it, when it is the
    /// first layer after that one that is not transparent to it: a ReLU asks 2, a conv or linear 1
    /// (no nonlinearity between); nil for layers the look-up goes through (pooling, dropout,
    /// flatten, normalization).
    var initializationVarianceGain: Float? { get }

    var blockRole: BlockRole { get }
    /// The layer's settings in words, for the report's model table ("32 filters 5x5, stride 1, padding 2").
    var summary: String { get }
    /// True when its deconvnet backward reads forward state that the monitor cannot record per
    /// probe (LRN's true gradient reads its input): projections through it run a fresh forward.
    var deconvnetNeedsForwardState: Bool { get }
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
    public func inputSpan(rows: ClosedRange<Int>, cols: ClosedRange<Int>) -> (rows: ClosedRange<Int>, cols: ClosedRange<Int>) {
        guard let w = window else { return (rows, cols) }
        return (w.inputSpan(of: rows), w.inputSpan(of: cols))
    }
    public var buffers: [Buffer] { [] }
    public func initialize(rng: inout Xoshiro256, varianceGain: Float, std: Float?) {}
    public var initializationVarianceGain: Float? { nil }
    public var blockRole: BlockRole { .outside }
    public var summary: String { "" }
    public var deconvnetNeedsForwardState: Bool { false }
}

extension Layer {
    /// He-normal weights (std = sqrt(varianceGain / fan-in), or `std`), zero bias, zero momentum:
    /// the initialization of conv and linear layers, `parameters` being (weight, bias).
    func initializeHe(rng: inout Xoshiro256, varianceGain: Float, std: Float?) {
        let (weight, bias) = (parameters[0], parameters[1])
        let fanIn = weight.value.shape.dropFirst().reduce(1, *)
        let scale = std ?? (varianceGain / Float(fanIn)).squareRoot()
        for i in 0..<weight.value.count { weight.value.data[i] = rng.nextGaussian() * scale }
        bias.value = Tensor(zeros: bias.value.shape)
        weight.momentum = Tensor(zeros: weight.value.shape)
        bias.momentum = Tensor(zeros: bias.value.shape)
    }
}

import Tensors

/// A validated stack of layers built from a `ModelSpec`.
///
/// `forward` and `backward` can stop at / start from any layer index, which is how the monitor
/// seeds one activation at a conv block's output and runs the same backward down to pixels.
public final class Network {
    public let spec: ModelSpec
    public let layers: [any Layer]

    /// Builds the layers, inferring every shape, and rejects what cannot run, naming the layer.
    public init(spec: ModelSpec, source: String = "model") throws {
        func fail(_ message: String) -> ModelError { ModelError(source: source, message: message) }
        guard spec.input.count == 3, spec.input.allSatisfy({ $0 > 0 }) else {
            throw fail("input must be [channels, height, width] with positive sizes, got \(spec.input)")
        }
        guard spec.input.allSatisfy({ $0 <= ModelLimits.maxSize }),
              ModelLimits.product(spec.input, limit: ModelLimits.maxActivations) != nil else {
            throw fail("input \(spec.input) is too large (at most \(ModelLimits.maxSize) per size and \(ModelLimits.maxActivations) values)")
        }
        guard spec.classes >= 2 else { throw fail("classes must be at least 2, got \(spec.classes)") }
        if let norm = spec.normalization {
            guard norm.mean.count == spec.input[0], norm.std.count == spec.input[0] else {
                throw fail("normalization needs one mean and one std per input channel (\(spec.input[0])), got \(norm.mean.count) and \(norm.std.count)")
            }
            guard norm.std.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw fail("normalization std must be positive") }
            guard norm.mean.allSatisfy({ $0.isFinite }) else { throw fail("normalization mean must be finite") }
        }
        guard !spec.layers.isEmpty else { throw fail("the model has no layers") }

        var shape = spec.input
        var built: [any Layer] = []
        var parameters = 0
        func checkOutput(_ output: [Int], _ label: String) throws {
            guard ModelLimits.product(output, limit: ModelLimits.maxActivations) != nil else {
                throw fail("\(label): output \(output) is more than \(ModelLimits.maxActivations) values per image")
            }
        }
        var names = Set<String>()
        for (index, layer) in spec.layers.enumerated() {
            let label = "layer \(index) (\(layer.name ?? layer.type))"
            func need(_ value: Int?, _ key: String, min: Int) throws -> Int {
                guard let v = value else { throw fail("\(label): missing \"\(key)\"") }
                guard v >= min else { throw fail("\(label): \"\(key)\" must be at least \(min), got \(v)") }
                guard v <= ModelLimits.maxSize else { throw fail("\(label): \"\(key)\" must be at most \(ModelLimits.maxSize), got \(v)") }
                return v
            }
            // Counted before the layer allocates its weights.
            func addParameters(_ weightShape: [Int], bias: Int) throws {
                let weights = ModelLimits.product(weightShape, limit: ModelLimits.maxParameters)
                let (total, overflow) = (weights ?? 0).addingReportingOverflow(bias + parameters)
                guard weights != nil, !overflow, total <= ModelLimits.maxParameters else {
                    throw fail("\(label): weights \(weightShape) take the model past \(ModelLimits.maxParameters) parameters")
                }
                parameters = total
            }
            func uniqueName() throws -> String {
                guard let n = layer.name, !n.isEmpty else { throw fail("\(label): a \(layer.type) layer needs a \"name\"") }
                guard n.range(of: "^[A-Za-z0-9_.-]+$", options: .regularExpression) != nil else {
                    throw fail("\(label): name \"\(n)\" may only use letters, digits, '_', '.', '-'")
                }
                guard names.insert(n).inserted else { throw fail("\(label): the name \"\(n)\" is used twice") }
                return n
            }
            switch layer.type {
            case "conv":
                let name = try uniqueName()
                guard shape.count == 3 else { throw fail("\(label): conv needs a (C, H, W) input, got \(shape) (after a flatten?)") }
                let window = WindowGeometry(kernel: try need(layer.kernel, "kernel", min: 1),
                                            stride: try need(layer.stride ?? 1, "stride", min: 1),
                                            padding: try need(layer.padding ?? 0, "padding", min: 0))
                let out = try need(layer.outChannels, "out_channels", min: 1)
                guard let conv = ConvShape(channels: shape[0], height: shape[1], width: shape[2], window: window) else {
                    throw fail("\(label): kernel \(window.kernel) is larger than its padded input \(shape[1] + 2 * window.padding)x\(shape[2] + 2 * window.padding) (input \(shape), padding \(window.padding))")
                }
                try addParameters([out, shape[0], window.kernel, window.kernel], bias: out)
                try checkOutput([out, conv.outHeight, conv.outWidth], label)
                built.append(Conv2D(name: name, shape: conv, outChannels: out))
            case "relu":
                built.append(ReLU(shape: shape))
            case "maxpool":
                guard shape.count == 3 else { throw fail("\(label): maxpool needs a (C, H, W) input, got \(shape)") }
                let k = try need(layer.kernel, "kernel", min: 1)
                let window = WindowGeometry(kernel: k, stride: try need(layer.stride ?? k, "stride", min: 1),
                                            padding: try need(layer.padding ?? 0, "padding", min: 0))
                guard window.padding * 2 <= window.kernel else {
                    throw fail("\(label): padding \(window.padding) must be at most half the kernel \(window.kernel) (as in PyTorch)")
                }
                guard let pool = MaxPool2D(inputShape: shape, window: window) else {
                    throw fail("\(label): kernel \(k) is larger than its padded input \(shape[1] + 2 * window.padding)x\(shape[2] + 2 * window.padding) (input \(shape))")
                }
                built.append(pool)
            case "flatten":
                built.append(Flatten(shape: shape))
            case "linear":
                let name = try uniqueName()
                guard shape.count == 1 else {
                    throw fail("\(label): linear needs a flat input but gets \(shape); add {\"type\": \"flatten\"} before it")
                }
                let out = try need(layer.outFeatures, "out_features", min: 1)
                try addParameters([out, shape[0]], bias: out)
                built.append(Linear(name: name, inFeatures: shape[0], outFeatures: out))
            case "dropout":
                let rate = layer.rate ?? 0.5
                guard rate >= 0, rate < 1 else { throw fail("\(label): dropout rate must be in [0, 1), got \(rate)") }
                built.append(Dropout(shape: shape, rate: rate))
            default:
                throw fail("\(label): unknown layer type \"\(layer.type)\" (known: conv, relu, maxpool, flatten, linear, dropout)")
            }
            shape = built.last!.outputShape
        }
        guard shape == [spec.classes] else {
            throw fail("the last layer outputs \(shape) but the model has \(spec.classes) classes; end with a linear layer of out_features \(spec.classes)")
        }
        self.spec = spec
        self.layers = built
    }

    /// Runs layers `0...last` (all by default), a conv and the ReLU after it as one pass.
    public func forward(_ x: Tensor, mode: ForwardMode, through last: Int? = nil) -> Tensor {
        forward(x, mode: mode, through: last, observing: []) { _, _ in }
    }

    /// Runs the backward of layers `from...0`, after a forward that reached at least `from`.
    /// With `inputGradient` false (training) the first layer skips the gradient with respect to
    /// the images and the result is all zeros.
    public func backward(_ dy: Tensor, from: Int? = nil, rule: BackwardRule, accumulateParameterGradients: Bool,
                         inputGradient: Bool = true) -> Tensor {
        var d = dy
        let first = layers[0] as? Conv2D
        first?.computesInputGradient = inputGradient
        defer { first?.computesInputGradient = true }
        var i = from ?? layers.count - 1
        while i >= 0 {
            // A ReLU followed by pooling: with the plain gradient, the ReLU's mask is applied as the
            // pooling scatters (`MaxPool2D.backward(_:gatedBy:)`), bit for bit the two passes, and
            // the ReLU's own pass over the tensor is saved. (The deconvnet and guided rules rectify
            // summed values, so they keep the two passes.)
            if rule == .gradient, i > 0, let pool = layers[i] as? MaxPool2D, let relu = layers[i - 1] as? ReLU {
                d = pool.backward(d, gatedBy: relu.output)
                i -= 2
                continue
            }
            layers[i].backward(inPlace: &d, rule: rule, accumulateParameterGradients: accumulateParameterGradients)
            i -= 1
        }
        return d
    }

    /// Layers that own parameters (conv and linear), in order, with their names.
    public var parameterLayers: [(name: String, weight: Parameter, bias: Parameter)] {
        layers.compactMap { layer in
            let p = layer.parameters
            guard p.count == 2, let name = layer.name else { return nil }
            return (name, p[0], p[1])
        }
    }

    public var allParameters: [Parameter] { layers.flatMap { $0.parameters } }

    public func zeroGradients() {
        for p in allParameters {
            p.gradient.data.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
    }

    /// He-normal weights, std = gain / sqrt(fan_in), zero biases, zero momentum. The gain is
    /// sqrt(2) for layers whose output goes through a ReLU (He et al. 2015) and 1 for the others,
    /// the classifier above all: with sqrt(2) there the first loss is ~6.6 instead of ln(10).
    ///
    /// `firstConvStd` replaces He's std for the first conv layer only (Zeiler & Fergus drew all
    /// weights with std 10^-2). A first layer started at He's scale (0.28 for 5x5 filters) keeps
    /// its random pattern for many epochs, because the learned part stays small beside it; from
    /// 10^-2, edge and bar detectors show after one epoch. The same number of draws is made
    /// either way, so every other layer starts identically.
    public func initialize(rng: inout Xoshiro256, firstConvStd: Float? = nil) {
        let firstConv = layers.firstIndex { $0 is Conv2D }
        for (index, layer) in layers.enumerated() where layer.parameters.count == 2 {
            let (weight, bias) = (layer.parameters[0], layer.parameters[1])
            let feedsReLU = layers[(index + 1)...].first { !($0 is MaxPool2D || $0 is Dropout || $0 is Flatten) } is ReLU
            let fanIn = weight.value.shape.dropFirst().reduce(1, *)
            let he = ((feedsReLU ? 2 : 1) / Float(fanIn)).squareRoot()
            let std = index == firstConv ? firstConvStd ?? he : he
            for i in 0..<weight.value.count { weight.value.data[i] = rng.nextGaussian() * std }
            bias.value = Tensor(zeros: bias.value.shape)
            weight.momentum = Tensor(zeros: weight.value.shape)
            bias.momentum = Tensor(zeros: bias.value.shape)
        }
    }

    public var parameterCount: Int { allParameters.reduce(0) { $0 + $1.value.count } }
}

extension Network {
    /// Forward through layers `0...last`, handing each layer's output to `observe(index, output)`.
    public func forward(_ x: Tensor, mode: ForwardMode, through last: Int? = nil, observe: (Int, Tensor) -> Void) -> Tensor {
        forward(x, mode: mode, through: last, observing: Set(layers.indices), observe: observe)
    }

    /// Forward through layers `0...last`, handing the outputs of the layers in `observing` to
    /// `observe(index, output)`, in order. A conv whose own output is not observed and that a ReLU
    /// follows writes its output rectified, and the ReLU only keeps it: the same bits, one pass over
    /// the activation fewer (measured on the monitor's top-k pass: ReLU was 5.7% of its samples).
    public func forward(_ x: Tensor, mode: ForwardMode, through last: Int? = nil, observing: Set<Int>,
                        observe: (Int, Tensor) -> Void) -> Tensor {
        let end = last ?? layers.count - 1
        var y = x, i = 0
        while i <= end {
            if i < end, !observing.contains(i), let conv = layers[i] as? Conv2D, let relu = layers[i + 1] as? ReLU {
                y = conv.forward(y, mode: mode, rectified: true)
                relu.forward(alreadyRectified: y)
                i += 1
            } else {
                layers[i].forward(inPlace: &y, mode: mode)
            }
            if observing.contains(i) { observe(i, y) }
            i += 1
        }
        return y
    }
}

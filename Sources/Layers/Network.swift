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
        var (names, parameters) = (Set<String>(), 0)
        for (index, layer) in spec.layers.enumerated() {
            let label = "layer \(index) (\(layer.name ?? layer.type))"
            guard let kind = LayerKinds.kind(named: layer.type) else {
                throw fail("\(label): unknown layer type \"\(layer.type)\" (known: \(LayerKinds.all.map { $0.type }.joined(separator: ", ")))")
            }
            var context = LayerBuildContext(source: source, label: label, spec: layer, names: names, parameters: parameters)
            if let unknown = layer.values.keys.sorted().first(where: { !kind.keys.contains($0) }) {
                throw context.fail("unknown key \"\(unknown)\" for a \(layer.type) layer (its keys: \(kind.keys.isEmpty ? "none" : kind.keys.joined(separator: ", ")))")
            }
            let next = try kind.build(layer, input: shape, context: &context)
            (names, parameters) = (context.names, context.parameters)
            guard ModelLimits.product(next.outputShape, limit: ModelLimits.maxActivations) != nil else {
                throw fail("\(label): output \(next.outputShape) is more than \(ModelLimits.maxActivations) values per image")
            }
            built.append(next)
            shape = next.outputShape
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

    /// Fresh parameters and buffers, layer by layer (`Layer.initialize`): conv and linear layers
    /// get He-normal weights, std = sqrt(g / fan_in), zero biases and momentum, where g is what the
    /// next nonlinearity asks (2 for a ReLU, looked up through pooling, dropout, flatten and
    /// normalization; 1 for none, the classifier above all: with 2 there the first loss is ~6.6
    /// instead of ln(10)).
    ///
    /// `firstConvStd` replaces He's std for the first conv layer only (Zeiler & Fergus drew all
    /// weights with std 10^-2). A first layer started at He's scale (0.28 for 5x5 filters) keeps
    /// its random pattern for many epochs, because the learned part stays small beside it; from
    /// 10^-2, edge and bar detectors show after one epoch. The same number of draws is made
    /// either way, so every other layer starts identically.
    public func initialize(rng: inout Xoshiro256, firstConvStd: Float? = nil) {
        let firstConv = layers.firstIndex { $0.blockRole == .head }
        for (index, layer) in layers.enumerated() {
            let gain = layers[(index + 1)...].lazy.compactMap(\.initializationVarianceGain).first ?? 1
            layer.initialize(rng: &rng, varianceGain: gain, std: index == firstConv ? firstConvStd : nil)
        }
    }

    public var parameterCount: Int { allParameters.reduce(0) { $0 + $1.value.count } }
}

extension Network {
    /// Forward through layers `0...last`, handing each layer's output to `observe(index, output)`.
    public func forward(_ x: Tensor, mode: ForwardMode, through last: Int? = nil, observe: (Int, Tensor) -> Void) -> Tensor {
        forward(x, mode: mode, through: last, observing: Set(layers.indices), observe: observe)
    }

    /// Forward through layers `first...last`, handing the outputs of the layers in `observing` to
    /// `observe(index, output)`, in order; `x` is layer `first`'s input (the images for 0, an
    /// earlier forward's output of layer `first - 1` otherwise). A conv whose own output is not
    /// observed and that a ReLU follows writes its output rectified, and the ReLU only keeps it: the
    /// same bits, one pass over the activation fewer (measured on the monitor's top-k pass: ReLU
    /// was 5.7% of its samples).
    public func forward(_ x: Tensor, mode: ForwardMode, from first: Int = 0, through last: Int? = nil, observing: Set<Int>,
                        observe: (Int, Tensor) -> Void) -> Tensor {
        let end = last ?? layers.count - 1
        precondition(first >= 0 && first <= layers.count, "forward from layer \(first) of \(layers.count)")
        var y = x, i = first
        while i <= end {
            // An evaluation forward of conv, ReLU and max pooling, the conv's own output not observed:
            // each image pooled while its conv output is in cache (`Conv2D.evaluationForward(_:pooledBy:)`).
            if mode == .evaluation, i + 2 <= end, !observing.contains(i), let conv = layers[i] as? Conv2D, let relu = layers[i + 1] as? ReLU,
               let pool = layers[i + 2] as? MaxPool2D, let (convOut, pooled) = conv.evaluationForward(y, pooledBy: pool) {
                relu.forward(alreadyRectified: convOut, mode: mode)
                if observing.contains(i + 1) { observe(i + 1, convOut) }
                y = pooled
                if observing.contains(i + 2) { observe(i + 2, y) }
                i += 3
                continue
            }
            if i < end, !observing.contains(i), let conv = layers[i] as? Conv2D, let relu = layers[i + 1] as? ReLU {
                y = conv.forward(y, mode: mode, rectified: true)
                relu.forward(alreadyRectified: y, mode: mode)
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

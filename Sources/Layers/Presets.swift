/// Built-in architectures, selectable with `--model NAME`.
///
/// A preset is an architecture, not an input size: `spec(input:classes:normalization:)` builds it for
/// the data it will train on, as torchvision and timm do with `in_chans` / `num_classes`. Only the
/// first conv's input channels, the first linear layer's input features (both inferred by `Network`
/// from `input`) and the classifier's outputs change; every layer's kernel, stride and width stay.
public enum ModelPreset: String, CaseIterable, Sendable {
    /// The contract's model: two 5x5 conv blocks with overlapping 3x3/2 pooling, as in ZF's design.
    case zfFMNIST = "zf-fmnist"
    /// AlexNet's first-layer choice (11x11, stride 4) scaled to 28x28 inputs: the configuration
    /// Zeiler & Fergus found leaves dead and aliased filters. Kept to exercise the diagnostics.
    case alexnetFMNIST = "alexnet-fmnist"
    /// A small VGG-style net of the kind trained since 2015: 3x3 convs with batch norm, two
    /// max-pooling stages, and global average pooling before the classifier (no large fc layers).
    case vggBN = "vgg-bn"
    /// The paper's own architecture (Zeiler & Fergus, Fig. 3) with its widths scaled down about
    /// four times for CPU training: conv 7x7/2, pool 3/2, LRN; conv 5x5/2, pool 3/2, LRN; three 3x3
    /// convs; pool 3/2; two fc layers with dropout.
    case zfNet = "zf-net"

    /// Fashion-MNIST's training-split statistics (pixels scaled to [0, 1]).
    public static let fashionMNISTNormalization = Normalization(mean: [0.2860406], std: [0.3530242])

    /// The preset as the contract shows it: built for Fashion-MNIST (1x28x28, 10 classes).
    public var spec: ModelSpec {
        ModelSpec(input: [1, 28, 28], classes: 10, normalization: Self.fashionMNISTNormalization, layers: layers(classes: 10))
    }

    /// The preset built for images of `input` (C, H, W) and `classes` classes. With `normalization`
    /// nil, `train` measures it on the training split.
    ///
    /// Throws a `ModelError` naming the layer that cannot be built: what `Network` rejects (e.g. a
    /// classifier past `ModelLimits` for very large images), and, for inputs too small for the
    /// preset's strides, a conv or linear layer some of whose kernel weights would only ever meet
    /// padding. PyTorch accepts such a layer, and a model JSON may ask for one; a preset does not
    /// build one on its own: those weights could never learn, and their projections would be empty.
    public func spec(input: [Int], classes: Int, normalization: Normalization?) throws -> ModelSpec {
        let spec = ModelSpec(input: input, classes: classes, normalization: normalization, layers: layers(classes: classes))
        let source = "model \(rawValue) cannot be built for input \(input) and \(classes) class\(classes == 1 ? "" : "es")"
        let network = try Network(spec: spec, source: source)
        if let problem = Self.paddingOnlyWeights(network) {
            let side = minimumSide(channels: input[0], classes: classes)
            let need = side.map { "; \(rawValue) needs images of at least \($0)x\($0)" } ?? ""
            throw ModelError(source: source, message: problem + need)
        }
        return spec
    }

    private func layers(classes: Int) -> [LayerSpec] {
        switch self {
        case .zfFMNIST:
            return [
                .conv("conv1", 32, kernel: 5, stride: 1, padding: 2), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
                .conv("conv2", 64, kernel: 5, stride: 1, padding: 2), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
                .flatten, .linear("fc3", 256), .relu, .dropout(0.5), .linear("fc4", classes),
            ]
        case .alexnetFMNIST:
            // 28x28 -> conv1 11/4/5 -> 7x7 -> pool 3/2/1 -> 4x4 -> conv2 3/1/1 -> 4x4 -> pool -> 2x2.
            return [
                .conv("conv1", 32, kernel: 11, stride: 4, padding: 5), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
                .conv("conv2", 64, kernel: 3, stride: 1, padding: 1), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
                .flatten, .linear("fc3", 256), .relu, .dropout(0.5), .linear("fc4", classes),
            ]
        case .vggBN:
            func block(_ name: String, _ width: Int) -> [LayerSpec] {
                [.conv(name, width, kernel: 3, stride: 1, padding: 1), LayerSpec(type: "batchnorm", values: ["name": .string("bn" + name.dropFirst(4))]), .relu]
            }
            // 28x28: 28 -> pool -> 14 -> pool -> 7 -> global average.
            return block("conv1", 16) + block("conv2", 16) + [.maxpool(kernel: 2, stride: 2)]
                + block("conv3", 32) + block("conv4", 32) + [.maxpool(kernel: 2, stride: 2)]
                + block("conv5", 64) + [LayerSpec(type: "globalavgpool"), .flatten, .linear("fc", classes)]
        case .zfNet:
            let lrn = LayerSpec(type: "lrn", values: ["size": .int(5), "alpha": .double(1e-4), "beta": .double(0.75), "k": .int(1)])
            // 28x28: conv1 -> 14, pool -> 7, conv2 -> 4, pool -> 2, conv3-5 -> 2, pool -> 1.
            return [
                .conv("conv1", 24, kernel: 7, stride: 2, padding: 3), .relu, .maxpool(kernel: 3, stride: 2, padding: 1), lrn,
                .conv("conv2", 64, kernel: 5, stride: 2, padding: 2), .relu, .maxpool(kernel: 3, stride: 2, padding: 1), lrn,
                .conv("conv3", 96, kernel: 3, stride: 1, padding: 1), .relu,
                .conv("conv4", 96, kernel: 3, stride: 1, padding: 1), .relu,
                .conv("conv5", 64, kernel: 3, stride: 1, padding: 1), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
                .flatten, .linear("fc6", 256), .relu, .dropout(0.5), .linear("fc7", 256), .relu, .dropout(0.5),
                .linear("fc8", classes),
            ]
        }
    }

    /// The first layer with weights and a window (a conv) some of whose kernel rows or columns meet
    /// only padding at every output position, described; nil when every weight meets a pixel.
    static func paddingOnlyWeights(_ network: Network) -> String? {
        for (index, layer) in network.layers.enumerated() where !layer.parameters.isEmpty {
            guard let window = layer.window, layer.inputShape.count == 3 else { continue }
            let (height, width) = (layer.inputShape[1], layer.inputShape[2])
            let rows = window.offsetsSeeingOnlyPadding(height), columns = window.offsetsSeeingOnlyPadding(width)
            guard !rows.isEmpty || !columns.isEmpty else { continue }
            let k = window.kernel
            let blind = [rows.isEmpty ? nil : "\(rows.count) of its \(k) kernel rows",
                         columns.isEmpty ? nil : "\(columns.count) of its \(k) kernel columns"].compactMap { $0 }
            return "layer \(index) (\(layer.name ?? layer.kind)): its input is only \(height)x\(width) there, too small for its "
                + "\(k)x\(k) kernel (stride \(window.stride), padding \(window.padding)): "
                + blind.joined(separator: " and ") + " would only ever see padding, so their weights could never learn"
        }
        return nil
    }

    /// The smallest square image side this preset builds for (geometry grows with the side, so the
    /// first side that fits is the bound); nil if none up to 4096 does.
    private func minimumSide(channels: Int, classes: Int) -> Int? {
        (1...4096).first { side in
            let spec = ModelSpec(input: [channels, side, side], classes: classes, normalization: nil, layers: layers(classes: classes))
            guard let network = try? Network(spec: spec) else { return false }
            return Self.paddingOnlyWeights(network) == nil
        }
    }
}

/// Built-in architectures, selectable with `--model NAME`.
public enum ModelPreset: String, CaseIterable, Sendable {
    /// The contract's model: two 5x5 conv blocks with overlapping 3x3/2 pooling, as in ZF's design.
    case zfFMNIST = "zf-fmnist"
    /// AlexNet's first-layer choice (11x11, stride 4) scaled to 28x28 inputs: the configuration
    /// Zeiler & Fergus found leaves dead and aliased filters. Kept to exercise the diagnostics.
    case alexnetFMNIST = "alexnet-fmnist"

    /// Fashion-MNIST's training-split statistics (pixels scaled to [0, 1]).
    public static let fashionMNISTNormalization = Normalization(mean: [0.2860406], std: [0.3530242])

    public var spec: ModelSpec {
        switch self {
        case .zfFMNIST:
            return ModelSpec(input: [1, 28, 28], classes: 10, normalization: Self.fashionMNISTNormalization, layers: [
                .conv("conv1", 32, kernel: 5, stride: 1, padding: 2), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
                .conv("conv2", 64, kernel: 5, stride: 1, padding: 2), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
                .flatten, .linear("fc3", 256), .relu, .dropout(0.5), .linear("fc4", 10),
            ])
        case .alexnetFMNIST:
            // 28x28 -> conv1 11/4/5 -> 7x7 -> pool 3/2/1 -> 4x4 -> conv2 3/1/1 -> 4x4 -> pool -> 2x2.
            return ModelSpec(input: [1, 28, 28], classes: 10, normalization: Self.fashionMNISTNormalization, layers: [
                .conv("conv1", 32, kernel: 11, stride: 4, padding: 5), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
                .conv("conv2", 64, kernel: 3, stride: 1, padding: 1), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
                .flatten, .linear("fc3", 256), .relu, .dropout(0.5), .linear("fc4", 10),
            ])
        }
    }
}

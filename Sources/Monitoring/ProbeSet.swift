import Tensors
import Layers
import Datasets
import Runs

/// The fixed images every snapshot is replayed on: the first P images of the test split, so
/// epochs can be compared feature by feature.
public struct ProbeSet: Sendable {
    /// Raw pixels in [0, 1], (P, C, H, W): what patches are cut from.
    public let pixels: Tensor
    /// The same images normalized as the network expects them.
    public let inputs: Tensor
    public let labels: [Int]
    public let classNames: [String]

    public init(test: Dataset, count: Int, normalization: Normalization) {
        let subset = test.prefix(min(count, test.count))
        pixels = subset.images
        inputs = subset.normalized(by: normalization).images
        labels = subset.labels
        classNames = subset.classNames
    }

    public var count: Int { labels.count }
    public var imageShape: [Int] { Array(pixels.shape.dropFirst()) }
}

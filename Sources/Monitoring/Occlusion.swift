import Foundation
import Tensors
import Layers
import Datasets
import Runs

/// Occlusion sensitivity (Zeiler & Fergus, Fig. 7): slide a gray square over an image and record
/// how the network's answers change with the square's position.
public struct OcclusionOptions: Sendable, Equatable, Codable {
    /// How many probe images (the first ones) get maps.
    public var images = 8
    /// Side of the square, in pixels; nil picks a quarter of the image side (7 for 28x28).
    public var size: Int? = nil
    /// Step between square positions, in pixels; nil picks half the size.
    public var stride: Int? = nil
    public init() {}

    public func resolved(imageSide: Int) -> (size: Int, stride: Int) {
        let s = max(1, min(imageSide, size ?? max(1, imageSide / 4)))
        return (s, max(1, stride ?? max(1, s / 2)))
    }
}

/// Maps for one image, each (rows, cols) over square positions (row-major).
public struct OcclusionMap: Sendable, Equatable {
    public var image: Int
    public var label: Int
    /// The feature map of the top conv block that is strongest on the unoccluded image.
    public var feature: Int
    public var rows: Int
    public var cols: Int
    /// (a) total activation of `feature` with the square at each position.
    public var featureActivation: [Float]
    /// (b) probability of the correct class.
    public var correctProbability: [Float]
    /// (c) most probable class.
    public var predicted: [Int]
    /// The same three on the unoccluded image.
    public var cleanActivation: Float
    public var cleanProbability: Float
    public var cleanPredicted: Int
}

public enum Occlusion {
    /// The occluded copies of an image go through the conv blocks `batchSize` at a time and through
    /// the classifier all at once (the maps do not depend on `batchSize`). The square is filled with 0 in
    /// normalized units, i.e. the data set's mean pixel ("gray").
    public static func maps(network: Network, probes: ProbeSet, options: OcclusionOptions, batchSize: Int = 16) -> [OcclusionMap] {
        guard let top = network.convBlocks.last else { return [] }
        let shape = probes.imageShape, (c, h, w) = (shape[0], shape[1], shape[2])
        let (size, step) = options.resolved(imageSide: min(h, w))
        let ys = Array(stride(from: 0, through: h - size, by: step)), xs = Array(stride(from: 0, through: w - size, by: step))
        let imageSize = c * h * w
        var result: [OcclusionMap] = []
        for i in 0..<min(options.images, probes.count) {
            let clean = Array(probes.inputs.data[(i * imageSize)..<((i + 1) * imageSize)])
            var batch = [Float]()
            batch.reserveCapacity((ys.count * xs.count + 1) * imageSize)
            batch += clean
            for y in ys { for x in xs {
                var copy = clean
                for ch in 0..<c { for yy in y..<(y + size) { for xx in x..<(x + size) { copy[(ch * h + yy) * w + xx] = 0 } } }
                batch += copy
            } }
            let n = ys.count * xs.count + 1
            let fc = top.outputShape[0], plane = top.outputShape[1] * top.outputShape[2], k = network.spec.classes
            // The copies go through in small batches: the maps run beside the top-k pass
            // (`Monitor`), and one batch of all 65 copies (10 MB of activations) found no freed
            // block of its size between the other stream's, so every image page-faulted its batch
            // afresh (measured: 5.5k of the process's 27.7k page faults; 21-23.5k at 16 a batch).
            // The layers above the top block (the classifier) then run once on all n copies: their
            // big weight matrices are packed for the GEMM once per image instead of once per batch
            // (measured: the classifier's sgemm and packing 6.5% -> 2.5% of a monitor process's CPU).
            var blockData = [Float]()
            blockData.reserveCapacity(n * fc * plane)
            for first in stride(from: 0, to: n, by: batchSize) {
                let count = min(batchSize, n - first)
                let chunk = Tensor(shape: [count] + shape, data: Array(batch[(first * imageSize)..<((first + count) * imageSize)]))
                let blockOutput = network.forward(chunk, mode: .evaluation, through: top.outputIndex, observing: []) { _, _ in }
                blockData += blockOutput.data
            }
            let blockOut = Tensor(shape: [n] + top.outputShape, data: blockData)
            let logits = network.forward(blockOut, mode: .evaluation, from: top.outputIndex + 1, observing: []) { _, _ in }
            let probs = Tensor(shape: [n, k], data: logits.data).softmaxRows()
            func mapSum(_ img: Int, _ f: Int) -> Float { blockOut.data[((img * fc + f) * plane)..<((img * fc + f + 1) * plane)].reduce(0, +) }
            func mapMax(_ img: Int, _ f: Int) -> Float { blockOut.data[((img * fc + f) * plane)..<((img * fc + f + 1) * plane)].max() ?? 0 }
            let feature = (0..<fc).max { mapMax(0, $0) < mapMax(0, $1) } ?? 0
            func argmax(_ img: Int) -> Int { (0..<k).max { probs.data[img * k + $0] < probs.data[img * k + $1] } ?? 0 }
            let label = probes.labels[i]
            result.append(OcclusionMap(
                image: i, label: label, feature: feature, rows: ys.count, cols: xs.count,
                featureActivation: (1..<n).map { mapSum($0, feature) },
                correctProbability: (1..<n).map { probs.data[$0 * k + label] },
                predicted: (1..<n).map(argmax),
                cleanActivation: mapSum(0, feature), cleanProbability: probs.data[label], cleanPredicted: argmax(0)))
        }
        return result
    }
}

import Foundation
import Tensors
import Layers
import Training
import Datasets
import Runs

/// Milliseconds per batch spent in each layer's forward and backward during SGD steps: the
/// per-layer breakdown `docs/performance.md` is written from. Runs the steps of `Trainer.trainEpoch`
/// (forward in training mode, loss, backward without the input gradient) one layer at a time, so
/// without `Network`'s fusions: there a conv writes its output rectified for the ReLU after it, and
/// a pooling's backward applies the ReLU before it, so those ReLU rows mostly vanish in training.
func layerProfile(network: Network, data: Dataset, batchSize: Int, steps: Int) -> [(name: String, forward: Double, backward: Double)] {
    let layers = network.layers
    var forward = [Double](repeating: 0, count: layers.count), backward = forward
    let first = layers[0] as? Conv2D
    first?.computesInputGradient = false
    defer { first?.computesInputGradient = true }
    for step in 0..<(steps + 3) {
        let start = (step * batchSize) % max(1, data.count - batchSize)
        var x = data.samples(start..<(start + batchSize))
        let labels = Array(data.labels[start..<(start + batchSize)])
        let warm = step >= 3   // the first steps size buffers and warm caches
        network.zeroGradients()
        for (i, layer) in layers.enumerated() {
            let t = seconds { layer.forward(inPlace: &x, mode: .training(seed: UInt64(step))) }
            if warm { forward[i] += t }
        }
        var d = SoftmaxCrossEntropy.evaluate(logits: x, labels: labels).gradient
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            let t = seconds { layers[i].backward(inPlace: &d, rule: .gradient, accumulateParameterGradients: true) }
            if warm { backward[i] += t }
        }
    }
    return layers.enumerated().map { i, layer in
        (layer.name ?? layer.kind, 1000 * forward[i] / Double(steps), 1000 * backward[i] / Double(steps))
    }
}

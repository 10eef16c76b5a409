import Tensors
import Runs

/// Sums per layer over an epoch's steps; `means` turns them into `LayerLearning` values.
struct LayerLearningAccumulator {
    private var order: [String] = []
    private var sums: [String: (grad: Double, weight: Double, ratio: Double)] = [:]
    private var steps = 0

    mutating func add(_ step: [(name: String, squares: MomentumStep.Squares)]) {
        for (name, s) in step {
            if sums[name] == nil { order.append(name); sums[name] = (0, 0, 0) }
            let weight = s.weight.squareRoot()
            // A layer whose weights are all zero (possible for a hand-made model) moved by a ratio
            // that has no finite value; 0 keeps the JSON valid and the chart's log scale drops it.
            let ratio = weight > 0 ? s.update.squareRoot() / weight : 0
            sums[name]!.grad += s.gradient.squareRoot()
            sums[name]!.weight += weight
            sums[name]!.ratio += ratio
        }
        steps += 1
    }

    /// nil before any step (epoch 0, an interrupted epoch's first batch).
    var means: [String: LayerLearning]? {
        guard steps > 0 else { return nil }
        let n = Double(steps)
        return Dictionary(uniqueKeysWithValues: order.map { name in
            let s = sums[name]!
            return (name, LayerLearning(gradNorm: s.grad / n, weightNorm: s.weight / n, updateRatio: s.ratio / n))
        })
    }
}

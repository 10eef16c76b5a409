import Tensors
import Datasets
import Runs
import Layers

/// SGD with momentum and weight decay, PyTorch's formulation:
/// `g = grad + wd * w;  v = mu * v + g;  w -= lr * v`
/// (the loop with its measurements is `MomentumStep.apply`, an optimized kernel).
public struct SGD: Sendable, Codable, Equatable {
    public var learningRate: Float
    public var momentum: Float
    public var weightDecay: Float
    /// Zeiler & Fergus renormalize conv filters whose RMS exceeds a radius (0.1 in the paper)
    /// back to that radius, so no single filter dominates. nil turns it off.
    public var maxFilterRMS: Float?

    public init(learningRate: Float, momentum: Float, weightDecay: Float = 0, maxFilterRMS: Float? = nil) {
        self.learningRate = learningRate; self.momentum = momentum
        self.weightDecay = weightDecay; self.maxFilterRMS = maxFilterRMS
    }

    /// One step over every parameter. Returns, per parameter layer (conv, linear, ... in network
    /// order), the sums of squares of its gradient, its weights before the step and the step
    /// actually taken (after momentum, weight decay and the filter renormalization), weight and
    /// bias together: what `LayerLearning` averages into `metrics.jsonl`.
    @discardableResult
    public func step(_ network: Network) -> [(name: String, squares: MomentumStep.Squares)] {
        var perLayer: [(name: String, squares: MomentumStep.Squares)] = []
        for layer in network.layers where !layer.parameters.isEmpty {
            var squares = MomentumStep.Squares()
            for p in layer.parameters {
                let count = p.value.count
                p.value.data.withUnsafeMutableBufferPointer { w in
                p.gradient.data.withUnsafeBufferPointer { g in
                p.momentum.data.withUnsafeMutableBufferPointer { v in
                    squares = squares + MomentumStep.apply(weights: w.baseAddress!, gradient: g.baseAddress!, momentum: v.baseAddress!,
                                                           count: count, learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
                } } }
            }
            // The paper renormalizes conv filters: the weights of every block head.
            if let radius = maxFilterRMS, layer.blockRole == .head {
                squares.update += Self.renormalize(layer.parameters[0], radius: radius, learningRate: learningRate)
            }
            perLayer.append((layer.name ?? "layer\(perLayer.count)", squares))
        }
        return perLayer
    }

    /// Rescales each output filter (one row of the (F, C*k*k) weight) whose RMS exceeds `radius`.
    /// Returns what the rescaling adds to the step's sum of squares: a rescaled row's step is no
    /// longer `-lr * v` but `s * w - (w + lr * v)`, with w the weights after the SGD step.
    @discardableResult
    static func renormalize(_ weight: Parameter, radius: Float, learningRate lr: Float = 0) -> Double {
        let f = weight.value.shape[0], per = weight.value.count / f
        var correction = 0.0
        weight.value.data.withUnsafeMutableBufferPointer { w in
        weight.momentum.data.withUnsafeBufferPointer { v in
            for o in 0..<f {
                var sumSquares: Float = 0
                for i in 0..<per { sumSquares += w[o * per + i] * w[o * per + i] }
                let rms = (sumSquares / Float(per)).squareRoot()
                if rms > radius {
                    let scale = radius / rms
                    for i in 0..<per {
                        // Before the SGD step the weight was w + lr * v (w: after the step); the
                        // row ends at scale * w. The step's square (lr * v)^2 was counted already.
                        let j = o * per + i
                        let step = lr * v[j]
                        let actual = Double(scale * w[j]) - (Double(w[j]) + Double(step))
                        correction += actual * actual - Double(step * step)
                        w[j] *= scale
                    }
                }
            }
        } }
        return correction
    }
}

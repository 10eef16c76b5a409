import Tensors
import Datasets
import Runs
import Layers

/// SGD with momentum and weight decay, PyTorch's formulation:
/// `g = grad + wd * w;  v = mu * v + g;  w -= lr * v`.
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

    public func step(_ network: Network) {
        for p in network.allParameters {
            let lr = learningRate, mu = momentum, wd = weightDecay
            p.value.data.withUnsafeMutableBufferPointer { w in
            p.gradient.data.withUnsafeBufferPointer { g in
            p.momentum.data.withUnsafeMutableBufferPointer { v in
                for i in 0..<w.count {
                    let grad = g[i] + wd * w[i]
                    v[i] = mu * v[i] + grad
                    w[i] -= lr * v[i]
                }
            } } }
        }
        if let radius = maxFilterRMS {
            // The paper renormalizes conv filters: the weights of every block head.
            for layer in network.layers where layer.blockRole == .head { Self.renormalize(layer.parameters[0], radius: radius) }
        }
    }

    /// Rescales each output filter (one row of the (F, C*k*k) weight) whose RMS exceeds `radius`.
    static func renormalize(_ weight: Parameter, radius: Float) {
        let f = weight.value.shape[0], per = weight.value.count / f
        weight.value.data.withUnsafeMutableBufferPointer { w in
            for o in 0..<f {
                var sumSquares: Float = 0
                for i in 0..<per { sumSquares += w[o * per + i] * w[o * per + i] }
                let rms = (sumSquares / Float(per)).squareRoot()
                if rms > radius {
                    let scale = radius / rms
                    for i in 0..<per { w[o * per + i] *= scale }
                }
            }
        }
    }
}

import Foundation

/// How one parameter layer learned during an epoch: `metrics.jsonl`'s `layers.<name>`.
/// Weight and bias count as one vector (the layer's parameters), so a layer has one number each.
/// All three are means over the epoch's SGD steps:
/// - `grad_norm`: ||dL/dθ||, the mini-batch loss gradient (weight decay not included);
/// - `weight_norm`: ||θ|| before the step;
/// - `update_ratio`: ||Δθ|| / ||θ||, with Δθ the change the step actually made (learning rate,
///   momentum, weight decay and the `--max-filter-rms` rescaling included).
public struct LayerLearning: Codable, Sendable, Equatable {
    public var gradNorm: Double
    public var weightNorm: Double
    public var updateRatio: Double

    public init(gradNorm: Double, weightNorm: Double, updateRatio: Double) {
        self.gradNorm = gradNorm; self.weightNorm = weightNorm; self.updateRatio = updateRatio
    }

    enum CodingKeys: String, CodingKey {
        case gradNorm = "grad_norm", weightNorm = "weight_norm", updateRatio = "update_ratio"
    }
}

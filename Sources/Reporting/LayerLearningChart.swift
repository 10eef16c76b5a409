import Runs
import Foundation
import Plot


/// How each parameter layer learns, from `metrics.jsonl`'s `layers` (copied into findings.json's
/// `metrics`): the update-to-weight ratio (log scale), the gradient norm (log scale) and the
/// weight norm per epoch, one line per layer.
struct LayerLearningChart {
    let metrics: [EpochMetrics]

    /// Layer names in the order the run logged them first (sorted keys in JSON: sorted by name,
    /// then stable), so colours stay put from epoch to epoch.
    var layerNames: [String] {
        var seen: [String] = []
        for m in metrics.sorted(by: { $0.epoch < $1.epoch }) {
            for name in (m.layers ?? [:]).keys.sorted() where !seen.contains(name) { seen.append(name) }
        }
        return seen
    }

    static let palette = ["series-a", "series-b", "series-c", "series-d", "series-e", "series-f", "series-g", "series-h"]

    /// Points of one quantity per layer; `log` plots log10 of the positive values.
    private func series(_ value: (LayerLearning) -> Double, log: Bool) -> [Charts.Series] {
        layerNames.enumerated().map { i, name in
            let points: [(x: Double, y: Double)] = metrics.sorted { $0.epoch < $1.epoch }.compactMap { m in
                guard let v = m.layers?[name].map(value), v.isFinite, !log || v > 0 else { return nil }
                return (Double(m.epoch), log ? log10(v) : v)
            }
            return Charts.Series(name: name, cssClass: Self.palette[i % Self.palette.count], points: points)
        }
    }

    /// 10^t for a tick of a log10 axis.
    static func power(_ t: Double) -> String {
        t == t.rounded() ? "1e\(Int(t))" : Format.number(pow(10, t))
    }

    func render() -> Content {
        let heading: Content = .h2(.txt("How each layer learns"))
        guard !layerNames.isEmpty else {
            return .section(.id("learning"), heading, .p(.class("note"), .txt(
                "metrics.jsonl carries no per-layer statistics for this run (they are logged by `deconvscope train` from this version on).")))
        }
        let ratio = Charts.lineChart(title: "Update / weight ratio per epoch (log scale)", xLabel: "epoch", yLabel: "||update|| / ||weights||",
                                     series: series(\.updateRatio, log: true), yFormat: Self.power)
        let gradient = Charts.lineChart(title: "Gradient norm per epoch (log scale)", xLabel: "epoch", yLabel: "||gradient||",
                                        series: series(\.gradNorm, log: true), yFormat: Self.power)
        let weight = Charts.lineChart(title: "Weight norm per epoch", xLabel: "epoch", yLabel: "||weights||", series: series(\.weightNorm, log: false))
        return .section(.id("learning"), heading, ratio, gradient, weight,
            .p(.class("muted"), .txt("Per parameter layer, weight and bias as one vector, means over each epoch's SGD steps: the norm of the mini-batch loss gradient (weight decay not included), the norm of the weights before the step, and the step actually taken (learning rate, momentum, weight decay and the max-filter-RMS rescaling included) over that norm. A common rule of thumb puts a healthy update ratio near 1e-3; far below, the layer barely moves; far above, it is rewritten every step.")))
    }
}

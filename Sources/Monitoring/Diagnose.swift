import Foundation
import Datasets
import Runs

/// Turns the newest snapshot's findings, the training metrics and the occlusion maps into ranked
/// diagnoses. Every rule and threshold is listed in docs/report-data.md.
public enum Diagnose {
    /// What the rules read. `updates` is per parameter layer of the newest metrics line that has
    /// them (empty when metrics.jsonl carries no `layers`); `shortcut` the occlusion measurement
    /// (nil without occlusion maps).
    public struct Inputs: Sendable {
        public var epochs: [EpochFindings]
        public var metrics: [EpochMetrics]
        public var updates: (epoch: Int, layers: [String: LayerUpdateStats])?
        public var shortcut: ShortcutMeasurement?
        /// `ProjectionGrid.ratio` per strided conv layer, measured in the projections of the layer above.
        public var grids: [GridMeasurement]
        public var classes: Int
        /// run.json's message when the run failed (the trainer names a divergence there).
        public var failure: String?
        public var thresholds: DiagnosticThresholds
        public init(epochs: [EpochFindings], metrics: [EpochMetrics], updates: (epoch: Int, layers: [String: LayerUpdateStats])? = nil,
                    shortcut: ShortcutMeasurement? = nil, grids: [GridMeasurement] = [], classes: Int, failure: String? = nil,
                    thresholds: DiagnosticThresholds = DiagnosticThresholds()) {
            self.epochs = epochs; self.metrics = metrics; self.updates = updates; self.shortcut = shortcut; self.grids = grids
            self.classes = classes; self.failure = failure; self.thresholds = thresholds
        }
    }

    public static func run(_ input: Inputs) -> [Diagnosis] {
        guard let newest = input.epochs.last else { return [] }
        let t = input.thresholds, e = newest.epoch
        var out: [Diagnosis] = []
        out += trainingHealth(input, epoch: e)
        if let s = input.shortcut, s.score >= t.shortcutShare {
            out.append(Diagnosis(
                code: .shortcut, severity: .problem, layer: nil, epoch: e,
                summary: "the predictions depend on pixels outside the object: the network has learned a shortcut (a marker, a border, a watermark) instead of the object",
                evidence: "occluding pixels outside the object causes \(pct(s.score)) of the drop in the correct class's probability (threshold \(pct(t.shortcutShare))), over \(s.images) occluded probes; outside-object share per probe: \(s.perImage.map { pct($0) }.joined(separator: ", "))",
                advice: "look at the occlusion maps: remove what the network keys on from the training images (crop borders, strip markers or watermarks, randomize backgrounds), or add augmentation that moves or hides it",
                strength: s.score))
        }
        out += updateRatios(input)
        for g in input.grids where g.ratio > t.projectionGrid {
            out.append(Diagnosis(
                code: .projectionGrid, severity: .warning, layer: g.layer, epoch: e,
                summary: "\(g.layer): its stride \(g.stride) leaves a grid in the projections of \(g.above), the aliasing artifacts of Zeiler & Fergus's Fig. 6",
                evidence: "energy of \(g.above)'s projections at multiples of 1/\(g.stride) cycle per pixel is \(fmt(g.ratio))x their neighbouring frequencies' (threshold \(fmt(t.projectionGrid)))",
                advice: "use a smaller stride and a kernel that is a multiple of it (Zeiler & Fergus replaced 11x11 stride 4 with 7x7 stride 2)",
                strength: g.ratio))
        }
        for layer in newest.layers { out += layerDiagnoses(layer, input: input, epoch: e) }
        return Diagnosis.ranked(out)
    }

    /// `diverged` and `not_learning`, from metrics.jsonl.
    static func trainingHealth(_ input: Inputs, epoch e: Int) -> [Diagnosis] {
        let t = input.thresholds
        let trained = input.metrics.filter { $0.epoch >= 1 }
        let initialLoss = log(Double(max(2, input.classes)))   // cross-entropy of a uniform guess
        if let message = input.failure, message.contains("diverged") {
            return [Diagnosis(
                code: .diverged, severity: .problem, layer: nil, epoch: e,
                summary: "training diverged after epoch \(e), the newest snapshot; the trainer stopped",
                evidence: message, advice: "lower the learning rate (by 3-10x), or cap filter size with --max-filter-rms 0.1",
                strength: 1)]
        }
        if let bad = trained.first(where: { !($0.trainLoss ?? 0).isFinite || !$0.testLoss.isFinite || ($0.trainLoss ?? 0) > 2 * initialLoss }) {
            let loss = bad.trainLoss.map { fmt($0) } ?? "none"
            return [Diagnosis(
                code: .diverged, severity: .problem, layer: nil, epoch: bad.epoch,
                summary: "training diverged at epoch \(bad.epoch): the loss left the range a classifier can have",
                evidence: "epoch \(bad.epoch): train loss \(loss), test loss \(fmt(bad.testLoss)); a uniform guess over \(input.classes) classes has loss \(fmt(initialLoss)), divergence is a non-finite loss or more than twice that",
                advice: "lower the learning rate (by 3-10x), or cap filter size with --max-filter-rms; check the input normalization",
                strength: 1)]
        }
        let chance = 1 / Double(max(2, input.classes))
        if let last = trained.last, last.testAccuracy < t.chanceMultiple * chance {
            return [Diagnosis(
                code: .notLearning, severity: .problem, layer: nil, epoch: last.epoch,
                summary: "after \(last.epoch) epochs the network is no better than a guess",
                evidence: "test accuracy \(pct(last.testAccuracy)) < \(fmt(t.chanceMultiple)) \u{00D7} chance (\(pct(chance))); train loss \(last.trainLoss.map { fmt($0) } ?? "none")",
                advice: "if the layers barely moved (frozen_features, stalled_updates) raise the learning rate; if maps died (dead_filters) lower it; check that the labels match the images",
                strength: 1 - last.testAccuracy)]
        }
        return []
    }

    /// `exploding_updates` and `stalled_updates` from the per-layer update ratios.
    static func updateRatios(_ input: Inputs) -> [Diagnosis] {
        guard let updates = input.updates else { return [] }
        let t = input.thresholds
        var out: [Diagnosis] = []
        for (name, stats) in updates.layers.sorted(by: { $0.key < $1.key }) {
            guard stats.updateRatio > 0, stats.updateRatio.isFinite else { continue }
            let lg = log10(stats.updateRatio), low = log10(t.updateRatioLow), high = log10(t.updateRatioHigh)
            let band = "healthy band \(sci(t.updateRatioLow)) to \(sci(t.updateRatioHigh)) (docs/diagnostics.md)"
            if lg > high {
                out.append(Diagnosis(
                    code: .explodingUpdates, severity: .problem, layer: name, epoch: updates.epoch,
                    summary: "\(name): each SGD step changes the weights by a large fraction of their size; the layer is being thrown around, not trained",
                    evidence: "log10(update ratio) \(fmt(lg)) > \(fmt(high)) at epoch \(updates.epoch) (update ratio \(sci(stats.updateRatio)), \(band))",
                    advice: "lower the learning rate; about 10^(\(fmt(lg)) - (-3)) = \(fmt(pow(10, lg + 3)))x lower puts this layer at the usual 1e-3",
                    strength: lg - high))
            } else if lg < low {
                out.append(Diagnosis(
                    code: .stalledUpdates, severity: .warning, layer: name, epoch: updates.epoch,
                    summary: "\(name): each SGD step changes the weights by a negligible fraction of their size; the layer is not learning",
                    evidence: "log10(update ratio) \(fmt(lg)) < \(fmt(low)) at epoch \(updates.epoch) (update ratio \(sci(stats.updateRatio)), \(band))",
                    advice: "raise the learning rate, or check this layer's initialization scale and gradient (grad norm \(sci(stats.gradNorm)))",
                    strength: low - lg))
            }
        }
        return out
    }

    /// Per conv layer: dead, frozen, aliased, dominant, collapsed, dormant.
    static func layerDiagnoses(_ l: LayerFindings, input: Inputs, epoch e: Int) -> [Diagnosis] {
        let t = input.thresholds
        let n = max(1, l.filters.count)
        var out: [Diagnosis] = []
        func list(_ f: [Int]) -> String { f.prefix(16).map(String.init).joined(separator: ", ") + (f.count > 16 ? ", ..." : "") }
        if !l.deadFilters.isEmpty {
            let share = Double(l.deadFilters.count) / Double(n)
            let problem = share >= t.deadShare
            out.append(Diagnosis(
                code: .deadFilters, severity: problem ? .problem : .info, layer: l.name, epoch: e,
                summary: "\(l.name): \(l.deadFilters.count) of \(n) feature maps never fire on any probe; they get no gradient and will not come back",
                evidence: "\(pct(share)) of the maps dead (problem from \(pct(t.deadShare))): \(list(l.deadFilters))",
                advice: problem ? "typical causes: a learning rate too high early on (large first steps push biases negative), or an init scale too large; lower the learning rate or use --max-filter-rms" : "a few dead maps are common; watch whether the count grows",
                strength: share))
        }
        // Only meaningful once the layer had time to move: two snapshots at least, the newest trained.
        if let moved = l.medianWeightChange, input.epochs.count >= 2, e >= 1, moved < t.frozenChange {
            out.append(Diagnosis(
                code: .frozenFeatures, severity: .problem, layer: l.name, epoch: e,
                summary: "\(l.name): the filters barely moved from their random initialization; its features are random projections",
                evidence: "median weight_change \(fmt(moved)) < \(fmt(t.frozenChange)) since epoch \(input.epochs[0].epoch) (0 = same pattern, 1.41 = unrelated)",
                advice: "raise the learning rate or train longer; if only this layer is frozen, check its initialization scale (e.g. --first-conv-init-std)",
                strength: t.frozenChange - moved))
        }
        let live = l.filters.filter { $0.fireRate > 0 }.count
        if !l.aliasedFilters.isEmpty {
            let ratios = l.aliasedFilters.compactMap { i in l.filters.first { $0.index == i }?.aliasLowBand }
            out.append(Diagnosis(
                code: .aliasing, severity: .warning, layer: l.name, epoch: e,
                summary: "\(l.name): \(l.aliasedFilters.count) of \(live) live filters hold patterns finer than the layer's sampling can represent; their responses fold into false coarse patterns",
                evidence: "filters \(list(l.aliasedFilters)): low-band ratio \(ratios.map { fmt($0) }.joined(separator: ", ")) < \(fmt(t.aliasedLowBand)) (white noise 1)",
                advice: "reduce the block's stride (conv stride or pooling), e.g. 11x11 stride 4 -> 7x7 stride 2 as Zeiler & Fergus did; a single aliased filter in a healthy layer is worth inspecting on its own",
                strength: Double(l.aliasedFilters.count) / Double(n)))
        }
        if !l.dominantFilters.isEmpty {
            out.append(Diagnosis(
                code: .dominantFilters, severity: .warning, layer: l.name, epoch: e,
                summary: "\(l.name): \(l.dominantFilters.count) filters have grown far larger than the rest and dominate the layer",
                evidence: "filters \(list(l.dominantFilters)): weight RMS > \(fmt(t.dominantRMS)) \u{00D7} the layer's median",
                advice: "renormalize filters as Zeiler & Fergus did (--max-filter-rms 0.1), or add weight decay",
                strength: Double(l.dominantFilters.count) / Double(n)))
        }
        if !l.collapsedFilters.isEmpty {
            out.append(Diagnosis(
                code: .collapsedFilters, severity: .warning, layer: l.name, epoch: e,
                summary: "\(l.name): \(l.collapsedFilters.count) filters shrank to almost nothing and carry no signal",
                evidence: "filters \(list(l.collapsedFilters)): weight RMS < \(fmt(t.collapsedRMS)) \u{00D7} the layer's median",
                advice: "too much weight decay, or filters that died and decayed; lower --weight-decay, check dead_filters",
                strength: Double(l.collapsedFilters.count) / Double(n)))
        }
        if !l.dormantFilters.isEmpty {
            out.append(Diagnosis(
                code: .dormantFilters, severity: .info, layer: l.name, epoch: e,
                summary: "\(l.name): \(l.dormantFilters.count) maps fire, but far more weakly than the layer's average",
                evidence: "filters \(list(l.dormantFilters)): dormancy score \u{2264} \(fmt(t.dormantTau))",
                advice: "usually harmless; many dormant maps mean spare capacity",
                strength: Double(l.dormantFilters.count) / Double(n)))
        }
        return out
    }

    static func pct(_ x: Double) -> String { NumberText.printf("%.0f%%", 100 * x) }
    static func fmt(_ x: Double) -> String { NumberText.printf("%.3g", x) }
    static func sci(_ x: Double) -> String { NumberText.printf("%.2e", x) }
}

/// `ProjectionGrid.ratio` of a strided conv layer, measured in the projections of the block above it.
public struct GridMeasurement: Sendable, Equatable {
    public var layer: String
    public var above: String
    public var stride: Int
    public var ratio: Double
    public init(layer: String, above: String, stride: Int, ratio: Double) {
        self.layer = layer; self.above = above; self.stride = stride; self.ratio = ratio
    }
}

/// One parameter layer's step statistics in a metrics.jsonl line (`layers`), means over the epoch.
public struct LayerUpdateStats: Codable, Sendable, Equatable {
    public var gradNorm: Double
    public var weightNorm: Double
    public var updateRatio: Double
    public init(gradNorm: Double, weightNorm: Double, updateRatio: Double) {
        self.gradNorm = gradNorm; self.weightNorm = weightNorm; self.updateRatio = updateRatio
    }
    enum CodingKeys: String, CodingKey { case gradNorm = "grad_norm", weightNorm = "weight_norm", updateRatio = "update_ratio" }
}

public enum UpdateStatsReader {
    private struct Line: Decodable {
        var epoch: Int
        var layers: [String: LayerUpdateStats]?
    }
    /// The newest metrics.jsonl line that carries `layers`; nil when none does (older trainers) or
    /// the file is missing. Lines that do not parse are skipped, as `RunDirectory.readMetrics` does.
    public static func newest(metricsPath: String) -> (epoch: Int, layers: [String: LayerUpdateStats])? {
        guard let text = try? String(contentsOfFile: metricsPath, encoding: .utf8) else { return nil }
        var found: (Int, [String: LayerUpdateStats])? = nil
        for line in text.split(separator: "\n") {
            guard let l = try? JSONDecoder().decode(Line.self, from: Data(line.utf8)), let layers = l.layers, !layers.isEmpty else { continue }
            if found == nil || l.epoch >= found!.0 { found = (l.epoch, layers) }
        }
        return found
    }
}

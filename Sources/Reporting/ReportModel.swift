import Foundation
import Monitoring
import Tensors

/// File names of the report, in one place: pages link to exactly what the writer writes.
enum ReportFiles {
    static let index = "index.html"
    static let stylesheet = "style.css"
    static let imageFolder = "img"

    static func padded(_ epoch: Int) -> String {
        let digits = String(epoch)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
    static func layerPage(_ slug: String) -> String { "layer-\(slug).html" }
    static func epochPage(_ slug: String, epoch: Int) -> String { "layer-\(slug)-epoch-\(padded(epoch)).html" }
    static func fig2Sprite(_ slug: String, epoch: Int) -> String { "\(imageFolder)/\(slug)-epoch-\(padded(epoch)).png" }
    static func evolutionSprite(_ slug: String) -> String { "\(imageFolder)/\(slug)-evolution.png" }
    static func filterSprite(_ slug: String) -> String { "\(imageFolder)/\(slug)-filters.png" }

    /// A layer name as a file-name part: [A-Za-z0-9_.-] kept, anything else becomes `_`, and a
    /// name that would collide with an earlier one gets a numeric suffix.
    static func slugs(for names: [String]) -> [String] {
        var used = Set<String>()
        return names.map { name in
            var base = String(String.UnicodeScalarView(name.unicodeScalars.map { s in
                (s.isASCII && (CharacterSet.alphanumerics.contains(s) || "_.-".unicodeScalars.contains(s))) ? s : "_"
            }))
            if base.isEmpty { base = "layer" }
            var slug = base, n = 2
            while used.contains(slug) { slug = "\(base)-\(n)"; n += 1 }
            used.insert(slug)
            return slug
        }
    }
}

/// How the report words each flag (the flag itself is `FilterFlag`, shared with the monitor and the CLI).
extension FilterFlag {
    /// The rule with its threshold, as the "how to read" section and the flag tables state it.
    func rule(_ t: DiagnosticThresholds) -> String {
        switch self {
        case .dead:
            return "the feature map is zero on every probe image (fire rate 0%): the filter no longer learns, its gradient is zero"
        case .dormant:
            return "dormancy score (its mean activation / the layer's average mean activation) \u{2264} \u{03C4} = \(Format.number(t.dormantTau)) (Sokar et al. 2023), while still firing on some probe"
        case .aliased:
            return "the filter keeps less than \(Format.number(t.aliasedLowBand)) \u{00D7} white noise's share of its energy at frequencies its block's sampling (conv stride \u{00D7} pooling strides) represents: its pattern lives where the sampling folds it back into coarse, false patterns"
        case .collapsed:
            return "weight RMS < \(Format.number(t.collapsedRMS)) \u{00D7} the layer's median filter RMS: the filter has shrunk to nothing"
        case .dominant:
            return "weight RMS > \(Format.number(t.dominantRMS)) \u{00D7} the layer's median filter RMS: one filter dominates its layer (Zeiler & Fergus renormalize filters whose RMS exceeds 0.1)"
        }
    }

    /// The measured number against the threshold for one filter.
    func evidence(_ f: FilterFindings, layer: LayerFindings, thresholds t: DiagnosticThresholds, probes: Int) -> String {
        let median = FilterFlag.medianRMS(layer)
        switch self {
        case .dead:
            return "fired on \(Int((Double(f.fireRate) * Double(probes)).rounded())) of \(probes) probes (fire rate \(Format.percent(Double(f.fireRate)))); max activation \(Format.number(f.maxActivation))"
        case .dormant:
            return "dormancy score \(Format.number(f.dormancyScore)) \u{2264} \u{03C4} \(Format.number(t.dormantTau)); mean activation \(Format.number(f.meanActivation))"
        case .aliased:
            return "low-band ratio \(f.aliasLowBand.map { Format.number($0) } ?? "n/a") < \(Format.number(t.aliasedLowBand)) (white noise 1); energy above the block's Nyquist \(Format.percent(f.aliasEnergy)); high-frequency share of its projections \(Format.percent(f.projectionHighFrequency))"
        case .collapsed:
            return "weight RMS \(Format.number(f.weightRMS)) < \(Format.number(t.collapsedRMS)) \u{00D7} median \(Format.number(median)) = \(Format.number(t.collapsedRMS * median))"
        case .dominant:
            return "weight RMS \(Format.number(f.weightRMS)) > \(Format.number(t.dominantRMS)) \u{00D7} median \(Format.number(median)) = \(Format.number(t.dominantRMS * median))"
        }
    }

    /// The layer's median filter RMS as the diagnostics compute it (upper median).
    static func medianRMS(_ layer: LayerFindings) -> Double {
        let rms = layer.filters.map { Double($0.weightRMS) }.sorted()
        return rms.isEmpty ? 0 : rms[rms.count / 2]
    }

}

/// What the pages know about one monitored layer.
struct LayerInfo {
    var name: String
    var slug: String
    /// Position among the monitored layers (0 = the first conv block).
    var position: Int
    /// Sprite cell: the layer's receptive field in input pixels, clipped to the image.
    var cellHeight: Int
    var cellWidth: Int
    /// Integer CSS upscale of the sprite tiles (crisp with `image-rendering: pixelated`).
    var scale: Int
}

/// Everything the pages need besides one epoch's projections, loaded once per write.
struct ReportContext {
    var directory: String
    var findings: Findings
    /// Probe pixels (P, C, H, W) in [0, 1] and labels.
    var probePixels: Tensor
    var probeLabels: [Int]
    var classNames: [String]
    /// Snapshots that have a data file, in epoch order.
    var epochs: [EpochFindings]
    var layers: [LayerInfo]

    var imageShape: [Int] { Array(probePixels.shape.dropFirst()) }
    var epochNumbers: [Int] { epochs.map(\.epoch) }

    func className(probe: Int) -> String {
        guard probe >= 0, probe < probeLabels.count else { return "probe \(probe)" }
        let label = probeLabels[probe]
        return label >= 0 && label < classNames.count ? classNames[label] : "class \(label)"
    }

    func layerFindings(_ layer: String, epoch: Int) -> LayerFindings? {
        epochs.first { $0.epoch == epoch }?.layers.first { $0.name == layer }
    }

    /// Receptive field of a conv block's output: the model table's last row of that block.
    static func receptiveField(of layer: String, model: [ModelLayerRow]) -> Int? {
        if let last = model.last(where: { $0.block == layer }) { return last.receptiveField }
        // Findings written before rows named their block: the blocks of those versions were a
        // conv with the relu and maxpool rows right after it.
        guard let start = model.firstIndex(where: { $0.name == layer && $0.type == "conv" }) else { return nil }
        var end = start
        while end + 1 < model.count, model[end + 1].block == nil, ["relu", "maxpool"].contains(model[end + 1].type) { end += 1 }
        return model[end].receptiveField
    }

    /// Tiles are shown about `target` CSS pixels wide.
    static func scale(cell: Int, target: Int = 60) -> Int { max(1, min(12, target / max(1, cell))) }
}

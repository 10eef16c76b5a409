import ArgumentParser
import Foundation
import Training
import Datasets
import Runs
import Monitoring

struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Model preset (zf-fmnist, alexnet-fmnist) or a model JSON file (default zf-fmnist). A preset is an architecture: it is built for the data's image shape (C, H, W) and class count. A JSON file keeps its own \"input\" and \"classes\".", valueName: "name|path.json"))
    var model: String?
}

struct DataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Data set: fashion-mnist (default), mnist, cifar10 (binary batches), folder (DIR/{train,test}/<class>/*.png).", valueName: "name"))
    var data: String?

    @Option(help: ArgumentHelp("Folder holding the data set's files (default: where Debian's package installs it; required for mnist, cifar10, folder).", valueName: "dir"))
    var dataDir: String?

    func kind() throws -> DatasetKind {
        let name = data ?? DatasetKind.fashionMNIST.rawValue
        guard let kind = DatasetKind(rawValue: name) else {
            throw ValidationError("unknown data set \"\(name)\"; choose one of: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return kind
    }
}

struct ProbeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Probe images: the first N images of the test split, replayed through every snapshot.", valueName: "n"))
    var probes = 1024

    @Option(help: ArgumentHelp("Strongest activations kept per feature map (the paper shows 9).", valueName: "k"))
    var top = 9

    @Option(help: ArgumentHelp("Folder that receives Reports/<run>/.", valueName: "dir"))
    var reports = "Reports"

    func validate() throws {
        guard probes >= 1 else { throw ValidationError("--probes must be at least 1") }
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
    }

}

struct DiagnosticOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A filter is dormant when its mean activation is at most tau times its layer's average (tau-dormant score, Sokar et al. 2023).", valueName: "tau"))
    var dormantTau: Double = 0.025

    @Option(help: ArgumentHelp("A filter is aliased when it keeps less than this fraction of white noise's share of energy at the frequencies its block's sampling (conv stride x pooling strides) represents (random filters ~1, smooth ones more, a checkerboard under stride 2 ~0.01).", valueName: "ratio"))
    var aliasedLowBand: Double = DiagnosticThresholds().aliasedLowBand

    @Option(help: ArgumentHelp("dead_filters is a problem when at least this share of a layer's maps never fires (below it, an info).", valueName: "share"))
    var deadShare: Double = DiagnosticThresholds().deadShare

    @Option(help: ArgumentHelp("frozen_features: a layer whose filters' median pattern change since the first snapshot (0 = same, 1.41 = unrelated) stays below this.", valueName: "change"))
    var frozenChange: Double = DiagnosticThresholds().frozenChange

    @Option(help: ArgumentHelp("shortcut: the share of the occlusion sensitivity that falls on pixels outside the object, above which the network is said to key on something else (a marker, a border).", valueName: "share"))
    var shortcutShare: Double = DiagnosticThresholds().shortcutShare

    @Option(help: ArgumentHelp("Healthy band of a layer's update ratio (one SGD step's |dW| / |W|, from metrics.jsonl's layers; about 1e-3 is healthy): below this, stalled_updates.", valueName: "ratio"))
    var updateRatioLow: Double = DiagnosticThresholds().updateRatioLow

    @Option(help: ArgumentHelp("Above this update ratio, exploding_updates.", valueName: "ratio"))
    var updateRatioHigh: Double = DiagnosticThresholds().updateRatioHigh

    @Option(help: ArgumentHelp("projection_grid: energy of the projections of the layer above a strided conv at multiples of 1/stride, over their neighbouring frequencies, above which the stride leaves a grid (about 1 without one).", valueName: "ratio"))
    var projectionGrid: Double = DiagnosticThresholds().projectionGrid

    @Option(help: ArgumentHelp("Occlusion maps for the first N probes (0 turns occlusion off).", valueName: "n"))
    var occlusionImages = 8

    @Option(help: ArgumentHelp("Side of the gray occluding square in pixels (default: a quarter of the image side).", valueName: "px"))
    var occlusionSize: Int?

    @Option(help: ArgumentHelp("Step between occluder positions in pixels (default: half the square).", valueName: "px"))
    var occlusionStride: Int?

    func validate() throws {
        guard dormantTau >= 0 else { throw ValidationError("--dormant-tau must be at least 0") }
        guard aliasedLowBand >= 0, aliasedLowBand.isFinite else { throw ValidationError("--aliased-low-band must be a number of at least 0") }
        for (name, v) in [("--dead-share", deadShare), ("--shortcut-share", shortcutShare)] {
            guard v >= 0, v <= 1 else { throw ValidationError("\(name) must be between 0 and 1") }
        }
        guard frozenChange >= 0, frozenChange.isFinite else { throw ValidationError("--frozen-change must be a number of at least 0") }
        guard projectionGrid >= 0, projectionGrid.isFinite else { throw ValidationError("--projection-grid must be a number of at least 0") }
        guard updateRatioLow > 0, updateRatioHigh.isFinite, updateRatioLow < updateRatioHigh else {
            throw ValidationError("--update-ratio-low and --update-ratio-high must be positive, the low one below the high one")
        }
        guard occlusionImages >= 0 else { throw ValidationError("--occlusion-images must be at least 0") }
        if let s = occlusionSize { guard s >= 1 else { throw ValidationError("--occlusion-size must be at least 1") } }
        if let s = occlusionStride { guard s >= 1 else { throw ValidationError("--occlusion-stride must be at least 1") } }
    }
}

func monitorOptions(_ probes: ProbeOptions, _ diagnostics: DiagnosticOptions, force: Bool = false) -> MonitorOptions {
    var o = MonitorOptions()
    o.probes = probes.probes
    o.top = probes.top
    o.force = force
    o.thresholds.dormantTau = diagnostics.dormantTau
    o.thresholds.aliasedLowBand = diagnostics.aliasedLowBand
    o.thresholds.deadShare = diagnostics.deadShare
    o.thresholds.frozenChange = diagnostics.frozenChange
    o.thresholds.shortcutShare = diagnostics.shortcutShare
    o.thresholds.updateRatioLow = diagnostics.updateRatioLow
    o.thresholds.updateRatioHigh = diagnostics.updateRatioHigh
    o.thresholds.projectionGrid = diagnostics.projectionGrid
    o.occlusion.images = diagnostics.occlusionImages
    o.occlusion.size = diagnostics.occlusionSize
    o.occlusion.stride = diagnostics.occlusionStride
    return o
}

/// Parses "0,1,2,5,10" into sorted unique epochs.
func parseEpochList(_ text: String) throws -> [Int] {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    var epochs: [Int] = []
    for p in parts {
        guard let e = Int(p), e >= 0 else { throw ValidationError("--snapshot-epochs: \"\(p)\" is not an epoch number (use e.g. 0,1,2,5,10)") }
        epochs.append(e)
    }
    return Array(Set(epochs)).sorted()
}


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

    @Option(help: ArgumentHelp("A filter is aliased when more than this share of its spectral energy lies above the Nyquist frequency of the sampling after it.", valueName: "share"))
    var aliasedEnergy: Double = 0.5

    @Option(help: ArgumentHelp("Sampling the aliasing flag measures against: conv (the conv's own stride, where the Nyquist argument is exact) or block (conv stride times its pooling strides).", valueName: "conv|block"))
    var aliasSampling: AliasSampling = .conv

    @Option(help: ArgumentHelp("Occlusion maps for the first N probes (0 turns occlusion off).", valueName: "n"))
    var occlusionImages = 8

    @Option(help: ArgumentHelp("Side of the gray occluding square in pixels (default: a quarter of the image side).", valueName: "px"))
    var occlusionSize: Int?

    @Option(help: ArgumentHelp("Step between occluder positions in pixels (default: half the square).", valueName: "px"))
    var occlusionStride: Int?

    func validate() throws {
        guard dormantTau >= 0 else { throw ValidationError("--dormant-tau must be at least 0") }
        guard aliasedEnergy > 0, aliasedEnergy < 1 else { throw ValidationError("--aliased-energy must be between 0 and 1") }
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
    o.thresholds.aliasedEnergy = diagnostics.aliasedEnergy
    o.thresholds.aliasSampling = diagnostics.aliasSampling
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

extension AliasSampling: ExpressibleByArgument {}

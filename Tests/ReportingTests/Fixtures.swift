import Datasets
import Training
import Runs
import Foundation
import Tensors
import Layers
@testable import Training
@testable import Monitoring

/// A fake monitor output folder, written with the monitor's own writers: hand-made
/// `SnapshotAnalysis` values (`MonitorDataFile.write`), a probe set (`ProbeFile.write`) and a
/// `Findings` encoded to findings.json. Every number is a closed-form function of its indices,
/// so the tests can recompute what a pixel must be without the writer's code.
struct FixtureSpec {
    static let hostileRun = "<script>alert(1)</script>"
    static let hostileClass = "<img src=x onerror=alert(1)>"
    static let quoteClass = "\"><svg onload=alert(2)>"

    var runName = FixtureSpec.hostileRun
    var classNames = ["T-shirt", FixtureSpec.hostileClass, "Bag & \"Co\"", FixtureSpec.quoteClass]
    var channels = 1
    var size = 12
    var probes = 8
    var k = 4
    /// name, feature maps, receptive field of the block output (unclipped), kernel
    var layers: [(name: String, filters: Int, rf: Int, kernel: Int)] = [("conv1", 4, 6, 5), ("conv2", 4, 16, 3)]
    var epochs = [0, 1, 3]
    var withMetrics = true
    /// Diagnoses at the newest snapshot, one of each kind of evidence link; false writes a
    /// findings.json as monitors before diagnoses did (no `diagnoses` key).
    var withDiagnoses = true
    /// Occlusion maps for the first 3 probes at every snapshot (square 4 px, stride 4: a 3x3 grid on 12x12).
    var occlusion = true
}

struct Fixture {
    let spec: FixtureSpec
    let directory: String
    let probes: Tensor
    let labels: [Int]
    let analyses: [Int: SnapshotAnalysis]

    // MARK: closed-form contents

    static func pixel(_ i: Int, _ ch: Int, _ y: Int, _ x: Int) -> Float {
        Float((i * 31 + ch * 7 + y * 5 + x * 3) % 17) / 16
    }

    /// Projection value of (feature map c, slot j, channel, y, x) at `epoch`; slot 1 of map 1 is all zero.
    static func projection(_ c: Int, _ j: Int, _ ch: Int, _ y: Int, _ x: Int, epoch: Int) -> Float {
        if c == 1 && j == 1 { return 0 }
        return Float(sin(0.7 * Double(y) + 1.3 * Double(x) + Double(c) + 0.5 * Double(j) + Double(ch))) * Float(1 + epoch)
    }

    static func weight(_ f: Int, _ ch: Int, _ y: Int, _ x: Int, epoch: Int) -> Float {
        Float(cos(Double(f) + 0.9 * Double(y) - 0.4 * Double(x) + Double(ch) * 2)) * 0.1 * Float(1 + epoch)
    }

    /// Unclipped receptive field origin of (c, j) and its box clipped to the image.
    static func box(_ c: Int, _ j: Int, epoch: Int, rf: Int, size: Int) -> PixelBox {
        let top = (c * 3 + j * 5 + epoch * 2) % (size + 2) - 2
        let left = (c * 5 + j * 3 + epoch) % (size + 2) - 2
        return PixelBox(top: max(0, top), left: max(0, left), bottom: min(size, top + rf), right: min(size, left + rf))
    }

    static func activation(_ c: Int, _ j: Int, epoch: Int, probes: Int) -> Activation {
        Activation(image: (c * 2 + j + epoch) % probes, y: j, x: c, value: Float(10 - j) + Float(c) / 10 + Float(epoch))
    }

    /// How many of a map's top-k activations are non-zero: none for the dead map, two for the
    /// dormant one (it fires on two probes); the rest of their top-k are zeros, as the monitor
    /// writes them, with zero projections.
    static func responses(layer: Int, epoch: Int, filter: Int, k: Int) -> Int {
        let fl = flags(layer: layer, epoch: epoch, filter: filter)
        return fl.contains("dead") ? 0 : fl.contains("dormant") ? min(2, k) : k
    }

    /// Flags by (layer, epoch, filter).
    static func flags(layer: Int, epoch: Int, filter: Int) -> [String] {
        switch (layer, epoch, filter) {
        case (0, 1, 2): return ["dead"]
        case (0, 1, 3): return ["aliased", "dominant"]
        case (1, 3, 0): return ["collapsed"]
        case (1, 3, 1): return ["dormant"]
        default: return []
        }
    }

    // MARK: writing

    static func make(_ spec: FixtureSpec = FixtureSpec()) throws -> Fixture {
        let dir = NSTemporaryDirectory() + "deconvscope-report-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        let (c, s, p) = (spec.channels, spec.size, spec.probes)
        var pixels = [Float](repeating: 0, count: p * c * s * s)
        for i in 0..<p { for ch in 0..<c { for y in 0..<s { for x in 0..<s {
            pixels[((i * c + ch) * s + y) * s + x] = pixel(i, ch, y, x)
        } } } }
        let images = Tensor(shape: [p, c, s, s], data: pixels)
        let labels = (0..<p).map { $0 % spec.classNames.count }
        let dataset = Dataset(name: "fixture", images: images, labels: labels, classNames: spec.classNames)
        let probeSet = ProbeSet(test: dataset, count: p, normalization: Normalization(mean: Array(repeating: 0, count: c), std: Array(repeating: 1, count: c)))
        try ProbeFile.write(probeSet, requested: probeSet.count, source: "fixture", dataset: "fixture", to: dir + "/data/probes.h5")

        var analyses: [Int: SnapshotAnalysis] = [:]
        var epochFindings: [EpochFindings] = []
        for epoch in spec.epochs {
            var layers: [LayerAnalysis] = []
            var layerFindings: [LayerFindings] = []
            var inChannels = c
            for (li, l) in spec.layers.enumerated() {
                let f = l.filters, k = spec.k
                var top: [[Activation]] = [], boxes: [[PixelBox]] = []
                var proj = [Float](repeating: 0, count: f * k * c * s * s)
                for ch in 0..<f {
                    let live = responses(layer: li, epoch: epoch, filter: ch, k: k)
                    top.append((0..<k).map { j in
                        var a = activation(ch, j, epoch: epoch, probes: p)
                        if j >= live { a.value = 0 }
                        return a
                    })
                    boxes.append((0..<k).map { box(ch, $0, epoch: epoch, rf: l.rf, size: s) })
                    for j in 0..<live { for ic in 0..<c { for y in 0..<s { for x in 0..<s {
                        proj[((((ch * k + j) * c + ic) * s + y) * s) + x] = projection(ch, j, ic, y, x, epoch: epoch)
                    } } } }
                }
                var w = [Float](repeating: 0, count: f * inChannels * l.kernel * l.kernel)
                for o in 0..<f { for ic in 0..<inChannels { for y in 0..<l.kernel { for x in 0..<l.kernel {
                    w[((o * inChannels + ic) * l.kernel + y) * l.kernel + x] = weight(o, ic, y, x, epoch: epoch)
                } } } }
                let maxPerProbe = Tensor(shape: [f, p], data: (0..<(f * p)).map { Float($0 % 5) })
                layers.append(LayerAnalysis(
                    name: l.name, mapShape: [s / (li + 1), s / (li + 1)], top: top, boxes: boxes,
                    projections: Tensor(shape: [f, k, c, s, s], data: proj), maxPerProbe: maxPerProbe,
                    meanActivation: (0..<f).map { Float($0) * 0.5 + 1 },
                    weight: Tensor(shape: [f, inChannels, l.kernel, l.kernel], data: w), bias: Tensor(zeros: [f]),
                    samplingStride: 2 * (li + 1), convStride: 1, kernel: l.kernel))
                // Measurements consistent with the flags under the default thresholds.
                let filters = (0..<f).map { o in
                    let fl: [FilterFlag] = flags(layer: li, epoch: epoch, filter: o).compactMap { FilterFlag(rawValue: $0) }
                    return FilterFindings(index: o, maxActivation: top[o][0].value, meanActivation: Float(o) * 0.5 + 1,
                                          fireRate: fl.contains(.dead) ? 0 : 0.75,
                                          dormancyScore: fl.contains(.dormant) ? 0.01 : 0.5 + Double(o) * 0.2,
                                          weightRMS: fl.contains(.dominant) ? 0.5 : fl.contains(.collapsed) ? 0.001 : 0.05 + Float(o) * 0.01,
                                          aliasEnergy: 0.8,
                                          aliasLowBand: fl.contains(.aliased) ? 0.05 : 0.5 + Double(o) * 0.1, weightChange: epoch == spec.epochs[0] ? nil : 0.1 * Double(o + 1),
                                          projectionHighFrequency: 0.3, flags: fl)
                }
                func with(_ flag: FilterFlag) -> [Int] { filters.filter { $0.flags.contains(flag) }.map(\.index) }
                var lf = LayerFindings(name: l.name, deadFilters: with(.dead), dormantFilters: with(.dormant),
                                       aliasedFilters: with(.aliased), collapsedFilters: with(.collapsed),
                                       dominantFilters: with(.dominant),
                                       medianWeightChange: epoch == spec.epochs[0] ? nil : 0.25, filters: filters)
                ClassMakeup.annotate(&lf, analysis: layers.last!, labels: labels, classNames: spec.classNames)
                layerFindings.append(lf)
                inChannels = f
            }
            var analysis = SnapshotAnalysis(epoch: epoch, step: epoch * 100, probes: p, layers: layers)
            if spec.occlusion && s == 12 {
                analysis.occlusion = (0..<3).map { i in
                    OcclusionMap(image: i, label: labels[i], feature: i + 1, rows: 3, cols: 3,
                                 featureActivation: (0..<9).map { Float($0 + i) }, correctProbability: (0..<9).map { Float($0) / 8 },
                                 predicted: (0..<9).map { ($0 + i + epoch) % spec.classNames.count },
                                 cleanActivation: 4, cleanProbability: 0.9, cleanPredicted: labels[i])
                }
                analysis.occlusionSize = 4
                analysis.occlusionStride = 4
            }
            try MonitorDataFile.write(analysis, k: spec.k, to: dir + "/data/epoch-" + String(format: "%04d", epoch) + ".h5")
            analyses[epoch] = analysis
            // Confusion counts: 10 test images per class, the diagonal growing with the epoch, the
            // errors of class i going to class i + 1.
            let classes = spec.classNames.count
            let confusion = (0..<classes).map { a in (0..<classes).map { b in b == a ? 5 + epoch : b == (a + 1) % classes ? 5 - epoch : 0 } }
            epochFindings.append(EpochFindings(epoch: epoch, step: epoch * 100, testAccuracy: 0.5 + Double(epoch) / 10, layers: layerFindings,
                                               confusion: spec.withMetrics ? confusion : nil))
        }

        var model: [ModelLayerRow] = []
        var shape = [c, s, s]
        for l in spec.layers {
            let n = model.count
            model.append(ModelLayerRow(index: n, type: "conv", name: l.name, detail: "\(l.filters) filters \(l.kernel)x\(l.kernel), stride 1, padding 1",
                                       outputShape: [l.filters] + shape.dropFirst(), receptiveField: l.rf - 1, jump: 1, parameters: l.filters * (shape[0] * l.kernel * l.kernel + 1)))
            model.append(ModelLayerRow(index: n + 1, type: "relu", name: nil, detail: "", outputShape: [l.filters] + shape.dropFirst(),
                                       receptiveField: l.rf - 1, jump: 1, parameters: 0))
            shape = [l.filters, shape[1] / 2, shape[2] / 2]
            model.append(ModelLayerRow(index: n + 2, type: "maxpool", name: nil, detail: "2x2, stride 2, padding 0", outputShape: shape,
                                       receptiveField: l.rf, jump: 2, parameters: 0))
        }
        model.append(ModelLayerRow(index: model.count, type: "linear", name: "fc <b>", detail: "\(shape.reduce(1, *)) -> 4",
                                   outputShape: [4], receptiveField: s, jump: 4, parameters: shape.reduce(1, *) * 4 + 4))

        let architecture = ModelSpec(input: [c, s, s], classes: spec.classNames.count,
                                     normalization: Normalization(mean: [0.5], std: [0.25]), layers: [])
        let config = RunConfiguration(run: spec.runName, model: "/tmp/<b>model</b>.json", architecture: architecture, data: "fixture",
                                      dataDir: "/data/'quoted' & <dir>", epochs: 3, batchSize: 16, learningRate: 0.01, momentum: 0.9,
                                      weightDecay: 0, maxFilterRMS: nil, seed: 7, trainLimit: nil, snapshotEpochs: spec.epochs,
                                      probes: p, top: spec.k, status: .finished, message: "done <ok>", created: "2024-01-01T00:00:00Z",
                                      updated: "2024-01-01T01:00:00Z")
        func metric(_ e: Int) -> EpochMetrics {
            let trainLoss: Double? = e == 0 ? nil : 2.3 / Double(e + 1)
            let trainAccuracy: Double? = e == 0 ? nil : 0.4 + Double(e) / 10
            let testLoss: Double = 2.3 - Double(e) * 0.4
            let testAccuracy: Double = 0.1 + Double(e) * 0.2
            return EpochMetrics(epoch: e, step: e * 100, trainLoss: trainLoss, trainAccuracy: trainAccuracy,
                                testLoss: testLoss, testAccuracy: testAccuracy, seconds: 1, imagesPerSecond: nil,
                                layers: e == 0 ? nil : Dictionary(uniqueKeysWithValues: spec.layers.enumerated().map { i, l in
                                    (l.name, LayerLearning(gradNorm: 0.5 / Double(e + i), weightNorm: 2 + Double(e), updateRatio: 0.01 / pow(3, Double(e + i))))
                                }))
        }
        let metrics: [EpochMetrics] = spec.withMetrics ? (0...3).map(metric) : []
        // conv1 settles at the second snapshot; conv2 has not settled, and its map 1 is silent in its last step.
        func steps(_ good: Bool) -> [ConvergenceStep] {
            zip(spec.epochs, spec.epochs.dropFirst()).map { a, b in
                let overlap: Double = good || a != spec.epochs[0] ? 0.75 : 0.25
                let silent = !good && b == spec.epochs.last ? [1] : []
                return ConvergenceStep(from: a, to: b, topOverlap: [overlap, 1, overlap], correlation: [good ? 0.95 : 0.5, 1, good ? 0.95 : 0.5],
                                       silentMaps: silent)
            }
        }
        let convergence = spec.layers.enumerated().map { i, l in
            LayerConvergence(name: l.name, steps: steps(i == 0), convergedAt: i == 0 && spec.epochs.count > 1 ? spec.epochs[1] : nil)
        }
        let deaths: [String: [DeathRecord]] = spec.epochs.contains(1) ? [spec.layers[0].name: [DeathRecord(filter: 2, diedAt: 1, recoveredAt: spec.epochs.last == 1 ? nil : spec.epochs.last)]] : [:]
        var thresholds = DiagnosticThresholds()
        thresholds.dormantTau = 0.025
        let findings = Findings(
            run: spec.runName, probes: p, top: spec.k, epochs: epochFindings, status: "finished", updated: "2024-01-01T01:02:03Z",
            data: "fixture <data>", classNames: spec.classNames, inputShape: [c, s, s], monitoredLayers: spec.layers.map(\.name),
            model: model, audits: [LayerAudit(layer: spec.layers[0].name, issue: "kernel 5 is not divisible by stride 2 <x>", advice: "use 4 & 2")],
            thresholds: thresholds, configuration: config, metrics: metrics,
            convergence: convergence, convergenceThresholds: ConvergenceThresholds(), deaths: deaths,
            metricsNote: spec.withMetrics ? nil : "No metrics <here> & none",
            diagnoses: spec.withDiagnoses ? Fixture.diagnoses(spec) : nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(findings).write(to: URL(fileURLWithPath: dir + "/findings.json"))
        return Fixture(spec: spec, directory: dir, probes: images, labels: labels, analyses: analyses)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// One diagnosis per evidence page, in the monitor's rank order, with markup in the text.
    static func diagnoses(_ spec: FixtureSpec) -> [Diagnosis] {
        let e = spec.epochs.last ?? 0, first = spec.layers[0].name
        func d(_ code: DiagnosisCode, _ severity: Severity, _ layer: String?) -> Diagnosis {
            Diagnosis(code: code, severity: severity, layer: layer, epoch: e, summary: "\(code.rawValue) <b>summary</b>",
                      evidence: "evidence of \(code.rawValue) & more", advice: "advice for \(code.rawValue)")
        }
        return Diagnosis.ranked([d(.aliasing, .warning, first), d(.deadFilters, .problem, first), d(.diverged, .problem, nil),
                                 d(.shortcut, .problem, nil), d(.frozenFeatures, .problem, first), d(.projectionGrid, .warning, first),
                                 d(.stalledUpdates, .warning, "fc9"), d(.dormantFilters, .info, spec.layers.last!.name)])
    }
}

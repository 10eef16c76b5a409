import XCTest
import Runs
import Datasets
import Foundation
import Tensors
import Layers
@testable import Training
@testable import Monitoring

/// One test per diagnosis code: a network (or run record) built to trigger it and one built not to.
/// Filter-level codes use the trained zf-fmnist of `DiagnosticsTests` with faults injected.
final class DiagnosesTests: XCTestCase {
    private func copy(_ net: Network) throws -> Network {
        let fresh = try Network(spec: net.spec)
        for (a, b) in zip(net.allParameters, fresh.allParameters) { b.value = a.value }
        return fresh
    }

    private func analyses(_ net: Network, _ probes: ProbeSet) -> [LayerAnalysis] {
        Replay(network: net, probes: probes, k: 9).analyze(epoch: 1, step: 0).layers
    }

    /// Findings of `net` as the newest of two snapshots (the first being `initial`), then its diagnoses.
    private func diagnose(_ net: Network, _ probes: ProbeSet, initial: Network? = nil) -> [Diagnosis] {
        let now = analyses(net, probes)
        let start = initial.map { analyses($0, probes) }
        let layers = now.enumerated().map { i, l in
            Diagnostics.evaluate(l, thresholds: DiagnosticThresholds(), imageShape: [1, 28, 28], initial: start?[i])
        }
        var epochs = [EpochFindings(epoch: 1, step: 32, testAccuracy: 0.7, layers: layers)]
        if let start {
            epochs.insert(EpochFindings(epoch: 0, step: 0, testAccuracy: 0.1, layers: start.map {
                Diagnostics.evaluate($0, thresholds: DiagnosticThresholds(), imageShape: [1, 28, 28]) }), at: 0)
        }
        return Diagnose.run(Diagnose.Inputs(epochs: epochs, metrics: [], classes: 10))
    }

    private func codes(_ list: [Diagnosis], layer: String? = nil) -> [DiagnosisCode] {
        list.filter { layer == nil || $0.layer == layer }.map(\.code)
    }

    private func setCheckerboard(_ conv: Conv2D, filter: Int) {
        let w = conv.weight.value
        let per = w.count / w.shape[0], k = w.shape[3]
        var sum: Float = 0
        for i in 0..<per { sum += w.data[filter * per + i] * w.data[filter * per + i] }
        let rms = (sum / Float(per)).squareRoot()
        for i in 0..<per { let y = (i % (k * k)) / k, x = i % k; conv.weight.value.data[filter * per + i] = (y + x) % 2 == 0 ? rms : -rms }
    }

    // MARK: aliasing (acceptance: a checkerboard in one conv1 filter of a trained zf-fmnist)

    func testCheckerboardInOneTrainedConv1FilterIsTheOnlyAliasedFilter() throws {
        let (trained, probes) = try DiagnosticsTests.trainedNetwork()
        let before = Diagnostics.evaluate(analyses(trained, probes)[0], thresholds: DiagnosticThresholds(), imageShape: [1, 28, 28])
        XCTAssertEqual(before.aliasedFilters, [], "no trained conv1 filter is aliased")
        XCTAssertFalse(codes(diagnose(trained, probes)).contains(.aliasing))
        let net = try copy(trained)
        setCheckerboard(net.layers[0] as! Conv2D, filter: 5)
        let after = Diagnostics.evaluate(analyses(net, probes)[0], thresholds: DiagnosticThresholds(), imageShape: [1, 28, 28])
        XCTAssertEqual(after.aliasedFilters, [5], "the checkerboard, and only it")
        XCTAssertLessThan(after.filters[5].aliasLowBand!, 0.05)
        for f in after.filters where f.index != 5 { XCTAssertGreaterThan(f.aliasLowBand!, 0.2, "filter \(f.index)") }
        let d = diagnose(net, probes).filter { $0.code == .aliasing }
        XCTAssertEqual(d.map(\.layer), ["conv1"])
        XCTAssertEqual(d.first?.severity, .warning)
    }

    /// The old flag called every conv1 filter of alexnet-fmnist aliased at random initialization.
    func testAlexNetAtRandomInitializationIsNotAllAliased() throws {
        let (_, probes) = try DiagnosticsTests.trainedNetwork()
        let net = try Network(spec: ModelPreset.alexnetFMNIST.spec)
        var rng = Xoshiro256(seed: 0)
        net.initialize(rng: &rng)
        let conv1 = Diagnostics.evaluate(analyses(net, probes)[0], thresholds: DiagnosticThresholds(), imageShape: [1, 28, 28])
        XCTAssertLessThanOrEqual(conv1.aliasedFilters.count, 2, "random filters are not aliased: \(conv1.aliasedFilters)")
        // A random filter keeps about white noise's share of low frequencies.
        let ratios = conv1.filters.compactMap(\.aliasLowBand).sorted()
        XCTAssertEqual(ratios[ratios.count / 2], 1, accuracy: 0.4)
    }

    func testLowBandRatioOfKnownFilters() {
        let flat = [Float](repeating: 1, count: 25)
        XCTAssertGreaterThan(Spectrum.lowBandRatio(flat, channels: 1, kernel: 5, stride: 2), 2, "a smooth filter keeps more than noise")
        let checker = (0..<25).map { Float(($0 / 5 + $0 % 5) % 2 == 0 ? 1 : -1) }
        XCTAssertLessThan(Spectrum.lowBandRatio(checker, channels: 1, kernel: 5, stride: 2), 0.05)
        XCTAssertEqual(Spectrum.lowBandRatio(checker, channels: 1, kernel: 5, stride: 1), 1, "stride 1 folds nothing")
        var rng = Xoshiro256(seed: 3)
        var mean = 0.0
        for _ in 0..<200 { mean += Spectrum.lowBandRatio((0..<121).map { _ in rng.nextGaussian() }, channels: 1, kernel: 11, stride: 8) }
        XCTAssertEqual(mean / 200, 1, accuracy: 0.15, "white noise averages 1 by construction")
    }

    // MARK: dead_filters

    func testManyDeadMapsAreAProblemAndAFewAnInfo() throws {
        let (trained, probes) = try DiagnosticsTests.trainedNetwork()
        XCTAssertFalse(codes(diagnose(trained, probes), layer: "conv1").contains(.deadFilters), "conv1 is all alive")
        let many = try copy(trained), few = try copy(trained)
        for f in 0..<12 { (many.layers[0] as! Conv2D).bias.value.data[f] = -1000 }
        for f in 0..<2 { (few.layers[0] as! Conv2D).bias.value.data[f] = -1000 }
        let m = diagnose(many, probes).first { $0.code == .deadFilters && $0.layer == "conv1" }
        XCTAssertEqual(m?.severity, .problem, "12 of 32 = 38% >= 25%")
        let f = diagnose(few, probes).first { $0.code == .deadFilters && $0.layer == "conv1" }
        XCTAssertEqual(f?.severity, .info, "2 of 32 is below the problem share")
    }

    // MARK: frozen_features

    func testLayerThatNeverLeftItsInitializationIsFrozen() throws {
        let (trained, probes) = try DiagnosticsTests.trainedNetwork()
        // Against itself plus a 1% perturbation: the patterns did not move.
        let nudged = try copy(trained)
        var rng = Xoshiro256(seed: 5)
        for p in nudged.allParameters { for i in 0..<p.value.count { p.value.data[i] *= 1 + 0.01 * rng.nextGaussian() } }
        let frozen = diagnose(trained, probes, initial: nudged)
        XCTAssertEqual(Set(frozen.filter { $0.code == .frozenFeatures }.compactMap(\.layer)), ["conv1", "conv2"])
        // Against an unrelated random start: every pattern moved.
        let fresh = try Network(spec: trained.spec)
        fresh.initialize(rng: &rng)
        XCTAssertFalse(codes(diagnose(trained, probes, initial: fresh)).contains(.frozenFeatures))
    }

    // MARK: dominant_filters, collapsed_filters, dormant_filters

    func testOneHugeFilterDominatesAndOneShrunkenFilterCollapses() throws {
        let (trained, probes) = try DiagnosticsTests.trainedNetwork()
        let clean = codes(diagnose(trained, probes), layer: "conv1")
        XCTAssertFalse(clean.contains(.dominantFilters)); XCTAssertFalse(clean.contains(.collapsedFilters))
        let net = try copy(trained)
        let conv1 = net.layers[0] as! Conv2D
        let per = conv1.weight.value.count / 32
        for i in 0..<per { conv1.weight.value.data[3 * per + i] *= 20; conv1.weight.value.data[9 * per + i] *= 0.01 }
        conv1.bias.value.data[9] = 0.5   // still fires: collapsed, not dead
        let d = diagnose(net, probes).filter { $0.layer == "conv1" }
        XCTAssertTrue(d.contains { $0.code == .dominantFilters && $0.evidence.contains("filters 3:") }, "\(d.map(\.evidence))")
        XCTAssertTrue(d.contains { $0.code == .collapsedFilters && $0.evidence.contains("filters 9:") }, "\(d.map(\.evidence))")
    }

    func testWeaklyFiringMapsAreDormantInfo() throws {
        let (trained, probes) = try DiagnosticsTests.trainedNetwork()
        XCTAssertFalse(codes(diagnose(trained, probes), layer: "conv1").contains(.dormantFilters))
        let net = try copy(trained)
        let conv1 = net.layers[0] as! Conv2D
        let per = conv1.weight.value.count / 32
        for i in 0..<per { conv1.weight.value.data[4 * per + i] *= 0.1 }
        conv1.bias.value.data[4] = -0.5
        let lf = Diagnostics.evaluate(analyses(net, probes)[0], thresholds: DiagnosticThresholds(), imageShape: [1, 28, 28])
        if lf.deadFilters.contains(4) { throw XCTSkip("filter 4 died instead of dozing") }
        let d = diagnose(net, probes).first { $0.code == .dormantFilters && $0.layer == "conv1" }
        XCTAssertEqual(d?.severity, .info)
    }

    // MARK: diverged, not_learning (from metrics.jsonl and run.json)

    private func metric(_ epoch: Int, loss: Double, accuracy: Double) -> EpochMetrics {
        EpochMetrics(epoch: epoch, step: epoch * 10, trainLoss: epoch == 0 ? nil : loss, trainAccuracy: nil,
                     testLoss: loss, testAccuracy: accuracy, seconds: 1, imagesPerSecond: nil)
    }

    private func epochs(_ n: Int) -> [EpochFindings] {
        (0...n).map { EpochFindings(epoch: $0, step: $0 * 10, testAccuracy: nil, layers: []) }
    }

    func testNonFiniteOrExplodedLossIsDivergedAndAFailedRunSaysWhy() {
        let healthy = [metric(0, loss: 2.3, accuracy: 0.1), metric(1, loss: 0.6, accuracy: 0.8)]
        XCTAssertEqual(Diagnose.run(Diagnose.Inputs(epochs: epochs(1), metrics: healthy, classes: 10)), [])
        let nan = [metric(0, loss: 2.3, accuracy: 0.1), metric(1, loss: .nan, accuracy: 0.1)]
        XCTAssertEqual(codes(Diagnose.run(Diagnose.Inputs(epochs: epochs(1), metrics: nan, classes: 10))), [.diverged])
        let blown = [metric(0, loss: 2.3, accuracy: 0.1), metric(1, loss: 9, accuracy: 0.5)]
        XCTAssertEqual(codes(Diagnose.run(Diagnose.Inputs(epochs: epochs(1), metrics: blown, classes: 10))), [.diverged])
        let failed = Diagnose.run(Diagnose.Inputs(epochs: epochs(0), metrics: [metric(0, loss: 2.3, accuracy: 0.1)], classes: 10,
                                                  failure: "training diverged in epoch 1 at step 5: the loss reached 786"))
        XCTAssertEqual(codes(failed), [.diverged])
        XCTAssertTrue(failed[0].evidence.contains("786"))
        XCTAssertEqual(Diagnose.run(Diagnose.Inputs(epochs: epochs(0), metrics: [], classes: 10, failure: "disk full")), [])
    }

    func testChanceAccuracyAfterTrainingIsNotLearning() {
        let stuck = [metric(0, loss: 2.3, accuracy: 0.1), metric(1, loss: 2.3, accuracy: 0.1)]
        XCTAssertEqual(codes(Diagnose.run(Diagnose.Inputs(epochs: epochs(1), metrics: stuck, classes: 10))), [.notLearning])
        let learning = [metric(0, loss: 2.3, accuracy: 0.1), metric(1, loss: 1.2, accuracy: 0.55)]
        XCTAssertEqual(Diagnose.run(Diagnose.Inputs(epochs: epochs(1), metrics: learning, classes: 10)), [])
    }

    // MARK: exploding_updates, stalled_updates (metrics.jsonl `layers`, written by hand)

    func testUpdateRatiosOutsideTheBandAreFlaggedFromMetricsLines() throws {
        let dir = NSTemporaryDirectory() + "diagnoses-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/metrics.jsonl"
        let lines = [
            #"{"epoch": 0, "step": 0, "test_loss": 2.3, "test_accuracy": 0.1, "seconds": 1}"#,
            #"{"epoch": 1, "step": 10, "train_loss": 0.9, "test_loss": 0.8, "test_accuracy": 0.7, "seconds": 1, "layers": {"conv1": {"grad_norm": 0.1, "weight_norm": 1, "update_ratio": 1e-3}}}"#,
            #"{"epoch": 2, "step": 20, "train_loss": 0.7, "test_loss": 0.6, "test_accuracy": 0.8, "seconds": 1, "layers": {"conv1": {"grad_norm": 5, "weight_norm": 1, "update_ratio": 0.2}, "conv2": {"grad_norm": 1e-4, "weight_norm": 2, "update_ratio": 3e-6}, "fc3": {"grad_norm": 0.1, "weight_norm": 3, "update_ratio": 2e-3}}}"#,
            #"{"epoch": 3, "step": 30, "trai"#,   // torn line of a killed trainer
        ]
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let updates = try XCTUnwrap(UpdateStatsReader.newest(metricsPath: path))
        XCTAssertEqual(updates.epoch, 2)
        let d = Diagnose.run(Diagnose.Inputs(epochs: epochs(2), metrics: [], updates: updates, classes: 10))
        XCTAssertEqual(d.filter { $0.code == .explodingUpdates }.map(\.layer), ["conv1"])
        XCTAssertEqual(d.filter { $0.code == .stalledUpdates }.map(\.layer), ["conv2"])
        XCTAssertFalse(d.contains { $0.layer == "fc3" }, "1e-3 is inside the band")
        XCTAssertEqual(d.first?.code, .explodingUpdates, "a problem ranks before a warning")
        // Lines without `layers` (older trainers): no update-ratio diagnosis at all.
        try lines[0].write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertNil(UpdateStatsReader.newest(metricsPath: path))
    }

    // MARK: shortcut

    /// A 12x12 image: an 8x6 garment blob (rows 3-10, columns 4-9), a 2x2 marker in the top-left corner.
    private func markedImage() -> Tensor {
        var px = [Float](repeating: 0, count: 144)
        for y in 3..<11 { for x in 4..<10 { px[y * 12 + x] = 0.8 } }
        for y in 0..<2 { for x in 0..<2 { px[y * 12 + x] = 1 } }
        return Tensor(shape: [1, 1, 12, 12], data: px)
    }

    func testObjectMaskKeepsTheGarmentAndDropsTheMarker() {
        let mask = Shortcut.objectMask(markedImage().data[...], channels: 1, height: 12, width: 12)
        XCTAssertTrue(mask[5 * 12 + 6], "garment")
        XCTAssertFalse(mask[0], "marker")
        XCTAssertFalse(mask[11 * 12 + 11], "background")
    }

    func testSensitivityOnTheMarkerIsAShortcutAndOnTheGarmentIsNot() {
        // Squares of 4 px at stride 4: a 3x3 grid; square (0, 0) covers the marker, (1, 1) the garment.
        func map(dropAt cell: Int) -> OcclusionMap {
            var p = [Float](repeating: 0.9, count: 9); p[cell] = 0.1
            return OcclusionMap(image: 0, label: 0, feature: 0, rows: 3, cols: 3, featureActivation: [Float](repeating: 1, count: 9),
                                correctProbability: p, predicted: [Int](repeating: 0, count: 9), cleanActivation: 1,
                                cleanProbability: 0.9, cleanPredicted: 0)
        }
        let marker = Shortcut.measure(maps: [map(dropAt: 0)], pixels: markedImage(), size: 4, stride: 4)!
        XCTAssertEqual(marker.score, 1, accuracy: 1e-9)
        let garment = Shortcut.measure(maps: [map(dropAt: 4)], pixels: markedImage(), size: 4, stride: 4)!
        XCTAssertEqual(garment.score, 0, accuracy: 1e-9)
        func run(_ s: ShortcutMeasurement) -> [DiagnosisCode] {
            codes(Diagnose.run(Diagnose.Inputs(epochs: epochs(1), metrics: [], shortcut: s, classes: 10)))
        }
        XCTAssertEqual(run(marker), [.shortcut])
        XCTAssertEqual(run(garment), [])
        XCTAssertNil(Shortcut.measure(maps: [map(dropAt: 0)].map { var m = $0; m.correctProbability = [Float](repeating: 0.9, count: 9); return m },
                                      pixels: markedImage(), size: 4, stride: 4), "no drop anywhere: nothing to say")
    }

    // MARK: projection_grid

    /// Zeiler & Fergus's Fig. 6: alexnet-fmnist's 11x11 stride-4 conv1 leaves a grid in the conv2
    /// projections; the paper's 7x7 stride 2 does not (both at random initialization, as measured).
    func testStride4FirstLayerLeavesAGridInTheLayerAboveAndThePapersFixDoesNot() throws {
        let (_, probes) = try DiagnosticsTests.trainedNetwork()
        func ratio(_ spec: ModelSpec) throws -> Double {
            let net = try Network(spec: spec)
            var rng = Xoshiro256(seed: 0)
            net.initialize(rng: &rng)
            let layers = analyses(net, probes)
            return try XCTUnwrap(ProjectionGrid.ratio(layers[1].projections, period: layers[0].convStride))
        }
        var fixed = ModelPreset.alexnetFMNIST.spec
        fixed.layers[0] = .conv("conv1", 32, kernel: 7, stride: 2, padding: 3)
        let alex = try ratio(ModelPreset.alexnetFMNIST.spec), fix = try ratio(fixed)
        let t = DiagnosticThresholds().projectionGrid
        XCTAssertGreaterThan(alex, t, "11x11/4")
        XCTAssertLessThan(fix, t, "7x7/2")
        XCTAssertNil(ProjectionGrid.ratio(Tensor(zeros: [2, 1, 1, 8, 8]), period: 2), "no projection to measure")
    }

    // MARK: ranking and JSON

    func testRankingPutsProblemsAndCausesFirstAndJSONHasNullLayer() throws {
        func d(_ c: DiagnosisCode, _ s: Severity, _ strength: Double = 0) -> Diagnosis {
            Diagnosis(code: c, severity: s, layer: nil, epoch: 1, summary: "", evidence: "", advice: "", strength: strength)
        }
        let ranked = Diagnosis.ranked([d(.dormantFilters, .info), d(.aliasing, .warning), d(.deadFilters, .problem, 0.3),
                                       d(.deadFilters, .problem, 0.6), d(.diverged, .problem)])
        XCTAssertEqual(ranked.map(\.code), [.diverged, .deadFilters, .deadFilters, .aliasing, .dormantFilters])
        XCTAssertEqual(ranked[1].strength, 0.6)
        let json = String(decoding: try JSONEncoder().encode(ranked[0]), as: UTF8.self)
        XCTAssertTrue(json.contains("\"layer\":null"), json)
        XCTAssertFalse(json.contains("strength"))
        XCTAssertEqual(try JSONDecoder().decode(Diagnosis.self, from: Data(json.utf8)).code, .diverged)
    }
}

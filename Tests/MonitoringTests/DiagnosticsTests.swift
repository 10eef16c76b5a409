import XCTest
import Tensors
import Layers
import Datasets
import Training
import Runs
import Datasets
import Runs
@testable import Monitoring

/// Faults injected into otherwise trained weights must be flagged with the right kind.
final class DiagnosticsTests: XCTestCase {
    /// zf-fmnist after one epoch on 2,000 real Fashion-MNIST images (about 15 s in a debug build),
    /// shared by the tests in this class.
    nonisolated(unsafe) static var trained: (network: Network, probes: ProbeSet)?

    static func trainedNetwork() throws -> (network: Network, probes: ProbeSet) {
        if let t = trained { return t }
        let data = try DatasetLoader.load(.fashionMNIST, directory: nil)
        let spec = ModelPreset.zfFMNIST.spec
        let trainer = Trainer(network: try Network(spec: spec), train: data.train.prefix(2000).normalized(by: spec.normalization!),
                              test: data.test.prefix(10).normalized(by: spec.normalization!),
                              optimizer: SGD(learningRate: 0.01, momentum: 0.9), batchSize: 64, seed: 0)
        trainer.initializeWeights()
        _ = try trainer.trainEpoch()
        let result = (trainer.network, ProbeSet(test: data.test, count: 256, normalization: spec.normalization!))
        trained = result
        return result
    }

    /// Copies the network's weights into a fresh network, so each test injects its own faults.
    private func copy(_ net: Network) throws -> Network {
        let fresh = try Network(spec: net.spec)
        for (a, b) in zip(net.allParameters, fresh.allParameters) { b.value = a.value }
        return fresh
    }

    private func findings(_ net: Network, _ probes: ProbeSet) -> [LayerFindings] {
        Replay(network: net, probes: probes, k: 9).analyze(epoch: 1, step: 0).layers
            .map { Diagnostics.evaluate($0, thresholds: DiagnosticThresholds(), imageShape: [1, 28, 28]) }
    }

    func testZeroedFilterIsDeadAndCollapsed() throws {
        let (trained, probes) = try Self.trainedNetwork()
        let net = try copy(trained)
        let conv2 = net.layers[3] as! Conv2D
        let per = conv2.weight.value.count / 64
        for i in (5 * per)..<(6 * per) { conv2.weight.value.data[i] = 0 }
        conv2.bias.value.data[5] = 0
        let layer = findings(net, probes)[1]
        XCTAssertTrue(layer.deadFilters.contains(5), "zeroed filter 5 never fires: \(layer.deadFilters)")
        XCTAssertTrue(layer.collapsedFilters.contains(5), "its weight RMS collapsed: \(layer.collapsedFilters)")
    }

    func testFilterWithHopelessNegativeBiasIsDead() throws {
        let (trained, probes) = try Self.trainedNetwork()
        let net = try copy(trained)
        let conv1 = net.layers[0] as! Conv2D
        conv1.bias.value.data[7] = -1000
        let layer = findings(net, probes)[0]
        XCTAssertTrue(layer.deadFilters.contains(7), "\(layer.deadFilters)")
        XCTAssertFalse(layer.collapsedFilters.contains(7), "its weights are fine; only the bias kills it")
        XCTAssertEqual(layer.filters[7].fireRate, 0)
    }

    /// A small net whose second conv has stride 2, trained one epoch on 2,000 images.
    static func stride2Network() throws -> (network: Network, probes: ProbeSet) {
        let data = try DatasetLoader.load(.fashionMNIST, directory: nil)
        let spec = ModelSpec(input: [1, 28, 28], classes: 10, normalization: ModelPreset.fashionMNISTNormalization, layers: [
            .conv("conv1", 8, kernel: 5, stride: 1, padding: 2), .relu, .maxpool(kernel: 2, stride: 2),
            .conv("conv2", 16, kernel: 4, stride: 2, padding: 1), .relu, .flatten, .linear("fc", 10),
        ])
        let trainer = Trainer(network: try Network(spec: spec), train: data.train.prefix(2000).normalized(by: spec.normalization!),
                              test: data.test.prefix(10).normalized(by: spec.normalization!),
                              optimizer: SGD(learningRate: 0.01, momentum: 0.9), batchSize: 64, seed: 0)
        trainer.initializeWeights()
        _ = try trainer.trainEpoch()
        return (trainer.network, ProbeSet(test: data.test, count: 128, normalization: spec.normalization!))
    }

    func testCheckerboardFilterInAStride2LayerIsAliased() throws {
        let (trained, probes) = try Self.stride2Network()
        let net = try copy(trained)
        // conv2 samples its input every 2 pixels: Nyquist is 1/4 cycle per pixel. A +1/-1
        // checkerboard sits at 1/2 cycle per pixel on both axes, all of it above the limit.
        let conv2 = net.layers[3] as! Conv2D
        let per = conv2.weight.value.count / 16
        for i in 0..<per { let y = (i % 16) / 4, x = i % 4; conv2.weight.value.data[3 * per + i] = (y + x) % 2 == 0 ? 0.3 : -0.3 }
        let before = findings(trained, probes)[1], after = findings(net, probes)[1]
        XCTAssertTrue(after.aliasedFilters.contains(3), "checkerboard filter 3 flagged: \(after.aliasedFilters)")
        XCTAssertGreaterThan(after.filters[3].aliasEnergy, 0.95)
        for f in after.filters where f.index != 3 { XCTAssertLessThan(f.aliasEnergy, after.filters[3].aliasEnergy) }
        XCTAssertGreaterThan(after.filters[3].projectionHighFrequency, before.filters[3].projectionHighFrequency,
                             "its projections carry more high-frequency energy than the trained filter's")
        // The stride-1 layer cannot alias under the conv-stride definition.
        XCTAssertEqual(findings(net, probes)[0].aliasedFilters, [])
    }

    /// The fixture has taken only 32 SGD steps from a He-normal start, whose first losses are large:
    /// measured, conv1 keeps all 32 filters alive while 28 of conv2's 64 die in those steps (a full
    /// 60k-image epoch leaves 3 dead). The test pins the first and bounds the second.
    func testBrieflyTrainedNetworkKeepsConv1AliveAndMostOfConv2() throws {
        let (trained, probes) = try Self.trainedNetwork()
        let layers = findings(trained, probes)
        XCTAssertEqual(layers[0].deadFilters, [], "conv1")
        XCTAssertLessThan(layers[1].deadFilters.count, 40, "conv2: \(layers[1].deadFilters)")
        for f in layers[1].deadFilters { XCTAssertEqual(layers[1].filters[f].maxActivation, 0, "a dead filter's maximum is 0") }
    }

    func testStaticAuditFlagsUnevenOverlapAndLargeStride() throws {
        let alex = try Network(spec: ModelPreset.alexnetFMNIST.spec)
        let audits = Diagnostics.audit(alex)
        XCTAssertTrue(audits.contains { $0.layer == "conv1" && $0.issue.contains("not divisible") }, "11 % 4 != 0")
        XCTAssertTrue(audits.contains { $0.layer == "conv1" && $0.advice.contains("7x7") })
        XCTAssertTrue(Diagnostics.audit(try Network(spec: ModelPreset.zfFMNIST.spec)).isEmpty)
    }

    func testSpectrumOfKnownFilters() {
        // A constant filter has all its energy at DC; a checkerboard at the highest frequency.
        let flat = [Float](repeating: 1, count: 25)
        XCTAssertEqual(Spectrum.energyAboveNyquist(flat, channels: 1, kernel: 5, stride: 2), 0, accuracy: 0.15)
        let checker = (0..<25).map { Float(($0 / 5 + $0 % 5) % 2 == 0 ? 1 : -1) }
        XCTAssertGreaterThan(Spectrum.energyAboveNyquist(checker, channels: 1, kernel: 5, stride: 2), 0.9)
        XCTAssertEqual(Spectrum.energyAboveNyquist(checker, channels: 1, kernel: 5, stride: 1), 0, "stride 1 keeps every frequency")
    }

    /// Fig. 7: hiding empty background matters less than hiding the object's centre.
    func testOcclusionDropsProbabilityOnTheObjectNotTheBackground() throws {
        let (net, probes) = try Self.trainedNetwork()
        var options = OcclusionOptions()
        options.images = 24
        options.size = 8
        options.stride = 4
        let maps = Occlusion.maps(network: net, probes: probes, options: options)
        XCTAssertEqual(maps.first?.rows, 6)   // positions 0, 4, ..., 20
        var cornerDrop = 0.0, centreDrop = 0.0, used = 0
        for m in maps where m.cleanPredicted == m.label {
            // Square at (0, 0) covers the empty top-left corner; at (8..12, 8..12) the garment's centre.
            cornerDrop += Double(m.cleanProbability - m.correctProbability[0])
            let centre = [2 * m.cols + 2, 2 * m.cols + 3, 3 * m.cols + 2, 3 * m.cols + 3]
            centreDrop += centre.map { Double(m.cleanProbability - m.correctProbability[$0]) }.reduce(0, +) / 4
            used += 1
        }
        XCTAssertGreaterThan(used, 10, "most probes are classified correctly after one epoch")
        XCTAssertLessThan(cornerDrop / Double(used), centreDrop / Double(used))
        XCTAssertLessThan(abs(cornerDrop / Double(used)), 0.05, "the corner is background")
    }

    /// The occluded copies go through in batches (beside the top-k pass, small batches reuse
    /// memory): the maps must not depend on the batch size, beyond the classifier's rounding
    /// (OpenBLAS's sgemm may add a row's products in another order for another row count).
    func testOcclusionMapsDoNotDependOnTheBatchSize() throws {
        let (net, probes) = try Self.trainedNetwork()
        var options = OcclusionOptions()
        options.images = 3
        let whole = Occlusion.maps(network: net, probes: probes, options: options, batchSize: 1000)
        XCTAssertEqual(whole.first?.rows, 8)
        for batch in [1, 7, 16] {
            let maps = Occlusion.maps(network: net, probes: probes, options: options, batchSize: batch)
            XCTAssertEqual(maps.count, whole.count)
            for (m, w) in zip(maps, whole) {
                XCTAssertEqual(m.featureActivation, w.featureActivation, "batches of \(batch), image \(m.image): the conv blocks' sums")
                XCTAssertEqual([m.feature, m.rows, m.cols, m.cleanPredicted], [w.feature, w.rows, w.cols, w.cleanPredicted])
                XCTAssertEqual(m.predicted, w.predicted, "batches of \(batch), image \(m.image)")
                // The classifier runs on all of an image's copies at once, whatever the conv batches.
                XCTAssertEqual(m.correctProbability + [m.cleanProbability], w.correctProbability + [w.cleanProbability],
                               "batches of \(batch), image \(m.image): probabilities")
            }
        }
    }

    func testConvergenceOfIdenticalAndUnrelatedSnapshots() throws {
        let (net, probes) = try Self.trainedNetwork()
        let a = Replay(network: net, probes: probes, k: 9).analyze(epoch: 1, step: 0).layers[0]
        let same = Convergence.step(from: a, 1, to: a, 2)
        XCTAssertEqual(same.medianCorrelation, 1, accuracy: 1e-9)
        XCTAssertEqual(same.medianTopOverlap, 1)
        let fresh = try Network(spec: net.spec)
        var rng = Xoshiro256(seed: 99)
        fresh.initialize(rng: &rng)
        let b = Replay(network: fresh, probes: probes, k: 9).analyze(epoch: 0, step: 0).layers[0]
        let unrelated = Convergence.step(from: b, 0, to: a, 1)
        XCTAssertLessThan(unrelated.medianTopOverlap, 0.5)
        let layer = Convergence.layer("conv1", epochs: [(0, b), (1, a), (2, a)], thresholds: ConvergenceThresholds())
        XCTAssertEqual(layer.convergedAt, 1, "settled from epoch 1 on, not from 0")
    }

    /// Maps dead at both snapshots are listed as silent and left out of the medians: with 20 of
    /// conv1's 32 maps dead in two unrelated networks, counting them (their responses and their
    /// tied top-k never change) would make the median overlap 1 and call the layer settled.
    func testMapsSilentAtBothSnapshotsAreLeftOutOfTheMedians() throws {
        let (trained, probes) = try Self.trainedNetwork()
        let fresh = try Network(spec: trained.spec)
        var rng = Xoshiro256(seed: 99)
        fresh.initialize(rng: &rng)
        let dead = Array(0..<20)
        let a = try copy(trained)
        for net in [a, fresh] {
            let conv1 = net.layers[net.convBlocks[0].convIndex] as! Conv2D
            for f in dead { conv1.bias.value.data[f] = -1e4 }
        }
        let before = Replay(network: fresh, probes: probes, k: 9).analyze(epoch: 0, step: 0).layers[0]
        let after = Replay(network: a, probes: probes, k: 9).analyze(epoch: 1, step: 0).layers[0]
        let step = Convergence.step(from: before, 0, to: after, 1)
        XCTAssertEqual(step.silentMaps, dead)
        XCTAssertEqual(step.topOverlap.count, 32, "every map keeps its own numbers")
        let live = (20..<32).map { step.topOverlap[$0] }.sorted()
        XCTAssertEqual(step.medianTopOverlap, (live[5] + live[6]) / 2, accuracy: 1e-12)
        XCTAssertLessThan(step.medianTopOverlap, 0.5)
        let layer = Convergence.layer("conv1", epochs: [(0, before), (1, after)], thresholds: ConvergenceThresholds())
        XCTAssertNil(layer.convergedAt)
        // A layer with every map silent has nothing to measure: not settled.
        let allSilent = ConvergenceStep(from: 0, to: 1, topOverlap: [1, 1], correlation: [1, 1], silentMaps: [0, 1])
        XCTAssertEqual(allSilent.medianTopOverlap, 0)
        // Round trip through JSON, and a step written before silent_maps existed.
        XCTAssertEqual(try JSONDecoder().decode(ConvergenceStep.self, from: JSONEncoder().encode(step)), step)
        let old = #"{"from": 0, "to": 1, "correlation": [0.5], "top_overlap": [0.25], "median_correlation": 0.5, "median_top_overlap": 0.25}"#
        let decoded = try JSONDecoder().decode(ConvergenceStep.self, from: Data(old.utf8))
        XCTAssertEqual(decoded.silentMaps, [])
        XCTAssertEqual(decoded.medianTopOverlap, 0.25)
    }

    func testDeathHistoryRecordsDeathAndRecovery() {
        func epoch(_ e: Int, dead: [Int]) -> EpochFindings {
            EpochFindings(epoch: e, step: 0, testAccuracy: nil, layers: [LayerFindings(name: "conv1", deadFilters: dead, dormantFilters: [],
                aliasedFilters: [], collapsedFilters: [], dominantFilters: [], medianWeightChange: nil, filters: [])])
        }
        let h = DeathRecord.history(layer: "conv1", epochs: [epoch(0, dead: []), epoch(1, dead: [4]), epoch(2, dead: [4, 9]), epoch(5, dead: [9])])
        XCTAssertEqual(h, [DeathRecord(filter: 4, diedAt: 1, recoveredAt: 5), DeathRecord(filter: 9, diedAt: 2, recoveredAt: nil)])
    }
}

import XCTest
import Datasets
import Runs
import Foundation
import Tensors
import Layers
@testable import Training

/// `metrics.jsonl`'s `layers`: each parameter layer's gradient norm, weight norm and update ratio,
/// checked against a hand computation on a network small enough to differentiate on paper:
/// conv "c" (2 filters of 2x2 over a 1x2x2 image: two dot products) -> flatten -> linear "fc" (3).
final class LayerLearningTests: XCTestCase {
    static let spec = ModelSpec(input: [1, 2, 2], classes: 3, normalization: nil, layers: [
        .conv("c", 2, kernel: 2), .flatten, .linear("fc", 3),
    ])
    static let images: [[Float]] = [[0.5, -1, 0.25, 2], [1, 0, -0.5, 0.75], [-1, 1.5, 0.5, 0], [0.25, 0.25, -2, 1]]
    static let labels = [0, 1, 2, 1]
    static let data = Dataset(name: "hand", images: Tensor(shape: [4, 1, 2, 2], data: images.flatMap { $0 }),
                              labels: labels, classNames: ["a", "b", "c"])

    /// The layer's parameters, weight then bias, as one vector.
    static func parameters(_ network: Network, _ layer: String) -> [Double] {
        let p = network.parameterLayers.first { $0.name == layer }!
        return (p.weight.value.data + p.bias.value.data).map(Double.init)
    }

    static func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// d(mean cross-entropy over all four images)/d(parameters), by the chain rule written out:
    /// h = Wc x + bc, z = Wf h + bf, dz = (softmax(z) - onehot) / N.
    static func handGradient(_ network: Network) -> (c: [Double], fc: [Double]) {
        let c = parameters(network, "c"), fc = parameters(network, "fc")
        let wc = Array(c[0..<8]), bc = Array(c[8..<10]), wf = Array(fc[0..<6]), bf = Array(fc[6..<9])
        var gc = [Double](repeating: 0, count: 10), gf = [Double](repeating: 0, count: 9)
        let n = Double(images.count)
        for (x, label) in zip(images.map { $0.map(Double.init) }, labels) {
            let h = (0..<2).map { j in (0..<4).reduce(bc[j]) { $0 + wc[j * 4 + $1] * x[$1] } }
            let z = (0..<3).map { k in (0..<2).reduce(bf[k]) { $0 + wf[k * 2 + $1] * h[$1] } }
            let m = z.max()!
            let e = z.map { exp($0 - m) }, s = e.reduce(0, +)
            let dz = (0..<3).map { k in (e[k] / s - (k == label ? 1 : 0)) / n }
            for k in 0..<3 {
                for j in 0..<2 { gf[k * 2 + j] += dz[k] * h[j] }
                gf[6 + k] += dz[k]
            }
            for j in 0..<2 {
                let dh = (0..<3).reduce(0.0) { $0 + wf[$1 * 2 + j] * dz[$1] }
                for i in 0..<4 { gc[j * 4 + i] += dh * x[i] }
                gc[8 + j] += dh
            }
        }
        return (gc, gf)
    }

    func trainer(batchSize: Int, maxFilterRMS: Float? = nil) throws -> Trainer {
        let t = Trainer(network: try Network(spec: Self.spec), train: Self.data, test: Self.data,
                        optimizer: SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, maxFilterRMS: maxFilterRMS),
                        batchSize: batchSize, seed: 3)
        t.initializeWeights()
        return t
    }

    /// One step per epoch: each epoch's numbers are that step's, against the hand gradient and the
    /// change measured on the weights themselves. The second epoch's step carries momentum.
    func testOneStepEpochsMatchTheHandComputation() throws {
        let t = try trainer(batchSize: 4)
        for epoch in 1...3 {
            let before = (c: Self.parameters(t.network, "c"), fc: Self.parameters(t.network, "fc"))
            let gradient = Self.handGradient(t.network)
            let m = try XCTUnwrap(try t.trainEpoch())
            let layers = try XCTUnwrap(m.layers, "epoch \(epoch) has no layers")
            XCTAssertEqual(Set(layers.keys), ["c", "fc"])
            for (name, old, g) in [("c", before.c, gradient.c), ("fc", before.fc, gradient.fc)] {
                let new = Self.parameters(t.network, name)
                let l = try XCTUnwrap(layers[name])
                let change = Self.norm(zip(new, old).map { $0 - $1 })
                XCTAssertEqual(l.gradNorm, Self.norm(g), accuracy: 1e-5 * Self.norm(g), "\(name) epoch \(epoch)")
                XCTAssertEqual(l.weightNorm, Self.norm(old), accuracy: 1e-5 * Self.norm(old), "\(name) epoch \(epoch)")
                XCTAssertEqual(l.updateRatio, change / Self.norm(old), accuracy: 1e-4 * change / Self.norm(old), "\(name) epoch \(epoch)")
            }
        }
    }

    /// With the filter renormalization on, a rescaled filter's step is the rescaled weight minus the
    /// old one, not -lr * v: the ratio follows the weights.
    func testUpdateRatioIncludesTheFilterRenormalization() throws {
        let t = try trainer(batchSize: 4, maxFilterRMS: 0.05)
        for epoch in 1...2 {
            let old = Self.parameters(t.network, "c")
            let m = try XCTUnwrap(try t.trainEpoch())
            let new = Self.parameters(t.network, "c")
            let expected = Self.norm(zip(new, old).map { $0 - $1 }) / Self.norm(old)
            XCTAssertEqual(try XCTUnwrap(m.layers?["c"]).updateRatio, expected, accuracy: 1e-4 * expected, "epoch \(epoch)")
        }
    }

    /// Two steps per epoch: the epoch's numbers are the means of its steps' (weights seen after each
    /// batch through the progress callback).
    func testEpochValuesAreMeansOverSteps() throws {
        let t = try trainer(batchSize: 2)
        var snapshots = [Self.parameters(t.network, "fc")]
        let m = try XCTUnwrap(try t.trainEpoch { _ in snapshots.append(Self.parameters(t.network, "fc")) })
        XCTAssertEqual(snapshots.count, 3)
        let weights = snapshots.dropLast().map(Self.norm)
        let ratios = (0..<2).map { Self.norm(zip(snapshots[$0 + 1], snapshots[$0]).map { $0 - $1 }) / weights[$0] }
        let fc = try XCTUnwrap(m.layers?["fc"])
        XCTAssertEqual(fc.weightNorm, (weights[0] + weights[1]) / 2, accuracy: 1e-5 * fc.weightNorm)
        XCTAssertEqual(fc.updateRatio, (ratios[0] + ratios[1]) / 2, accuracy: 1e-4 * fc.updateRatio)
    }

    /// The metrics line carries layers.<name>.{grad_norm, weight_norm, update_ratio}.
    func testMetricsLineEncodesLayers() throws {
        let t = try trainer(batchSize: 4)
        let m = try XCTUnwrap(try t.trainEpoch())
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(m)) as! [String: Any]
        let layers = try XCTUnwrap(json["layers"] as? [String: [String: Double]])
        for name in ["c", "fc"] {
            XCTAssertEqual(Set(try XCTUnwrap(layers[name]).keys), ["grad_norm", "weight_norm", "update_ratio"])
        }
        XCTAssertNil(t.initialMetrics().layers, "epoch 0 has taken no step")
    }

    /// The confusion counts every test image once, and its diagonal is the accuracy.
    func testConfusionSumsToTheTestCountAndItsDiagonalIsTheAccuracy() throws {
        let data = try Fixtures.fashionMNIST()
        let spec = Fixtures.smallSpec
        let norm = spec.normalization!
        let t = Trainer(network: try Network(spec: spec), train: data.train.prefix(1000), test: data.test.prefix(700),
                        normalization: norm, optimizer: SGD(learningRate: 0.01, momentum: 0.9), batchSize: 64, seed: 2)
        t.initializeWeights()
        let m = try XCTUnwrap(try t.trainEpoch())
        let confusion = try XCTUnwrap(m.confusion)
        XCTAssertEqual(confusion.count, 10)
        XCTAssertTrue(confusion.allSatisfy { $0.count == 10 })
        XCTAssertEqual(confusion.joined().reduce(0, +), 700)
        let diagonal = (0..<10).reduce(0) { $0 + confusion[$1][$1] }
        XCTAssertEqual(Double(diagonal) / 700, m.testAccuracy)
        // Rows are true classes: each row sums to that class's count among the 700 test images.
        for c in 0..<10 { XCTAssertEqual(confusion[c].reduce(0, +), data.test.prefix(700).labels.filter { $0 == c }.count) }
        XCTAssertGreaterThan(Set(confusion.joined().filter { $0 > 0 }).count, 1, "a trained net predicts more than one class")
    }
}

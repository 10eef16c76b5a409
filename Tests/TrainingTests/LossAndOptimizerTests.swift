import XCTest
import Datasets
import Runs
import Tensors
import Layers
@testable import Training

final class LossAndOptimizerTests: XCTestCase {
    func testCrossEntropyMatchesHandComputation() {
        // logits row [0, ln 2, ln 3] -> softmax [1/6, 2/6, 3/6]; label 2 -> loss = -ln(1/2).
        let logits = Tensor(shape: [1, 3], data: [0, Float(log(2.0)), Float(log(3.0))])
        let r = SoftmaxCrossEntropy.evaluate(logits: logits, labels: [2])
        XCTAssertEqual(r.loss, log(2.0), accuracy: 1e-6)
        XCTAssertEqual(r.gradient.data[0], 1.0 / 6, accuracy: 1e-6)
        XCTAssertEqual(r.gradient.data[1], 2.0 / 6, accuracy: 1e-6)
        XCTAssertEqual(r.gradient.data[2], 3.0 / 6 - 1, accuracy: 1e-6)
        XCTAssertEqual(r.correct, 1)
    }

    func testCrossEntropyGradientByCentralDifferences() {
        var rng = Xoshiro256(seed: 3)
        let logits = Tensor(shape: [4, 5], data: (0..<20).map { _ in rng.nextGaussian() * 3 })
        let labels = [0, 4, 2, 2]
        let analytic = SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels).gradient
        let eps: Float = 1e-2
        for i in 0..<logits.count {
            var plus = logits, minus = logits
            plus.data[i] += eps; minus.data[i] -= eps
            let numeric = (SoftmaxCrossEntropy.evaluate(logits: plus, labels: labels).loss
                           - SoftmaxCrossEntropy.evaluate(logits: minus, labels: labels).loss) / Double(2 * eps)
            XCTAssertEqual(Double(analytic.data[i]), numeric, accuracy: 1e-3, "logit \(i)")
        }
    }

    func testCrossEntropyIsStableForHugeLogits() {
        let r = SoftmaxCrossEntropy.evaluate(logits: Tensor(shape: [1, 2], data: [1000, -1000]), labels: [1])
        XCTAssertEqual(r.loss, 2000, accuracy: 1e-3)
        XCTAssertTrue(r.gradient.data.allSatisfy { $0.isFinite })
    }

    func testSGDMomentumAndWeightDecayFollowPyTorch() throws {
        // One linear layer, hand-set gradient; two steps of v = mu v + (g + wd w); w -= lr v.
        let net = try Network(spec: ModelSpec(input: [1, 1, 2], classes: 2, normalization: nil,
                                              layers: [.flatten, .linear("fc", 2)]))
        let w = net.parameterLayers[0].weight
        w.value = Tensor(shape: [2, 2], data: [1, 2, 3, 4])
        let sgd = SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.5)
        var expectW: [Float] = [1, 2, 3, 4], v: [Float] = [0, 0, 0, 0]
        for _ in 0..<2 {
            w.gradient = Tensor(shape: [2, 2], data: [1, -1, 0.5, 0])
            for i in 0..<4 {
                v[i] = 0.9 * v[i] + (w.gradient.data[i] + 0.5 * expectW[i])
                expectW[i] -= 0.1 * v[i]
            }
            sgd.step(net)
        }
        for i in 0..<4 { XCTAssertEqual(w.value.data[i], expectW[i], accuracy: 1e-6) }
    }

    func testFilterRenormalizationCapsRMS() throws {
        let net = try Network(spec: Fixtures.smallSpec)
        let conv = net.layers[0] as! Conv2D
        conv.weight.value = Tensor(shape: conv.weight.value.shape, data: (0..<conv.weight.value.count).map { i in i < 9 ? 1 : 0.01 })
        SGD(learningRate: 0, momentum: 0, maxFilterRMS: 0.1).step(net)
        let first = conv.weight.value.data[0..<9]
        let rms = (first.map { $0 * $0 }.reduce(0, +) / 9).squareRoot()
        XCTAssertEqual(rms, 0.1, accuracy: 1e-6, "filter 0 had RMS 1 and is scaled to the radius")
        XCTAssertEqual(conv.weight.value.data[9], 0.01, "filters under the radius are untouched")
    }
}

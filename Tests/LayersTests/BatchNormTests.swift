import XCTest
import Tensors
import Layers

/// BatchNorm2D against PyTorch's BatchNorm2d semantics, central differences and its adjoint.
final class BatchNormTests: XCTestCase {
    private func layer(_ shape: [Int], _ rng: inout Xoshiro256) -> BatchNorm2D {
        let bn = BatchNorm2D(name: "bn", shape: shape, eps: 1e-5, momentum: 0.1)
        bn.weight.value = Tensor(shape: [shape[0]], data: (0..<shape[0]).map { _ in 0.5 + rng.nextUnitFloat() })
        bn.bias.value = randomTensor([shape[0]], &rng)
        bn.runningMean.value = randomTensor([shape[0]], &rng)
        bn.runningVar.value = Tensor(shape: [shape[0]], data: (0..<shape[0]).map { _ in 0.2 + rng.nextUnitFloat() })
        return bn
    }

    /// One channel holding 1, 2, 3, 4 (two images of 1x2): mean 2.5, biased variance 1.25, unbiased
    /// 5/3. Output (x - 2.5) / sqrt(1.25 + 1e-5); running mean 0.1 * 2.5, running var 0.9 + 0.1 * 5/3.
    func testHandComputedTrainingStep() {
        let bn = BatchNorm2D(name: "bn", shape: [1, 1, 2], eps: 1e-5, momentum: 0.1)
        let y = bn.forward(Tensor(shape: [2, 1, 1, 2], data: [1, 2, 3, 4]), mode: .training(seed: 0))
        let s = Float(1.25 + 1e-5).squareRoot()
        for (got, want) in zip(y.data, [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]) { XCTAssertEqual(got, want, accuracy: 1e-6) }
        XCTAssertEqual(bn.runningMean.value.data[0], 0.25, accuracy: 1e-7)
        XCTAssertEqual(bn.runningVar.value.data[0], 0.9 + 0.1 * 5 / 3, accuracy: 1e-6)
        // Inference uses the running statistics.
        let z = bn.forward(Tensor(shape: [1, 1, 1, 2], data: [1, 2]), mode: .inference)
        let rs = (bn.runningVar.value.data[0] + 1e-5).squareRoot()
        XCTAssertEqual(z.data[0], (1 - 0.25) / rs, accuracy: 1e-6)
        XCTAssertEqual(z.data[1], (2 - 0.25) / rs, accuracy: 1e-6)
    }

    func testGradientsInTrainingMode() {
        var rng = Xoshiro256(seed: 410)
        let bn = layer([3, 4, 5], &rng)
        checkLayerGradients(bn, input: randomTensor([2, 3, 4, 5], &rng), mode: .training(seed: 1), seed: 411, label: "batchnorm training")
    }

    func testGradientsInInferenceMode() {
        var rng = Xoshiro256(seed: 412)
        let bn = layer([3, 4, 5], &rng)
        checkLayerGradients(bn, input: randomTensor([2, 3, 4, 5], &rng), mode: .inference, seed: 413, label: "batchnorm inference")
    }

    /// The deconvnet backward is the transpose of the inference map's linear part:
    /// <scale * x, y> = <x, backward(y)>, under every rule, with or without a forward first.
    func testAdjointOfTheInferenceMap() {
        var rng = Xoshiro256(seed: 414)
        let bn = layer([3, 4, 5], &rng)
        let x = randomTensor([2, 3, 4, 5], &rng), y = randomTensor([2, 3, 4, 5], &rng)
        let shift = bn.affine.shift
        var linear = bn.forward(x, mode: .inference)
        for i in 0..<linear.count { linear.data[i] -= shift[(i / 20) % 3] }
        for rule in BackwardRule.allCases {
            let back = bn.backward(y, rule: rule, accumulateParameterGradients: false)
            XCTAssertEqual(inner(linear, y), inner(x, back), accuracy: 1e-4 * max(1, abs(inner(x, back))), "\(rule)")
        }
        // A window of the layer (ReceptiveCrop) never runs a forward; its backward is the same map.
        let window = bn.cropped(toOutput: (4, 5))!
        XCTAssertEqual(window.backward(y, rule: .deconvnet, accumulateParameterGradients: false).data,
                       bn.backward(y, rule: .deconvnet, accumulateParameterGradients: false).data)
    }
}

import XCTest
import Tensors
import Layers

/// Central-difference checks of every layer's backward under `.gradient`, for L = sum(r * f(x)).
/// All layers here are piecewise linear, so once kinks are excluded (see `centralDifferences`) the
/// quotient is exact up to float32 rounding and eps = 1e-2 with rtol 1e-2 is a tight test.
final class GradientCheckTests: XCTestCase {
    func testConv2DStride1Padding1() {
        var rng = Xoshiro256(seed: 300)
        let conv = makeConv(channels: 2, height: 5, width: 6, filters: 3, kernel: 3, stride: 1, padding: 1, rng: &rng)
        checkLayerGradients(conv, input: randomTensor([2, 2, 5, 6], &rng), seed: 301, label: "conv 3/1/1")
    }

    func testConv2DStride2Padding2() {
        var rng = Xoshiro256(seed: 302)
        let conv = makeConv(channels: 2, height: 7, width: 9, filters: 3, kernel: 5, stride: 2, padding: 2, rng: &rng)
        checkLayerGradients(conv, input: randomTensor([2, 2, 7, 9], &rng), seed: 303, label: "conv 5/2/2")
    }

    func testConv2DStride4() {
        var rng = Xoshiro256(seed: 304)
        // 11/4/5 as in AlexNet's first layer, and 3/4/1 whose windows leave gaps (pixels no output sees).
        let big = makeConv(channels: 1, height: 13, width: 14, filters: 2, kernel: 11, stride: 4, padding: 5, rng: &rng)
        checkLayerGradients(big, input: randomTensor([2, 1, 13, 14], &rng), seed: 305, label: "conv 11/4/5")
        let gapped = makeConv(channels: 2, height: 9, width: 10, filters: 2, kernel: 3, stride: 4, padding: 1, rng: &rng)
        checkLayerGradients(gapped, input: randomTensor([2, 2, 9, 10], &rng), seed: 306, label: "conv 3/4/1")
    }

    /// The Winograd path: F(4, 5) and F(6, 3), 8 input channels, sizes that are not tile multiples.
    /// Its float32 rounding (about 1e-5 of the outputs, from the transforms) is not smooth in the
    /// inputs, so a 1e-2 step turns it into 5% noise in the quotient. A convolution is affine in
    /// its input and in its weights, so a step of 1 is as exact and divides that noise by 100.
    func testConv2DWinograd() {
        var rng = Xoshiro256(seed: 320)
        let five = makeConv(channels: 8, height: 6, width: 7, filters: 3, kernel: 5, stride: 1, padding: 2, rng: &rng)
        XCTAssertTrue(five.usesWinograd)
        checkLayerGradients(five, input: randomTensor([2, 8, 6, 7], &rng), seed: 321, eps: 1, label: "winograd conv 5/1/2")
        let three = makeConv(channels: 8, height: 7, width: 5, filters: 2, kernel: 3, stride: 1, padding: 1, rng: &rng)
        XCTAssertTrue(three.usesWinograd)
        checkLayerGradients(three, input: randomTensor([2, 8, 7, 5], &rng), seed: 322, eps: 1, label: "winograd conv 3/1/1")
    }

    /// Distinct inputs: a shuffled ladder 0.1 apart, perturbed by 0.01 < half the gap, so no switch
    /// moves (the checker would report a one-sided or skipped coordinate, and allows none).
    func testMaxPoolOverlapping() {
        var rng = Xoshiro256(seed: 307)
        for (k, s, p) in [(3, 2, 1), (3, 1, 1), (2, 2, 0)] {
            let shape = [2, 2, 7, 8]
            var ladder = (0..<shape.reduce(1, *)).map { Float($0) * 0.1 - 5 }
            ladder.shuffle(using: &rng)
            let layer = MaxPool2D(inputShape: [2, 7, 8], window: WindowGeometry(kernel: k, stride: s, padding: p))!
            checkLayerGradients(layer, input: Tensor(shape: shape, data: ladder), seed: 308, label: "maxpool \(k)/\(s)/\(p)")
        }
    }

    /// Inputs at least 0.1 from the kink at 0, perturbed by 0.01.
    func testReLU() {
        var rng = Xoshiro256(seed: 309)
        let x = Tensor(shape: [3, 2, 4, 5], data: (0..<120).map { _ in
            let g = rng.nextGaussian()
            return g >= 0 ? g + 0.1 : g - 0.1
        })
        checkLayerGradients(ReLU(shape: [2, 4, 5]), input: x, seed: 310, label: "relu")
    }

    func testLinear() {
        var rng = Xoshiro256(seed: 311)
        let layer = Linear(name: "fc", inFeatures: 7, outFeatures: 5)
        layer.weight.value = randomTensor([5, 7], &rng)
        layer.bias.value = randomTensor([5], &rng)
        checkLayerGradients(layer, input: randomTensor([3, 7], &rng), seed: 312, label: "linear")
    }

    func testFlatten() {
        var rng = Xoshiro256(seed: 313)
        let layer = Flatten(shape: [2, 3, 4])
        let x = randomTensor([2, 2, 3, 4], &rng)
        XCTAssertEqual(layer.forward(x, mode: .inference).shape, [2, 24])
        XCTAssertEqual(layer.forward(x, mode: .inference).data, x.data)   // C order, like torch.flatten
        checkLayerGradients(layer, input: x, seed: 314, label: "flatten")
    }

    /// Training mode with a fixed seed: both sides of every difference use the same mask.
    func testDropoutTraining() {
        var rng = Xoshiro256(seed: 315)
        let layer = Dropout(shape: [4, 5], rate: 0.4)
        checkLayerGradients(layer, input: randomTensor([3, 4, 5], &rng), mode: .training(seed: 316), seed: 317, label: "dropout")
    }

    /// conv-relu-maxpool-conv-relu-maxpool-flatten-linear-relu-dropout-linear, gradient with respect to
    /// the input and every parameter. A coordinate whose perturbation flips a ReLU or moves a switch
    /// anywhere in the network is compared one-sided or, if both sides do, skipped; only a few may be.
    func testWholeNetwork() {
        // (2, 11, 10) -> c1 (3, 11, 10) -> pool (3, 6, 5) -> c2 (4, 3, 3) -> pool (4, 2, 2) -> 16 -> 6 -> 3
        let net = makeNetwork(input: [2, 11, 10], classes: 3, [
            .conv("c1", 3, kernel: 3, stride: 1, padding: 1), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
            .conv("c2", 4, kernel: 3, stride: 2, padding: 1), .relu, .maxpool(kernel: 2, stride: 1),
            .flatten, .linear("fc1", 6), .relu, .dropout(0.3), .linear("fc2", 3),
        ], seed: 318)
        var rng = Xoshiro256(seed: 319)
        let x = randomTensor([2, 2, 11, 10], &rng)
        let mode = ForwardMode.training(seed: 320)
        let y = net.forward(x, mode: mode)
        XCTAssertEqual(y.shape, [2, 3])
        let r = randomTensor(y.shape, &rng)
        net.zeroGradients()
        let dx = net.backward(r, rule: .gradient, accumulateParameterGradients: true)

        let input = Parameter(name: "input", value: x)
        let loss = { () -> (value: Double, pattern: [Int32]) in
            var h = input.value, signature: [Int32] = []
            for layer in net.layers {
                h = layer.forward(h, mode: mode)
                signature += pattern(of: layer, output: h)
            }
            return (inner(h, r), signature)
        }
        // A parameter step moves a whole channel of activations, so it crosses kinks more often than an
        // input step: use a smaller one (rounding noise ~1e-6 / 2e-3 stays well inside the tolerance).
        var total = GradientCheck()
        var checks = [centralDifferences(target: input, analytic: dx.data, eps: 1e-2, label: "d/dx", loss: loss)]
        for (name, weight, bias) in net.parameterLayers {
            checks.append(centralDifferences(target: weight, analytic: weight.gradient.data, eps: 1e-3, label: "d/d\(name).weight", loss: loss))
            checks.append(centralDifferences(target: bias, analytic: bias.gradient.data, eps: 1e-3, label: "d/d\(name).bias", loss: loss))
        }
        for c in checks {
            XCTAssertGreaterThan(c.checked, 0, "a whole parameter went unchecked")
            total.checked += c.checked; total.oneSided += c.oneSided; total.skipped += c.skipped; total.failures += c.failures
        }
        XCTAssertEqual(net.parameterLayers.map(\.name), ["c1", "c2", "fc1", "fc2"])
        // 2*2*11*10 inputs; parameters 3*2*9+3, 4*3*9+4, 6*16+6, 3*6+3.
        XCTAssertEqual(total.checked + total.skipped, 440 + 57 + 112 + 102 + 21)
        // With these seeds: 16 input coordinates are compared one-sided and none is skipped.
        assertGradient(total, maxSkipped: (total.checked + total.skipped) / 50)
    }
}

final class DropoutTests: XCTestCase {
    /// Kept values are scaled by exactly 1 / (1 - rate), the rest are zero; the same seed gives the
    /// same mask, another seed another; inference is the identity and so is its backward.
    func testMaskScalingAndDeterminism() {
        let rate: Float = 0.25
        let layer = Dropout(shape: [10_000], rate: rate)
        let x = Tensor(shape: [1, 10_000], data: (0..<10_000).map { Float($0 % 17) + 1 })
        let y = layer.forward(x, mode: .training(seed: 5))
        var kept = 0
        for i in 0..<x.count {
            if y.data[i] == 0 { continue }
            XCTAssertEqual(y.data[i], x.data[i] * (1 / (1 - rate)))
            kept += 1
        }
        XCTAssertEqual(Double(kept) / 10_000, 0.75, accuracy: 0.02)
        let dy = Tensor(shape: [1, 10_000], repeating: 1)
        let dx = layer.backward(dy, rule: .deconvnet, accumulateParameterGradients: false)
        for i in 0..<x.count { XCTAssertEqual(dx.data[i], y.data[i] == 0 ? 0 : 1 / (1 - rate)) }
        XCTAssertEqual(layer.forward(x, mode: .training(seed: 5)), y)
        XCTAssertNotEqual(layer.forward(x, mode: .training(seed: 6)), y)
        XCTAssertEqual(layer.forward(x, mode: .inference), x)
        XCTAssertEqual(layer.backward(dy, rule: .gradient, accumulateParameterGradients: false), dy)
        XCTAssertEqual(Dropout(shape: [3], rate: 0).forward(Tensor(shape: [1, 3], data: [1, 2, 3]), mode: .training(seed: 1)).data, [1, 2, 3])
    }
}

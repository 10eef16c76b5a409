import XCTest
import Tensors
@testable import Layers

/// A conv directly followed by a ReLU runs as one pass in `Network.forward` (the conv writes its
/// output rectified): the result must be the unfused computation's, bit for bit.
final class FusedReLUTests: XCTestCase {
    /// Both engines: im2col + GEMM (one input channel) and Winograd (32 channels, 5x5, stride 1).
    func testRectifiedConvIsReLUOfConv() {
        var rng = Xoshiro256(seed: 11)
        for (channels, size, kernel) in [(1, 28, 5), (32, 14, 5), (16, 9, 3)] {
            let conv = Conv2D(name: "c", shape: ConvShape(channels: channels, height: size, width: size,
                                                          window: WindowGeometry(kernel: kernel, stride: 1, padding: kernel / 2))!, outChannels: 12)
            conv.weight.value = randomTensor(conv.weight.value.shape, &rng, scale: 0.2)
            conv.bias.value = randomTensor([12], &rng, scale: 0.1)
            let x = randomTensor([3, channels, size, size], &rng)
            let plain = conv.forward(x, mode: .inference)
            XCTAssertGreaterThan(plain.data.filter { $0 < 0 }.count, plain.count / 4, "the check needs negative outputs")
            let fused = conv.forward(x, mode: .inference, rectified: true)
            XCTAssertEqual(fused.data.map(\.bitPattern), plain.data.map { max($0, 0).bitPattern },
                           "\(channels) channels, Winograd: \(conv.usesWinograd)")
        }
    }

    /// An `.evaluation` forward runs a conv (direct or Winograd), its ReLU and the max pooling after them
    /// image by image (`Conv2D.evaluationForward(_:pooledBy:)`): every layer's output, as observed, and the
    /// logits are the layer-by-layer `.inference` forward's, bit for bit, for gray and RGB inputs,
    /// and for batches that do not divide among the cores' groups.
    func testFusedEvaluationForwardMatchesLayerByLayer() throws {
        for (input, batch) in [([1, 28, 28], 5), ([3, 32, 32], 3), ([1, 28, 28], 1)] {
            let net = try Network(spec: try ModelPreset.zfFMNIST.spec(input: input, classes: 10, normalization: nil))
            var rng = Xoshiro256(seed: 21)
            net.initialize(rng: &rng)
            let x = randomTensor([batch] + input, &rng)
            XCTAssertNotNil((net.layers[0] as? Conv2D)?.evaluationForward(x, pooledBy: net.layers[2] as! MaxPool2D), "the direct engine's fused path applies")
            let pooled1 = net.forward(x, mode: .inference, through: 2)
            XCTAssertTrue((net.layers[3] as? Conv2D)?.usesWinograd == true)
            XCTAssertNotNil((net.layers[3] as? Conv2D)?.evaluationForward(pooled1, pooledBy: net.layers[5] as! MaxPool2D), "Winograd's fused path applies")
            let seen = Set(net.layers.indices).subtracting(net.layers.indices.filter { net.layers[$0] is Conv2D })
            var fused: [Int: [UInt32]] = [:], plain: [Int: [UInt32]] = [:]
            let a = net.forward(x, mode: .evaluation, observing: seen) { fused[$0] = $1.data.map(\.bitPattern) }
            let b = net.forward(x, mode: .inference) { i, y in if seen.contains(i) { plain[i] = y.data.map(\.bitPattern) } }
            XCTAssertEqual(a.data.map(\.bitPattern), b.data.map(\.bitPattern), "\(input) batch \(batch): logits")
            XCTAssertEqual(fused.keys.sorted(), plain.keys.sorted())
            for (i, bits) in plain { XCTAssertEqual(fused[i], bits, "\(input) batch \(batch): layer \(i)") }
        }
    }

    /// A whole training step (fused forward, backward) gives the gradients of the layer-by-layer one.
    func testFusedTrainingStepMatchesLayerByLayer() throws {
        func gradients(fused: Bool) throws -> [[UInt32]] {
            let net = try Network(spec: ModelPreset.zfFMNIST.spec)
            var rng = Xoshiro256(seed: 5)
            net.initialize(rng: &rng)
            let x = randomTensor([4, 1, 28, 28], &rng)
            let mode = ForwardMode.training(seed: 9)
            let logits = fused ? net.forward(x, mode: mode) : net.forward(x, mode: mode) { _, _ in }
            net.zeroGradients()
            _ = net.backward(logits, rule: .gradient, accumulateParameterGradients: true, inputGradient: false)
            return net.allParameters.map { $0.gradient.data.map(\.bitPattern) }
        }
        let (fused, plain) = (try gradients(fused: true), try gradients(fused: false))
        XCTAssertEqual(fused, plain)
        XCTAssertTrue(fused.contains { $0.contains { $0 != 0 } })
    }

    /// The backward of a ReLU and the pooling after it as one scatter (`Network.backward`, plain
    /// gradient): bit for bit the pooling's backward followed by the ReLU's, on an input with ties,
    /// zeros and negatives, for the presets' 3/2/1 pooling and a 2/2/0 one.
    func testGatedPoolBackwardIsReLUBackwardOfPoolBackward() {
        var rng = Xoshiro256(seed: 12)
        for window in [WindowGeometry(kernel: 3, stride: 2, padding: 1), WindowGeometry(kernel: 2, stride: 2, padding: 0)] {
            let relu = ReLU(shape: [5, 9, 8]), pool = MaxPool2D(inputShape: [5, 9, 8], window: window)!
            var x = randomTensor([3, 5, 9, 8], &rng)
            for i in stride(from: 0, to: x.count, by: 7) { x.data[i] = 0.5 }   // ties
            let y = relu.forward(x, mode: .inference)
            XCTAssertGreaterThan(y.data.filter { $0 == 0 }.count, y.count / 4, "the check needs rectified zeros")
            _ = pool.forward(y, mode: .inference)
            let dy = randomTensor([3] + pool.outputShape, &rng)
            let separate = relu.backward(pool.backward(dy, rule: .gradient, accumulateParameterGradients: false),
                                         rule: .gradient, accumulateParameterGradients: false)
            let gated = pool.backward(dy, gatedBy: relu.output)
            XCTAssertEqual(gated.data.map(\.bitPattern), separate.data.map(\.bitPattern), "\(window)")
            XCTAssertTrue(gated.data.contains { $0 != 0 })
        }
    }

    /// A conv whose output is observed is not fused: the observer sees it before its ReLU.
    func testObservedConvOutputIsNotRectified() throws {
        let net = try Network(spec: ModelPreset.zfFMNIST.spec)
        var rng = Xoshiro256(seed: 3)
        net.initialize(rng: &rng)
        let x = randomTensor([2, 1, 28, 28], &rng)
        var conv1 = Tensor(zeros: [0]), relu1 = Tensor(zeros: [0]), seen: [Int] = []
        _ = net.forward(x, mode: .inference, through: 4, observing: [0, 1, 4]) { index, y in
            seen.append(index)
            if index == 0 { conv1 = y }
            if index == 1 { relu1 = y }
        }
        XCTAssertEqual(seen, [0, 1, 4])
        XCTAssertEqual(conv1, (net.layers[0] as! Conv2D).forward(x, mode: .inference))
        XCTAssertTrue(conv1.data.contains { $0 < 0 })
        XCTAssertEqual(relu1.data, conv1.data.map { max($0, 0) })
    }
}

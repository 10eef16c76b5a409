import XCTest
import Tensors
import Layers
import Datasets
import Training
import Runs
import Datasets
import Runs
@testable import Monitoring

final class ReplayTests: XCTestCase {
    /// One 4x4 image holding 0...15, a single 2x2 all-ones filter, ReLU, 2x2/2 max pooling.
    ///   conv out (3x3): out[i][j] = x[i][j] + x[i][j+1] + x[i+1][j] + x[i+1][j+1] = 16i + 4j + 10
    ///                   = [[10, 14, 18], [26, 30, 34], [42, 46, 50]]
    ///   pool (1x1): the only full window is rows 0-1, cols 0-1: max(10, 14, 26, 30) = 30, switch at (1, 1)
    ///   deconvnet: seed 30 -> unpool to conv position (1, 1) -> ReLU keeps 30 -> transposed all-ones
    ///              filter spreads 30 over input pixels (1..2, 1..2); everything else is exactly 0.
    ///   receptive field of the pooled unit: pool rows 0-1 -> conv rows 0-2, same for columns.
    func testHandComputedProjection() throws {
        let spec = ModelSpec(input: [1, 4, 4], classes: 2, normalization: Normalization(mean: [0], std: [1]), layers: [
            .conv("conv1", 1, kernel: 2, stride: 1, padding: 0), .relu, .maxpool(kernel: 2, stride: 2, padding: 0),
            .flatten, .linear("fc", 2),
        ])
        let net = try Network(spec: spec)
        let conv = net.layers[0] as! Conv2D
        conv.weight.value = Tensor(shape: [1, 1, 2, 2], repeating: 1)
        let image = Tensor(shape: [1, 1, 4, 4], data: (0..<16).map(Float.init))
        let probes = ProbeSet(test: Dataset(name: "arange", images: image, labels: [0], classNames: ["a", "b"]),
                              count: 1, normalization: spec.normalization!)
        let layer = Replay(network: net, probes: probes, k: 1).analyze(epoch: 0, step: 0).layers[0]

        XCTAssertEqual(layer.top[0], [Activation(image: 0, y: 0, x: 0, value: 30)])
        XCTAssertEqual(layer.boxes[0][0], PixelBox(top: 0, left: 0, bottom: 3, right: 3))
        var expected = [Float](repeating: 0, count: 16)
        for (y, x) in [(1, 1), (1, 2), (2, 1), (2, 2)] { expected[y * 4 + x] = 30 }
        XCTAssertEqual(layer.projections.shape, [1, 1, 1, 4, 4])
        XCTAssertEqual(layer.projections.data, expected)
        XCTAssertEqual(layer.samplingStride, 2)
    }

    /// A trained-looking random net: every projection is exactly zero outside its receptive field.
    func testProjectionIsZeroOutsideItsReceptiveField() throws {
        let spec = ModelSpec(input: [2, 15, 13], classes: 3, normalization: Normalization(mean: [0, 0], std: [1, 1]), layers: [
            .conv("a", 3, kernel: 3, stride: 1, padding: 1), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
            .conv("b", 4, kernel: 3, stride: 2, padding: 1), .relu, .maxpool(kernel: 2, stride: 1, padding: 0),
            .flatten, .linear("fc", 3),
        ])
        let net = try Network(spec: spec)
        var rng = Xoshiro256(seed: 11)
        net.initialize(rng: &rng)
        let n = 6
        let images = Tensor(shape: [n, 2, 15, 13], data: (0..<(n * 2 * 15 * 13)).map { _ in rng.nextUnitFloat() })
        let probes = ProbeSet(test: Dataset(name: "r", images: images, labels: [Int](repeating: 0, count: n), classNames: ["0", "1", "2"]),
                              count: n, normalization: spec.normalization!)
        let analysis = Replay(network: net, probes: probes, k: 3).analyze(epoch: 0, step: 0)
        var nonzeroInside = 0
        for layer in analysis.layers {
            for c in 0..<layer.channels {
                for (j, box) in layer.boxes[c].enumerated() {
                    for ch in 0..<2 { for y in 0..<15 { for x in 0..<13 {
                        let v = layer.projections.data[(((c * 3 + j) * 2 + ch) * 15 + y) * 13 + x]
                        let inside = y >= box.top && y < box.bottom && x >= box.left && x < box.right
                        if !inside { XCTAssertEqual(v, 0, "\(layer.name) filter \(c) slot \(j) leaks to (\(y), \(x))") }
                        if inside && v != 0 { nonzeroInside += 1 }
                    } } }
                }
            }
        }
        XCTAssertGreaterThan(nonzeroInside, 0, "projections must not be trivially zero")
    }

    func testTopKOrdersByValueThenProbeIndex() {
        var top = TopK(k: 3)
        for (i, v) in [(5, 1.0), (2, 3.0), (9, 3.0), (1, 0.5), (0, 3.0), (7, 2.0)] as [(Int, Float)] {
            top.offer(Activation(image: i, y: 0, x: 0, value: v))
        }
        XCTAssertEqual(top.items.map(\.image), [0, 2, 9], "ties rank the lower probe index first, whatever the arrival order")
        var short = TopK(k: 5)
        short.offer(Activation(image: 3, y: 1, x: 2, value: -1))
        XCTAssertEqual(short.items.count, 1)
    }

    /// The top-1 activation of every feature is its maximum over the whole probe set (Fig. 4 cells).
    func testStrongestActivationIsTheProbeSetMaximum() throws {
        let spec = ModelPreset.zfFMNIST.spec
        let net = try Network(spec: spec)
        var rng = Xoshiro256(seed: 5)
        net.initialize(rng: &rng)
        let n = 20
        let images = Tensor(shape: [n, 1, 28, 28], data: (0..<(n * 784)).map { _ in rng.nextUnitFloat() })
        let probes = ProbeSet(test: Dataset(name: "r", images: images, labels: [Int](repeating: 0, count: n), classNames: []),
                              count: n, normalization: spec.normalization!)
        var replay = Replay(network: net, probes: probes, k: 9)
        replay.batchSize = 7   // batches must not change the answer
        let analysis = replay.analyze(epoch: 0, step: 0)
        for layer in analysis.layers {
            for c in 0..<layer.channels {
                let column = (0..<n).map { layer.maxPerProbe.data[c * n + $0] }
                XCTAssertEqual(layer.top[c][0].value, column.max()!)
                XCTAssertEqual(layer.top[c].map(\.value), column.sorted(by: >).prefix(9).map { $0 })
            }
        }
        XCTAssertEqual(analysis.layers.map(\.name), ["conv1", "conv2"])
        XCTAssertEqual(analysis.layers[1].projections.shape, [64, 9, 1, 28, 28])
    }

    /// Projections built from the top-k pass's recorded switches equal a fresh forward of that one
    /// probe followed by the same deconvnet backward (the plain way, one image at a time).
    func testRecordedSwitchesGiveTheSameProjectionsAsAFreshForward() throws {
        let spec = ModelPreset.zfFMNIST.spec
        let net = try Network(spec: spec)
        var rng = Xoshiro256(seed: 8)
        net.initialize(rng: &rng)
        // conv2's map 7 is dead: its top-k are zeros, which the projection skips (a zero seed projects to zero).
        let conv2 = net.layers[net.convBlocks[1].convIndex] as! Conv2D
        conv2.bias.value.data[7] = -1e4
        let n = 12
        let images = Tensor(shape: [n, 1, 28, 28], data: (0..<(n * 784)).map { _ in rng.nextUnitFloat() })
        let probes = ProbeSet(test: Dataset(name: "r", images: images, labels: [Int](repeating: 0, count: n), classNames: []),
                              count: n, normalization: spec.normalization!)
        var replay = Replay(network: net, probes: probes, k: 3)
        replay.batchSize = 5
        replay.projectionBatchSize = 7   // projection batches that do not divide the 96 or 192 items
        let analysis = replay.analyze(epoch: 0, step: 0)
        XCTAssertEqual(analysis.layers[1].top[7].map(\.value), [0, 0, 0])
        XCTAssertTrue(analysis.layers[1].responses(7).isEmpty)
        XCTAssertEqual(analysis.layers[1].responses(0).count, 3)
        for (b, block) in net.convBlocks.enumerated() {
            let layer = analysis.layers[b]
            for c in [0, 7, layer.channels - 1] {
                for (j, act) in layer.top[c].enumerated() {
                    _ = net.forward(probes.inputs.slice(act.image..<(act.image + 1)), mode: .inference, through: block.outputIndex)
                    var seed = Tensor(zeros: [1] + block.outputShape)
                    seed.data[(c * block.outputShape[1] + act.y) * block.outputShape[2] + act.x] = act.value
                    let plain = net.backward(seed, from: block.outputIndex, rule: .deconvnet, accumulateParameterGradients: false)
                    let stored = Array(layer.projections.data[((c * 3 + j) * 784)..<((c * 3 + j + 1) * 784)])
                    for i in 0..<784 { XCTAssertEqual(stored[i], plain.data[i], accuracy: 1e-4, "\(block.name) map \(c) slot \(j) pixel \(i)") }
                }
            }
        }
    }
}

import XCTest
import Tensors
import Layers

/// GlobalAvgPool2D against PyTorch's AdaptiveAvgPool2d(1): hand-computed means, central
/// differences, its adjoint, its receptive span and window, and the model JSON checks.
final class GlobalAvgPoolTests: XCTestCase {
    /// Two channels of 2x3: 1...6 has mean 21 / 6 = 3.5; -1, 0, 1, 2, 3, 10 has 15 / 6 = 2.5.
    func testHandComputedMeans() {
        let layer = GlobalAvgPool2D(shape: [2, 2, 3])
        XCTAssertEqual(layer.outputShape, [2, 1, 1])
        let y = layer.forward(Tensor(shape: [1, 2, 2, 3], data: [1, 2, 3, 4, 5, 6, -1, 0, 1, 2, 3, 10]), mode: .inference)
        XCTAssertEqual(y.shape, [1, 2, 1, 1])
        XCTAssertEqual(y.data, [3.5, 2.5])
        // Backward: each plane gets its output's gradient / 6.
        let dx = layer.backward(Tensor(shape: [1, 2, 1, 1], data: [6, -12]), rule: .deconvnet, accumulateParameterGradients: false)
        XCTAssertEqual(dx.data, [Float](repeating: 1, count: 6) + [Float](repeating: -2, count: 6))
    }

    func testGradients() {
        var rng = Xoshiro256(seed: 520)
        checkLayerGradients(GlobalAvgPool2D(shape: [3, 5, 4]), input: randomTensor([2, 3, 5, 4], &rng), seed: 521, label: "globalavgpool")
    }

    func testAdjoint() {
        var rng = Xoshiro256(seed: 522)
        let layer = GlobalAvgPool2D(shape: [3, 7, 5])
        let x = randomTensor([4, 3, 7, 5], &rng), y = randomTensor([4, 3, 1, 1], &rng)
        let fx = layer.forward(x, mode: .inference)
        for rule in BackwardRule.allCases {
            assertRelClose(inner(fx, y), inner(x, layer.backward(y, rule: rule, accumulateParameterGradients: false)), 1e-5, "\(rule)")
        }
    }

    /// Every output position sees the whole plane: a conv above it has the image as receptive field,
    /// and its `ReceptiveCrop` window is the whole plane.
    func testReceptiveSpanIsTheWholePlane() throws {
        let net = makeNetwork(input: [1, 9, 7], classes: 3, [
            .conv("conv1", 4, kernel: 3), .relu, LayerSpec(type: "globalavgpool"), .conv("conv2", 5, kernel: 1), .relu,
            .flatten, .linear("fc", 3)], seed: 523)
        XCTAssertEqual(net.convBlocks.map(\.outputIndex), [1, 4], "globalavgpool ends conv1's block and joins none")
        XCTAssertEqual(net.receptiveBox(layer: 4, y: 0, x: 0), PixelBox(top: 0, left: 0, bottom: 9, right: 7))
        let crop = try XCTUnwrap(net.receptiveCrop(top: 4))
        XCTAssertEqual(crop.extents.map { [$0.height, $0.width] }, [[9, 7], [7, 5], [7, 5], [1, 1], [1, 1], [1, 1]])
        XCTAssertEqual(crop.origins(y: 0, x: 0).map { [$0.row, $0.col] }, [[0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]])
    }

    func testModelJSON() throws {
        let net = try Network(spec: try ModelSpec.decode(json: #"{"input": [2, 9, 9], "classes": 3, "layers": [{"type": "globalavgpool"}, {"type": "flatten"}, {"type": "linear", "name": "fc", "out_features": 3}]}"#))
        XCTAssertEqual(net.layers[0].outputShape, [2, 1, 1])
        XCTAssertEqual(net.layers[0].blockRole, .outside)
        for (layers, parts) in [
            ([#"{"type": "globalavgpool", "kernel": 2}"#], ["layer 0", "unknown key \"kernel\" for a globalavgpool layer (its keys: none)"]),
            ([#"{"type": "flatten"}"#, #"{"type": "globalavgpool"}"#], ["layer 1", "globalavgpool needs a (C, H, W) input"]),
        ] {
            let e = modelRejection(layers)
            for part in parts { XCTAssertTrue(e.contains(part), "\"\(e)\" does not mention \(part)") }
        }
    }
}

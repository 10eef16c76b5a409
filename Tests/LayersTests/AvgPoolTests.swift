import XCTest
import Tensors
import Layers

/// AvgPool2D against PyTorch's AvgPool2d (count_include_pad=True): hand-computed outputs, central
/// differences, its adjoint, its `ReceptiveCrop` window and the model JSON checks.
final class AvgPoolTests: XCTestCase {
    private func pool(_ shape: [Int], kernel: Int, stride: Int, padding: Int) -> AvgPool2D {
        AvgPool2D(inputShape: shape, window: WindowGeometry(kernel: kernel, stride: stride, padding: padding))!
    }

    /// The plane 1...9 (3x3). Kernel 2, stride 1, padding 1: a 4x4 output, every window divided by 4
    /// even where it covers padding (0.25 = 1 / 4 at the corner); kernel 3, stride 2, padding 1: 2x2,
    /// divided by 9 (12 / 9 = (1 + 2 + 4 + 5) / 9). Summed by hand; `nn.AvgPool2d(k, s, p)` on
    /// `torch.arange(1., 10.).view(1, 1, 3, 3)` gives the same.
    func testHandComputedOutputs() {
        let x = Tensor(shape: [1, 1, 3, 3], data: (1...9).map(Float.init))
        let small = pool([1, 3, 3], kernel: 2, stride: 1, padding: 1)
        XCTAssertEqual(small.outputShape, [1, 4, 4])
        let expected: [Float] = [0.25, 0.75, 1.25, 0.75,
                                 1.25, 3, 4, 2.25,
                                 2.75, 6, 7, 3.75,
                                 1.75, 3.75, 4.25, 2.25]
        XCTAssertEqual(small.forward(x, mode: .inference).data, expected)
        let large = pool([1, 3, 3], kernel: 3, stride: 2, padding: 1)
        XCTAssertEqual(large.outputShape, [1, 2, 2])
        for (got, want) in zip(large.forward(x, mode: .inference).data, [12, 16, 24, 28].map { Float($0) / 9 }) {
            XCTAssertEqual(got, want, accuracy: 1e-6)
        }
        // Backward of ones: each pixel gets 1/9 per window covering it (the centre is in all four).
        let dx = large.backward(Tensor(shape: [1, 1, 2, 2], repeating: 1), rule: .deconvnet, accumulateParameterGradients: false)
        for (got, want) in zip(dx.data, [1, 2, 1, 2, 4, 2, 1, 2, 1].map { Float($0) / 9 }) { XCTAssertEqual(got, want, accuracy: 1e-7) }
    }

    func testGradients() {
        var rng = Xoshiro256(seed: 510)
        for (k, s, p) in [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 3, 1)] {
            checkLayerGradients(pool([3, 7, 6], kernel: k, stride: s, padding: p), input: randomTensor([2, 3, 7, 6], &rng),
                                seed: 511, label: "avgpool \(k)/\(s)/\(p)")
        }
    }

    /// <f(x), y> = <x, f^T(y)> under every rule (the layer is linear and its backward its transpose).
    func testAdjoint() {
        var rng = Xoshiro256(seed: 512)
        for (k, s, p) in [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 3, 1), (5, 2, 2)] {
            let layer = pool([2, 9, 8], kernel: k, stride: s, padding: p)
            let x = randomTensor([3, 2, 9, 8], &rng), y = randomTensor([3] + layer.outputShape, &rng)
            let fx = layer.forward(x, mode: .inference)
            for rule in BackwardRule.allCases {
                let back = layer.backward(y, rule: rule, accumulateParameterGradients: false)
                assertRelClose(inner(fx, y), inner(x, back), 1e-5, "avgpool \(k)/\(s)/\(p) \(rule)")
            }
        }
    }

    /// A window of the layer (`ReceptiveCrop`) unpadded: its backward of one output's seed, with
    /// the positions that fall on the full layer's padding dropped, is the full layer's.
    func testReceptiveWindowBackwardIsTheFullLayers() {
        var rng = Xoshiro256(seed: 513)
        let full = pool([2, 7, 7], kernel: 3, stride: 2, padding: 1)
        let window = full.cropped(toOutput: (2, 2)) as! AvgPool2D
        XCTAssertEqual(window.inputShape, [2, 5, 5])
        XCTAssertEqual(window.geometry.padding, 0)
        // Output rows and columns 0...1 of the full layer; their window starts at input (-1, -1).
        var dy = Tensor(zeros: [1] + full.outputShape), seed = Tensor(zeros: [1, 2, 2, 2])
        for ch in 0..<2 { for y in 0..<2 { for x in 0..<2 {
            let v = rng.nextGaussian()
            dy.data[(ch * 4 + y) * 4 + x] = v
            seed.data[(ch * 2 + y) * 2 + x] = v
        } } }
        let whole = full.backward(dy, rule: .deconvnet, accumulateParameterGradients: false)
        let part = window.backward(seed, rule: .deconvnet, accumulateParameterGradients: false)
        for ch in 0..<2 { for y in 0..<7 { for x in 0..<7 {
            let inside = y < 4 && x < 4   // window rows/columns 1...4 are input 0...3
            let want = whole.data[(ch * 7 + y) * 7 + x]
            XCTAssertEqual(inside ? part.data[(ch * 5 + y + 1) * 5 + x + 1] : 0, want, "(\(ch), \(y), \(x))")
        } } }
    }

    func testModelJSON() throws {
        let net = try Network(spec: try ModelSpec.decode(json: #"{"input": [2, 9, 9], "classes": 3, "layers": [{"type": "avgpool", "kernel": 3}, {"type": "flatten"}, {"type": "linear", "name": "fc", "out_features": 3}]}"#))
        let layer = try XCTUnwrap(net.layers[0] as? AvgPool2D)
        XCTAssertEqual(layer.geometry, WindowGeometry(kernel: 3, stride: 3, padding: 0), "stride defaults to the kernel, padding to 0")
        XCTAssertEqual(layer.outputShape, [2, 3, 3])
        XCTAssertEqual(layer.blockRole, .member)
        for (layers, parts) in [
            ([#"{"type": "avgpool"}"#], ["layer 0", "missing \"kernel\""]),
            ([#"{"type": "avgpool", "kernel": 0}"#], ["\"kernel\" must be at least 1"]),
            ([#"{"type": "avgpool", "kernel": 2.5}"#], ["\"kernel\" must be an integer, got 2.5"]),
            ([#"{"type": "avgpool", "kernel": 2, "stride": 0}"#], ["\"stride\" must be at least 1"]),
            ([#"{"type": "avgpool", "kernel": 2, "padding": -1}"#], ["\"padding\" must be at least 0"]),
            ([#"{"type": "avgpool", "kernel": 3, "padding": 2}"#], ["padding 2 must be at most half the kernel 3"]),
            ([#"{"type": "avgpool", "kernel": 11}"#], ["kernel 11 is larger than its padded input 8x8"]),
            ([#"{"type": "avgpool", "kernel": 2, "size": 2}"#], ["unknown key \"size\" for a avgpool layer"]),
            ([#"{"type": "flatten"}"#, #"{"type": "avgpool", "kernel": 2}"#], ["layer 1", "avgpool needs a (C, H, W) input"]),
        ] {
            let e = modelRejection(layers)
            for part in parts { XCTAssertTrue(e.contains(part), "\"\(e)\" does not mention \(part)") }
        }
    }
}

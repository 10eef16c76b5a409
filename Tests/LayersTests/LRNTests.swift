import XCTest
import Tensors
import Layers

/// LocalResponseNorm against PyTorch's LocalResponseNorm: fixtures computed with numpy from
/// PyTorch's own recipe, central differences of its true gradient (under every rule), and the
/// model JSON checks.
final class LRNTests: XCTestCase {
    /// The expected values come from numpy, written after `torch.nn.functional.local_response_norm`:
    /// square, pad the channels with size // 2 zeros before and (size - 1) // 2 after, average each
    /// run of `size` channels, `a / (k + alpha * average) ** beta`:
    ///
    ///     sq = np.pad(a * a, (size // 2, (size - 1) // 2))
    ///     b = a / (k + alpha * np.array([sq[c:c + size].sum() / size for c in range(len(a))])) ** beta
    ///
    /// Six channels of 1x2 planes: position 0 holds [1, -2, 3, 0.5, -1.5, 2.5], position 1 [0, 1, 0, -1, 2, 0.25].
    func testNumpyFixtures() {
        let x = Tensor(shape: [1, 6, 1, 2], data: [1, 0, -2, 1, 3, 0, 0.5, -1, -1.5, 2, 2.5, 0.25])
        let cases: [(size: Int, alpha: Float, beta: Float, k: Float, first: [Double], second: [Double])] = [
            // size 4, even: window c - 2 ... c + 1.
            (4, 2, 0.75, 1, [0.3907949714, -0.4204482076, 0.6233812385, 0.0982797322, -0.2692702855, 0.7082003829],
             [0, 0.7377879465, 0, -0.3535533906, 0.7763966392, 0.0970495799]),
            // PyTorch's defaults: size 5, alpha 1e-4, beta 0.75, k 1.
            (5, 1e-4, 0.75, 1, [0.9997900514, -1.9995726066, 2.9992577143, 0.4998369371, -1.499600749, 2.4996719252],
             [0, 0.999970001, 0, -0.9999090721, 1.9998481385, 0.2499810173]),
        ]
        for t in cases {
            let y = LocalResponseNorm(shape: [6, 1, 2], size: t.size, alpha: t.alpha, beta: t.beta, k: t.k).forward(x, mode: .inference)
            for c in 0..<6 {
                XCTAssertEqual(Double(y.data[2 * c]), t.first[c], accuracy: 2e-6, "size \(t.size) channel \(c)")
                XCTAssertEqual(Double(y.data[2 * c + 1]), t.second[c], accuracy: 2e-6, "size \(t.size) channel \(c), position 1")
            }
        }
        // Three channels of 1x1, size 2 (window c - 1 ... c), alpha 0.5: D = 1.25, 2.25, 4.25 by hand,
        // b = 1 / 1.25^0.75, 2 / 2.25^0.75, 3 / 4.25^0.75 (numpy: 0.8458970108, 1.0886621079, 1.0135135451);
        // size 3, beta 0.5, k 2 on [1, -2, 3, 0.5]: numpy 0.5222329679, -0.7745966692, 1.1843130509, 0.2217663813.
        let small = LocalResponseNorm(shape: [3, 1, 1], size: 2, alpha: 0.5, beta: 0.75, k: 1).forward(Tensor(shape: [1, 3, 1, 1], data: [1, 2, 3]), mode: .inference)
        for (got, want) in zip(small.data, [0.8458970108, 1.0886621079, 1.0135135451]) { XCTAssertEqual(Double(got), want, accuracy: 2e-6) }
        let odd = LocalResponseNorm(shape: [4, 1, 1], size: 3, alpha: 1, beta: 0.5, k: 2).forward(Tensor(shape: [1, 4, 1, 1], data: [1, -2, 3, 0.5]), mode: .inference)
        for (got, want) in zip(odd.data, [0.5222329679, -0.7745966692, 1.1843130509, 0.2217663813]) { XCTAssertEqual(Double(got), want, accuracy: 2e-6) }
    }

    /// A strongly nonlinear setting (alpha 1 on values of size ~1, so the cross-channel term is as
    /// large as the diagonal one): the backward is its true gradient, under every rule.
    func testGradientsUnderEveryRule() {
        var rng = Xoshiro256(seed: 530)
        for (size, beta) in [(5, Float(0.75)), (2, 0.6), (3, 1.5), (1, 0.75), (8, 0.75)] {
            let layer = LocalResponseNorm(shape: [6, 3, 4], size: size, alpha: 1, beta: beta, k: 1)
            let x = randomTensor([2, 6, 3, 4], &rng)
            checkLayerGradients(layer, input: x, seed: 531, label: "lrn size \(size) beta \(beta)")
            // The deconvnet and guided rules give the same true gradient (as autograd-based tools do).
            _ = layer.forward(x, mode: .inference)
            let r = randomTensor([2, 6, 3, 4], &rng)
            let gradient = layer.backward(r, rule: .gradient, accumulateParameterGradients: false)
            for rule in [BackwardRule.deconvnet, .guided] {
                XCTAssertEqual(layer.backward(r, rule: rule, accumulateParameterGradients: false).data, gradient.data, "\(rule)")
            }
        }
    }

    /// The check above can fail: the same central differences reject the gradient without its
    /// cross-channel term, dy * D^-beta (what treating the denominator as a constant would give).
    func testCheckRejectsTheDiagonalOnlyGradient() {
        var rng = Xoshiro256(seed: 532)
        let layer = LocalResponseNorm(shape: [6, 3, 4], size: 5, alpha: 1, beta: 0.75, k: 1)
        let input = Parameter(name: "input", value: randomTensor([2, 6, 3, 4], &rng))
        let r = randomTensor([2, 6, 3, 4], &rng)
        let y = layer.forward(input.value, mode: .inference)
        let exact = layer.backward(r, rule: .gradient, accumulateParameterGradients: false)
        // D^-beta = y / x elementwise.
        let diagonal = (0..<r.count).map { r.data[$0] * y.data[$0] / input.value.data[$0] }
        let loss = { () -> (value: Double, pattern: [Int32]) in (inner(layer.forward(input.value, mode: .inference), r), []) }
        XCTAssertTrue(centralDifferences(target: input, analytic: exact.data, label: "exact", loss: loss).failures.isEmpty)
        XCTAssertGreaterThan(centralDifferences(target: input, analytic: diagonal, label: "diagonal", loss: loss).failures.count, r.count / 2)
    }

    func testNeedsForwardStateAndHasNoReceptiveWindow() {
        let layer = LocalResponseNorm(shape: [4, 5, 5], size: 5, alpha: 1e-4, beta: 0.75, k: 1)
        XCTAssertTrue(layer.deconvnetNeedsForwardState)
        XCTAssertNil(layer.cropped(toOutput: (1, 1)), "a window never runs the forward LRN's backward reads")
        let net = makeNetwork(input: [1, 8, 8], classes: 3, [.conv("conv1", 4, kernel: 3), .relu, LayerSpec(type: "lrn"),
                                                              .flatten, .linear("fc", 3)], seed: 533)
        XCTAssertEqual(net.convBlocks.map(\.outputIndex), [2], "lrn joins the conv block")
        XCTAssertNil(net.receptiveCrop(top: 2))
    }

    func testModelJSON() throws {
        let net = try Network(spec: try ModelSpec.decode(json: #"{"input": [6, 4, 4], "classes": 3, "layers": [{"type": "lrn"}, {"type": "lrn", "size": 3, "alpha": 0.5, "beta": 1, "k": 2}, {"type": "flatten"}, {"type": "linear", "name": "fc", "out_features": 3}]}"#))
        let defaults = try XCTUnwrap(net.layers[0] as? LocalResponseNorm), set = try XCTUnwrap(net.layers[1] as? LocalResponseNorm)
        XCTAssertEqual([Float(defaults.size), defaults.alpha, defaults.beta, defaults.k], [5, 1e-4, 0.75, 1], "PyTorch's defaults")
        XCTAssertEqual([Float(set.size), set.alpha, set.beta, set.k], [3, 0.5, 1, 2])
        XCTAssertEqual(defaults.outputShape, [6, 4, 4])
        for (layers, parts) in [
            ([#"{"type": "lrn", "size": 0}"#], ["layer 0", "\"size\" must be at least 1"]),
            ([#"{"type": "lrn", "size": 1.5}"#], ["\"size\" must be an integer, got 1.5"]),
            ([#"{"type": "lrn", "alpha": -1}"#], ["\"alpha\" must be in [0.0"]),
            ([#"{"type": "lrn", "alpha": "big"}"#], ["\"alpha\" must be a number, got \"big\""]),
            ([#"{"type": "lrn", "beta": 20}"#], ["\"beta\" must be in [0.0, 16.0]"]),
            ([#"{"type": "lrn", "k": 0}"#], ["\"k\" must be in ["]),
            ([#"{"type": "lrn", "n": 5}"#], ["unknown key \"n\" for a lrn layer (its keys: size, alpha, beta, k)"]),
            ([#"{"type": "flatten"}"#, #"{"type": "lrn"}"#], ["layer 1", "lrn needs a (C, H, W) input"]),
        ] {
            let e = modelRejection(layers)
            for part in parts { XCTAssertTrue(e.contains(part), "\"\(e)\" does not mention \(part)") }
        }
    }
}

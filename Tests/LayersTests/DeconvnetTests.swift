import XCTest
import Tensors
import Layers

/// The linear pieces of the deconvnet path: backward must be the exact transpose of forward,
/// <f(x), y> == <x, f^T(y)>, and must leave parameter gradients alone when asked to.
final class AdjointTests: XCTestCase {
    /// Random shapes, strides 1, 2, 4, paddings up to the kernel size; bias zero so conv is linear.
    func testConvolution() {
        var rng = Xoshiro256(seed: 400)
        for trial in 0..<15 {
            let s = [1, 2, 4][trial % 3]
            let k = 1 + randomInt(5, &rng), p = randomInt(k + 1, &rng), c = 1 + randomInt(3, &rng), f = 1 + randomInt(4, &rng)
            let h = max(1, k - 2 * p) + randomInt(9, &rng), w = max(1, k - 2 * p) + randomInt(9, &rng)
            let n = 1 + randomInt(3, &rng)
            let label = "trial \(trial): N\(n) C\(c) H\(h) W\(w) F\(f) k\(k) s\(s) p\(p)"
            let conv = makeConv(channels: c, height: h, width: w, filters: f, kernel: k, stride: s, padding: p, rng: &rng, bias: false)
            let x = randomTensor([n, c, h, w], &rng)
            let fx = conv.forward(x, mode: .inference)
            let y = randomTensor(fx.shape, &rng)
            let fty = conv.backward(y, rule: .deconvnet, accumulateParameterGradients: false)
            assertRelClose(inner(fx, y), inner(x, fty), 1e-5, label)
            XCTAssertEqual(conv.weight.gradient.maxAbs, 0, "parameter gradient touched, \(label)")
            XCTAssertEqual(conv.bias.gradient.maxAbs, 0, "parameter gradient touched, \(label)")
        }
    }

    /// The Winograd path (stride 1, 3x3 or 5x5, at least 8 channels): its backward is the
    /// transpose of its own forward, on random shapes.
    func testWinogradConvolution() {
        var rng = Xoshiro256(seed: 405)
        for trial in 0..<6 {
            let k = [3, 5][trial % 2], p = randomInt(k / 2 + 1, &rng), c = 8 + randomInt(5, &rng), f = 1 + randomInt(9, &rng)
            let h = max(1, k - 2 * p) + randomInt(12, &rng), w = max(1, k - 2 * p) + randomInt(12, &rng)
            let n = 1 + randomInt(5, &rng)
            let label = "trial \(trial): N\(n) C\(c) H\(h) W\(w) F\(f) k\(k) p\(p)"
            let conv = makeConv(channels: c, height: h, width: w, filters: f, kernel: k, stride: 1, padding: p, rng: &rng, bias: false)
            XCTAssertTrue(conv.usesWinograd, label)
            let x = randomTensor([n, c, h, w], &rng)
            let fx = conv.forward(x, mode: .inference)
            let y = randomTensor(fx.shape, &rng)
            let fty = conv.backward(y, rule: .deconvnet, accumulateParameterGradients: false)
            assertRelClose(inner(fx, y), inner(x, fty), 1e-5, label)
        }
    }

    func testLinear() {
        var rng = Xoshiro256(seed: 401)
        for (n, i, o) in [(1, 1, 1), (3, 7, 5), (4, 33, 10)] {
            let layer = Linear(name: "fc", inFeatures: i, outFeatures: o)
            layer.weight.value = randomTensor([o, i], &rng)
            let x = randomTensor([n, i], &rng)
            let fx = layer.forward(x, mode: .inference)
            let y = randomTensor(fx.shape, &rng)
            let fty = layer.backward(y, rule: .deconvnet, accumulateParameterGradients: false)
            assertRelClose(inner(fx, y), inner(x, fty), 1e-5, "linear \(n) \(i) \(o)")
            XCTAssertEqual(layer.weight.gradient.maxAbs, 0)
            XCTAssertEqual(layer.bias.gradient.maxAbs, 0)
        }
    }

    /// f = selection by the switches of one fixed forward (f(z)[o] = z[switch(o)], written here),
    /// f^T = MaxPool2D.backward, which must scatter-add where overlapping windows share a switch.
    func testMaxPoolSelection() {
        var rng = Xoshiro256(seed: 402)
        for (k, s, p) in [(3, 2, 1), (3, 1, 1), (5, 2, 2), (2, 2, 0)] {
            let layer = MaxPool2D(inputShape: [3, 7, 9], window: WindowGeometry(kernel: k, stride: s, padding: p))!
            // Few distinct values, so many windows share a switch.
            let x0 = Tensor(shape: [2, 3, 7, 9], data: (0..<378).map { _ in Float(randomInt(4, &rng)) })
            let out = layer.forward(x0, mode: .inference)
            let plane = 63, outPlane = out.shape[2] * out.shape[3]
            let z = randomTensor(x0.shape, &rng)
            let fz = Tensor(shape: out.shape, data: (0..<out.count).map { o in z.data[(o / outPlane) * plane + Int(layer.switches[o])] })
            let y = randomTensor(out.shape, &rng)
            let fty = layer.backward(y, rule: .gradient, accumulateParameterGradients: false)
            assertRelClose(inner(fz, y), inner(z, fty), 1e-5, "maxpool \(k)/\(s)/\(p)")
        }
    }
}

final class BackwardRuleTests: XCTestCase {
    /// x = [-2, -0.5, 0, 1, 3] -> relu -> [0, 0, 0, 1, 3]; dy = [1, -1, 2, -3, 4]:
    ///   gradient  dy * 1[x > 0]           = [0, 0, 0, -3, 4]
    ///   deconvnet max(dy, 0)              = [1, 0, 2,  0, 4]
    ///   guided    max(dy, 0) * 1[x > 0]   = [0, 0, 0,  0, 4]
    func testReLURulesHandExample() {
        let relu = ReLU(shape: [5])
        let y = relu.forward(Tensor(shape: [1, 5], data: [-2, -0.5, 0, 1, 3]), mode: .inference)
        XCTAssertEqual(y.data, [0, 0, 0, 1, 3])
        let dy = Tensor(shape: [1, 5], data: [1, -1, 2, -3, 4])
        XCTAssertEqual(relu.backward(dy, rule: .gradient, accumulateParameterGradients: false).data, [0, 0, 0, -3, 4])
        XCTAssertEqual(relu.backward(dy, rule: .deconvnet, accumulateParameterGradients: false).data, [1, 0, 2, 0, 4])
        XCTAssertEqual(relu.backward(dy, rule: .guided, accumulateParameterGradients: false).data, [0, 0, 0, 0, 4])
    }

    /// Only the ReLU's backward depends on the rule, so without ReLUs deconvnet == gradient bit for bit.
    func testDeconvnetEqualsGradientWithoutReLU() {
        let net = makeNetwork(input: [2, 9, 8], classes: 4, [
            .conv("c1", 3, kernel: 3, stride: 1, padding: 1), .maxpool(kernel: 3, stride: 2, padding: 1),
            .conv("c2", 4, kernel: 3, stride: 2, padding: 1), .flatten, .linear("fc", 4),
        ], seed: 410)
        var rng = Xoshiro256(seed: 411)
        let x = randomTensor([2, 2, 9, 8], &rng)
        let y = net.forward(x, mode: .inference)
        let dy = randomTensor(y.shape, &rng)
        let byGradient = net.backward(dy, rule: .gradient, accumulateParameterGradients: false)
        let byDeconvnet = net.backward(dy, rule: .deconvnet, accumulateParameterGradients: false)
        let byGuided = net.backward(dy, rule: .guided, accumulateParameterGradients: false)
        XCTAssertEqual(byGradient, byDeconvnet)
        XCTAssertEqual(byGradient, byGuided)
        XCTAssertGreaterThan(byGradient.maxAbs, 0)
        // Also from an intermediate layer (as the monitor seeds a block output).
        let mid = net.forward(x, mode: .inference, through: 2)
        let seed = randomTensor(mid.shape, &rng)
        XCTAssertEqual(net.backward(seed, from: 2, rule: .gradient, accumulateParameterGradients: false),
                       net.backward(seed, from: 2, rule: .deconvnet, accumulateParameterGradients: false))
    }

    func testRulesDifferWithReLU() {
        let net = makeNetwork(input: [2, 9, 8], classes: 4, [
            .conv("c1", 3, kernel: 3, stride: 1, padding: 1), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
            .conv("c2", 4, kernel: 3, stride: 2, padding: 1), .relu, .flatten, .linear("fc", 4),
        ], seed: 412)
        var rng = Xoshiro256(seed: 413)
        let x = randomTensor([2, 2, 9, 8], &rng)
        let y = net.forward(x, mode: .inference)
        let dy = randomTensor(y.shape, &rng)
        let g = net.backward(dy, rule: .gradient, accumulateParameterGradients: false)
        let d = net.backward(dy, rule: .deconvnet, accumulateParameterGradients: false)
        let gb = net.backward(dy, rule: .guided, accumulateParameterGradients: false)
        XCTAssertNotEqual(g, d)
        XCTAssertNotEqual(g, gb)
        XCTAssertNotEqual(d, gb)
    }
}

/// A deconvnet projection small enough to do by hand, through `Network` as the monitor uses it.
final class DeconvnetFixtureTests: XCTestCase {
    /// Input 1x1x4x4 = arange(16), x[i][j] = 4i + j:
    ///    0  1  2  3
    ///    4  5  6  7
    ///    8  9 10 11
    ///   12 13 14 15
    /// conv1: one 2x2 all-ones filter, stride 1, bias 0 -> 3x3,
    ///   c[i][j] = x[i][j] + x[i][j+1] + x[i+1][j] + x[i+1][j+1] = 16i + 4j + 10:
    ///   10 14 18
    ///   26 30 34
    ///   42 46 50
    /// relu: unchanged (all positive).
    private func network(poolStride: Int) -> Network {
        let net = try! Network(spec: ModelSpec(input: [1, 4, 4], classes: 2, normalization: nil, layers: [
            .conv("conv1", 1, kernel: 2, stride: 1, padding: 0), .relu, .maxpool(kernel: 2, stride: poolStride),
            .flatten, .linear("fc", 2),
        ]))
        let conv = net.layers[0] as! Conv2D
        conv.weight.value = Tensor(shape: [1, 1, 2, 2], repeating: 1)
        conv.bias.value = Tensor(zeros: [1])
        return net
    }

    private let input = Tensor(shape: [1, 1, 4, 4], data: (0..<16).map(Float.init))

    /// maxpool 2x2 stride 2 on the 3x3 map -> floor((3 - 2) / 2) + 1 = 1 output: the window rows 0-1,
    /// cols 0-1 = {10, 14, 26, 30}, maximum 30 at (1, 1), switch 1*3 + 1 = 4.
    /// Projection of that single activation seeded with its value 30: unpool puts 30 at conv (1, 1);
    /// relu (deconvnet) passes max(30, 0) = 30; the transposed all-ones conv spreads it over the four
    /// input pixels that conv (1, 1) reads, (1..2, 1..2): zeros elsewhere.
    func testPoolStride2Projection() {
        let net = network(poolStride: 2)
        let a = net.forward(input, mode: .inference, through: 2)
        XCTAssertEqual(a, Tensor(shape: [1, 1, 1, 1], data: [30]))
        XCTAssertEqual((net.layers[2] as! MaxPool2D).switches, [4])
        XCTAssertEqual(net.forward(input, mode: .inference, through: 0).data, [10, 14, 18, 26, 30, 34, 42, 46, 50])
        let projection = net.backward(Tensor(shape: [1, 1, 1, 1], data: [30]), from: 2, rule: .deconvnet,
                                      accumulateParameterGradients: false)
        XCTAssertEqual(projection, Tensor(shape: [1, 1, 4, 4], data: [
            0, 0, 0, 0,
            0, 30, 30, 0,
            0, 30, 30, 0,
            0, 0, 0, 0,
        ]))
    }

    /// maxpool 2x2 stride 1 -> 2x2 outputs [30 34; 46 50], switches at conv (1,1), (1,2), (2,1), (2,2)
    /// = [4, 5, 7, 8]. The strongest is 50 (output (1, 1)); seeded with 50 its projection covers input
    /// (2..3, 2..3).
    /// Seeding all four outputs with dy = [1 -1; -2 3] shows the rules apart. Unpooled on the conv grid:
    ///   g = [0 0 0; 0 1 -1; 0 -2 3]
    /// deconvnet relu -> max(g, 0) = [0 0 0; 0 1 0; 0 0 3]; gradient relu keeps g (all conv outputs > 0).
    /// Transposed all-ones 2x2 conv: dx[i][j] = sum of g[a][b], a in {i-1, i}, b in {j-1, j} (in range):
    ///   deconvnet: [0 0 0 0; 0 1 1 0; 0 1 1+3 3; 0 0 3 3]
    ///   gradient:  row 1 sums row g1 = [0 1 -1]        -> [0, 1, 1-1, -1]
    ///              row 2 sums g1 + g2 = [0 -1 2]       -> [0, -1, -1+2, 2]
    ///              row 3 sums g2 = [0 -2 3]            -> [0, -2, -2+3, 3]
    func testPoolStride1ProjectionsAndRules() {
        let net = network(poolStride: 1)
        let a = net.forward(input, mode: .inference, through: 2)
        XCTAssertEqual(a, Tensor(shape: [1, 1, 2, 2], data: [30, 34, 46, 50]))
        XCTAssertEqual((net.layers[2] as! MaxPool2D).switches, [4, 5, 7, 8])

        let strongest = net.backward(Tensor(shape: [1, 1, 2, 2], data: [0, 0, 0, 50]), from: 2, rule: .deconvnet,
                                     accumulateParameterGradients: false)
        XCTAssertEqual(strongest.data, [0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 50, 50,  0, 0, 50, 50])

        let dy = Tensor(shape: [1, 1, 2, 2], data: [1, -1, -2, 3])
        XCTAssertEqual(net.backward(dy, from: 2, rule: .deconvnet, accumulateParameterGradients: false).data,
                       [0, 0, 0, 0,  0, 1, 1, 0,  0, 1, 4, 3,  0, 0, 3, 3])
        XCTAssertEqual(net.backward(dy, from: 2, rule: .gradient, accumulateParameterGradients: false).data,
                       [0, 0, 0, 0,  0, 1, 0, -1,  0, -1, 1, 2,  0, -2, 1, 3])
    }
}

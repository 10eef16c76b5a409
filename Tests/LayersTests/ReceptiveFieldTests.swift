import XCTest
import Tensors
import Layers

final class ReceptiveFieldTests: XCTestCase {
    /// zf-fmnist, output (0, 0) traced down (inputSpan: [lo*s - p, hi*s - p + k - 1]):
    ///   conv1 block (index 2): pool 3/2/1 -> [-1, 1]; conv 5/1/2 -> [-3, 3]: size 7, jump 1*2 = 2.
    ///   conv2 block (index 5): pool -> [-1, 1]; conv2 -> [-3, 3]; pool1 -> [-7, 7]; conv1 -> [-9, 9]:
    ///   size 19, jump 1*2*1*2 = 4.
    func testZFGeometry() throws {
        let net = try Network(spec: ModelPreset.zfFMNIST.spec)
        let conv1 = net.receptiveFieldSize(layer: 2), conv2 = net.receptiveFieldSize(layer: 5)
        XCTAssertEqual(conv1.size, 7); XCTAssertEqual(conv1.jump, 2)
        XCTAssertEqual(conv2.size, 19); XCTAssertEqual(conv2.jump, 4)
        XCTAssertEqual(net.receptiveFieldSize(layer: 0).size, 5)
        XCTAssertEqual(net.receptiveFieldSize(layer: 0).jump, 1)
        // A pointwise layer (relu, index 1) sees what its conv sees.
        XCTAssertEqual(net.receptiveSpan(layer: 1, y: 0, x: 0).rows, -2...2)

        XCTAssertEqual(net.receptiveSpan(layer: 2, y: 0, x: 0).rows, -3...3)
        // Clipped at the top-left border: [-3, 3] -> rows 0..<4.
        XCTAssertEqual(net.receptiveBox(layer: 2, y: 0, x: 0), PixelBox(top: 0, left: 0, bottom: 4, right: 4))
        // Interior: (5, 7) -> rows 10-3 ... 10+3 = [7, 13], cols 14-3 ... 14+3 = [11, 17].
        XCTAssertEqual(net.receptiveBox(layer: 2, y: 5, x: 7), PixelBox(top: 7, left: 11, bottom: 14, right: 18))
        XCTAssertEqual(net.receptiveBox(layer: 2, y: 5, x: 7).height, 7)
        // Bottom-right border: (13, 13) -> [23, 29], clipped to the 28-pixel image.
        XCTAssertEqual(net.receptiveBox(layer: 2, y: 13, x: 13), PixelBox(top: 23, left: 23, bottom: 28, right: 28))
        // conv2 block: (0, 0) -> [-9, 9]; (6, 6) -> pool [11, 13], conv2 [9, 15], pool1 [17, 31], conv1 [15, 33].
        XCTAssertEqual(net.receptiveBox(layer: 5, y: 0, x: 0), PixelBox(top: 0, left: 0, bottom: 10, right: 10))
        XCTAssertEqual(net.receptiveSpan(layer: 5, y: 6, x: 6).rows, 15...33)
        XCTAssertEqual(net.receptiveBox(layer: 5, y: 6, x: 6), PixelBox(top: 15, left: 15, bottom: 28, right: 28))
        // Rows and columns are independent: (0, 6).
        XCTAssertEqual(net.receptiveBox(layer: 5, y: 0, x: 6), PixelBox(top: 0, left: 15, bottom: 10, right: 28))
    }

    /// alexnet-fmnist conv1 11/4/5: [-5, 5], size 11, jump 4; its block adds pool 3/2/1:
    /// [-1, 1] -> [-4-5, 4-5+10] = [-9, 9]: size 19, jump 8.
    func testAlexNetGeometry() throws {
        let net = try Network(spec: ModelPreset.alexnetFMNIST.spec)
        XCTAssertEqual(net.receptiveFieldSize(layer: 0).size, 11)
        XCTAssertEqual(net.receptiveFieldSize(layer: 0).jump, 4)
        XCTAssertEqual(net.receptiveFieldSize(layer: 2).size, 19)
        XCTAssertEqual(net.receptiveFieldSize(layer: 2).jump, 8)
    }

    /// Input gradient of one activation (one-hot seed at layer i, position (c, y, x)).
    private func inputGradient(_ net: Network, _ x: Tensor, layer i: Int, c: Int, y: Int, x px: Int) -> (Tensor, Float) {
        let out = net.forward(x, mode: .inference, through: i)
        let shape = net.layers[i].outputShape
        var seed = Tensor(zeros: out.shape)
        let index = (c * shape[1] + y) * shape[2] + px
        seed.data[index] = 1
        return (net.backward(seed, from: i, rule: .gradient, accumulateParameterGradients: false), out.data[index])
    }

    /// Rows and columns of input pixels with a non-zero gradient (over all channels), or nil.
    private func support(_ g: Tensor) -> (rows: ClosedRange<Int>, cols: ClosedRange<Int>)? {
        let (c, h, w) = (g.shape[1], g.shape[2], g.shape[3])
        var rows: [Int] = [], cols: [Int] = []
        for ci in 0..<c { for iy in 0..<h { for ix in 0..<w where g.data[(ci * h + iy) * w + ix] != 0 {
            rows.append(iy); cols.append(ix)
        } } }
        guard let r0 = rows.min(), let r1 = rows.max(), let c0 = cols.min(), let c1 = cols.max() else { return nil }
        return (r0...r1, c0...c1)
    }

    /// Empirically, with ReLUs and overlapping, padded pooling: the input gradient of any single
    /// activation is exactly zero outside receptiveSpan, at every position of every spatial layer.
    func testGradientVanishesOutsideReceptiveSpan() {
        // (2, 13, 11) -> conv 5/2/2 (3, 7, 6) -> pool 3/2/1 (3, 4, 3) -> conv 3/1/1 (4, 4, 3) -> pool 2/1 (4, 3, 2)
        let net = makeNetwork(input: [2, 13, 11], classes: 2, [
            .conv("a", 3, kernel: 5, stride: 2, padding: 2), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
            .conv("b", 4, kernel: 3, stride: 1, padding: 1), .relu, .maxpool(kernel: 2, stride: 1),
            .flatten, .linear("fc", 2),
        ], seed: 500, biasScale: 0.2)
        var rng = Xoshiro256(seed: 501)
        let x = randomTensor([1, 2, 13, 11], &rng)
        var nonTrivial = 0, total = 0
        for i in 0...5 {
            let shape = net.layers[i].outputShape
            for y in 0..<shape[1] { for px in 0..<shape[2] {
                let c = randomInt(shape[0], &rng)
                let (g, _) = inputGradient(net, x, layer: i, c: c, y: y, x: px)
                total += 1
                guard let s = support(g) else { continue }
                nonTrivial += 1
                let span = net.receptiveSpan(layer: i, y: y, x: px)
                XCTAssertTrue(span.rows.contains(s.rows.lowerBound) && span.rows.contains(s.rows.upperBound) &&
                              span.cols.contains(s.cols.lowerBound) && span.cols.contains(s.cols.upperBound),
                              "layer \(i) (\(y), \(px)): gradient at rows \(s.rows) cols \(s.cols), span \(span.rows) x \(span.cols)")
            } }
        }
        XCTAssertEqual(total, 42 + 42 + 12 + 12 + 12 + 6)
        XCTAssertGreaterThan(nonTrivial, total / 2, "too few live activations for the check to mean anything")
    }

    /// Without ReLUs and pooling, a random conv stack's gradient fills the clipped receptive box
    /// exactly (it is not too large either). (1, 15, 15) -> 3/2/1 (8x8) -> 3/1/1 (8x8) -> 3/2/0 (3x3).
    /// Output (1, 1) of the last conv: [2, 4] -> [1, 5] -> [1, 11], inside the image.
    func testGradientFillsReceptiveBoxOfConvStack() {
        let net = makeNetwork(input: [1, 15, 15], classes: 2, [
            .conv("a", 2, kernel: 3, stride: 2, padding: 1), .conv("b", 2, kernel: 3, stride: 1, padding: 1),
            .conv("c", 2, kernel: 3, stride: 2), .flatten, .linear("fc", 2),
        ], seed: 502)
        var rng = Xoshiro256(seed: 503)
        let x = randomTensor([1, 1, 15, 15], &rng)
        XCTAssertEqual(net.receptiveSpan(layer: 2, y: 1, x: 1).rows, 1...11)
        for (i, y, px) in [(2, 1, 1), (2, 0, 2), (2, 2, 0), (1, 0, 0), (1, 7, 3), (0, 7, 7)] {
            let (g, _) = inputGradient(net, x, layer: i, c: 1, y: y, x: px)
            let box = net.receptiveBox(layer: i, y: y, x: px)
            guard let s = support(g) else { XCTFail("no gradient at layer \(i) (\(y), \(px))"); continue }
            XCTAssertEqual(PixelBox(top: s.rows.lowerBound, left: s.cols.lowerBound, bottom: s.rows.upperBound + 1, right: s.cols.upperBound + 1),
                           box, "layer \(i) (\(y), \(px))")
        }
    }
}

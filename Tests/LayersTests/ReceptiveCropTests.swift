import XCTest
import Tensors
@testable import Layers

/// `ReceptiveCrop` against the whole network: for every output position of a block, including
/// those whose receptive field reaches into padding, the deconvnet run on the restricted layers,
/// pasted into the image, equals the deconvnet of the full network, and nothing of the full one
/// falls outside the window.
final class ReceptiveCropTests: XCTestCase {
    static let oddGeometry = ModelSpec(input: [2, 15, 13], classes: 3, normalization: nil, layers: [
        .conv("a", 3, kernel: 3, stride: 1, padding: 1), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
        .conv("b", 4, kernel: 3, stride: 2, padding: 1), .relu, .maxpool(kernel: 2, stride: 1, padding: 0),
        .flatten, .linear("fc", 3),
    ])

    /// Two convs in a row, the second with padding: its transposed filters write into its padding,
    /// which no pooling below drops (the receptive crop once passed those values on into the image).
    static let convAfterConv = ModelSpec(input: [1, 15, 27], classes: 3, normalization: nil, layers: [
        .conv("a", 3, kernel: 5, stride: 2, padding: 0), .relu, .conv("b", 4, kernel: 10, stride: 4, padding: 9), .relu,
        .flatten, .linear("fc", 3),
    ])

    func testEveryPositionMatchesTheFullDeconvnet() throws {
        for (label, spec) in [("zf-fmnist", ModelPreset.zfFMNIST.spec), ("alexnet-fmnist", ModelPreset.alexnetFMNIST.spec),
                              ("odd", Self.oddGeometry), ("conv after conv", Self.convAfterConv)] {
            let net = try Network(spec: spec)
            var rng = Xoshiro256(seed: 31)
            net.initialize(rng: &rng)
            let (inC, h, w) = (spec.input[0], spec.input[1], spec.input[2])
            let image = Tensor(shape: [1] + spec.input, data: (0..<(inC * h * w)).map { _ in rng.nextGaussian() })
            for block in net.convBlocks {
                _ = net.forward(image, mode: .inference, through: block.outputIndex)
                let crop = try XCTUnwrap(net.receptiveCrop(top: block.outputIndex))
                let (c, oh, ow) = (block.outputShape[0], block.outputShape[1], block.outputShape[2])
                XCTAssertEqual(crop.extents[0].height, net.receptiveFieldSize(layer: block.outputIndex).size, "\(label) \(block.name)")
                for y in 0..<oh {
                    for x in 0..<ow {
                        let channel = (y * ow + x) % c, value = Float(1 + y + x)
                        var seed = Tensor(zeros: [1] + block.outputShape)
                        seed.data[(channel * oh + y) * ow + x] = value
                        let full = net.backward(seed, from: block.outputIndex, rule: .deconvnet, accumulateParameterGradients: false)
                        let origins = crop.origins(y: y, x: x)
                        for (i, layer) in net.layers[0...block.outputIndex].enumerated() {
                            guard let pool = layer as? MaxPool2D, let window = crop.layers[i] as? MaxPool2D else { continue }
                            var switches = [Int32](repeating: 0, count: window.outputShape.reduce(1, *))
                            pool.switches.withUnsafeBufferPointer { sp in
                                pool.cropSwitches(sp.baseAddress!, to: window, output: origins[i + 1], input: origins[i], into: &switches)
                            }
                            // Switches kept as 16-bit positions (the monitor's top-k pass) crop the same.
                            var fromNarrow = [Int32](repeating: 7, count: switches.count)
                            pool.switches.map { UInt16(truncatingIfNeeded: $0) }.withUnsafeBufferPointer { sp in
                                pool.cropSwitches(sp.baseAddress!, to: window, output: origins[i + 1], input: origins[i], into: &fromNarrow)
                            }
                            XCTAssertEqual(fromNarrow, switches, "\(label) \(block.name) at (\(y), \(x)): 16-bit switches")
                            // Planes whose switches route nowhere (-1: planes the top-k pass decides
                            // for no projection) crop to -1 in both widths; the other planes as before.
                            let per = pool.outHeight * pool.outWidth, windowPer = window.outHeight * window.outWidth
                            let routed = pool.switches.enumerated().map { $0.offset / per == channel ? $0.element : -1 }
                            for narrow in [false, true] {
                                var cropped = [Int32](repeating: 7, count: switches.count)
                                if narrow {
                                    routed.map { UInt16(truncatingIfNeeded: $0) }.withUnsafeBufferPointer { sp in
                                        pool.cropSwitches(sp.baseAddress!, to: window, output: origins[i + 1], input: origins[i], into: &cropped)
                                    }
                                } else {
                                    routed.withUnsafeBufferPointer { sp in
                                        pool.cropSwitches(sp.baseAddress!, to: window, output: origins[i + 1], input: origins[i], into: &cropped)
                                    }
                                }
                                let expected = switches.enumerated().map { $0.offset / windowPer == channel ? $0.element : -1 }
                                XCTAssertEqual(cropped, expected, "\(label) \(block.name) at (\(y), \(x)): -1 planes, narrow \(narrow)")
                            }
                            window.restore(switches: switches, batch: 1)
                        }
                        var windowSeed = Tensor(zeros: [1, c, 1, 1])
                        windowSeed.data[channel] = value
                        let projected = crop.deconvnet(windowSeed, origins: [origins])
                        let (bh, bw) = crop.extents[0], origin = origins[0]
                        XCTAssertEqual(projected.shape, [1, inC, bh, bw])
                        var pasted = [Float](repeating: 0, count: inC * h * w)
                        for ch in 0..<inC { for r in 0..<bh { for q in 0..<bw {
                            let (iy, ix) = (origin.row + r, origin.col + q)
                            if iy >= 0 && iy < h && ix >= 0 && ix < w { pasted[(ch * h + iy) * w + ix] = projected.data[(ch * bh + r) * bw + q] }
                        } } }
                        var nonzero = 0
                        for i in 0..<pasted.count {
                            XCTAssertEqual(pasted[i], full.data[i], accuracy: 1e-4 * max(1, abs(full.data[i])), "\(label) \(block.name) at (\(y), \(x)) pixel \(i)")
                            if full.data[i] != 0 { nonzero += 1 }
                        }
                        if y == oh / 2 && x == ow / 2 { XCTAssertGreaterThan(nonzero, 0, "\(label) \(block.name): a trivially zero projection proves nothing") }
                    }
                }
            }
        }
    }

    /// Window sizes, zf-fmnist: the unpadded receptive fields of one conv2-block output.
    func testZFWindowSizes() throws {
        let net = try Network(spec: ModelPreset.zfFMNIST.spec)
        let crop = try XCTUnwrap(net.receptiveCrop(top: 5))
        XCTAssertEqual(crop.extents.map(\.height), [19, 15, 15, 7, 3, 3, 1])
        XCTAssertEqual(crop.layers.map(\.outputShape), [[32, 15, 15], [32, 15, 15], [32, 7, 7], [64, 3, 3], [64, 3, 3], [64, 1, 1]])
        let o = crop.origins(y: 0, x: 6)
        XCTAssertEqual(o.map(\.row), [-9, -7, -7, -3, -1, -1, 0])
        XCTAssertEqual(o.map(\.col), [15, 17, 17, 9, 11, 11, 6])
        XCTAssertNil(net.receptiveCrop(top: 7), "flatten has no window")
    }
}

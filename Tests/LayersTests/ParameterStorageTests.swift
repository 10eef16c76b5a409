import XCTest
import Tensors
@testable import Layers

/// A parameter's value, gradient and momentum start as one zero buffer (copy-on-write); writing
/// one, the way training does, must leave the others zero.
final class ParameterStorageTests: XCTestCase {
    func testWritingOneOfTheSharedZeroBuffersLeavesTheOthersZero() {
        let conv = Conv2D(name: "c", shape: ConvShape(channels: 2, height: 6, width: 6, window: WindowGeometry(kernel: 3, stride: 1, padding: 1))!, outChannels: 3)
        let linear = Linear(name: "fc", inFeatures: 5, outFeatures: 4)
        for p in [conv.weight, conv.bias, linear.weight, linear.bias] {
            p.gradient.data.withUnsafeMutableBufferPointer { g in for i in g.indices { g[i] = Float(i + 1) } }
            XCTAssertTrue(p.value.data.allSatisfy { $0 == 0 }, "\(p.name): value changed with the gradient")
            XCTAssertTrue(p.momentum.data.allSatisfy { $0 == 0 }, "\(p.name): momentum changed with the gradient")
            p.momentum.data[0] = 5
            XCTAssertEqual(p.value.data[0], 0)
            XCTAssertEqual(p.gradient.data[0], 1)
            p.value.data[p.value.count - 1] = -2
            XCTAssertEqual(p.momentum.data[p.momentum.count - 1], 0)
            XCTAssertEqual(p.gradient.data[p.gradient.count - 1], Float(p.gradient.count))
        }
        let given = Parameter(name: "w", value: Tensor(shape: [3], repeating: 2))
        given.momentum.data[1] = 1
        XCTAssertEqual(given.gradient.data, [0, 0, 0])
        XCTAssertEqual(given.value.data, [2, 2, 2])
    }
}

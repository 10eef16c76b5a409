import XCTest
@testable import Layers
import Tensors

final class InitializationTests: XCTestCase {
    /// He's std for conv1 of zf-fmnist is sqrt(2 / 25); --first-conv-init-std replaces it for that
    /// layer only and leaves every other layer's draws where they were.
    func testFirstConvStdChangesOnlyTheFirstConvLayer() throws {
        let he = try Network(spec: ModelPreset.zfFMNIST.spec), small = try Network(spec: ModelPreset.zfFMNIST.spec)
        var rngA = Xoshiro256(seed: 7), rngB = Xoshiro256(seed: 7)
        he.initialize(rng: &rngA)
        small.initialize(rng: &rngB, firstConvStd: 0.01)
        XCTAssertEqual(rngA.state, rngB.state, "both initializations consume the same draws")

        func std(_ t: Tensor) -> Double {
            let mean = t.data.reduce(0.0) { $0 + Double($1) } / Double(t.count)
            return (t.data.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(t.count)).squareRoot()
        }
        let conv1He = he.parameterLayers[0].weight.value, conv1Small = small.parameterLayers[0].weight.value
        XCTAssertEqual(std(conv1He), (2.0 / 25).squareRoot(), accuracy: 0.04)
        XCTAssertEqual(std(conv1Small), 0.01, accuracy: 0.0015)
        // The same normal draws, scaled: the pattern is He's pattern at a smaller size.
        let ratio = Float(0.01) / (Float(2) / 25).squareRoot()
        for i in 0..<conv1He.count { XCTAssertEqual(conv1Small.data[i], conv1He.data[i] * ratio, accuracy: 1e-6) }
        for (a, b) in zip(he.parameterLayers.dropFirst(), small.parameterLayers.dropFirst()) {
            XCTAssertEqual(a.weight.value, b.weight.value, "\(a.name) must start identically")
        }
    }
}

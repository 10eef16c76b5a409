import XCTest
import Tensors
import Layers

/// A preset is an architecture built for the data's input and classes.
final class PresetTests: XCTestCase {
    /// The closed form against the definition: offset d meets the input when some output position
    /// i reads `i * stride + d - padding` inside [0, n). Over every small geometry.
    func testOffsetsSeeingOnlyPaddingMatchTheDefinition() {
        for kernel in 1...12 { for stride in 1...5 { for padding in 0...6 { for n in 1...20 {
            let window = WindowGeometry(kernel: kernel, stride: stride, padding: padding)
            let expected: [Int]
            if let outputs = window.outputLength(n) {
                expected = (0..<kernel).filter { d in !(0..<outputs).contains { i in (0..<n).contains(i * stride + d - padding) } }
            } else {
                expected = Array(0..<kernel)
            }
            XCTAssertEqual(window.offsetsSeeingOnlyPadding(n), expected, "k \(kernel) s \(stride) p \(padding) n \(n)")
        } } } }
        // By hand: AlexNet's conv1 (11/4/5) on 8 pixels has two outputs, reading -5...5 and -1...9;
        // offset 10 reads 5 and 9, offset 0 reads -5 and -1: only offset 0 never meets a pixel.
        XCTAssertEqual(WindowGeometry(kernel: 11, stride: 4, padding: 5).offsetsSeeingOnlyPadding(8), [0])
    }

    func testBuiltForFashionMNISTThePresetIsTheContractModel() throws {
        for preset in ModelPreset.allCases {
            XCTAssertEqual(try preset.spec(input: [1, 28, 28], classes: 10, normalization: ModelPreset.fashionMNISTNormalization),
                           preset.spec, preset.rawValue)
        }
    }

    func testBuiltForColourImagesAndOtherClassCounts() throws {
        let spec = try ModelPreset.zfFMNIST.spec(input: [3, 32, 32], classes: 4, normalization: nil)
        let network = try Network(spec: spec)
        XCTAssertEqual(network.parameterLayers.map { $0.weight.value.shape },
                       [[32, 3, 5, 5], [64, 32, 5, 5], [256, 64 * 8 * 8], [4, 256]])
        let alex = try Network(spec: ModelPreset.alexnetFMNIST.spec(input: [1, 64, 48], classes: 2, normalization: nil))
        XCTAssertEqual(alex.layers.last?.outputShape, [2])
    }

    func testTheSmallestInputsAPresetBuildsForAndTheLayerThatFailsBelow() throws {
        func failure(_ preset: ModelPreset, side: Int) -> String? {
            do { _ = try preset.spec(input: [1, side, side], classes: 10, normalization: nil); return nil } catch { return "\(error)" }
        }
        // zf-fmnist: 5x5 -> conv1 5x5 -> pool 3/2/1 -> 3x3, where conv2 (5x5, padding 2) still meets
        // a pixel with every weight; from 4x4 the pool leaves 2x2 and it does not.
        XCTAssertNil(failure(.zfFMNIST, side: 5))
        let zf = try XCTUnwrap(failure(.zfFMNIST, side: 4))
        XCTAssertTrue(zf.hasPrefix("model zf-fmnist cannot be built for input [1, 4, 4] and 10 classes: layer 3 (conv2): its input is only 2x2 there"), zf)
        XCTAssertTrue(zf.hasSuffix("zf-fmnist needs images of at least 5x5"), zf)
        XCTAssertNil(failure(.alexnetFMNIST, side: 9))
        let alex = try XCTUnwrap(failure(.alexnetFMNIST, side: 8))
        XCTAssertTrue(alex.contains("layer 0 (conv1): its input is only 8x8 there, too small for its 11x11 kernel (stride 4, padding 5): 1 of its 11 kernel rows and 1 of its 11 kernel columns would only ever see padding"), alex)
        // Too large: the classifier passes the parameter limit, named by Network.
        let huge = try XCTUnwrap(failure(.zfFMNIST, side: 512))
        XCTAssertTrue(huge.contains("layer 7 (fc3): weights [256, 1048576] take the model past"), huge)
    }
}

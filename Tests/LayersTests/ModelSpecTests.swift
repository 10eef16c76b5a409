import XCTest
import Tensors
import Layers

final class ModelValidationTests: XCTestCase {
    /// Builds a network expected to be rejected and returns the error's description.
    private func rejection(_ input: [Int], classes: Int = 10, _ layers: [LayerSpec], normalization: Normalization? = nil,
                           file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try Network(spec: ModelSpec(input: input, classes: classes, normalization: normalization, layers: layers), source: "test.json")
            XCTFail("the model was accepted", file: file, line: line)
            return ""
        } catch let error as ModelError {
            XCTAssertTrue(error.description.hasPrefix("test.json: "), error.description, file: file, line: line)
            return error.description
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return ""
        }
    }

    private func assertContains(_ text: String, _ parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        for part in parts where !text.contains(part) {
            XCTFail("\"\(text)\" does not mention \"\(part)\"", file: file, line: line)
        }
    }

    func testUnknownLayerType() {
        let e = rejection([1, 8, 8], [.conv("c1", 2, kernel: 3), LayerSpec(type: "softmax"), .flatten, .linear("fc", 10)])
        assertContains(e, ["layer 1", "softmax", "unknown layer type"])
    }

    func testKernelLargerThanPaddedInput() {
        // 4x4 input, padding 1 -> 6x6 < kernel 7.
        let e = rejection([1, 4, 4], [.conv("c1", 2, kernel: 7, padding: 1), .flatten, .linear("fc", 10)])
        assertContains(e, ["layer 0", "c1", "kernel 7", "6x6", "[1, 4, 4]"])
        // Deeper: 8x8 -> conv 5/1/0 -> 4x4 -> maxpool 5 on 4x4.
        let deep = rejection([1, 8, 8], [.conv("c1", 2, kernel: 5), .relu, .maxpool(kernel: 5, stride: 1), .flatten, .linear("fc", 10)])
        assertContains(deep, ["layer 2", "maxpool", "kernel 5", "[2, 4, 4]"])
    }

    func testLinearWithoutFlatten() {
        let e = rejection([1, 8, 8], [.conv("c1", 2, kernel: 3), .linear("fc", 10)])
        assertContains(e, ["layer 1", "fc", "[2, 6, 6]", "flatten"])
    }

    func testConvAfterFlatten() {
        let e = rejection([1, 8, 8], [.flatten, .conv("c1", 2, kernel: 3), .flatten, .linear("fc", 10)])
        assertContains(e, ["layer 1", "c1", "[64]"])
    }

    func testMissingName() {
        let conv = rejection([1, 8, 8], [LayerSpec(type: "conv", outChannels: 2, kernel: 3), .flatten, .linear("fc", 10)])
        assertContains(conv, ["layer 0", "conv", "name"])
        let linear = rejection([1, 8, 8], [.flatten, LayerSpec(type: "linear", outFeatures: 10)])
        assertContains(linear, ["layer 1", "linear", "name"])
        let empty = rejection([1, 8, 8], [.flatten, .linear("", 10)])
        assertContains(empty, ["layer 1", "name"])
    }

    func testDuplicateName() {
        let e = rejection([1, 8, 8], [.conv("c1", 2, kernel: 3), .relu, .conv("c1", 2, kernel: 3), .flatten, .linear("fc", 10)])
        assertContains(e, ["layer 2", "c1", "twice"])
    }

    func testLastLayerMustMatchClasses() {
        let e = rejection([1, 8, 8], classes: 10, [.flatten, .linear("fc", 5)])
        assertContains(e, ["[5]", "10 classes"])
        let notFlat = rejection([1, 8, 8], classes: 10, [.conv("c1", 2, kernel: 3)])
        assertContains(notFlat, ["[2, 6, 6]", "10 classes"])
    }

    func testMaxPoolPaddingAtMostHalfTheKernel() {
        let e = rejection([1, 8, 8], [.maxpool(kernel: 3, stride: 2, padding: 2), .flatten, .linear("fc", 10)])
        assertContains(e, ["layer 0", "maxpool", "padding 2", "kernel 3"])
        // padding == kernel / 2 is fine (PyTorch accepts it).
        XCTAssertNoThrow(try Network(spec: ModelSpec(input: [1, 8, 8], classes: 10, normalization: nil,
                                                     layers: [.maxpool(kernel: 2, stride: 2, padding: 1), .flatten, .linear("fc", 10)])))
    }

    func testOtherRejections() {
        assertContains(rejection([1, 8], [.flatten, .linear("fc", 10)]), ["input", "[1, 8]"])
        assertContains(rejection([1, 8, 8], classes: 1, [.flatten, .linear("fc", 1)]), ["classes"])
        assertContains(rejection([1, 8, 8], []), ["no layers"])
        assertContains(rejection([1, 8, 8], [.conv("c1", 2, kernel: 3, stride: 0), .flatten, .linear("fc", 10)]), ["layer 0", "stride"])
        assertContains(rejection([1, 8, 8], [LayerSpec(type: "conv", name: "c1", kernel: 3), .flatten, .linear("fc", 10)]),
                       ["layer 0", "out_channels"])
        assertContains(rejection([1, 8, 8], [.flatten, .dropout(1), .linear("fc", 10)]), ["layer 1", "rate"])
        assertContains(rejection([2, 8, 8], [.flatten, .linear("fc", 10)], normalization: Normalization(mean: [0], std: [1])),
                       ["normalization", "2"])
        assertContains(rejection([1, 8, 8], [.flatten, .linear("fc 1", 10)]), ["layer 1", "fc 1"])
    }
}

final class ModelJSONTests: XCTestCase {
    /// Copied verbatim from CONTRACT.md ("Model JSON"): the zf-fmnist preset.
    static let contractJSON = """
    {"input": [1, 28, 28], "classes": 10,
     "normalization": {"mean": [0.2860406], "std": [0.3530242]},
     "layers": [
      {"type": "conv", "name": "conv1", "out_channels": 32, "kernel": 5, "stride": 1, "padding": 2},
      {"type": "relu"},
      {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1},
      {"type": "conv", "name": "conv2", "out_channels": 64, "kernel": 5, "stride": 1, "padding": 2},
      {"type": "relu"},
      {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1},
      {"type": "flatten"},
      {"type": "linear", "name": "fc3", "out_features": 256},
      {"type": "relu"},
      {"type": "dropout", "rate": 0.5},
      {"type": "linear", "name": "fc4", "out_features": 10}]}
    """

    func testContractJSONIsTheZFPreset() throws {
        XCTAssertEqual(try ModelSpec.decode(json: Self.contractJSON), ModelPreset.zfFMNIST.spec)
    }

    func testPresetsRoundTrip() throws {
        for preset in ModelPreset.allCases {
            let spec = preset.spec
            let json = spec.json()
            XCTAssertEqual(try ModelSpec.decode(json: json), spec, preset.rawValue)
            XCTAssertEqual(try ModelSpec.decode(json: json).json(), json, "canonical JSON is stable, \(preset.rawValue)")
            XCTAssertNoThrow(try Network(spec: spec), preset.rawValue)
        }
        // Contract key names in the canonical JSON.
        let json = ModelPreset.zfFMNIST.spec.json()
        for key in ["\"out_channels\":32", "\"out_features\":256", "\"rate\":0.5", "\"classes\":10", "\"mean\":[0.2860406]"] {
            XCTAssertTrue(json.contains(key), "\(key) missing from \(json)")
        }
    }

    func testLoadFromFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("layers-tests-\(getpid()).json").path
        try Self.contractJSON.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try ModelSpec.load(path: path), ModelPreset.zfFMNIST.spec)
        XCTAssertThrowsError(try ModelSpec.load(path: path + ".missing")) { error in
            XCTAssertTrue("\(error)".contains(path + ".missing"), "\(error)")
        }
    }

    private func decodeError(_ json: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try ModelSpec.decode(json: json, source: "m.json")
            XCTFail("decoded", file: file, line: line)
            return ""
        } catch {
            XCTAssertTrue(error is ModelError, "\(type(of: error))", file: file, line: line)
            XCTAssertTrue("\(error)".hasPrefix("m.json: "), "\(error)", file: file, line: line)
            return "\(error)"
        }
    }

    func testMalformedJSON() {
        XCTAssertTrue(decodeError("{\"input\": [1, 28, 28], ").contains("invalid JSON"))
        XCTAssertTrue(decodeError("").contains("invalid JSON"))
    }

    func testMissingKey() {
        let top = decodeError("{\"input\": [1, 28, 28], \"layers\": []}")
        XCTAssertTrue(top.contains("missing key \"classes\""), top)
        let nested = decodeError("{\"input\": [1, 8, 8], \"classes\": 2, \"layers\": [{\"type\": \"flatten\"}, {\"name\": \"fc\"}]}")
        XCTAssertTrue(nested.contains("missing key \"type\""), nested)
        XCTAssertTrue(nested.contains("layers[1]"), nested)
    }

    func testWrongType() {
        let e = decodeError("{\"input\": [1, 28, 28], \"classes\": \"ten\", \"layers\": []}")
        XCTAssertTrue(e.contains("wrong type") && e.contains("classes"), e)
    }
}

final class PresetShapeTests: XCTestCase {
    /// 28 -> conv 5/1/2 -> 28 -> pool 3/2/1 -> (28+2-3)/2+1 = 14 -> conv -> 14 -> pool -> (14+2-3)/2+1 = 7.
    func testZFBlocks() throws {
        let net = try Network(spec: ModelPreset.zfFMNIST.spec)
        let blocks = net.convBlocks
        XCTAssertEqual(blocks.map(\.name), ["conv1", "conv2"])
        XCTAssertEqual(blocks.map(\.outputShape), [[32, 14, 14], [64, 7, 7]])
        XCTAssertEqual(blocks.map(\.convIndex), [0, 3])
        XCTAssertEqual(blocks.map(\.outputIndex), [2, 5])
        XCTAssertEqual(net.layers.map(\.kind), ["conv", "relu", "maxpool", "conv", "relu", "maxpool", "flatten", "linear", "relu", "dropout", "linear"])
        XCTAssertEqual(net.layers[6].outputShape, [64 * 7 * 7])
        XCTAssertEqual(net.parameterLayers.map(\.name), ["conv1", "conv2", "fc3", "fc4"])
        // (32*25 + 32) + (64*32*25 + 64) + (256*3136 + 256) + (10*256 + 10)
        XCTAssertEqual(net.parameterCount, 832 + 51_264 + 803_072 + 2_570)
    }

    /// forward(observe:) reports every layer once, in order, shaped (N, layer.outputShape), and returns
    /// what the plain forward returns.
    func testForwardObservesEveryLayer() throws {
        let net = try Network(spec: ModelPreset.zfFMNIST.spec)
        var rng = Xoshiro256(seed: 2)
        net.initialize(rng: &rng)
        let x = randomTensor([2, 1, 28, 28], &rng)
        var seen: [Int] = []
        let y = net.forward(x, mode: .inference) { index, output in
            seen.append(index)
            XCTAssertEqual(output.shape, [2] + net.layers[index].outputShape, "layer \(index)")
        }
        XCTAssertEqual(seen, Array(0..<11))
        XCTAssertEqual(y, net.forward(x, mode: .inference))
        XCTAssertEqual(y.shape, [2, 10])
        var upTo: [Int] = []
        _ = net.forward(x, mode: .inference, through: 5) { index, _ in upTo.append(index) }
        XCTAssertEqual(upTo, Array(0...5))
    }

    /// 28 -> conv 11/4/5 -> (28+10-11)/4+1 = 7 -> pool 3/2/1 -> 4 -> conv 3/1/1 -> 4 -> pool -> 2.
    func testAlexNetBlocks() throws {
        let net = try Network(spec: ModelPreset.alexnetFMNIST.spec)
        XCTAssertEqual(net.layers[0].outputShape, [32, 7, 7])
        XCTAssertEqual(net.convBlocks.map(\.outputShape), [[32, 4, 4], [64, 2, 2]])
        XCTAssertEqual(net.layers[6].outputShape, [64 * 2 * 2])
    }

    /// Zero biases; Gaussian weights with variance gain / fan_in, gain 2 (He) for a layer that feeds a
    /// ReLU (conv1, conv2, fc3, through any pooling) and 1 for the logits (fc4). Fixed by the seed.
    func testInitialization() throws {
        let net = try Network(spec: ModelPreset.zfFMNIST.spec)
        var rng = Xoshiro256(seed: 1)
        net.initialize(rng: &rng)
        let gains: [String: Double] = ["conv1": 2, "conv2": 2, "fc3": 2, "fc4": 1]
        for (name, weight, bias) in net.parameterLayers {
            XCTAssertEqual(bias.value.maxAbs, 0, name)
            let fanIn = Double(weight.value.shape.dropFirst().reduce(1, *))
            let variance = weight.value.data.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(weight.value.count)
            // fc4 has 2560 weights: the sample variance is within ~3% (1 sigma), allow 15%.
            XCTAssertEqual(variance, gains[name]! / fanIn, accuracy: 0.15 * gains[name]! / fanIn, name)
        }
        let again = try Network(spec: ModelPreset.zfFMNIST.spec)
        var rng2 = Xoshiro256(seed: 1)
        again.initialize(rng: &rng2)
        XCTAssertEqual(again.allParameters.map(\.value), net.allParameters.map(\.value))
    }
}

extension ModelJSONTests {
    /// A key the layer's kind does not define is refused (a typo would otherwise fall back to a default).
    func testUnknownKeyIsRefusedWithTheKindsKeys() throws {
        let json = #"{"input": [1, 8, 8], "classes": 2, "layers": [{"type": "conv", "name": "c", "out_channels": 2, "kernal": 3}, {"type": "flatten"}, {"type": "linear", "name": "fc", "out_features": 2}]}"#
        let spec = try ModelSpec.decode(json: json)
        XCTAssertThrowsError(try Network(spec: spec)) { error in
            XCTAssertEqual("\(error)", #"model: layer 0 (c): unknown key "kernal" for a conv layer (its keys: name, out_channels, kernel, stride, padding)"#)
        }
        // A non-integer where an integer belongs says so.
        let half = try ModelSpec.decode(json: json.replacingOccurrences(of: #""kernal": 3"#, with: #""kernel": 2.5"#))
        XCTAssertThrowsError(try Network(spec: half)) { XCTAssertTrue("\($0)".contains(#""kernel" must be an integer, got 2.5"#), "\($0)") }
    }

    /// The canonical JSON is unchanged by the generic layer entries: keys sorted, integers as integers, rates as written.
    func testCanonicalJSONOfThePreset() throws {
        let spec = try ModelPreset.zfFMNIST.spec(input: [1, 28, 28], classes: 10, normalization: ModelPreset.fashionMNISTNormalization)
        XCTAssertTrue(spec.json().contains(#"{"kernel":5,"name":"conv1","out_channels":32,"padding":2,"stride":1,"type":"conv"}"#), spec.json())
        XCTAssertTrue(spec.json().contains(#"{"rate":0.5,"type":"dropout"}"#), spec.json())
        XCTAssertEqual(try ModelSpec.decode(json: spec.json()), spec)
    }
}

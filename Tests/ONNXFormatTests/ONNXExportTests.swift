import Foundation
import Layers
import ONNXFormat
import Snapshots
import Tensors
import XCTest

/// `export` writes what onnxruntime runs to our logits, and what the importer reads back unchanged.
final class ONNXExportTests: XCTestCase {
    /// A small network of today's kinds with He-initialized weights and non-zero biases.
    func trainedLikeNetwork() throws -> (ModelSpec, Network, [String: [String: Tensor]]) {
        let spec = ModelSpec(input: [3, 10, 10], classes: 4,
                             normalization: Normalization(mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3]),
                             layers: [.conv("conv1", 6, kernel: 3, stride: 1, padding: 1), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
                                      .conv("conv2", 5, kernel: 3, stride: 2, padding: 0), .relu, .flatten,
                                      .linear("fc3", 8), .relu, .dropout(0.5), .linear("fc4", 4)])
        let network = try Network(spec: spec)
        var rng = Xoshiro256(seed: 5)
        network.initialize(rng: &rng)
        var snapshot = network.snapshot(epoch: 1, step: 1, trainerState: nil)
        for name in snapshot.weights.keys {
            let bias = snapshot.weights[name]!.bias
            snapshot.weights[name]!.bias = Tensor(shape: bias.shape, data: (0..<bias.count).map { Float($0 % 5) * 0.03 - 0.05 })
        }
        try network.load(snapshot, path: "test")
        let parameters = snapshot.weights.mapValues { ["weight": $0.weight, "bias": $0.bias] }
        return (spec, network, parameters)
    }

    func testOnnxruntimeOnTheExportedFileGivesOurLogits() throws {
        let (spec, network, parameters) = try trainedLikeNetwork()
        let directory = try makeTemporaryDirectory(self)
        let path = directory + "/exported.onnx"
        try ONNXExporter.export(architecture: spec.json(), parameters: parameters, source: "test").write(to: URL(fileURLWithPath: path))

        var rng = Xoshiro256(seed: 9)
        let images = Tensor(shape: [5, 3, 10, 10], data: (0..<1500).map { _ in Float(rng.next() % 2001) / 1000 - 1 })
        let ours = network.forward(images, mode: .inference)
        let theirs = try onnxruntimeLogits(model: path, input: images.data, shape: images.shape, in: directory)
        XCTAssertEqual(ours.shape, [5, 4])
        assertClose(ours.data, theirs, tolerance: 1e-4, "onnxruntime on the exported file")
        XCTAssertGreaterThan(Set(ours.data).count, 10, "logits are not degenerate")
    }

    func testExportThenImportGivesTheSameModelAndTensors() throws {
        let (spec, _, parameters) = try trainedLikeNetwork()
        let data = try ONNXExporter.export(architecture: spec.json(), parameters: parameters, source: "test")
        let imported = try ONNXImporter.decode(data, source: "exported.onnx")
        XCTAssertTrue(imported.dynamicBatch)
        XCTAssertEqual(try ModelSpec.decode(json: imported.architecture), spec)
        XCTAssertEqual(imported.parameters, parameters)
    }

    /// The layer kinds today's Network lacks (batchnorm, avgpool, lrn, globalavgpool): importing a file made by
    /// the onnx package and exporting it again keeps onnxruntime's logits, so every key and tensor survived
    /// both directions with its meaning (a swapped running_mean / running_var or a lost count_include_pad shows).
    func testImportThenExportKeepsOnnxruntimeLogitsForEveryKind() throws {
        for name in ["bn_unfolded", "bn_folded", "reducemean18", "reducemean13", "current_dynamic", "current_fixed"] {
            let fixture = try buildFixture(name, in: self)
            let imported = try ONNXImporter.read(path: fixture.model)
            let path = fixture.directory + "/reexported.onnx"
            try ONNXExporter.export(architecture: imported.architecture, parameters: imported.parameters, source: name)
                .write(to: URL(fileURLWithPath: path))
            let logits = try onnxruntimeLogits(model: path, input: fixture.inputValues, shape: fixture.input, in: fixture.directory)
            assertClose(logits, try XCTUnwrap(fixture.logits), tolerance: 1e-5, name)
            XCTAssertEqual(try ONNXImporter.read(path: path).model, imported.model, name)
        }
    }

    func testExportRefusesWhatItCannotWrite() throws {
        let (spec, _, parameters) = try trainedLikeNetwork()
        var missing = parameters
        missing["fc3"]?["bias"] = nil
        XCTAssertThrowsError(try ONNXExporter.export(architecture: spec.json(), parameters: missing, source: "s.h5")) {
            XCTAssertEqual("\($0)", "s.h5: layer 6 (fc3): no bias tensor for layer fc3")
        }
        var reshaped = parameters
        reshaped["conv1"]?["weight"] = Tensor(zeros: [6, 3, 5, 5])
        XCTAssertThrowsError(try ONNXExporter.export(architecture: spec.json(), parameters: reshaped, source: "s.h5")) {
            XCTAssertEqual("\($0)", "s.h5: layer 0 (conv1): weight has shape [6, 3, 5, 5], the architecture needs [6, 3, 3, 3]")
        }
        let evenLRN = ContractModel(input: [1, 4, 4], classes: 2, normalization: nil,
                                    layers: [ContractLayer(type: "lrn", size: 4), ContractLayer(type: "flatten"),
                                             ContractLayer(type: "linear", name: "fc", outFeatures: 2)])
        XCTAssertThrowsError(try ONNXExporter.export(evenLRN, parameters: ["fc": ["weight": Tensor(zeros: [2, 16]), "bias": Tensor(zeros: [2])]], source: "m")) {
            XCTAssertTrue("\($0)".contains("lrn size 4 cannot be exported"), "\($0)")
        }
    }
}

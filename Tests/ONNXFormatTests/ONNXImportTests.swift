import Foundation
import Layers
import ONNXFormat
import Snapshots
import Tensors
import XCTest

/// Imports ONNX files built by the `onnx` Python package: the model JSON, the named tensors, and, for the
/// layer kinds today's `Network` runs, logits equal to onnxruntime's on the same random inputs.
final class ONNXImportTests: XCTestCase {
    /// The `Network` the monitor builds from the file: `Snapshot.readONNX`, then the snapshot loader.
    func network(_ path: String) throws -> Network {
        try Network.load(snapshot: try Snapshot.readONNX(from: path, epoch: 0), path: path)
    }

    func assertLogitsMatchOnnxruntime(_ fixture: ONNXFixture, file: StaticString = #filePath, line: UInt = #line) throws {
        let ours = try network(fixture.model).forward(Tensor(shape: fixture.input, data: fixture.inputValues), mode: .inference)
        XCTAssertEqual(ours.shape, [fixture.input[0], fixture.classes], file: file, line: line)
        let reference = try XCTUnwrap(fixture.logits, file: file, line: line)
        assertClose(ours.data, reference, tolerance: 1e-4, "against onnxruntime", file: file, line: line)
        XCTAssertEqual(Set(reference).count, reference.count, "logits are not degenerate", file: file, line: line)
    }

    func testCurrentKindsWithDynamicBatchGiveOnnxruntimeLogits() throws {
        let fixture = try buildFixture("current_dynamic", in: self)
        let imported = try ONNXImporter.read(path: fixture.model)
        XCTAssertTrue(imported.dynamicBatch)
        XCTAssertEqual(imported.model, ContractModel(
            input: [3, 12, 12], classes: 5,
            normalization: ContractNormalization(mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3]),
            layers: [
                ContractLayer(type: "conv", name: "conv1", outChannels: 4, kernel: 3, stride: 1, padding: 1),
                ContractLayer(type: "relu"),
                ContractLayer(type: "maxpool", kernel: 3, stride: 2, padding: 1),
                // /features/features.3/Conv: the state_dict prefix; auto_pad SAME_UPPER with a 3x3 kernel is padding 1.
                ContractLayer(type: "conv", name: "features.3", outChannels: 6, kernel: 3, stride: 1, padding: 1),
                ContractLayer(type: "relu"),
                ContractLayer(type: "maxpool", kernel: 2, stride: 2, padding: 0),
                ContractLayer(type: "flatten"),
                ContractLayer(type: "linear", name: "fc1", outFeatures: 16),
                ContractLayer(type: "relu"),
                ContractLayer(type: "dropout", rate: 0.25),
                ContractLayer(type: "linear", name: "fc2", outFeatures: 5),
            ]))
        XCTAssertEqual(imported.notes.count, 1)
        XCTAssertTrue(imported.notes[0].contains("Softmax"), imported.notes[0])
        // A conv without a bias input gets zeros; a Gemm with transB 0 is stored (out, in) like PyTorch's Linear.
        XCTAssertEqual(imported.parameters["features.3"]?["bias"], Tensor(zeros: [6]))
        XCTAssertEqual(imported.parameters["fc2"]?["weight"]?.shape, [5, 16])
        XCTAssertEqual(Set(imported.parameters.keys), ["conv1", "features.3", "fc1", "fc2"])
        // The architecture text is the contract's model JSON: today's ModelSpec reads it back whole.
        let spec = try ModelSpec.decode(json: imported.architecture)
        XCTAssertEqual(spec.normalization, Normalization(mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3]))
        XCTAssertEqual(spec.layers.map(\.type), imported.model.layers.map(\.type))
        try assertLogitsMatchOnnxruntime(fixture)
    }

    func testFixedBatchConstantNodesReshapeAndMatMulAddGiveOnnxruntimeLogits() throws {
        let fixture = try buildFixture("current_fixed", in: self)
        let imported = try ONNXImporter.read(path: fixture.model)
        XCTAssertFalse(imported.dynamicBatch)
        XCTAssertNil(imported.model.normalization)
        XCTAssertEqual(imported.model, ContractModel(input: [1, 11, 11], classes: 4, normalization: nil, layers: [
            ContractLayer(type: "conv", name: "conv_a", outChannels: 3, kernel: 3, stride: 2, padding: 0),
            ContractLayer(type: "relu"),
            ContractLayer(type: "flatten"),
            ContractLayer(type: "linear", name: "head", outFeatures: 4),
            ContractLayer(type: "dropout", rate: 0.5),
        ]))
        XCTAssertTrue(imported.notes.isEmpty)
        // The Add supplied the MatMul's bias (a dropped bias would leave zeros).
        XCTAssertNotEqual(imported.parameters["head"]?["bias"], Tensor(zeros: [4]))
        try assertLogitsMatchOnnxruntime(fixture)
    }

    /// BatchNorm kept as a node (PyTorch's do_constant_folding=False), average pooling with counted padding,
    /// LRN, global average pooling: the model JSON, the tensors, and the logits against onnxruntime's.
    func testUnfoldedBatchNormAvgPoolLRNGlobalPoolModelJSON() throws {
        let fixture = try buildFixture("bn_unfolded", in: self)
        let imported = try ONNXImporter.read(path: fixture.model)
        XCTAssertEqual(imported.model, ContractModel(input: [2, 10, 10], classes: 3, normalization: nil, layers: [
            ContractLayer(type: "conv", name: "block1.conv", outChannels: 5, kernel: 3, stride: 1, padding: 1),
            ContractLayer(type: "batchnorm", name: "block1.bn", eps: 1e-3),
            ContractLayer(type: "relu"),
            ContractLayer(type: "avgpool", kernel: 2, stride: 2, padding: 1),
            ContractLayer(type: "lrn", size: 3, alpha: 2e-4, beta: 0.7, k: 1.5),
            ContractLayer(type: "conv", name: "block2.conv", outChannels: 4, kernel: 3, stride: 1, padding: 1),
            ContractLayer(type: "globalavgpool"),
            ContractLayer(type: "flatten"),
            ContractLayer(type: "linear", name: "fc", outFeatures: 3),
        ]))
        // Each field holds the initializer the node reads in that role (scale, B, input_mean, input_var).
        let bn = try XCTUnwrap(imported.parameters["block1.bn"])
        XCTAssertEqual(Set(bn.keys), ["weight", "bias", "running_mean", "running_var"])
        XCTAssertTrue(bn.values.allSatisfy { $0.shape == [5] })
        for (field, initializer) in [("weight", "s"), ("bias", "t"), ("running_mean", "m"), ("running_var", "v")] {
            XCTAssertEqual(bn[field]?.data, try fixture.initializer(initializer), field)
        }
        XCTAssertEqual(imported.parameters["block1.conv"]?["weight"]?.data, try fixture.initializer("w1"))
        XCTAssertEqual(imported.parameters["block1.conv"]?["weight"]?.shape, [5, 2, 3, 3])
        XCTAssertEqual(imported.parameters["fc"]?["weight"]?.data, try fixture.initializer("fw"))
        XCTAssertTrue(imported.architecture.contains(#"{"eps":0.001,"name":"block1.bn","type":"batchnorm"}"#), imported.architecture)
        XCTAssertTrue(imported.architecture.contains(#"{"alpha":0.0002,"beta":0.7,"k":1.5,"size":3,"type":"lrn"}"#), imported.architecture)
        try assertLogitsMatchOnnxruntime(fixture)
    }

    /// The same network with its BatchNorm folded into the conv (torch.onnx.export's default): no batchnorm layer.
    func testFoldedBatchNormIsAPlainConv() throws {
        let folded = try ONNXImporter.read(path: try buildFixture("bn_folded", in: self).model)
        XCTAssertEqual(folded.model.layers.map(\.type),
                       ["conv", "relu", "avgpool", "lrn", "conv", "globalavgpool", "flatten", "linear"])
        XCTAssertEqual(Set(folded.parameters.keys), ["block1.conv", "block2.conv", "fc"])
        XCTAssertEqual(folded.parameters["block1.conv"]?["weight"]?.shape, [5, 2, 3, 3])
        try assertLogitsMatchOnnxruntime(try buildFixture("bn_folded", in: self))
    }

    func testReduceMeanOverHeightAndWidthIsGlobalAveragePooling() throws {
        // Opset 18: axes (-1, -2) as an input, keepdims 0 (so also a flatten). Opset 13: axes attribute, then Flatten.
        for name in ["reducemean18", "reducemean13"] {
            let imported = try ONNXImporter.read(path: try buildFixture(name, in: self).model)
            XCTAssertEqual(imported.model.layers.map(\.type), ["conv", "globalavgpool", "flatten", "linear"], name)
            try assertLogitsMatchOnnxruntime(try buildFixture(name, in: self))
        }
    }

    func testLayerNamesAreSafeUniqueModulePathsInGraphOrder() throws {
        // A Swift-built chain of 1x1 convs (no Python needed) whose conv nodes carry these names.
        let nodeNames = ["/conv1/Conv", "/layer1/layer1.0/conv1/Conv", "/features/features.0/Conv", "conv", "",
                         "/a b/Conv", "/conv1/Conv", "../x/Conv", ""]
        var model = try SwiftBuiltModels.chain(convs: nodeNames.count)
        for (index, name) in nodeNames.enumerated() { model.graph.node[2 * index].name = name }
        let imported = try ONNXImporter.decode(try model.serializedData(), source: "names.onnx")
        XCTAssertEqual(imported.model.layers.compactMap { $0.type == "conv" ? $0.name : nil },
                       ["conv1", "layer1.0.conv1", "features.0", "conv", "conv1_2", "a_b", "conv1_3", "x", "conv2"])
    }
}

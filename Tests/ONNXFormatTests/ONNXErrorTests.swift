import Foundation
import ONNXFormat
import ONNXProto
import SwiftProtobuf
import XCTest

/// Every refusal is one line naming the file and, for a node, the node, its op and what is not supported.
/// Damaged files are errors, never traps.
final class ONNXErrorTests: XCTestCase {
    func assertRefused(_ data: Data, containing fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        do {
            let imported = try ONNXImporter.decode(data, source: "bad.onnx")
            XCTFail("imported \(imported.architecture)", file: file, line: line)
        } catch let error as ONNXError {
            let text = error.description
            XCTAssertTrue(text.hasPrefix("bad.onnx: "), text, file: file, line: line)
            XCTAssertFalse(text.contains("\n"), "not one line: \(text)", file: file, line: line)
            for fragment in fragments { XCTAssertTrue(text.contains(fragment), "\"\(fragment)\" not in: \(text)", file: file, line: line) }
        } catch {
            XCTFail("unexpected error type \(type(of: error)): \(error)", file: file, line: line)
        }
    }

    func assertRefused(_ model: Onnx_ModelProto, containing fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        assertRefused(try model.serializedData(), containing: fragments, file: file, line: line)
    }

    func testUnsupportedOpNamesTheNodeAndOp() throws {
        let fixture = try buildFixture("unsupported_op", in: self)
        assertRefused(try Data(contentsOf: URL(fileURLWithPath: fixture.model)),
                      containing: [#"node "/act/Sigmoid" (Sigmoid): op Sigmoid is not supported (supported: Conv, Relu"#])
    }

    func testAveragePoolThatExcludesPaddingIsRefused() throws {
        let fixture = try buildFixture("avgpool_excluding_pad", in: self)
        assertRefused(try Data(contentsOf: URL(fileURLWithPath: fixture.model)),
                      containing: [#"node "/p/AveragePool" (AveragePool): count_include_pad 0 with padding 1 is not supported"#])
    }

    func testSkipConnectionIsNotAChain() throws {
        let fixture = try buildFixture("skip_connection", in: self)
        assertRefused(try Data(contentsOf: URL(fileURLWithPath: fixture.model)),
                      containing: [#"node "/res/Add" (Add): is not part of a chain"#, "skip connections"])
    }

    func testFixedBatchOtherThanOneIsRefused() throws {
        let fixture = try buildFixture("fixed_batch_four", in: self)
        assertRefused(try Data(contentsOf: URL(fileURLWithPath: fixture.model)), containing: ["fixed batch of 4"])
    }

    func testTruncatedAndGarbageFilesAreClearErrors() throws {
        let valid = try SwiftBuiltModels.chain(convs: 2).serializedData()
        XCTAssertNoThrow(try ONNXImporter.decode(valid, source: "good.onnx"))
        // Cut inside a length-delimited field: protobuf reports it as truncated.
        for length in [valid.count - 1, valid.count / 2, 7] {
            assertRefused(valid.prefix(length), containing: ["not a readable ONNX file", "truncated"])
        }
        assertRefused(Data(), containing: ["the file is empty"])
        assertRefused(Data("{\"input\": [1, 28, 28]}".utf8), containing: ["ONNX"])
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<200 {
            let bytes = (0..<64).map { _ -> UInt8 in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: state >> 56)
            }
            assertRefused(Data(bytes), containing: [])
        }
    }

    func testTruncatedFileFromTheOnnxPackage() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: try buildFixture("current_dynamic", in: self).model))
        XCTAssertNoThrow(try ONNXImporter.decode(data, source: "whole.onnx"))
        for length in [data.count - 3, data.count * 2 / 3, data.count / 3, 100] {
            assertRefused(data.prefix(length), containing: ["not a readable ONNX file", "truncated"])
        }
    }

    func testMissingFileAndDirectory() throws {
        let directory = try makeTemporaryDirectory(self)
        XCTAssertThrowsError(try ONNXImporter.read(path: directory + "/none.onnx")) {
            XCTAssertEqual(($0 as? ONNXError)?.description, "\(directory)/none.onnx: no such file")
        }
        XCTAssertThrowsError(try ONNXImporter.read(path: directory)) {
            XCTAssertEqual(($0 as? ONNXError)?.description, "\(directory): is a directory, not an ONNX file")
        }
    }

    func testConvAttributesBeyondOneSquareSymmetricWindow() throws {
        var grouped = try SwiftBuiltModels.chain(convs: 1)
        grouped.graph.node[0].attribute.removeAll { $0.name == "group" }
        grouped.graph.node[0].attribute.append(SwiftBuiltModels.attribute("group", int: 2))
        try assertRefused(grouped, containing: [#"node "/c0/Conv" (Conv): group 2 is not supported"#])

        var asymmetric = try SwiftBuiltModels.chain(convs: 1)
        asymmetric.graph.node[0].attribute.removeAll { $0.name == "pads" }
        asymmetric.graph.node[0].attribute.append(SwiftBuiltModels.attribute("pads", ints: [0, 0, 1, 1]))
        try assertRefused(asymmetric, containing: [#"node "/c0/Conv" (Conv): pads [0, 0, 1, 1] are not the same on all four sides"#])

        var dilated = try SwiftBuiltModels.chain(convs: 1)
        dilated.graph.node[0].attribute.removeAll { $0.name == "dilations" }
        dilated.graph.node[0].attribute.append(SwiftBuiltModels.attribute("dilations", ints: [2, 2]))
        try assertRefused(dilated, containing: ["dilations [2, 2] are not supported"])
    }

    func testBatchNormAndLRNAttributesOutsideTheModelJSON() throws {
        XCTAssertEqual(try ONNXImporter.decode(try SwiftBuiltModels.batchNormAndLRN().serializedData(), source: "ok").model.layers.map(\.type),
                       ["conv", "batchnorm", "lrn", "flatten", "linear"])
        var training = try SwiftBuiltModels.batchNormAndLRN()
        SwiftBuiltModels.set(SwiftBuiltModels.attribute("training_mode", int: 1), node: 1, in: &training)
        try assertRefused(training, containing: [#"node "/bn/BatchNormalization" (BatchNormalization): training_mode 1 is not supported"#])

        var notANumber = try SwiftBuiltModels.batchNormAndLRN()
        SwiftBuiltModels.set(SwiftBuiltModels.attribute("epsilon", float: .nan), node: 1, in: &notANumber)
        try assertRefused(notANumber, containing: ["epsilon nan is not a finite number"])

        var evenLRN = try SwiftBuiltModels.batchNormAndLRN()
        SwiftBuiltModels.set(SwiftBuiltModels.attribute("size", int: 4), node: 2, in: &evenLRN)
        try assertRefused(evenLRN, containing: [#"node "/layers.2/LRN" (LRN): size 4 is not supported"#])

        var infiniteBeta = try SwiftBuiltModels.batchNormAndLRN()
        SwiftBuiltModels.set(SwiftBuiltModels.attribute("beta", float: .infinity), node: 2, in: &infiniteBeta)
        try assertRefused(infiniteBeta, containing: ["beta inf is not a finite number"])
    }

    func testWeightsOutsideTheFileOrOfAnotherTypeAreRefused() throws {
        var external = try SwiftBuiltModels.chain(convs: 1)
        external.graph.initializer[0].dataLocation = .external
        try assertRefused(external, containing: [#"node "/c0/Conv" (Conv): its weight "c0.weight": its data is stored outside the .onnx file"#])

        var halves = try SwiftBuiltModels.chain(convs: 1)
        halves.graph.initializer[0].dataType = 10
        try assertRefused(halves, containing: ["element type FLOAT16 is not supported"])

        var short = try SwiftBuiltModels.chain(convs: 1)
        short.graph.initializer[0].rawData = short.graph.initializer[0].rawData.prefix(5)
        try assertRefused(short, containing: ["raw_data holds 5 bytes"])

        var huge = try SwiftBuiltModels.chain(convs: 1)
        huge.graph.initializer[0].dims = [1 << 20, 1 << 20, 1, 1]
        try assertRefused(huge, containing: ["hold too many values"])
    }

    func testOldOpsetAndModelLevelProblems() throws {
        var old = try SwiftBuiltModels.chain(convs: 1)
        old.opsetImport[0].version = 10
        try assertRefused(old, containing: ["opset 10 is not supported (opset 11 or later"])

        var twoInputs = try SwiftBuiltModels.chain(convs: 1)
        twoInputs.graph.input.append(twoInputs.graph.input[0])
        twoInputs.graph.input[1].name = "mask"
        try assertRefused(twoInputs, containing: [#"the graph has 2 inputs ("input", "mask")"#])

        var badNormalization = try SwiftBuiltModels.chain(convs: 1)
        var entry = Onnx_StringStringEntryProto()
        entry.key = "deconvscope.normalization"
        entry.value = #"{"mean": [0.5], "std": [0.25]}"#
        badNormalization.metadataProps = [entry]
        try assertRefused(badNormalization, containing: ["deconvscope.normalization has 1 means and 1 stds; the input has 2 channels"])
    }
}

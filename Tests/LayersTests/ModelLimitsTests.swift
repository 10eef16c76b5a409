import Foundation
import Layers
import XCTest

/// Absurd sizes in a model JSON must be one-line errors from `Network(spec:)`, raised before any
/// layer allocates: before these checks, cases below trapped (arithmetic overflow) or asked for
/// gigabytes (the first fuzz-model-json run stopped within seconds on an 809 TB allocation).
final class ModelLimitsTests: XCTestCase {
    private func rejection(_ json: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let spec = try ModelSpec.decode(json: json, source: "absurd.json")
            _ = try Network(spec: spec, source: "absurd.json")
            XCTFail("accepted: \(json)", file: file, line: line)
            return ""
        } catch {
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("absurd.json: "), text, file: file, line: line)
            XCTAssertFalse(text.contains("\n"), text, file: file, line: line)
            return text
        }
    }

    /// A 1x8x8 model whose only conv layer has the given fields, then flatten and a 2-class linear.
    private func conv(_ fields: String) -> String {
        """
        {"input": [1, 8, 8], "classes": 2, "layers": [{"type": "conv", "name": "c1", \(fields)},
         {"type": "flatten"}, {"type": "linear", "name": "fc", "out_features": 2}]}
        """
    }

    func testHugeConvFieldsAreRejectedByName() {
        XCTAssertTrue(rejection(conv(#""out_channels": 1000000000, "kernel": 3"#)).contains("\"out_channels\" must be at most"))
        XCTAssertTrue(rejection(conv(#""out_channels": 4, "kernel": 1099511627776"#)).contains("\"kernel\" must be at most"))
        XCTAssertTrue(rejection(conv(#""out_channels": 4, "kernel": 3, "padding": 9223372036854775807"#)).contains("\"padding\""))
        XCTAssertTrue(rejection(conv(#""out_channels": 4, "kernel": 3, "stride": 4611686018427387904"#)).contains("\"stride\""))
    }

    func testZeroAndNegativeFieldsAreRejected() {
        XCTAssertTrue(rejection(conv(#""out_channels": 4, "kernel": 3, "stride": 0"#)).contains("\"stride\" must be at least 1"))
        XCTAssertTrue(rejection(conv(#""out_channels": -4, "kernel": 3"#)).contains("\"out_channels\" must be at least 1"))
        XCTAssertTrue(rejection(conv(#""out_channels": 4, "kernel": 0"#)).contains("\"kernel\" must be at least 1"))
        XCTAssertTrue(rejection(conv(#""out_channels": 4, "kernel": 3, "padding": -1"#)).contains("\"padding\""))
        XCTAssertTrue(rejection(#"{"input": [1, -8, 8], "classes": 2, "layers": [{"type": "flatten"}]}"#).contains("positive"))
    }

    func testSizesWithinEachBoundButTooManyParametersInTotal() {
        // Each field is allowed; the weights (2^20 x 2^12) are not: 2^32 parameters.
        let wide = """
        {"input": [1, 64, 64], "classes": 2, "layers": [{"type": "flatten"},
         {"type": "linear", "name": "fc1", "out_features": 1048576}, {"type": "linear", "name": "fc2", "out_features": 2}]}
        """
        XCTAssertTrue(rejection(wide).contains("parameters"))
        // A conv with 2^20 filters of 64x64 over 1024 input channels: 2^42 weights.
        let deep = """
        {"input": [1024, 64, 64], "classes": 2, "layers": [{"type": "conv", "name": "c1", "out_channels": 1048576, "kernel": 64},
         {"type": "flatten"}, {"type": "linear", "name": "fc", "out_features": 2}]}
        """
        XCTAssertTrue(rejection(deep).contains("parameters"))
    }

    func testHugeInputAndActivationsAreRejected() {
        XCTAssertTrue(rejection(#"{"input": [1, 1000000000000, 8], "classes": 2, "layers": [{"type": "flatten"}]}"#).contains("too large"))
        // 2^20 x 2^20 single-channel input: each size allowed, 2^40 values per image are not.
        XCTAssertTrue(rejection(#"{"input": [1, 1048576, 1048576], "classes": 2, "layers": [{"type": "flatten"}]}"#).contains("too large"))
        // A conv whose output is 2^20 channels of 32x32 = 2^30 values per image.
        let activations = """
        {"input": [1, 32, 32], "classes": 2, "layers": [{"type": "conv", "name": "c1", "out_channels": 1048576, "kernel": 1},
         {"type": "flatten"}, {"type": "linear", "name": "fc", "out_features": 2}]}
        """
        XCTAssertTrue(rejection(activations).contains("values per image"))
    }

    func testNonFiniteNormalizationIsRejected() throws {
        let spec = ModelSpec(input: [1, 8, 8], classes: 2, normalization: Normalization(mean: [.nan], std: [1]),
                             layers: [.flatten, .linear("fc", 2)])
        XCTAssertThrowsError(try Network(spec: spec, source: "m.json")) { XCTAssertTrue("\($0)".contains("mean"), "\($0)") }
    }

    func testLoadRefusesDirectoriesDevicesAndHugeFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("model-limits-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        XCTAssertThrowsError(try ModelSpec.load(path: directory)) { XCTAssertTrue("\($0)".contains("not a regular file"), "\($0)") }
        // Would read forever without the regular-file check.
        XCTAssertThrowsError(try ModelSpec.load(path: "/dev/zero")) { XCTAssertTrue("\($0)".contains("not a regular file"), "\($0)") }
        // A sparse file one byte over the limit: rejected by its size, never read.
        let big = directory + "/big.json"
        XCTAssertTrue(FileManager.default.createFile(atPath: big, contents: nil))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: big))
        try handle.truncate(atOffset: UInt64(ModelSpec.maxFileBytes + 1))
        try handle.close()
        XCTAssertThrowsError(try ModelSpec.load(path: big)) { XCTAssertTrue("\($0)".contains("limit"), "\($0)") }
        XCTAssertThrowsError(try ModelSpec.load(path: directory + "/missing.json")) { XCTAssertTrue("\($0)".contains("no such file"), "\($0)") }
    }

    func testLargestAllowedFieldsStillBuildWhenTheModelIsSmall() throws {
        // A 2^20-wide input row with a 1-wide kernel stays under every total: the bounds are not too tight.
        let spec = try ModelSpec.decode(json: """
        {"input": [1, 1, 1048576], "classes": 2, "layers": [{"type": "conv", "name": "c1", "out_channels": 2, "kernel": 1, "stride": 1048576},
         {"type": "flatten"}, {"type": "linear", "name": "fc", "out_features": 2}]}
        """)
        XCTAssertNoThrow(try Network(spec: spec))
    }
}

import XCTest
import Datasets
import Runs
import Foundation
import Tensors
import Layers
@testable import Training

enum Fixtures {
    /// Real Fashion-MNIST when Debian's package is installed (make test installs it).
    static func fashionMNIST() throws -> DatasetPair {
        try DatasetLoader.load(.fashionMNIST, directory: nil)
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "deconvscope-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A small conv net for fast tests: conv(4, 3x3) relu pool conv(6, 3x3, stride 2) relu flatten linear.
    static let smallSpec = ModelSpec(input: [1, 28, 28], classes: 10, normalization: ModelPreset.fashionMNISTNormalization, layers: [
        .conv("c1", 4, kernel: 3, stride: 1, padding: 1), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
        .conv("c2", 6, kernel: 3, stride: 2, padding: 1), .relu, .flatten, .dropout(0.25), .linear("fc", 10),
    ])

    static func config(run: String, spec: ModelSpec, epochs: Int, snapshots: [Int], batch: Int = 32) -> RunConfiguration {
        RunConfiguration(run: run, model: "test", architecture: spec, data: "fashion-mnist", dataDir: nil, epochs: epochs,
                         batchSize: batch, learningRate: 0.01, momentum: 0.9, weightDecay: 1e-4, maxFilterRMS: nil, seed: 7,
                         trainLimit: nil, snapshotEpochs: snapshots, probes: 16, top: 3, status: .running, message: nil,
                         created: "t", updated: "t")
    }
}

extension XCTestCase {
    /// Asserts `body` throws a one-line `DatasetError`, equal to `expected` and/or containing every fragment.
    func expectError(_ body: () throws -> Any, equals expected: String? = nil, contains fragments: [String] = [],
                     file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try body()
            XCTFail("expected an error", file: file, line: line)
        } catch let error as DatasetError {
            let text = error.description
            XCTAssertFalse(text.contains("\n"), "not one line: \(text)", file: file, line: line)
            if let expected { XCTAssertEqual(text, expected, file: file, line: line) }
            for fragment in fragments {
                XCTAssertTrue(text.contains(fragment), "'\(text)' lacks '\(fragment)'", file: file, line: line)
            }
        } catch {
            XCTFail("expected a DatasetError, got \(type(of: error)): \(error)", file: file, line: line)
        }
    }
}

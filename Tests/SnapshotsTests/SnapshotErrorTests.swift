import Foundation
import Snapshots
import Tensors
import XCTest

/// Every bad input gives a one-line error that starts with the file's path.
final class SnapshotErrorTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory(self)
    }

    /// Writes a snapshot-like file by hand, so single parts can be left out or changed.
    func writeRaw(_ name: String, format: String? = Snapshot.format, version: Int64? = 1,
                  architecture: String? = "{}", layers: [String: [String]] = ["conv1": ["weight", "bias"]],
                  extra: (HDF5File) throws -> Void = { _ in }) throws -> String {
        let path = directory + "/" + name
        let file = try HDF5File.create(path)
        if let format { try file.setStringAttribute("format", format) }
        if let version { try file.setInt64Attribute("format_version", version) }
        try file.setInt64Attribute("epoch", 1)
        try file.setInt64Attribute("step", 10)
        if let architecture { try file.setStringAttribute("architecture", architecture) }
        try file.createGroup("/weights")
        for (layer, datasets) in layers {
            for dataset in datasets {
                try file.writeFloat32("/weights/\(layer)/\(dataset)", shape: [2], values: [1, 2])
            }
        }
        try extra(file)
        try file.close()
        return path
    }

    func testRawWriterProducesALoadableFile() throws {
        // Guards the tests below: each fails for its own reason, not for a broken helper.
        let snapshot = try Snapshot.read(from: try writeRaw("ok.h5"))
        XCTAssertEqual(snapshot.weights["conv1"]?.bias.data, [1, 2])
    }

    func testMissingFile() {
        let path = directory + "/epoch-0001.h5"
        assertFails(path, containing: "no such file") { _ = try Snapshot.read(from: path) }
    }

    func testEmptyFile() throws {
        let path = directory + "/empty.h5"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
        assertFails(path, containing: "not an HDF5 file") { _ = try Snapshot.read(from: path) }
    }

    func testNonHDF5File() throws {
        let path = directory + "/x.h5"
        try Data("PK\u{3}\u{4} a zip file, maybe a PyTorch .pt".utf8).write(to: URL(fileURLWithPath: path))
        assertFails(path, containing: "not an HDF5 file") { _ = try Snapshot.read(from: path) }
        XCTAssertEqual(catching { _ = try Snapshot.read(from: path) }.map { String(describing: $0) }, "\(path): not an HDF5 file")
    }

    func testTruncatedSnapshot() throws {
        let path = directory + "/epoch-0001.h5"
        try sampleSnapshot().write(to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        assertFails(path, containing: "cannot open file (truncated file") { _ = try Snapshot.read(from: path) }
    }

    func testDirectory() {
        assertFails(directory, containing: "is a directory") { _ = try Snapshot.read(from: directory) }
    }

    func testFutureFormatVersion() throws {
        let path = try writeRaw("future.h5", version: 2)
        assertFails(path, containing: "written by a newer deconvscope (format_version 2, this build reads 1)") {
            _ = try Snapshot.read(from: path)
        }
    }

    func testMissingFormatVersion() throws {
        let path = try writeRaw("noversion.h5", version: nil)
        assertFails(path, containing: "format_version") { _ = try Snapshot.read(from: path) }
    }

    func testWrongFormatString() throws {
        let path = try writeRaw("other.h5", format: "something.else")
        assertFails(path, containing: "not a deconvscope snapshot") { _ = try Snapshot.read(from: path) }
    }

    func testHDF5FileWithoutFormat() throws {
        let path = try writeRaw("plain.h5", format: nil)
        assertFails(path, containing: "not a deconvscope snapshot (no 'format' attribute)") { _ = try Snapshot.read(from: path) }
    }

    func testMissingArchitecture() throws {
        let path = try writeRaw("noarch.h5", architecture: nil)
        assertFails(path, containing: "missing attribute 'architecture'") { _ = try Snapshot.read(from: path) }
    }

    func testMissingBias() throws {
        let path = try writeRaw("nobias.h5", layers: ["conv1": ["weight", "bias"], "fc2": ["weight"]])
        assertFails(path, containing: "layer 'fc2' has no bias") { _ = try Snapshot.read(from: path) }
    }

    func testIntegerWeightsAreRefused() throws {
        let path = try writeRaw("int.h5", layers: ["conv1": ["bias"]]) { file in
            try file.writeInt64("/weights/conv1/weight", shape: [2], values: [1, 2])
        }
        assertFails(path, containing: "dataset /weights/conv1/weight is int64, expected float32") {
            _ = try Snapshot.read(from: path)
        }
    }

    func testFloat64WeightsAreRefused() throws {
        let path = directory + "/double.h5"
        _ = try runH5py("""
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], 'w') as f:
                f.attrs['format'] = 'deconvscope.snapshot'
                f.attrs['format_version'] = 1
                f.attrs['epoch'] = 1
                f.attrs['step'] = 1
                f.attrs['architecture'] = '{}'
                f['weights/conv1/weight'] = np.zeros((2, 1, 3, 3))
                f['weights/conv1/bias'] = np.zeros(2, dtype=np.float32)
            """, [path])
        assertFails(path, containing: "dataset /weights/conv1/weight is float64, expected float32") {
            _ = try Snapshot.read(from: path)
        }
    }

    func testOptimizerWithoutMatchingWeights() throws {
        let path = try writeRaw("orphan.h5") { file in
            try file.writeFloat32("/optimizer/ghost/weight", shape: [2], values: [0, 0])
            try file.writeFloat32("/optimizer/ghost/bias", shape: [2], values: [0, 0])
        }
        assertFails(path, containing: "/optimizer/ghost has no matching /weights/ghost") { _ = try Snapshot.read(from: path) }
    }

    func testPartialTrainerStateIsRefused() throws {
        let path = try writeRaw("halfstate.h5") { file in try file.setInt64Attribute("partial", 1) }
        assertFails(path, containing: "/trainer/rng_state is missing") { _ = try Snapshot.read(from: path) }
    }

    private func catching(_ body: () throws -> Void) -> Error? {
        do { try body() } catch { return error }
        return nil
    }
}

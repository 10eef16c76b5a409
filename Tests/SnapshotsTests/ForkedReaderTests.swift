import Foundation
import XCTest
import Tensors
@testable import Snapshots

/// The fork path of `Snapshot.readGuarded` (taken while the process has no other thread): the
/// same snapshot as an in-process read, a crash of libhdf5 in the child as the one-line error,
/// and nothing of the child's on this process's stdout or stderr. The started-executable path is
/// covered by `CLIDamagedSnapshotTests` (a damaged snapshot after others were processed).
final class ForkedReaderTests: XCTestCase {
    private func regressionFile(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("CLITests/DamagedSnapshots/" + name).path
    }

    func testAForkedReadGivesTheSameSnapshot() throws {
        let path = regressionFile("valid.h5")
        let forked = try Snapshot.readInForkedChild(from: path), direct = try Snapshot.read(from: path)
        XCTAssertEqual(forked.architecture, direct.architecture)
        XCTAssertEqual(forked.epoch, direct.epoch)
        XCTAssertEqual(forked.weights.keys.sorted(), direct.weights.keys.sorted())
        for (name, p) in direct.weights {
            XCTAssertEqual(forked.weights[name]?.weight, p.weight, name)
            XCTAssertEqual(forked.weights[name]?.bias, p.bias, name)
        }
        XCTAssertEqual(forked.optimizer.keys.sorted(), direct.optimizer.keys.sorted())
        // Without the optimizer state: the same weights, no momentum moved.
        let light = try Snapshot.readInForkedChild(from: path, optimizerState: false)
        XCTAssertEqual(light.weights.keys.sorted(), direct.weights.keys.sorted())
        XCTAssertTrue(light.optimizer.isEmpty)
    }

    /// A compressed snapshot answers with more bytes than its file holds: the parent's read, sized
    /// by the file, goes on past it (h5repack, hdf5-tools, writes the gzip copy).
    func testACompressedSnapshotLongerThanItsFileComesBackWhole() throws {
        var snapshot = try Snapshot.read(from: regressionFile("valid.h5"))
        let name = try XCTUnwrap(snapshot.weights.keys.sorted().first)
        // 4 MB of zeros: a few kilobytes compressed.
        snapshot.weights["wide"] = LayerParameters(weight: Tensor(zeros: [1024, 1024]), bias: Tensor(zeros: [1024]))
        let plain = NSTemporaryDirectory() + "forked-plain-\(getpid()).h5", packed = NSTemporaryDirectory() + "forked-gzip-\(getpid()).h5"
        defer { try? FileManager.default.removeItem(atPath: plain); try? FileManager.default.removeItem(atPath: packed) }
        try snapshot.write(to: plain)
        let repack = Process()
        repack.executableURL = URL(fileURLWithPath: "/usr/bin/h5repack")
        repack.arguments = ["-f", "GZIP=9", plain, packed]
        try repack.run(); repack.waitUntilExit()
        XCTAssertEqual(repack.terminationStatus, 0)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: packed)[.size] as? Int)
        XCTAssertLessThan(size, 1 << 20, "the copy is compressed")
        let forked = try Snapshot.readInForkedChild(from: packed)
        XCTAssertEqual(forked.weights["wide"]?.weight, Tensor(zeros: [1024, 1024]))
        XCTAssertEqual(forked.weights[name]?.weight, snapshot.weights[name]?.weight)
    }

    func testALibHDF5CrashInTheForkIsTheOneLineError() throws {
        for name in ["format-heap-index-out-of-range.h5", "format-heap-object-claims-1gib.h5", "architecture-heap-index-out-of-range.h5"] {
            XCTAssertThrowsError(try Snapshot.readInForkedChild(from: regressionFile(name)), name) { error in
                XCTAssertTrue(String(describing: error).contains("damaged HDF5 file"), "\(name): \(error)")
            }
        }
        // A file that is not HDF5 at all: the child answers with the reader's own error.
        let text = NSTemporaryDirectory() + "forked-reader-\(getpid()).h5"
        try Data("not hdf5".utf8).write(to: URL(fileURLWithPath: text))
        defer { try? FileManager.default.removeItem(atPath: text) }
        var inProcess = ""
        do { _ = try Snapshot.read(from: text) } catch { inProcess = String(describing: error) }
        XCTAssertFalse(inProcess.isEmpty)
        XCTAssertThrowsError(try Snapshot.readInForkedChild(from: text)) { XCTAssertEqual(String(describing: $0), inProcess) }
    }
}

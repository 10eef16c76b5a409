import Foundation
import XCTest
import Snapshots

/// Issue 8, point 2: every truncated, corrupt, empty or wrong-type input file reaching the CLI gives
/// exactly one line `error: <file>: <problem>` and exit status 1, never a trap or a stack trace.
final class CLIBadFileTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = CLI.temporaryDirectory()
        addTeardownBlock { [dir] in try? FileManager.default.removeItem(atPath: dir) }
    }

    private func write(_ bytes: [UInt8], _ name: String) -> String {
        let path = dir + "/" + name
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)), path)
        return path
    }

    /// Exit status exactly 1 (a trap would be a signal) and one `error:` line naming `file`.
    private func assertFileError(_ arguments: [String], file path: String, contains text: String,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try CLI.run(arguments, in: dir)
        assertOneLineError(result, contains: text, file: file, line: line)
        XCTAssertEqual(result.status, 1, result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.contains(path), "error does not name \(path): \(result.stderr)", file: file, line: line)
    }

    // MARK: Model JSON

    func testBadModelFiles() throws {
        let huge = write(Array(#"{"input": [1, 28, 28], "classes": 10, "layers": [{"type": "conv", "name": "c", "out_channels": 1000000000, "kernel": 3}, {"type": "flatten"}, {"type": "linear", "name": "fc", "out_features": 10}]}"#.utf8), "huge.json")
        try assertFileError(["train", "--model", huge], file: huge, contains: "\"out_channels\" must be at most")
        let zeroStride = write(Array(#"{"input": [1, 28, 28], "classes": 10, "layers": [{"type": "conv", "name": "c", "out_channels": 4, "kernel": 3, "stride": 0}, {"type": "flatten"}, {"type": "linear", "name": "fc", "out_features": 10}]}"#.utf8), "stride0.json")
        try assertFileError(["train", "--model", zeroStride], file: zeroStride, contains: "\"stride\" must be at least 1")
        let empty = write([], "empty.json")
        try assertFileError(["train", "--model", empty], file: empty, contains: "invalid JSON")
        let binary = write([0x89, 0x50, 0x4E, 0x47, 0xFF, 0xFE, 0x00], "png.json")
        try assertFileError(["train", "--model", binary], file: binary, contains: "png.json")
        let folder = dir + "/folder.json"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try assertFileError(["train", "--model", folder], file: folder, contains: "not a regular file")
        try assertFileError(["train", "--model", "/dev/zero"], file: "/dev/zero", contains: "not a regular file")
    }

    // MARK: CIFAR-10 batches

    /// The six batch files of two valid records each, `override` replacing some files' bytes.
    private func cifarDirectory(_ override: [String: [UInt8]]) -> String {
        let record = [UInt8(3)] + [UInt8](repeating: 128, count: 3072)
        for name in (1...5).map({ "data_batch_\($0).bin" }) + ["test_batch.bin"] {
            _ = write(override[name] ?? record + record, "cifar/" + name)
        }
        return dir + "/cifar"
    }

    func testBadCIFARBatches() throws {
        let record = [UInt8(3)] + [UInt8](repeating: 128, count: 3072)
        let cases: [(String, [UInt8], String)] = [
            ("data_batch_2.bin", [], "empty file"),
            ("data_batch_3.bin", record + record.prefix(100), "not a multiple of 3073"),
            ("test_batch.bin", [UInt8(200)] + record.dropFirst(), "label 200"),
            ("data_batch_1.bin", [0x1F, 0x8B] + record.dropFirst(2), "gzip"),
        ]
        for (name, bytes, text) in cases {
            let data = cifarDirectory([name: bytes])
            try assertFileError(["train", "--data", "cifar10", "--data-dir", data, "--epochs", "1"], file: data + "/" + name, contains: text)
        }
        let meta = write(Array("only\ntwo\n".utf8), "cifar/batches.meta.txt")
        try assertFileError(["train", "--data", "cifar10", "--data-dir", dir + "/cifar", "--epochs", "1"], file: meta, contains: "class names")
    }

    // MARK: Image folder PNGs

    func testBadFolderImages() throws {
        let good = StoredPNG.encode(width: 4, height: 4, rgb: [UInt8](repeating: 90, count: 48))
        // IHDR claiming 100000 x 100000 RGB (30 GB decoded), CRC fixed so libpng accepts the header.
        var huge = good
        huge.replaceSubrange(16..<24, with: StoredPNG.be32(100_000) + StoredPNG.be32(100_000))
        huge.replaceSubrange(29..<33, with: StoredPNG.be32(StoredPNG.crc32(Array(huge[12..<29]))))
        var badCRC = good
        badCRC[40] ^= 0xFF
        let cases: [(String, [UInt8], String)] = [
            ("empty.png", [], "empty file"),
            ("text.png", Array("hello, not an image".utf8), "not a PNG"),
            ("cut.png", Array(good.prefix(good.count / 2)), "PNG"),
            ("huge.png", huge, "image too large"),
            ("crc.png", badCRC, "PNG"),
        ]
        for (name, bytes, text) in cases {
            let root = dir + "/folder-" + name
            for split in ["train", "test"] {
                for cls in ["a", "b"] { _ = write(good, "folder-\(name)/\(split)/\(cls)/0.png") }
            }
            let bad = write(bytes, "folder-\(name)/train/b/1-\(name)")
            try assertFileError(["train", "--data", "folder", "--data-dir", root, "--epochs", "1"], file: bad, contains: text)
        }
    }

    // MARK: IDX

    func testIDXHeaderClaimingATrillionImages() throws {
        // 2^32 - 1 images of 28x28: 3.4 * 10^12 bytes claimed by a 19-byte file.
        let header: [UInt8] = [0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 28, 0, 0, 0, 28]
        let images = write(header + [1, 2, 3], "mnist/train-images-idx3-ubyte")
        for name in ["train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
            _ = write([0, 0, 8, 1, 0, 0, 0, 0], "mnist/" + name)
        }
        try assertFileError(["train", "--data", "mnist", "--data-dir", dir + "/mnist", "--epochs", "1"], file: images, contains: "limit")
    }

    /// `train --resume` and `monitor` on a run whose newest snapshot was cut short (e.g. copied
    /// half-way): one error line naming that snapshot, and the older snapshot is still monitored.
    func testResumeAndMonitorWithATruncatedNewestSnapshot() throws {
        let be32 = { (v: Int) in (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
        for split in ["train", "t10k"] {
            _ = write([0, 0, 8, 3] + be32(16) + be32(28) + be32(28) + (0..<(16 * 784)).map { UInt8(truncatingIfNeeded: $0 * 7) },
                      "mnist/\(split)-images-idx3-ubyte")
            _ = write([0, 0, 8, 1] + be32(16) + (0..<16).map { UInt8($0 % 10) }, "mnist/\(split)-labels-idx1-ubyte")
        }
        let train = try CLI.run(["train", "--data", "mnist", "--data-dir", dir + "/mnist", "--epochs", "1", "--batch-size", "8",
                                 "--run", "cut", "--no-monitor"], in: dir)
        XCTAssertEqual(train.status, 0, train.stderr)
        let newest = dir + "/Checkpoints/cut/epoch-0001.h5"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: newest))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: newest))
        try assertFileError(["train", "--run", "cut", "--resume", "--epochs", "2", "--no-monitor"], file: "Checkpoints/cut/epoch-0001.h5",
                            contains: "truncated")
        // The error names the way back: the older snapshot, and which file to move.
        let resume = try CLI.run(["train", "--run", "cut", "--resume", "--epochs", "2", "--no-monitor"], in: dir)
        assertOneLineError(resume, contains: "; to continue from epoch-0000.h5 (epoch 0) instead, move epoch-0001.h5 out of Checkpoints/cut and resume again")
        let monitor = try CLI.run(["monitor", "Checkpoints/cut", "--probes", "8", "--top", "2"], in: dir)
        assertOneLineError(monitor, contains: "Checkpoints/cut/epoch-0001.h5")
        XCTAssertTrue(monitor.stdout.contains("epoch 0 processed"), "the intact snapshot is still processed: \(monitor.stdout)")
        // Following the error's advice works.
        try FileManager.default.moveItem(atPath: newest, toPath: dir + "/epoch-0001.h5.damaged")
        let resumed = try CLI.run(["train", "--run", "cut", "--resume", "--epochs", "2", "--no-monitor"], in: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resuming at epoch 0 of 2"), resumed.stdout)
        XCTAssertEqual(try SnapshotFiles.list(in: dir + "/Checkpoints/cut").map(\.epoch), [0, 1, 2])
    }

    // MARK: Snapshots (written with h5py, independent of our writer)

    /// A snapshot of a tiny model (1x6x6 -> conv c1 2x1x3x3 -> flatten -> fc 2x72), spoiled by `mode`.
    private func h5pySnapshot(_ mode: String, _ name: String) throws -> String {
        let path = dir + "/" + name
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let script = """
        import sys, json, h5py, numpy as np
        mode, path = sys.argv[1], sys.argv[2]
        arch = {"input": [1, 6, 6], "classes": 2, "layers": [
            {"type": "conv", "name": "c1", "out_channels": 2, "kernel": 3, "stride": 1, "padding": 1},
            {"type": "flatten"}, {"type": "linear", "name": "fc", "out_features": 2}]}
        if mode == "absurd-architecture": arch["layers"][0]["out_channels"] = 10**9
        shapes = {"c1": ((2, 1, 3, 3), (2,)), "fc": ((2, 72), (2,))}
        if mode == "wrong-shape": shapes["c1"] = ((2, 1, 5, 5), (2,))
        if mode == "scalar": shapes["fc"] = ((2, 72), ())
        with h5py.File(path, "w") as f:
            f.attrs["format"] = "deconvscope.snapshot"
            f.attrs["format_version"] = 99 if mode == "future" else 1
            f.attrs["epoch"] = 1
            f.attrs["step"] = 5
            f.attrs["architecture"] = json.dumps(arch)
            for layer, (w, b) in shapes.items():
                if mode == "huge" and layer == "fc":
                    f.create_dataset("weights/fc/weight", shape=(1 << 16, 1 << 15), dtype="f4")  # 8 GiB claimed, never written
                else:
                    f["weights/%s/weight" % layer] = np.zeros(w, dtype=np.float32)
                f["weights/%s/bias" % layer] = np.zeros(b, dtype=np.float32)
        if mode == "truncated":
            data = open(path, "rb").read()
            open(path, "wb").write(data[: len(data) // 2])
        """
        let probePython = try runProcess(["python3", "-c", "import h5py, numpy"])
        if probePython != 0 { throw XCTSkip("h5py is not importable by python3 (make test installs it)") }
        XCTAssertEqual(try runProcess(["python3", "-c", script, mode, path]), 0, "h5py script failed for \(mode)")
        return path
    }

    private func runProcess(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    func testBadSnapshotsThroughInspect() throws {
        let cases: [(String, String)] = [
            ("valid", ""),
            ("wrong-shape", "/weights/c1/weight has shape [2, 1, 5, 5], the architecture needs [2, 1, 3, 3]"),
            ("scalar", "/weights/fc/bias has shape []"),
            ("huge", "more than the"),
            ("future", "newer deconvscope"),
            ("truncated", "epoch-0001.h5"),
            ("absurd-architecture", "\"out_channels\" must be at most"),
        ]
        for (mode, text) in cases {
            let path = try h5pySnapshot(mode, "\(mode)/epoch-0001.h5")
            if mode == "valid" {
                let ok = try CLI.run(["inspect", path])
                XCTAssertEqual(ok.status, 0, "the unspoiled h5py snapshot must load, else the cases below prove nothing: \(ok.stderr)")
                continue
            }
            try assertFileError(["inspect", path], file: path, contains: text)
        }
        let empty = write([], "empty/epoch-0001.h5")
        try assertFileError(["inspect", empty], file: empty, contains: "not an HDF5 file")
        let json = write(Array("{}".utf8), "json/epoch-0001.h5")
        try assertFileError(["inspect", json], file: json, contains: "not an HDF5 file")
    }

    func testMonitorOnARunWithACorruptSnapshot() throws {
        let path = try h5pySnapshot("truncated", "run/epoch-0001.h5")
        try assertFileError(["monitor", dir + "/run", "--reports", dir + "/reports"], file: path, contains: "epoch-0001.h5")
        let wrong = try h5pySnapshot("wrong-shape", "run2/epoch-0001.h5")
        try assertFileError(["monitor", dir + "/run2", "--reports", dir + "/reports"], file: wrong, contains: "has shape")
    }
}

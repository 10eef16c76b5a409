import XCTest
import Foundation
import Snapshots

/// ONNX networks in a run folder (issue 22): `export` writes one, `inspect` and `monitor` read it,
/// and the monitor's top-k and projections of the imported network equal those of the same
/// weights read from the HDF5 snapshot, bit for bit.
final class CLIONNXTests: XCTestCase {
    private func train(_ dir: String) throws {
        let r = try CLI.run(["train", "--epochs", "1", "--train-limit", "512", "--batch-size", "64", "--snapshot-epochs", "0,1",
                             "--no-monitor", "--run", "r", "--checkpoints", "\(dir)/Checkpoints", "--reports", "\(dir)/Reports"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    private func monitor(_ dir: String, _ run: String, _ extra: [String] = []) throws -> CLI.Result {
        try CLI.run(["monitor", "\(dir)/Checkpoints/\(run)", "--probes", "24", "--reports", "\(dir)/Reports"] + extra, in: dir)
    }

    private func analysis(_ path: String) throws -> [String: [Float]] {
        let file = try HDF5File.open(path)
        defer { try? file.close() }
        var result: [String: [Float]] = [:]
        for layer in ["conv1", "conv2"] {
            result["\(layer)/top_images"] = try file.readInt64("/\(layer)/top_images").values.map(Float.init)
            result["\(layer)/top_positions"] = try file.readInt64("/\(layer)/top_positions").values.map(Float.init)
            result["\(layer)/top_activations"] = try file.readFloat32("/\(layer)/top_activations").values
            result["\(layer)/projections"] = try file.readFloat32("/\(layer)/projections").values
        }
        return result
    }

    func testExportedNetworkMonitorsLikeItsSnapshot() throws {
        let dir = CLI.temporaryDirectory()
        try train(dir)
        let onnx = "\(dir)/Checkpoints/x/epoch-0001.onnx"
        try FileManager.default.createDirectory(atPath: "\(dir)/Checkpoints/x", withIntermediateDirectories: true)
        let export = try CLI.run(["export", "\(dir)/Checkpoints/r/epoch-0001.h5", onnx])
        XCTAssertEqual(export.status, 0, export.stderr)
        try FileManager.default.copyItem(atPath: "\(dir)/Checkpoints/r/run.json", toPath: "\(dir)/Checkpoints/x/run.json")

        let inspect = try CLI.run(["inspect", onnx])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("format        ONNX"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("/weights/conv2/weight"), inspect.stdout)

        XCTAssertEqual(try monitor(dir, "r").status, 0)
        let m = try monitor(dir, "x")
        XCTAssertEqual(m.status, 0, m.stderr)
        let (h5, imported) = (try analysis("\(dir)/Reports/r/data/epoch-0001.h5"), try analysis("\(dir)/Reports/x/data/epoch-0001.h5"))
        XCTAssertFalse(h5.isEmpty)
        for (key, values) in h5 { XCTAssertEqual(imported[key], values, "\(key) differs between the .h5 and the .onnx of the same weights") }
    }

    /// Mixed folder: an epoch with both files takes the newer; a damaged .onnx is one error line, the rest still processed.
    func testMixedFolderAndDamagedONNX() throws {
        let dir = CLI.temporaryDirectory()
        try train(dir)
        let run = "\(dir)/Checkpoints/r"
        XCTAssertEqual(try CLI.run(["export", "\(run)/epoch-0001.h5", "\(run)/epoch-0001.onnx"]).status, 0)
        // Newer .onnx for epoch 1 beside the .h5: the monitor reads the .onnx (same weights, so the same result).
        let m = try monitor(dir, "r")
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.stdout.contains("2 snapshots"), m.stdout)
        // A cut-short .onnx (as a crashed exporter would leave without the rename) for epoch 2.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(run)/epoch-0001.onnx"))
        try bytes.prefix(bytes.count / 3).write(to: URL(fileURLWithPath: "\(run)/epoch-0002.onnx"))
        let bad = try monitor(dir, "r")
        XCTAssertEqual(bad.status, 1)
        let errors = bad.stderr.split(separator: "\n")
        XCTAssertEqual(errors.count, 1, bad.stderr)
        XCTAssertTrue(errors.first?.hasPrefix("error: ") == true && errors.first!.contains("epoch-0002.onnx"), bad.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/Reports/r/index.html"))
        // inspect and export give one line too.
        assertOneLineError(try CLI.run(["inspect", "\(run)/epoch-0002.onnx"]), contains: "epoch-0002.onnx")
        assertOneLineError(try CLI.run(["export", "\(run)/epoch-0001.h5", "\(dir)/out.txt"]), contains: ".onnx")
    }

    /// An ONNX file without the normalization metadata: --mean/--std gives the snapshot's own
    /// results; without them the train split is measured and the monitor says so.
    func testNormalizationFromOptionsOrMeasured() throws {
        let dir = CLI.temporaryDirectory()
        try train(dir)
        guard (try? CLI.runProgram("/usr/bin/env", ["python3", "-c", "import onnx"]).status) == 0 else {
            throw XCTSkip("the onnx Python package is not installed (make test installs it)")
        }
        try FileManager.default.createDirectory(atPath: "\(dir)/Checkpoints/y", withIntermediateDirectories: true)
        XCTAssertEqual(try CLI.run(["export", "\(dir)/Checkpoints/r/epoch-0001.h5", "\(dir)/full.onnx"]).status, 0)
        let strip = try CLI.runProgram("/usr/bin/env", ["python3", "-c",
            "import onnx, sys; m = onnx.load(sys.argv[1]); del m.metadata_props[:]; onnx.save(m, sys.argv[2])",
            "\(dir)/full.onnx", "\(dir)/Checkpoints/y/epoch-0001.onnx"])
        XCTAssertEqual(strip.status, 0, strip.stderr)
        try FileManager.default.copyItem(atPath: "\(dir)/Checkpoints/r/run.json", toPath: "\(dir)/Checkpoints/y/run.json")

        let inspect = try CLI.run(["inspect", "\(dir)/Checkpoints/y/epoch-0001.onnx"])
        XCTAssertTrue(inspect.stdout.contains("normalization none in the file"), inspect.stdout)

        XCTAssertEqual(try monitor(dir, "r").status, 0)
        let given = try monitor(dir, "y", ["--mean", "0.2860406", "--std", "0.3530242"])
        XCTAssertEqual(given.status, 0, given.stderr)
        XCTAssertTrue(given.stdout.contains("normalization from --mean/--std"), given.stdout)
        let (h5, stripped) = (try analysis("\(dir)/Reports/r/data/epoch-0001.h5"), try analysis("\(dir)/Reports/y/data/epoch-0001.h5"))
        for (key, values) in h5 { XCTAssertEqual(stripped[key], values, key) }

        let measured = try monitor(dir, "y", ["--force"])
        XCTAssertEqual(measured.status, 0, measured.stderr)
        XCTAssertTrue(measured.stdout.contains("normalization measured on the train split"), measured.stdout)
        assertOneLineError(try monitor(dir, "y", ["--mean", "0.5"]), contains: "--mean and --std go together")
        assertOneLineError(try monitor(dir, "y", ["--mean", "0.5,0.5", "--std", "0.2,0.2", "--force"]), contains: "one value per input channel")
    }
}

extension CLIONNXTests {
    /// `--watch` on a folder a training script elsewhere writes ONNX files into (no run.json): it
    /// processes each new file as it is renamed into place, and keeps following until Ctrl-C.
    func testWatchFollowsAFolderOfONNXFiles() throws {
        let dir = CLI.temporaryDirectory()
        try train(dir)
        let folder = "\(dir)/Checkpoints/external"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        XCTAssertEqual(try CLI.run(["export", "\(dir)/Checkpoints/r/epoch-0000.h5", "\(folder)/epoch-0000.onnx"]).status, 0)
        let watcher = try RunningCLI(["monitor", folder, "--watch", "--poll-interval", "0.1", "--probes", "24",
                                      "--reports", "\(dir)/Reports", "--data", "fashion-mnist"], in: dir)
        XCTAssertTrue(watcher.waitFor("watching"), watcher.stdout + watcher.stderr)
        // The script's habit: write to a temporary name, then rename.
        XCTAssertEqual(try CLI.run(["export", "\(dir)/Checkpoints/r/epoch-0001.h5", "\(dir)/tmp-epoch-1.onnx"]).status, 0)
        try FileManager.default.moveItem(atPath: "\(dir)/tmp-epoch-1.onnx", toPath: "\(folder)/epoch-0001.onnx")
        XCTAssertTrue(watcher.waitFor("epoch 1 processed"), watcher.stdout + watcher.stderr)
        XCTAssertTrue(watcher.process.isRunning, "without run.json the watcher keeps following: \(watcher.stdout)")
        kill(watcher.process.processIdentifier, SIGINT)
        XCTAssertEqual(watcher.finish(timeout: 120), 0, watcher.stderr)
        let findings = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/Reports/external/findings.json"))) as! [String: Any]
        XCTAssertEqual((findings["epochs"] as! [[String: Any]]).compactMap { $0["epoch"] as? Int }, [0, 1])
    }
}

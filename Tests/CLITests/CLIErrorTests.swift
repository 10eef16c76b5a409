import XCTest

final class CLIErrorTests: XCTestCase {
    func testHelpTeachesEachCommand() throws {
        let root = try CLI.run(["--help"])
        XCTAssertEqual(root.status, 0)
        for sub in ["train", "monitor", "inspect"] { XCTAssertTrue(root.stdout.contains(sub)) }
        let monitor = try CLI.run(["monitor", "--help"])
        XCTAssertEqual(monitor.status, 0)
        for phrase in ["deconvnet", "switches", "transposed", "--probes", "--force"] {
            XCTAssertTrue(monitor.stdout.contains(phrase), "monitor --help lacks \(phrase)")
        }
        let train = try CLI.run(["train", "--help"])
        for option in ["--model", "--snapshot-epochs", "--resume", "--max-filter-rms", "--no-monitor", "--train-limit"] {
            XCTAssertTrue(train.stdout.contains(option), "train --help lacks \(option)")
        }
    }

    func testBadInputGivesOneLineErrors() throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        assertOneLineError(try CLI.run(["train", "--epochs", "0"]), contains: "--epochs")
        assertOneLineError(try CLI.run(["train", "--run", "../escape"]), contains: "invalid run name")
        assertOneLineError(try CLI.run(["train", "--snapshot-epochs", "1,x"]), contains: "--snapshot-epochs")
        assertOneLineError(try CLI.run(["train", "--data", "imagenet"]), contains: "unknown data set")
        assertOneLineError(try CLI.run(["train", "--model", "resnet"]), contains: "unknown model")
        assertOneLineError(try CLI.run(["train", "--bogus-option"]), contains: "--bogus-option")
        assertOneLineError(try CLI.run(["train", "--data-dir", dir + "/missing", "--epochs", "1"]), contains: "missing")
        assertOneLineError(try CLI.run(["monitor", dir + "/nope"]), contains: "no such run directory")
        assertOneLineError(try CLI.run(["monitor", dir]), contains: "no snapshots")
        assertOneLineError(try CLI.run(["inspect", dir + "/absent.h5"]), contains: "absent.h5")

        let notHDF5 = dir + "/epoch-0001.h5"
        try Data("definitely not hdf5".utf8).write(to: URL(fileURLWithPath: notHDF5))
        assertOneLineError(try CLI.run(["inspect", notHDF5]), contains: "not an HDF5 file")

        let badModel = dir + "/bad.json"
        try Data(#"{"input": [1, 28, 28], "classes": 10, "layers": [{"type": "conv", "name": "c", "out_channels": 4, "kernel": 3}, {"type": "linear", "name": "fc", "out_features": 10}]}"#.utf8)
            .write(to: URL(fileURLWithPath: badModel))
        assertOneLineError(try CLI.run(["train", "--model", badModel]), contains: "add {\"type\": \"flatten\"}")
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: badModel))
        assertOneLineError(try CLI.run(["train", "--model", badModel]), contains: "bad.json")
    }
}

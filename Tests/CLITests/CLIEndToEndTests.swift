import XCTest

/// The real binary on real Fashion-MNIST (Debian's package, installed by `make test`).
final class CLIEndToEndTests: XCTestCase {
    func testTrainMonitorInspectOnASmallRun() throws {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
            throw XCTSkip("dataset-fashion-mnist is not installed (make test installs it)")
        }
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let train = try CLI.run(["train", "--epochs", "2", "--train-limit", "512", "--batch-size", "64", "--snapshot-epochs", "0,1,2",
                                 "--run", "e2e", "--probes", "32", "--top", "4"], in: dir)
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stdout.contains("epoch 2/2"), train.stdout)
        XCTAssertTrue(train.stdout.contains("conv1:") && train.stdout.contains("dead"), "per-epoch summary names the flags: \(train.stdout)")
        let fm = FileManager.default
        for f in ["epoch-0000.h5", "epoch-0001.h5", "epoch-0002.h5", "run.json", "metrics.jsonl"] {
            XCTAssertTrue(fm.fileExists(atPath: "\(dir)/Checkpoints/e2e/\(f)"), f)
        }
        for f in ["index.html", "findings.json", "data/epoch-0000.h5", "data/epoch-0001.h5", "data/epoch-0002.h5", "data/probes.h5"] {
            XCTAssertTrue(fm.fileExists(atPath: "\(dir)/Reports/e2e/\(f)"), f)
        }
        let findings = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/Reports/e2e/findings.json"))) as! [String: Any]
        XCTAssertEqual(findings["run"] as? String, "e2e")
        XCTAssertEqual(findings["status"] as? String, "finished", "the report is refreshed after training ends")
        XCTAssertEqual(findings["probes"] as? Int, 32)
        XCTAssertEqual(findings["top"] as? Int, 4)
        let epochs = findings["epochs"] as! [[String: Any]]
        XCTAssertEqual(epochs.map { $0["epoch"] as? Int }, [0, 1, 2])
        let layers = epochs[2]["layers"] as! [[String: Any]]
        XCTAssertEqual(layers.map { $0["name"] as? String }, ["conv1", "conv2"])
        XCTAssertNotNil(layers[0]["dead_filters"] as? [Int])
        XCTAssertNotNil(layers[0]["aliased_filters"] as? [Int])
        XCTAssertNotNil(epochs[2]["test_accuracy"] as? Double)

        let inspect = try CLI.run(["inspect", "Checkpoints/e2e/epoch-0002.h5"], in: dir)
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        for text in ["epoch         2", "/weights/conv1/weight", "(32, 1, 5, 5)", "/optimizer/fc4/bias", "test acc"] {
            XCTAssertTrue(inspect.stdout.contains(text), "inspect lacks \(text):\n\(inspect.stdout)")
        }

        let again = try CLI.run(["monitor", "Checkpoints/e2e", "--probes", "32", "--top", "4"], in: dir)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("0 to process"), again.stdout)

        // --fail-on: exit status 3 after writing everything. A tau above any dormancy score makes
        // every live filter dormant, so the outcome does not depend on what training produced.
        let fail = try CLI.run(["monitor", "Checkpoints/e2e", "--probes", "32", "--top", "4", "--fail-on", "dormant,dead",
                                "--dormant-tau", "1000"], in: dir)
        XCTAssertEqual(fail.status, 3, fail.stderr)
        XCTAssertTrue(fail.stderr.hasPrefix("error: epoch 2: ") && fail.stderr.contains("conv1#0"), fail.stderr)
        XCTAssertTrue(fail.stdout.contains("report: "), "the report is written before failing")
        assertOneLineError(try CLI.run(["monitor", "Checkpoints/e2e", "--fail-on", "sleepy"], in: dir), contains: "unknown flag")
        // --fail-on takes diagnosis codes too. A frozen-change threshold above sqrt(2) (orthogonal
        // patterns) calls every layer frozen, whatever training produced.
        XCTAssertNotNil(findings["diagnoses"] as? [[String: Any]], "findings.json carries diagnoses")
        let frozen = try CLI.run(["monitor", "Checkpoints/e2e", "--probes", "32", "--top", "4", "--fail-on", "frozen_features",
                                  "--frozen-change", "2"], in: dir)
        XCTAssertEqual(frozen.status, 3, frozen.stderr)
        XCTAssertTrue(frozen.stderr.hasPrefix("error: epoch 2: problem frozen_features in conv"), frozen.stderr)
        XCTAssertTrue(frozen.stdout.contains("problem: frozen_features (conv1)"), "the diagnoses are printed: \(frozen.stdout)")
        let calm = try CLI.run(["monitor", "Checkpoints/e2e", "--probes", "32", "--top", "4", "--fail-on", "shortcut,diverged",
                                "--shortcut-share", "1"], in: dir)
        XCTAssertEqual(calm.status, 0, calm.stderr)

        // --resume keeps the stored configuration: changing a hyperparameter is refused, and the
        // continued run uses batch size 64 and 512 images from run.json (8 steps per epoch).
        assertOneLineError(try CLI.run(["train", "--run", "e2e", "--resume", "--learning-rate", "0.1"], in: dir), contains: "cannot change when resuming")
        let resumed = try CLI.run(["train", "--run", "e2e", "--resume", "--epochs", "3", "--snapshot-epochs", "0,1,2,3", "--no-monitor"], in: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resuming at epoch 2"), resumed.stdout)
        XCTAssertTrue(resumed.stdout.contains("512 training images"), resumed.stdout)
        let last = try String(contentsOfFile: "\(dir)/Checkpoints/e2e/metrics.jsonl", encoding: .utf8).split(separator: "\n").last!
        XCTAssertTrue(last.contains("\"step\":24"), "3 epochs x 8 steps: \(last)")
        XCTAssertTrue(fm.fileExists(atPath: "\(dir)/Checkpoints/e2e/epoch-0003.h5"))
    }
}

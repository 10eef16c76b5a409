import Foundation
import Snapshots
import XCTest

/// `--resume` the way people resume: the first run's command again, with `--resume` added.
final class CLIResumeTests: XCTestCase {
    /// Every option a run stores, spelled out as a user would type it (the default preset, built
    /// for the 3x12x12 shapes of `CLIColourFolderTests`).
    static func firstRun(_ run: String) -> [String] {
        ["train", "--model", "zf-fmnist", "--data", "folder", "--data-dir", "shapes", "--epochs", "2", "--batch-size", "8",
         "--learning-rate", "0.01", "--momentum", "0.9", "--weight-decay", "0.0005", "--max-filter-rms", "0.5",
         "--first-conv-init-std", "0.01", "--seed", "4", "--train-limit", "40", "--snapshot-epochs", "0,1,2",
         "--run", run, "--no-monitor"]
    }

    /// A run folder copied under another name and resumed under that name continues in the copy:
    /// the original keeps its snapshots, metrics and run.json byte for byte.
    func testResumingACopiedRunFolderContinuesTheCopyAndLeavesTheOriginal() throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLIColourFolderTests.writeDataSet(at: dir + "/shapes")
        let original = dir + "/Checkpoints/r1", copy = dir + "/Checkpoints/r2"
        var first = Self.firstRun("r1")
        first[first.firstIndex(of: "--epochs")! + 1] = "1"
        XCTAssertEqual(try CLI.run(first, in: dir).status, 0)
        try FileManager.default.copyItem(atPath: original, toPath: copy)
        func contents(_ folder: String) throws -> [String: Data] {
            Dictionary(uniqueKeysWithValues: try FileManager.default.contentsOfDirectory(atPath: folder).map {
                ($0, try Data(contentsOf: URL(fileURLWithPath: folder + "/" + $0)))
            })
        }
        let before = try contents(original)

        let resumed = try CLI.run(Self.firstRun("r2") + ["--resume"], in: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("names the run r1"), resumed.stdout)
        XCTAssertEqual(try SnapshotFiles.list(in: copy).map(\.epoch), [0, 1, 2])
        XCTAssertEqual(try contents(original), before, "the original run folder was written to")
        let config = try String(contentsOfFile: copy + "/run.json", encoding: .utf8)
        XCTAssertTrue(config.contains("\"run\" : \"r2\""), config)
    }

    func testTheSameCommandPlusResumeContinuesAndAChangedValueIsRefusedWithBothValues() throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLIColourFolderTests.writeDataSet(at: dir + "/shapes")
        func runDir(_ run: String) -> String { dir + "/Checkpoints/" + run }

        let reference = try CLI.run(Self.firstRun("ref"), in: dir)
        XCTAssertEqual(reference.status, 0, reference.stderr)
        XCTAssertNotEqual(try Snapshot.read(from: runDir("ref") + "/epoch-0001.h5").weights,
                          try Snapshot.read(from: runDir("ref") + "/epoch-0002.h5").weights,
                          "epoch 2 changes the weights, so equal final weights mean something")

        // Killed while writing epoch 2's snapshot (a deterministic point: the test hook pauses there).
        let killed = try RunningCLI(Self.firstRun("r"), in: dir, environment: [CLICrashTests.pauseHook: "2"])
        XCTAssertTrue(killed.waitFor("test hook: paused before renaming"), killed.stdout + killed.stderr)
        killed.killHard()
        XCTAssertEqual(try SnapshotFiles.list(in: runDir("r")).map(\.epoch), [0, 1])

        // The same command plus --resume continues, and ends where the uninterrupted run ended.
        let resumed = try CLI.run(Self.firstRun("r") + ["--resume"], in: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resuming at epoch 1 of 2"), resumed.stdout)
        try SnapshotChecks.assertBitIdentical(runDir("ref") + "/epoch-0002.h5", runDir("r") + "/epoch-0002.h5")

        // A changed value is refused, naming the option, the stored value and the new one; nothing
        // is trained or rewritten.
        let before = try Data(contentsOf: URL(fileURLWithPath: runDir("r") + "/run.json"))
        var changed = Self.firstRun("r") + ["--resume"]
        changed[changed.firstIndex(of: "--learning-rate")! + 1] = "0.02"
        let refused = try CLI.run(changed, in: dir)
        assertOneLineError(refused, contains: "--learning-rate cannot change when resuming: the run was started with 0.01, this command gives 0.02")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: runDir("r") + "/run.json")), before)
        assertOneLineError(try CLI.run(["train", "--run", "r", "--resume", "--train-limit", "30", "--no-monitor"], in: dir),
                           contains: "--train-limit cannot change when resuming: the run was started with 40, this command gives 30")
        assertOneLineError(try CLI.run(["train", "--run", "r", "--resume", "--model", "alexnet-fmnist", "--no-monitor"], in: dir),
                           contains: "--model cannot change when resuming: the run was started with zf-fmnist, this command gives alexnet-fmnist")
        assertOneLineError(try CLI.run(["train", "--run", "r", "--resume", "--first-conv-init-std", "0.02", "--no-monitor"], in: dir),
                           contains: "--first-conv-init-std cannot change when resuming: the run was started with 0.01, this command gives 0.02")

        // Equal values are compared by meaning: other spellings of the numbers and of the data
        // folder, a limit above the split's size where none was given, and the model as a JSON file
        // equal to the stored architecture (without normalization: the stored one was measured).
        let stored = try JSONSerialization.jsonObject(with: before) as! [String: Any]
        var architecture = stored["architecture"] as! [String: Any]
        architecture["normalization"] = nil
        try JSONSerialization.data(withJSONObject: architecture).write(to: URL(fileURLWithPath: dir + "/same.json"))
        let respelled = ["train", "--run", "r", "--resume", "--no-monitor", "--model", "same.json", "--data-dir", dir + "/./shapes/",
                         "--learning-rate", "0.010", "--momentum", ".90", "--weight-decay", "5e-4", "--seed", "04", "--train-limit", "40"]
        let again = try CLI.run(respelled, in: dir)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("resuming at epoch 2 of 2"), again.stdout)

        // --epochs extends the run; --resume --run NAME alone still works.
        let longer = try CLI.run(Self.firstRun("r") + ["--resume", "--epochs", "3"], in: dir)
        XCTAssertEqual(longer.status, 0, longer.stderr)
        XCTAssertTrue(longer.stdout.contains("resuming at epoch 2 of 3"), longer.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: runDir("r") + "/epoch-0003.h5"))
        let alone = try CLI.run(["train", "--resume", "--run", "r", "--no-monitor"], in: dir)
        XCTAssertEqual(alone.status, 0, alone.stderr)
        XCTAssertTrue(alone.stdout.contains("resuming at epoch 3 of 3"), alone.stdout)

        // A run started without --train-limit accepts a limit that keeps every training image.
        let whole = try CLI.run(["train", "--data", "folder", "--data-dir", "shapes", "--epochs", "1", "--batch-size", "16",
                                 "--snapshot-epochs", "1", "--run", "whole", "--no-monitor"], in: dir)
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let limited = try CLI.run(["train", "--run", "whole", "--resume", "--train-limit", "45", "--no-monitor"], in: dir)
        XCTAssertEqual(limited.status, 0, limited.stderr)
        assertOneLineError(try CLI.run(["train", "--run", "whole", "--resume", "--train-limit", "44", "--no-monitor"], in: dir),
                           contains: "the run was started without --train-limit (all 45 training images), this command gives 44")
    }
}

import Foundation
import Snapshots
import XCTest

/// `kill -9` of `train` at several points: mid-epoch (between sparse snapshots), and during snapshot
/// writes (of a new run and of a resumed one). After each kill every snapshot on disk loads, at most
/// the epoch in progress is lost, and `--resume` ends with the weights of an uninterrupted run, bit
/// for bit.
final class CLICrashTests: XCTestCase {
    /// A 20x20 RGB image-folder data set: 1500 training images (94 steps per epoch at batch 16,
    /// 0.3-0.7 s in a debug build, so a kill sent when epoch 2's first progress line appears lands
    /// well inside that epoch) and only 30 test images, so the per-epoch evaluation and the data
    /// loading of the six processes stay cheap.
    static let model = """
    {"input": [3, 20, 20], "classes": 3,
     "layers": [
      {"type": "conv", "name": "conv1", "out_channels": 6, "kernel": 5, "stride": 1, "padding": 2},
      {"type": "relu"},
      {"type": "maxpool", "kernel": 2, "stride": 2, "padding": 0},
      {"type": "flatten"},
      {"type": "linear", "name": "fc2", "out_features": 3}]}
    """

    /// Class c has a bright band in channel c at an offset that varies with the image index; every
    /// 7th training image carries another class's band, so the loss never reaches zero and the
    /// weights keep changing in every step (a resume that skipped or repeated steps would show).
    static func writeDataSet(at root: String) throws {
        for (split, count) in [("train", 500), ("test", 10)] {
            for label in 0..<3 {
                let dir = "\(root)/\(split)/class\(label)"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for i in 0..<count {
                    var rgb = [UInt8](repeating: UInt8(i % 40), count: 20 * 20 * 3)
                    let channel = split == "train" && i % 7 == 0 ? (label + 1) % 3 : label
                    for y in 0..<20 { for x in 0..<20 where (x + y + i) % 7 < 2 { rgb[(y * 20 + x) * 3 + channel] = 200 } }
                    try Data(StoredPNG.encode(width: 20, height: 20, rgb: rgb)).write(to: URL(fileURLWithPath: String(format: "%@/%04d.png", dir, i)))
                }
            }
        }
    }

    static let pauseHook = "DECONVSCOPE_TEST_PAUSE_BEFORE_SNAPSHOT_RENAME"

    static func trainArguments(run: String, snapshots: String = "0,1,2,3") -> [String] {
        ["train", "--model", "tiny.json", "--data", "folder", "--data-dir", "data", "--batch-size", "16", "--epochs", "3",
         "--snapshot-epochs", snapshots, "--seed", "11", "--run", run, "--no-monitor"]
    }

    static func resumeArguments(run: String) -> [String] { ["train", "--resume", "--run", run, "--no-monitor"] }

    func testKillAtSeveralPointsKeepsSnapshotsAndResumeEqualsAnUninterruptedRun() throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writeDataSet(at: dir + "/data")
        try Self.model.write(toFile: dir + "/tiny.json", atomically: true, encoding: .utf8)
        func runDir(_ run: String) -> String { dir + "/Checkpoints/" + run }
        func epochs(_ run: String) throws -> [Int] { try SnapshotFiles.list(in: runDir(run)).map(\.epoch) }
        func metricEpochs(_ run: String) throws -> [Int] {
            try String(contentsOfFile: runDir(run) + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
                try XCTUnwrap((try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["epoch"] as? Int)
            }
        }
        func temporaries(_ run: String) throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: runDir(run)).filter { $0.contains(".tmp-") }.sorted()
        }
        func assertKilled(_ p: RunningCLI, line: UInt = #line) {
            XCTAssertEqual(p.process.terminationReason, .uncaughtSignal, line: line)
            XCTAssertEqual(p.process.terminationStatus, SIGKILL, line: line)
        }

        // The reference: the same run, never interrupted.
        let reference = try CLI.run(Self.trainArguments(run: "ref"), in: dir)
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let final = runDir("ref") + "/epoch-0003.h5"
        XCTAssertNotEqual(try Snapshot.read(from: runDir("ref") + "/epoch-0002.h5").weights, try Snapshot.read(from: final).weights,
                          "the last epoch still changes the weights, so equal final weights mean something")

        // 1. Mid-epoch, with snapshots only at 0 (and the last epoch): killed as soon as epoch 2
        // reports progress. Epoch 1 was not snapshotted, yet only epoch 2 is lost: the resume point.
        let mid = try RunningCLI(Self.trainArguments(run: "mid", snapshots: "0"), in: dir)
        XCTAssertTrue(mid.waitFor("epoch 2/3 "), mid.stdout + mid.stderr)
        mid.killHard()
        assertKilled(mid)
        XCTAssertEqual(try epochs("mid"), [0])
        XCTAssertEqual(try Snapshot.read(from: runDir("mid") + "/resume-point.h5").epoch, 1, "killed inside epoch 2: only that epoch is lost")
        XCTAssertEqual(try metricEpochs("mid"), [0, 1])
        try SnapshotChecks.assertAllLoad(in: runDir("mid"))
        let midResumed = try CLI.run(Self.resumeArguments(run: "mid"), in: dir)
        XCTAssertEqual(midResumed.status, 0, midResumed.stderr)
        XCTAssertTrue(midResumed.stdout.contains("resuming at epoch 1 of 3"), midResumed.stdout)
        try SnapshotChecks.assertBitIdentical(final, runDir("mid") + "/epoch-0003.h5")
        XCTAssertEqual(try metricEpochs("mid"), [0, 1, 2, 3])
        XCTAssertEqual(try epochs("mid"), [0, 3])
        XCTAssertFalse(FileManager.default.fileExists(atPath: runDir("mid") + "/resume-point.h5"), "removed once the final snapshot exists")

        // 2. During the write of snapshot 2: the temporary file is complete, the rename not done.
        let write = try RunningCLI(Self.trainArguments(run: "write"), in: dir, environment: [Self.pauseHook: "2"])
        XCTAssertTrue(write.waitFor("test hook: paused before renaming"), write.stdout + write.stderr)
        let firstWriter = write.process.processIdentifier
        write.killHard()
        assertKilled(write)
        XCTAssertEqual(try epochs("write"), [0, 1], "the half-done snapshot never appears under its name")
        XCTAssertEqual(try temporaries("write"), [".epoch-0002.h5.tmp-\(firstWriter)"], "the kill hit the write")
        try SnapshotChecks.assertAllLoad(in: runDir("write"))

        // 3. Resumed, then killed again while writing snapshot 3.
        let again = try RunningCLI(Self.resumeArguments(run: "write"), in: dir, environment: [Self.pauseHook: "3"])
        XCTAssertTrue(again.waitFor("test hook: paused before renaming"), again.stdout + again.stderr)
        let secondWriter = again.process.processIdentifier
        again.killHard()
        assertKilled(again)
        XCTAssertEqual(try epochs("write"), [0, 1, 2])
        XCTAssertEqual(try temporaries("write"), [".epoch-0003.h5.tmp-\(secondWriter)"], "the first killed writer's temporary was removed")
        try SnapshotChecks.assertAllLoad(in: runDir("write"))
        try SnapshotChecks.assertBitIdentical(runDir("ref") + "/epoch-0002.h5", runDir("write") + "/epoch-0002.h5")

        let done = try CLI.run(Self.resumeArguments(run: "write"), in: dir)
        XCTAssertEqual(done.status, 0, done.stderr)
        XCTAssertTrue(done.stdout.contains("resuming at epoch 2 of 3"), done.stdout)
        XCTAssertEqual(try temporaries("write"), [], "no temporary file is left")
        XCTAssertEqual(try epochs("write"), [0, 1, 2, 3])
        try SnapshotChecks.assertAllLoad(in: runDir("write"))
        try SnapshotChecks.assertBitIdentical(final, runDir("write") + "/epoch-0003.h5")
        XCTAssertEqual(try metricEpochs("write"), [0, 1, 2, 3])
        let status = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: runDir("write") + "/run.json"))) as? [String: Any]
        XCTAssertEqual(status?["status"] as? String, "finished")
    }
}

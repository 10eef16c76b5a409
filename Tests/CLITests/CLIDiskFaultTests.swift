import Foundation
import Snapshots
import XCTest

/// A full disk and a read-only `Checkpoints/`: a one-line error naming the path and the system's
/// reason, a non-zero exit, and every earlier snapshot left exactly as it was.
///
/// Mechanism: a small tmpfs mounted for the test (we run as root in CI; chmod does not stop root).
/// Where mounting is not permitted, the full-disk case falls back to a file-size limit
/// (`prlimit --fsize`, EFBIG: the same failure path in the writer) and the read-only case to a
/// chmod'ed directory for a non-root user; as root without mount permission it fails and says why.
final class CLIDiskFaultTests: XCTestCase {
    /// conv 8 + a 288x64 hidden layer: a snapshot is ~150 KB (weights and momentum), far more
    /// than the room the full-disk test leaves, while run.json and metrics.jsonl still fit.
    static let model = CLIColourFolderTests.shapesModel(hidden: 64)
    static let room = 64 * 1024

    private var dir = ""

    override func setUpWithError() throws {
        dir = CLI.temporaryDirectory()
        try CLIColourFolderTests.writeDataSet(at: dir + "/shapes")
        try Self.model.write(toFile: dir + "/big.json", atomically: true, encoding: .utf8)
    }

    override func tearDown() {
        _ = try? SnapshotChecks.runTool("/bin/umount", ["-l", dir + "/mnt"])
        try? FileManager.default.removeItem(atPath: dir)
    }

    private func train(_ extra: [String], checkpoints: String, prefix: [String] = []) throws -> CLI.Result {
        // A resumed run takes its model and data from run.json and refuses them on the command line.
        let setup = extra.contains("--resume") ? [] : ["--model", "big.json", "--data", "folder", "--data-dir", "shapes", "--batch-size", "8"]
        let arguments = ["train"] + setup + ["--checkpoints", checkpoints, "--no-monitor"] + extra
        guard let tool = prefix.first else { return try CLI.run(arguments, in: dir) }
        return try CLI.runProgram(tool, Array(prefix.dropFirst()) + [CLI.binary.path] + arguments, in: dir)
    }

    /// Mounts a tmpfs of `size` bytes at `dir/mnt`; nil if this machine does not allow it.
    private func mountScratch(size: Int) throws -> String? {
        let mnt = dir + "/mnt"
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let r = try SnapshotChecks.runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "deconvscope-test", mnt])
        return r.status == 0 ? mnt : nil
    }

    private func contents(_ run: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for (_, path) in try SnapshotFiles.list(in: run) { out[path] = try Data(contentsOf: URL(fileURLWithPath: path)) }
        return out
    }

    private func assertUntouched(_ run: String, _ before: [String: Data], line: UInt = #line) throws {
        XCTAssertEqual(try contents(run), before, "earlier snapshots changed", line: line)
        try SnapshotChecks.assertAllLoad(in: run)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: run).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], "temporary files left behind", line: line)
    }

    func testFullDiskStopsWithTheReasonAndKeepsEarlierSnapshots() throws {
        let mnt = try mountScratch(size: 4 << 20)
        let checkpoints = (mnt ?? dir) + "/Checkpoints", run = checkpoints + "/full"
        let first = try train(["--epochs", "1", "--snapshot-epochs", "0,1", "--run", "full"], checkpoints: checkpoints)
        XCTAssertEqual(first.status, 0, first.stderr)
        let snapshotSize = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: run + "/epoch-0001.h5")[.size] as? Int)
        XCTAssertGreaterThan(snapshotSize, 2 * Self.room, "the test needs snapshots bigger than the room it leaves")
        let before = try contents(run)

        let failed: CLI.Result, reason: String
        if mnt != nil {
            // Fill the file system up to `room` bytes.
            var stats = statvfs()
            XCTAssertEqual(statvfs(checkpoints, &stats), 0)
            let free = Int(stats.f_bavail) * Int(stats.f_frsize)
            XCTAssertTrue(FileManager.default.createFile(atPath: mnt! + "/filler", contents: Data(count: free - Self.room)))
            failed = try train(["--resume", "--run", "full", "--epochs", "3", "--snapshot-epochs", "0,1,2,3"], checkpoints: checkpoints)
            reason = "No space left on device"
        } else {
            print("note: mounting a tmpfs is not permitted here; a file-size limit stands in for the full disk")
            failed = try train(["--resume", "--run", "full", "--epochs", "3", "--snapshot-epochs", "0,1,2,3"], checkpoints: checkpoints,
                               prefix: ["/usr/bin/prlimit", "--fsize=\(Self.room)", "--"])
            reason = "File too large"
        }
        assertOneLineError(failed, contains: "\(run)/epoch-0002.h5: cannot write file (\(reason))")
        XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/epoch-0002.h5"), "no partial file under the final name")
        try assertUntouched(run, before)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/run.json"))) as? [String: Any]
        XCTAssertEqual(config?["status"] as? String, "failed", "run.json says the run stopped, so a watcher stops too")

        // Room again: the run resumes from its last good snapshot.
        if let mnt { try FileManager.default.removeItem(atPath: mnt + "/filler") }
        let resumed = try train(["--resume", "--run", "full"], checkpoints: checkpoints)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try SnapshotFiles.list(in: run).map(\.epoch), [0, 1, 2, 3])
    }

    func testReadOnlyCheckpointsGiveAClearErrorAndKeepSnapshots() throws {
        let mnt = try mountScratch(size: 4 << 20)
        guard mnt != nil || geteuid() != 0 else {
            return XCTFail("cannot mount a tmpfs (not permitted here) and chmod does not stop root: this test needs one of the two")
        }
        let checkpoints = (mnt ?? dir) + "/Checkpoints", run = checkpoints + "/ro"
        let first = try train(["--epochs", "1", "--snapshot-epochs", "0,1", "--run", "ro"], checkpoints: checkpoints)
        XCTAssertEqual(first.status, 0, first.stderr)
        let before = try contents(run)
        let reason: String
        if let mnt {
            let r = try SnapshotChecks.runTool("/bin/mount", ["-o", "remount,ro", mnt])
            XCTAssertEqual(r.status, 0, r.stderr)
            reason = "Read-only file system"
        } else {
            XCTAssertEqual(chmod(run, 0o555), 0)
            XCTAssertEqual(chmod(checkpoints, 0o555), 0)
            reason = "Permission denied"
        }
        assertOneLineError(try train(["--resume", "--run", "ro", "--epochs", "2"], checkpoints: checkpoints),
                           contains: "\(run): cannot write in the run directory (\(reason))")
        try assertUntouched(run, before)
        assertOneLineError(try train(["--epochs", "1", "--run", "fresh"], checkpoints: checkpoints),
                           contains: "\(checkpoints)/fresh: cannot create the run directory (\(reason))")
        if mnt == nil { _ = chmod(checkpoints, 0o755); _ = chmod(run, 0o755) }
    }
}

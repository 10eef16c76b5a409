import Foundation
import XCTest

/// Issue 19, point 4: a snapshot that crashes libhdf5 (corrupt global-heap references behind the
/// variable-length string attributes) is one `error:` line and exit status 1 for `inspect`,
/// `monitor` (which still processes the other snapshots and writes the report), `monitor --watch`
/// and `train --resume`, never a signal. The files and how they were made: DamagedSnapshots/README.md.
final class CLIDamagedSnapshotTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("DamagedSnapshots").path
    static let damaged = ["format-heap-index-out-of-range.h5", "format-heap-object-claims-1gib.h5",
                          "architecture-heap-index-out-of-range.h5"]
    static let crashMessage = "damaged HDF5 file (the HDF5 library crashed reading it)"

    var dir = ""

    override func setUpWithError() throws {
        dir = CLI.temporaryDirectory()
        addTeardownBlock { [dir] in try? FileManager.default.removeItem(atPath: dir) }
    }

    private func regressionFile(_ name: String) -> String { Self.folder + "/" + name }

    /// The premise of the other tests: read in-process (the reader child's mode, run directly),
    /// each file still kills the process with a signal inside libhdf5, and the unspoiled one does not.
    func testRegressionFilesStillCrashLibHDF5InProcess() throws {
        func readInProcess(_ path: String) throws -> Process {
            let p = Process()
            p.executableURL = CLI.binary
            p.environment = ProcessInfo.processInfo.environment.merging(
                ["DECONVSCOPE_SNAPSHOT_READER_PATH": path, "SWIFT_BACKTRACE": "enable=no", "OPENBLAS_NUM_THREADS": "1"]) { $1 }
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return p
        }
        let valid = try readInProcess(regressionFile("valid.h5"))
        XCTAssertEqual(valid.terminationReason, .exit)
        XCTAssertEqual(valid.terminationStatus, 0)
        for name in Self.damaged {
            let p = try readInProcess(regressionFile(name))
            XCTAssertEqual(p.terminationReason, .uncaughtSignal,
                           "\(name) no longer crashes libhdf5 when read in-process (status \(p.terminationStatus)): it no longer tests the guard")
        }
    }

    func testInspectReportsALibHDF5CrashAsOneErrorLine() throws {
        let ok = try CLI.run(["inspect", regressionFile("valid.h5")])
        XCTAssertEqual(ok.status, 0, "the unspoiled file must load, else the cases below prove nothing: \(ok.stderr)")
        for name in Self.damaged {
            let path = regressionFile(name)
            let r = try CLI.run(["inspect", path])
            assertOneLineError(r, contains: "\(path): \(Self.crashMessage)")
            XCTAssertEqual(r.status, 1, "\(name): \(r.stderr)")
        }
    }

    /// 16 MNIST-layout images per split in `dir/mnist`.
    private func writeMNIST() throws {
        let be32 = { (v: Int) in (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
        try FileManager.default.createDirectory(atPath: dir + "/mnist", withIntermediateDirectories: true)
        for split in ["train", "t10k"] {
            let images: [UInt8] = [0, 0, 8, 3] + be32(16) + be32(28) + be32(28) + (0..<(16 * 784)).map { UInt8(truncatingIfNeeded: $0 * 7) }
            let labels: [UInt8] = [0, 0, 8, 1] + be32(16) + (0..<16).map { UInt8($0 % 10) }
            try Data(images).write(to: URL(fileURLWithPath: dir + "/mnist/\(split)-images-idx3-ubyte"))
            try Data(labels).write(to: URL(fileURLWithPath: dir + "/mnist/\(split)-labels-idx1-ubyte"))
        }
    }

    /// A run with snapshots 0, 1, 2 (the small model of DamagedSnapshots/tiny-model.json on 16 MNIST-layout images).
    private func trainRun(_ name: String) throws -> String {
        try writeMNIST()
        let train = try CLI.run(["train", "--model", regressionFile("tiny-model.json"), "--data", "mnist", "--data-dir", dir + "/mnist",
                                 "--epochs", "2", "--batch-size", "8", "--snapshot-epochs", "0,1,2", "--run", name, "--no-monitor"], in: dir)
        XCTAssertEqual(train.status, 0, train.stderr)
        return "Checkpoints/" + name
    }

    private func replace(_ snapshot: String, with name: String) throws {
        let target = dir + "/" + snapshot
        try FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: regressionFile(name), toPath: target)
    }

    func testMonitorReportsTheDamagedSnapshotAndProcessesTheOthers() throws {
        let run = try trainRun("dmg")
        for name in Self.damaged {
            try replace(run + "/epoch-0001.h5", with: name)
            let r = try CLI.run(["monitor", run, "--force", "--probes", "8", "--top", "2"], in: dir)
            assertOneLineError(r, contains: "error: \(run)/epoch-0001.h5: \(Self.crashMessage)")
            XCTAssertEqual(r.status, 1, "\(name): \(r.stderr)")
            // The snapshots before and after the damaged one are processed, and the report is written without it.
            XCTAssertTrue(r.stdout.contains("epoch 0 processed") && r.stdout.contains("epoch 2 processed"), "\(name): \(r.stdout)")
            XCTAssertTrue(r.stdout.contains("report: "), r.stdout)
            let findings = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/Reports/dmg/findings.json"))) as? [String: Any]
            let epochs = (findings?["epochs"] as? [[String: Any]])?.compactMap { $0["epoch"] as? Int }
            XCTAssertEqual(epochs, [0, 2], name)
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/Reports/dmg/index.html"))
        }

        // --watch on the finished run: the same single error line, then it stops, with status 1.
        let watch = try CLI.run(["monitor", run, "--watch", "--poll-interval", "0.05", "--probes", "8", "--top", "2"], in: dir)
        assertOneLineError(watch, contains: "error: \(run)/epoch-0001.h5: \(Self.crashMessage)")
        XCTAssertEqual(watch.status, 1, watch.stderr)
        XCTAssertTrue(watch.stdout.contains("stopped watching"), watch.stdout)

        // --resume reads the newest snapshot, here damaged too.
        try replace(run + "/epoch-0002.h5", with: Self.damaged[1])
        let resume = try CLI.run(["train", "--run", "dmg", "--resume", "--epochs", "3", "--no-monitor"], in: dir)
        assertOneLineError(resume, contains: "error: \(run)/epoch-0002.h5: \(Self.crashMessage)")
        XCTAssertEqual(resume.status, 1, resume.stderr)
    }

    /// Every snapshot damaged: one error line each, no second line about the report, status 1.
    func testMonitorWithOnlyDamagedSnapshots() throws {
        try writeMNIST()
        let run = dir + "/only-damaged"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: regressionFile(Self.damaged[0]), toPath: run + "/epoch-0000.h5")
        try FileManager.default.copyItem(atPath: regressionFile(Self.damaged[2]), toPath: run + "/epoch-0001.h5")
        let r = try CLI.run(["monitor", run, "--reports", dir + "/Reports", "--data", "mnist", "--data-dir", dir + "/mnist"], in: dir)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines, ["error: \(run)/epoch-0000.h5: \(Self.crashMessage)", "error: \(run)/epoch-0001.h5: \(Self.crashMessage)"].map { Substring($0) })
        XCTAssertEqual(r.status, 1, r.stderr)
    }
}

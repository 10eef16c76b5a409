import XCTest
import Foundation
import Tensors
import Layers
import Snapshots
import Datasets
import Training
import Runs
import Datasets
import Runs
@testable import Monitoring
import TestSupport

final class MonitorRunTests: XCTestCase {
    private func tinyRun() throws -> (root: String, run: RunDirectory, test: Dataset) {
        let root = NSTemporaryDirectory() + "deconvscope-monitor-" + UUID().uuidString
        let (run, test) = try tinyTrainedRun(in: root)
        return (root, run, test)
    }

    private func options(force: Bool = false) -> MonitorOptions {
        var o = MonitorOptions()
        o.probes = 24
        o.top = 4
        o.force = force
        return o
    }

    func testIncrementalRerunTouchesNoProcessedSnapshot() throws {
        let (root, run, test) = try tinyRun()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let reports = root + "/Reports/tiny"
        let monitor = try Monitor(run: run, reportDirectory: reports, options: options(), testData: test)
        var processed: [Int] = []
        let findings = try monitor.pass { processed.append($0.epoch) }
        XCTAssertEqual(processed, [0, 1, 2])
        XCTAssertEqual(findings.epochs.map(\.epoch), [0, 1, 2])
        XCTAssertEqual(findings.probes, 24)

        func stamps() throws -> [String: Date] {
            var s: [String: Date] = [:]
            for e in [0, 1, 2] {
                s["\(e)"] = try FileManager.default.attributesOfItem(atPath: monitor.dataPath(epoch: e))[.modificationDate] as? Date
            }
            return s
        }
        let before = try stamps()
        Thread.sleep(forTimeInterval: 0.05)
        let again = try Monitor(run: run, reportDirectory: reports, options: options(), testData: test)
        XCTAssertTrue(try again.pending().isEmpty)
        processed = []
        try again.pass { processed.append($0.epoch) }
        XCTAssertEqual(processed, [], "nothing to redo")
        XCTAssertEqual(try stamps(), before, "processed data files untouched")

        processed = []
        try Monitor(run: run, reportDirectory: reports, options: options(force: true), testData: test).pass { processed.append($0.epoch) }
        XCTAssertEqual(processed, [0, 1, 2], "--force redoes all")
    }

    /// A snapshot that cannot be read is reported once through `onUnreadableSnapshot`, the pass
    /// processes the others and writes findings without it, and it is retried once the file changes.
    /// When the newest one is unreadable, the findings take the architecture from the next older.
    func testUnreadableSnapshotIsReportedOnceAndSkipped() throws {
        let (root, run, test) = try tinyRun()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let middle = run.path + "/epoch-0001.h5"
        try Data("not HDF5 at all".utf8).write(to: URL(fileURLWithPath: middle))
        let monitor = try Monitor(run: run, reportDirectory: root + "/Reports/tiny", options: options(), testData: test)
        var reported: [String] = []
        monitor.onUnreadableSnapshot = { path, error in reported.append(path); XCTAssertTrue("\(error)".contains(path), "\(error)") }
        var processed: [Int] = []
        let findings = try monitor.pass { processed.append($0.epoch) }
        XCTAssertEqual(processed, [0, 2])
        XCTAssertEqual(reported, [middle])
        XCTAssertEqual(findings.epochs.map(\.epoch), [0, 2])

        processed = []
        try monitor.pass { processed.append($0.epoch) }
        XCTAssertEqual(processed, [])
        XCTAssertEqual(reported, [middle], "not reported again while the file is unchanged")

        try Data("still not HDF5, but another file".utf8).write(to: URL(fileURLWithPath: middle))
        try monitor.pass()
        XCTAssertEqual(reported, [middle, middle], "retried once the file changed")

        let newest = run.path + "/epoch-0002.h5"
        try Data().write(to: URL(fileURLWithPath: newest))
        let older = try monitor.writeFindings()
        XCTAssertEqual(reported, [middle, middle, newest])
        XCTAssertEqual(older.epochs.map(\.epoch), [0])
        XCTAssertEqual(older.monitoredLayers, ["conv1", "conv2"])

        try Data().write(to: URL(fileURLWithPath: run.path + "/epoch-0000.h5"))
        XCTAssertThrowsError(try monitor.writeFindings()) { XCTAssertTrue($0 is NoReadableSnapshotError, "\($0)") }
    }

    /// Asking for more probes than the test split holds uses all of it, and a re-run with the same
    /// request is still incremental (the recorded set remembers what was asked for).
    func testMoreProbesThanTestImagesStaysIncremental() throws {
        let (root, run, test) = try tinyRun()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = options()
        options.probes = 100   // the tiny run's test split has 40 images
        let reports = root + "/Reports/tiny"
        let findings = try Monitor(run: run, reportDirectory: reports, options: options, testData: test).pass()
        XCTAssertEqual(findings.probes, 40)
        var processed: [Int] = []
        try Monitor(run: run, reportDirectory: reports, options: options, testData: test).pass { processed.append($0.epoch) }
        XCTAssertEqual(processed, [])
        options.probes = 30   // a different request: every snapshot must be redone on the new set
        try Monitor(run: run, reportDirectory: reports, options: options, testData: test).pass { processed.append($0.epoch) }
        XCTAssertEqual(processed, [0, 1, 2])
    }

    /// A monitor without the test data in memory takes its probe images from the recorded
    /// data/probes.h5 when it was made for the same --probes and data set, not from the data set.
    /// Here the recorded images are replaced by 24 copies of one image: a pass that used them sees
    /// equal activations on every probe, which the real first 24 test images never give.
    func testARecordedProbeSetIsReusedInsteadOfTheDataSet() throws {
        let (root, run, test) = try tinyRun()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let reports = root + "/Reports/tiny"
        let monitor = try Monitor(run: run, reportDirectory: reports, options: options(), testData: test)
        try monitor.pass()
        let recorded = try XCTUnwrap(ProbeFile.recorded(at: monitor.probesPath))
        XCTAssertEqual(recorded, ProbeFile.Recorded(count: 24, requested: 24, dataset: "fashion-mnist/test"))

        let one = test.prefix(1)
        let copies = Dataset(name: test.name, images: Tensor(shape: [24, 1, 28, 28], data: Array((0..<24).map { _ in one.images.data }.joined())),
                             labels: Array(repeating: one.labels[0], count: 24), classNames: test.classNames)
        let snapshot = try Snapshot.read(from: run.path + "/epoch-0002.h5")
        let normalization = try XCTUnwrap(try Network.load(snapshot: snapshot, path: run.path).spec.normalization)
        try ProbeFile.write(ProbeSet(test: copies, count: 24, normalization: normalization), requested: 24, source: "copies",
                            dataset: "fashion-mnist/test", to: monitor.probesPath)
        func activations() throws -> [Float] {
            try MonitorDataFile.read(from: monitor.dataPath(epoch: 2), layers: ["conv1"]).layers[0].top.flatMap { $0.map(\.value) }
        }
        let real = try activations()
        try Monitor(run: run, reportDirectory: reports, options: options(force: true)).pass()
        let reused = try activations()
        XCTAssertNotEqual(Set(real).count, 1)
        XCTAssertEqual(reused.count, real.count)
        for channel in stride(from: 0, to: reused.count, by: 4) {
            XCTAssertEqual(Set(reused[channel..<(channel + 4)]).count, 1, "one image, one value per map: \(reused[channel..<(channel + 4)])")
        }
        // A probe set of another data set is not reused: every snapshot is redone on the new one.
        try ProbeFile.write(ProbeSet(test: copies, count: 24, normalization: normalization), requested: 24, source: "copies",
                            dataset: "mnist/test", to: monitor.probesPath)
        XCTAssertEqual(try Monitor(run: run, reportDirectory: reports, options: options()).pending().map(\.epoch), [0, 1, 2])
    }

    /// A rebuild of findings.json takes over the diagnostics of snapshots whose data file (and the
    /// first snapshot's) did not change since findings.json was written, and recomputes the rest.
    /// A marker planted in findings.json shows which ones were taken over.
    func testUnchangedSnapshotsKeepTheirDiagnostics() throws {
        let (root, run, test) = try tinyRun()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let reports = root + "/Reports/tiny"
        let monitor = try Monitor(run: run, reportDirectory: reports, options: options(), testData: test)
        let computed = try monitor.pass()
        func plant() throws {
            Thread.sleep(forTimeInterval: 0.02)   // status-change times are coarse: keep the order clear
            var planted = try JSONDecoder().decode(Findings.self, from: Data(contentsOf: URL(fileURLWithPath: monitor.findingsPath)))
            for e in planted.epochs.indices { planted.epochs[e].layers[0].filters[0].maxActivation = 12345 }
            try JSONEncoder().encode(planted).write(to: URL(fileURLWithPath: monitor.findingsPath))
            Thread.sleep(forTimeInterval: 0.02)
        }
        try plant()
        let reused = try Monitor(run: run, reportDirectory: reports, options: options(), testData: test).writeFindings()
        XCTAssertEqual(reused.epochs.map { $0.layers[0].filters[0].maxActivation }, [12345, 12345, 12345])

        // Epoch 1 reprocessed: its diagnostics are computed again, the others' kept.
        try plant()
        _ = try monitor.process(epoch: 1, snapshotPath: run.path + "/epoch-0001.h5")
        let partly = try Monitor(run: run, reportDirectory: reports, options: options(), testData: test).writeFindings()
        XCTAssertEqual(partly.epochs.map { $0.layers[0].filters[0].maxActivation },
                       [12345, computed.epochs[1].layers[0].filters[0].maxActivation, 12345])

        // Epoch 2's snapshot changes and a pass writes its data file beside the findings: its
        // diagnostics are computed again whether that write ended before the findings looked at
        // the file or after (the old file's ctime is older than findings.json's); the others' kept.
        try FileManager.default.copyItem(atPath: run.path + "/epoch-0002.h5", toPath: root + "/epoch-0002.original")
        var snapshot = try Snapshot.read(from: run.path + "/epoch-0002.h5")
        snapshot.weights = try Snapshot.read(from: run.path + "/epoch-0000.h5").weights
        Thread.sleep(forTimeInterval: 0.02)
        try snapshot.write(to: run.path + "/epoch-0002.h5")
        try plant()
        let changed = try Monitor(run: run, reportDirectory: reports, options: options(), testData: test).pass()
        XCTAssertEqual(changed.epochs.map { $0.layers[0].filters[0].maxActivation }.prefix(2), [12345, 12345])
        XCTAssertNotEqual(changed.epochs[2].layers[0].filters[0].maxActivation, 12345, "epoch 2's old diagnostics were kept")
        // Back as it was, for what follows.
        XCTAssertEqual(rename(root + "/epoch-0002.original", run.path + "/epoch-0002.h5"), 0)
        _ = try monitor.process(epoch: 2, snapshotPath: run.path + "/epoch-0002.h5")

        // Other thresholds: everything is computed again, to the numbers of the first pass.
        try plant()
        var other = options()
        other.thresholds.dormantTau = 0.03
        let again = try Monitor(run: run, reportDirectory: reports, options: other, testData: test).writeFindings()
        XCTAssertEqual(again.epochs.map { $0.layers[0].filters[0].maxActivation }, computed.epochs.map { $0.layers[0].filters[0].maxActivation })
    }

    /// A pass writes each snapshot's data file beside the findings (`MonitorDataFile.beginWrite`):
    /// the findings must be what the files on disk give, and every data file must be on disk, synced,
    /// when the pass returns.
    func testAPassWritingDataFilesBesideGivesTheFindingsOfTheFiles() throws {
        let (root, run, test) = try tinyRun()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let reports = root + "/Reports/tiny"
        let monitor = try Monitor(run: run, reportDirectory: reports, options: options(), testData: test)
        let pass = try monitor.pass()
        for epoch in [0, 1, 2] {
            XCTAssertFalse(MonitorDataFile.isBeingWritten(monitor.dataPath(epoch: epoch)))
            XCTAssertNoThrow(try MonitorDataFile.readFile(from: monitor.dataPath(epoch: epoch), layers: ["conv1"]), "epoch \(epoch)")
        }
        // A second monitor reads every data file from disk.
        let fromDisk = try Monitor(run: run, reportDirectory: reports, options: options(), testData: test).writeFindings()
        XCTAssertEqual(fromDisk.epochs, pass.epochs)
        XCTAssertEqual(fromDisk.diagnoses, pass.diagnoses)
    }

    /// What the report takes from this process's memory instead of its files (probes.h5 and
    /// findings.json as the monitor wrote them) must be what the files give, and must not outlive
    /// a change of the file.
    func testRememberedProbeFileAndFindingsEqualTheirFiles() throws {
        let (root, run, test) = try tinyRun()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let monitor = try Monitor(run: run, reportDirectory: root + "/Reports/tiny", options: options(), testData: test)
        _ = try monitor.pass()
        let probesPath = root + "/Reports/tiny/data/probes.h5"
        let remembered = try ProbeFile.read(from: probesPath), fromDisk = try ProbeFile.readFile(from: probesPath)
        XCTAssertEqual(remembered.pixels, fromDisk.pixels)
        XCTAssertEqual(remembered.labels, fromDisk.labels)
        XCTAssertEqual(remembered.classNames, fromDisk.classNames)
        let written = try XCTUnwrap(Findings.written(at: monitor.findingsPath))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let file = try Data(contentsOf: URL(fileURLWithPath: monitor.findingsPath))
        XCTAssertEqual(try encoder.encode(written), file)
        XCTAssertEqual(try encoder.encode(try JSONDecoder().decode(Findings.self, from: file)), file)
        // Files put in their place afterwards are read again.
        Thread.sleep(forTimeInterval: 0.01)
        let other = ProbeSet(test: test, count: 5, normalization: Normalization(mean: [0], std: [1]))
        try ProbeFile.write(other, requested: 5, source: "test", dataset: "other", to: root + "/other.h5")
        XCTAssertEqual(rename(root + "/other.h5", probesPath), 0)
        XCTAssertEqual(try ProbeFile.read(from: probesPath).labels, other.labels)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: monitor.findingsPath))
        XCTAssertNil(Findings.written(at: monitor.findingsPath))
    }

    /// A data file that cannot be written ends the pass with its error, and findings.json is not
    /// written over (it would name a snapshot whose data file is not there).
    func testADataFileThatCannotBeWrittenFailsThePassBeforeFindings() throws {
        let (root, run, test) = try tinyRun()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let reports = root + "/Reports/tiny"
        let monitor = try Monitor(run: run, reportDirectory: reports, options: options(), testData: test)
        // A directory where epoch 2's data file goes: the rename into place fails.
        try FileManager.default.createDirectory(atPath: monitor.dataPath(epoch: 2) + "/blocker", withIntermediateDirectories: true)
        XCTAssertThrowsError(try monitor.pass()) { error in
            XCTAssertTrue(String(describing: error).contains("epoch-0002.h5"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: monitor.findingsPath))
        XCTAssertFalse(MonitorDataFile.isBeingWritten(monitor.dataPath(epoch: 2)))
        XCTAssertThrowsError(try MonitorDataFile.read(from: monitor.dataPath(epoch: 2), layers: ["conv1"]), "no analysis is handed back for a file that failed")
    }

    /// `MonitorDataFile.read` hands back the analysis this process just wrote instead of reading
    /// the file again: it must be exactly what reading the file gives, in any layer order, and not
    /// outlive a change of the file.
    func testTheJustWrittenAnalysisEqualsTheFileReadBack() throws {
        let (root, run, test) = try tinyRun()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var withOcclusion = options()
        withOcclusion.occlusion.images = 2
        let monitor = try Monitor(run: run, reportDirectory: root + "/Reports/tiny", options: withOcclusion, testData: test)
        _ = try monitor.process(epoch: 1, snapshotPath: run.path + "/epoch-0001.h5")
        let path = monitor.dataPath(epoch: 1)
        for order in [["conv1", "conv2"], ["conv2", "conv1"], ["conv2"], ["absent", "conv1"]] {
            let remembered = try MonitorDataFile.read(from: path, layers: order), fromDisk = try MonitorDataFile.readFile(from: path, layers: order)
            XCTAssertEqual(remembered, fromDisk, "\(order)")
            XCTAssertEqual(remembered.layers.map(\.name), order.filter { $0 != "absent" })
        }
        XCTAssertFalse(try MonitorDataFile.read(from: path, layers: ["conv1"]).occlusion.isEmpty)
        // Another file put at the path afterwards (a second monitor process, say): read from disk again.
        let copy = root + "/copy.h5"
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        var changed = try MonitorDataFile.readFile(from: path, layers: ["conv1", "conv2"])
        changed.epoch = 7
        try MonitorDataFile.write(changed, k: 4, to: path)
        XCTAssertEqual(try MonitorDataFile.read(from: path, layers: ["conv1"]).epoch, 7)
        XCTAssertEqual(rename(copy, path), 0)
        XCTAssertEqual(try MonitorDataFile.read(from: path, layers: ["conv1"]).epoch, 1)
    }

    func testDataFileFollowsTheContractAndReadsBackWithH5py() throws {
        let (root, run, test) = try tinyRun()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let monitor = try Monitor(run: run, reportDirectory: root + "/Reports/tiny", options: options(), testData: test)
        try monitor.pass()
        let path = monitor.dataPath(epoch: 1)
        let back = try MonitorDataFile.read(from: path, layers: ["conv1", "conv2"])
        XCTAssertEqual(back.layers.map(\.name), ["conv1", "conv2"])
        XCTAssertEqual(back.layers[0].top.count, 4)
        XCTAssertEqual(back.layers[0].top[0].count, 4)

        let script = """
        import h5py, sys
        f = h5py.File(sys.argv[1], "r")
        for layer, c in (("conv1", 4), ("conv2", 6)):
            g = f[layer]
            assert g["top_images"].shape == (c, 4) and g["top_images"].dtype == "int64", g["top_images"]
            assert g["top_positions"].shape == (c, 4, 2) and g["top_positions"].dtype == "int64"
            assert g["top_activations"].shape == (c, 4) and g["top_activations"].dtype == "float32"
            assert g["projections"].shape == (c, 4, 1, 28, 28) and g["projections"].dtype == "float32"
            acts = g["top_activations"][...]
            assert (acts[:, :-1] >= acts[:, 1:]).all(), "strongest first"
            assert (g["top_images"][...] < 24).all()
        print("ok")
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if text.contains("No module named 'h5py'") { throw XCTSkip("h5py not installed (make test installs it)") }
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("ok"), text)
    }
}

/// Temporaries left in the report folder by a killed monitor are removed when a monitor starts.
final class MonitorStaleTemporaryTests: XCTestCase {
    func testStartingAMonitorRemovesTemporariesOfDeadWriters() throws {
        let root = NSTemporaryDirectory() + "deconvscope-stale-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = finished.processIdentifier
        let report = root + "/Reports/r"
        let stale = ["/.findings.json.tmp-\(dead)", "/data/.epoch-0001.h5.tmp-\(dead)", "/img/.conv1-filters.png.tmp-\(dead)-42"]
        let kept = ["/index.html", "/data/epoch-0001.h5", "/img/.x.png.tmp-\(getppid())-1"]
        for name in stale + kept {
            try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: report + name).deletingLastPathComponent().path,
                                                    withIntermediateDirectories: true)
            XCTAssertTrue(FileManager.default.createFile(atPath: report + name, contents: Data()))
        }
        _ = try Monitor(run: RunDirectory(path: root + "/Checkpoints/r"), reportDirectory: report, options: MonitorOptions())
        for name in stale { XCTAssertFalse(FileManager.default.fileExists(atPath: report + name), name) }
        for name in kept { XCTAssertTrue(FileManager.default.fileExists(atPath: report + name), name) }
    }
}

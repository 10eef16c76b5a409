import XCTest
import Datasets
import Training
import Runs
import Foundation
import Tensors
import Layers
import Snapshots
import Datasets
import Runs
import Monitoring
@testable import Reporting
import TestSupport

/// A report refresh writes only the pages and sprites whose content changed (`report-keys.json`),
/// and what it leaves is byte for byte what a full write would produce.
final class IncrementalReportTests: XCTestCase {
    private var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "deconvscope-incremental-" + UUID().uuidString
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// A three-snapshot run of a tiny two-conv network on 128 Fashion-MNIST images.
    private func tinyRun() throws -> (run: RunDirectory, test: Dataset) { try tinyTrainedRun(in: root) }

    private func refresh(_ run: RunDirectory, _ test: Dataset, into reports: String) throws {
        var options = MonitorOptions()
        options.probes = 24
        options.top = 4
        try Monitor(run: run, reportDirectory: reports, options: options, testData: test).pass()
        try ReportWriter.write(reportDirectory: reports)
    }

    /// Inode and modification time (ns) of every page and sprite: a rename(2) into place changes both.
    private func identities(_ reports: String) throws -> [String: [Int]] {
        var result: [String: [Int]] = [:]
        for name in FileManager.default.enumerator(atPath: reports)!.compactMap({ $0 as? String })
        where name.hasSuffix(".html") || name.hasSuffix(".png") || name.hasSuffix(".css") {
            var info = stat()
            XCTAssertEqual(stat(reports + "/" + name, &info), 0)
            result[name] = [Int(info.st_ino), Int(info.st_mtim.tv_sec) * 1_000_000_000 + info.st_mtim.tv_nsec]
        }
        return result
    }

    private func changed(_ before: [String: [Int]], _ after: [String: [Int]]) -> [String] {
        after.keys.filter { before[$0] != after[$0] }.sorted()
    }

    func testAnUnchangedRunRewritesNoPageOrSpriteAndAChangedSnapshotRewritesItsOwn() throws {
        let (run, test) = try tinyRun()
        let reports = root + "/Reports/tiny"
        try refresh(run, test, into: reports)
        let first = try identities(reports)
        XCTAssertEqual(first.keys.filter { $0.hasSuffix("-epoch-0002.html") }.count, 2, "\(first.keys.sorted())")
        XCTAssertTrue(FileManager.default.fileExists(atPath: reports + "/report-keys.json"))

        // A second pass with no changed snapshot: nothing to process, and no page or sprite is
        // written again (index.html shows findings.json's `updated` second, so it may change).
        Thread.sleep(forTimeInterval: 0.02)
        try refresh(run, test, into: reports)
        XCTAssertEqual(changed(first, try identities(reports)).filter { $0 != "index.html" }, [])

        // The same after `--force`: the snapshots are replayed again, to the same numbers.
        var forced = MonitorOptions()
        (forced.probes, forced.top, forced.force) = (24, 4, true)
        try Monitor(run: run, reportDirectory: reports, options: forced, testData: test).pass()
        try ReportWriter.write(reportDirectory: reports)
        XCTAssertEqual(changed(first, try identities(reports)).filter { $0 != "index.html" }, [])

        // Epoch 2's snapshot changes (it gets epoch 0's weights): its pages and sprites, the pages
        // that show every epoch (layers, occlusion, index) and the evolution and filter sprites
        // are rewritten; epochs 0 and 1 keep theirs.
        let before = try identities(reports)
        let path = run.path + "/epoch-0002.h5"
        var snapshot = try Snapshot.read(from: path)
        snapshot.weights = try Snapshot.read(from: run.path + "/epoch-0000.h5").weights
        Thread.sleep(forTimeInterval: 0.02)
        try snapshot.write(to: path)
        try refresh(run, test, into: reports)
        let rewritten = changed(before, try identities(reports))
        for expected in ["index.html", "layer-conv1.html", "layer-conv2.html", "layer-conv1-epoch-0002.html", "layer-conv2-epoch-0002.html",
                         "img/conv1-epoch-0002.png", "img/conv2-epoch-0002.png", "img/conv1-evolution.png", "img/conv2-evolution.png",
                         "img/conv1-filters.png", "img/occlusion-epoch-0002.png", "occlusion.html"] {
            XCTAssertTrue(rewritten.contains(expected), "\(expected) not rewritten; rewritten: \(rewritten)")
        }
        XCTAssertEqual(rewritten.filter { $0.contains("0000") || $0.contains("0001") }, [], "earlier snapshots' files were rewritten")
        try assertSameAsAFullWrite(reports)
    }

    /// An epoch page whose inputs (data file, findings of its epoch, probes, program, ...) did not
    /// change is not even rendered: a page planted in its place, with its record updated to match,
    /// survives a refresh, and goes once its snapshot's data file is written again.
    func testAnEpochPageWithUnchangedInputsIsNotRendered() throws {
        let (run, test) = try tinyRun()
        let reports = root + "/Reports/tiny"
        try refresh(run, test, into: reports)
        let name = "layer-conv2-epoch-0001.html", page = reports + "/" + name, keysPath = reports + "/report-keys.json"
        let original = try Data(contentsOf: URL(fileURLWithPath: page))
        Thread.sleep(forTimeInterval: 0.02)
        try AtomicFile.write("planted", to: page)
        var keys = try JSONDecoder().decode(ReportKeys.self, from: Data(contentsOf: URL(fileURLWithPath: keysPath)))
        var info = stat()
        XCTAssertEqual(stat(page, &info), 0)
        keys.files[name]!.key = ContentHash.of(Data("planted".utf8))
        keys.files[name]!.inode = UInt64(info.st_ino)
        keys.files[name]!.size = Int64(info.st_size)
        keys.files[name]!.mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        try JSONEncoder().encode(keys).write(to: URL(fileURLWithPath: keysPath))
        try refresh(run, test, into: reports)
        XCTAssertEqual(try String(contentsOfFile: page, encoding: .utf8), "planted")

        var forced = MonitorOptions()
        (forced.probes, forced.top, forced.force) = (24, 4, true)
        try Monitor(run: run, reportDirectory: reports, options: forced, testData: test).pass()
        try ReportWriter.write(reportDirectory: reports)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: page)), original)
    }

    /// A page deleted or edited by hand is written again even though its content key still matches.
    func testAFileChangedOnDiskIsWrittenAgain() throws {
        let (run, test) = try tinyRun()
        let reports = root + "/Reports/tiny"
        try refresh(run, test, into: reports)
        let edited = reports + "/layer-conv2-epoch-0001.html", deleted = reports + "/img/conv1-epoch-0000.png"
        let original = try Data(contentsOf: URL(fileURLWithPath: edited))
        try Data("edited".utf8).write(to: URL(fileURLWithPath: edited))
        try FileManager.default.removeItem(atPath: deleted)
        try ReportWriter.write(reportDirectory: reports)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: edited)), original)
        XCTAssertTrue(FileManager.default.fileExists(atPath: deleted))
        try assertSameAsAFullWrite(reports)
    }

    /// A refresh killed before it recorded its keys (here: the keys file is lost or garbage) costs
    /// one full write, never a stale file.
    func testLostOrDamagedKeysMeanAFullWrite() throws {
        let (run, test) = try tinyRun()
        let reports = root + "/Reports/tiny"
        try refresh(run, test, into: reports)
        for damage in [Data("{\"format\": 3".utf8), nil] {
            let keys = reports + "/report-keys.json"
            if let damage { try damage.write(to: URL(fileURLWithPath: keys)) } else { try FileManager.default.removeItem(atPath: keys) }
            let before = try identities(reports)
            try ReportWriter.write(reportDirectory: reports)
            XCTAssertEqual(changed(before, try identities(reports)).count, before.count, "every file written again")
            try assertSameAsAFullWrite(reports)
        }
    }

    /// Every page and sprite equals, byte for byte, what a full write of the same monitor output
    /// into an empty folder produces.
    private func assertSameAsAFullWrite(_ reports: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fresh = root + "/fresh-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: reports + "/data", toPath: fresh + "/data")
        try FileManager.default.copyItem(atPath: reports + "/findings.json", toPath: fresh + "/findings.json")
        try ReportWriter.write(reportDirectory: fresh)
        let names = try identities(fresh).keys.sorted()
        XCTAssertEqual(try identities(reports).keys.sorted(), names, file: file, line: line)
        for name in names {
            XCTAssertEqual(FileManager.default.contents(atPath: reports + "/" + name), FileManager.default.contents(atPath: fresh + "/" + name),
                           "\(name) differs from a full write", file: file, line: line)
        }
    }
}

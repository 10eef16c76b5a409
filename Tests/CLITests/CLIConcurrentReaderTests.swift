import Foundation
import Snapshots
import XCTest

/// A reader that does what `monitor --watch` does (list the run's snapshots with `SnapshotFiles`,
/// load each one, read run.json and metrics.jsonl) in a tight loop while `train` writes a snapshot
/// every epoch in another process: every file the listing returns must load, every time.
final class CLIConcurrentReaderTests: XCTestCase {
    /// A 288x512 hidden layer makes each snapshot ~1.2 MB, so a write takes long enough that a
    /// reader would catch a file that is visible before it is complete.
    static let model = CLIColourFolderTests.shapesModel(hidden: 512)
    static let epochs = 40

    func testReaderNeverSeesAPartialFileWhileTrainWrites() throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLIColourFolderTests.writeDataSet(at: dir + "/shapes")
        try Self.model.write(toFile: dir + "/wide.json", atomically: true, encoding: .utf8)
        let run = dir + "/Checkpoints/c"
        let writer = try RunningCLI(["train", "--model", "wide.json", "--data", "folder", "--data-dir", "shapes", "--batch-size", "15",
                                     "--epochs", "\(Self.epochs)", "--snapshot-epochs", (0...Self.epochs).map(String.init).joined(separator: ","),
                                     "--run", "c", "--no-monitor"], in: dir)

        var loads = 0, configReads = 0, passes = 0
        var seenWhileWriting = Set<Int>()
        var failures: [String] = []
        while writer.process.isRunning && failures.count < 5 {
            passes += 1
            let listing = (try? SnapshotFiles.list(in: run)) ?? []   // the folder appears once training starts
            for (epoch, path) in listing {
                do {
                    let snapshot = try Snapshot.read(from: path)
                    if snapshot.epoch != epoch { failures.append("\(path) holds epoch \(snapshot.epoch)") }
                    loads += 1
                    if writer.process.isRunning { seenWhileWriting.insert(epoch) }
                } catch {
                    failures.append("\(error)")
                }
            }
            for name in ["run.json", "metrics.jsonl"] {
                guard let data = FileManager.default.contents(atPath: run + "/" + name) else { continue }
                let lines = name == "run.json" ? [data] : data.split(separator: UInt8(ascii: "\n")).map { Data($0) }
                for line in lines where (try? JSONSerialization.jsonObject(with: line)) == nil {
                    failures.append("\(name) is not valid JSON while being rewritten: \(String(decoding: data, as: UTF8.self).prefix(80))")
                }
                configReads += 1
            }
        }
        XCTAssertEqual(writer.finish(), 0, writer.stderr)
        XCTAssertEqual(failures, [], "the reader saw partial files")
        XCTAssertEqual(try SnapshotFiles.list(in: run).map(\.epoch), Array(0...Self.epochs))
        // The check means something only if reading really overlapped the writes.
        XCTAssertGreaterThanOrEqual(seenWhileWriting.count, Self.epochs / 2, "too few snapshots read while training ran (\(passes) passes)")
        XCTAssertGreaterThan(loads, 2 * Self.epochs)
        XCTAssertGreaterThan(configReads, Self.epochs)
        print("concurrent reader: \(passes) passes, \(loads) snapshot loads, \(seenWhileWriting.count) epochs seen during training")
    }
}

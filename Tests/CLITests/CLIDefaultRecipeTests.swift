import Foundation
import Snapshots
import XCTest

/// `train` without recipe options trains with Zeiler & Fergus's filter renormalization (RMS 0.1) and
/// first-layer scale (std 0.01), the recipe that leaves zf-fmnist's conv maps alive (issue 19);
/// 0 gives back the former recipe (no renormalization, He's init), also when given again on --resume.
final class CLIDefaultRecipeTests: XCTestCase {
    /// The tiny model on the shapes data set, one epoch, no monitor: trains in seconds.
    private static let tinyRun = ["train", "--model", "tiny.json", "--data", "folder", "--data-dir", "shapes",
                                  "--epochs", "1", "--batch-size", "8", "--no-monitor"]

    func testDefaultsAreThePapersRecipeAndZeroTurnsThemOff() throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLIColourFolderTests.writeDataSet(at: dir + "/shapes")
        try CLIColourFolderTests.tinyModel.write(toFile: dir + "/tiny.json", atomically: true, encoding: .utf8)
        func runDir(_ run: String) -> String { dir + "/Checkpoints/" + run }

        // No options: run.json stores the paper's values, and the weights follow them.
        let plain = try CLI.run(Self.tinyRun + ["--run", "plain"], in: dir)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let stored = try Self.config(runDir("plain"))
        XCTAssertEqual(try XCTUnwrap(stored["max_filter_rms"] as? Double), 0.1, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(stored["first_conv_init_std"] as? Double), 0.01, accuracy: 1e-6)
        // conv1 has 8 filters of 27 weights: 216 draws, whose RMS is within 20% of the std.
        let initial = try XCTUnwrap(Snapshot.read(from: runDir("plain") + "/epoch-0000.h5").weights["conv1"]?.weight.data)
        XCTAssertEqual(Self.rms(initial), 0.01, accuracy: 0.002, "conv1 starts at std 0.01, not He's sqrt(2/27) = 0.27")
        let trained = try XCTUnwrap(Snapshot.read(from: runDir("plain") + "/epoch-0001.h5").weights["conv1"]?.weight.data)
        for filter in 0..<8 {
            XCTAssertLessThanOrEqual(Self.rms(Array(trained[filter * 27..<(filter + 1) * 27])), 0.1 * (1 + 1e-5),
                                     "filter \(filter) is renormalized to RMS 0.1 at most")
        }

        // 0 for each: the former recipe, stored as "off" / He's.
        let former = ["--max-filter-rms", "0", "--first-conv-init-std", "0"]
        let off = try CLI.run(Self.tinyRun + former + ["--run", "off"], in: dir)
        XCTAssertEqual(off.status, 0, off.stderr)
        let offConfig = try Self.config(runDir("off"))
        XCTAssertNil(offConfig["max_filter_rms"] as? Double)
        XCTAssertNil(offConfig["first_conv_init_std"] as? Double)
        let heStart = try XCTUnwrap(Snapshot.read(from: runDir("off") + "/epoch-0000.h5").weights["conv1"]?.weight.data)
        XCTAssertEqual(Self.rms(heStart), (2.0 / 27).squareRoot(), accuracy: 0.05, "He's std for 3x3x3 filters")

        // The same command plus --resume matches the stored "off"; a value is refused, naming both.
        let resumed = try CLI.run(Self.tinyRun + former + ["--run", "off", "--resume", "--epochs", "2"], in: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        assertOneLineError(try CLI.run(["train", "--run", "off", "--resume", "--max-filter-rms", "0.1", "--no-monitor"], in: dir),
                           contains: "--max-filter-rms cannot change when resuming: the run was started with 0 (off), this command gives 0.1")
        assertOneLineError(try CLI.run(["train", "--run", "plain", "--resume", "--first-conv-init-std", "0", "--no-monitor"], in: dir),
                           contains: "--first-conv-init-std cannot change when resuming: the run was started with 0.01, this command gives 0.0")

        // --help wraps its lines: compare with single spaces.
        let help = try CLI.run(["train", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for phrase in ["(default 0.1, theirs; 0 turns it off)", "(default 0.01, Zeiler & Fergus's; 0 uses He's"] {
            XCTAssertTrue(help.contains(phrase), "train --help lacks \"\(phrase)\"")
        }
        assertOneLineError(try CLI.run(["train", "--max-filter-rms", "nan"]), contains: "--max-filter-rms must be a positive number, or 0 for off")
    }

    private static func config(_ run: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: run + "/run.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private static func rms(_ values: [Float]) -> Double {
        (values.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(values.count)).squareRoot()
    }
}

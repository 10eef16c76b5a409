import Foundation
import ImageIO
import XCTest
import Datasets
import Training
import Runs
@testable import Reporting

/// Hostile names through the whole pipeline, with the real `deconvscope` binary: class names from
/// the folders of an image-folder data set, the data folder's and the model file's paths, a run name
/// and layer names. The run names and layer names are refused (a safe character set only); every
/// other string must reach the report only as text: every page parses as XML, no element or event
/// attribute comes from the data, and the strings read back exactly as given.
final class HostilePipelineTests: XCTestCase {
    static let classNames = ["<script>alert(1)", "\"><img src=x onerror=alert(2)>", "&amp; 'q' \u{00DC}n\u{00EF}c\u{00F8}de \u{2713}"]
    /// Paths may hold the `/` that folder names cannot: a `</title>` and `</script>` breakout.
    static let dataFolder = "data </script><svg onload=alert(3)>"
    static let modelFile = "models </title><b>bold</b>.json"

    static var binary: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("deconvscope")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: "deconvscope")
    }

    func run(_ arguments: [String], in directory: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = arguments
        p.currentDirectoryURL = URL(fileURLWithPath: directory)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    static func model(layerName: String) -> String {
        """
        {"input": [3, 12, 12], "classes": 3, "layers": [
          {"type": "conv", "name": "\(layerName)", "out_channels": 4, "kernel": 3, "stride": 1, "padding": 1},
          {"type": "relu"},
          {"type": "maxpool", "kernel": 2, "stride": 2, "padding": 0},
          {"type": "flatten"},
          {"type": "linear", "name": "fc2", "out_features": 3}]}
        """
    }

    func testHostileNamesReachTheReportOnlyAsEscapedText() throws {
        let dir = NSTemporaryDirectory() + "deconvscope-hostile-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 3 classes of 12x12 RGB images, each class its own colour band.
        for split in ["train", "test"] {
            for (label, name) in Self.classNames.enumerated() {
                let folder = "\(dir)/\(Self.dataFolder)/\(split)/\(name)"
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                for i in 0..<(split == "train" ? 8 : 3) {
                    var pixels = [UInt8](repeating: 20, count: 12 * 12 * 3)
                    for y in 0..<12 { for x in 0..<12 where (x + i) % 3 == label { pixels[(y * 12 + x) * 3 + label] = 220 } }
                    try PNGCodec.write(Image8(width: 12, height: 12, channels: 3, pixels: pixels), to: "\(folder)/\(i).png")
                }
            }
        }
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: "\(dir)/\(Self.modelFile)").deletingLastPathComponent().path,
                                                withIntermediateDirectories: true)
        try Self.model(layerName: "conv1").write(toFile: "\(dir)/\(Self.modelFile)", atomically: true, encoding: .utf8)
        try Self.model(layerName: "<script>x").write(toFile: "\(dir)/bad-layer.json", atomically: true, encoding: .utf8)
        let common = ["--data", "folder", "--data-dir", Self.dataFolder, "--epochs", "1", "--batch-size", "8",
                      "--probes", "9", "--top", "2", "--occlusion-images", "2"]

        // Run and layer names are refused before anything is written.
        for (arguments, message) in [(["--model", Self.modelFile, "--run", "<script>alert(1)</script>"], "invalid run name"),
                                     (["--model", "bad-layer.json", "--run", "bad"], "may only use letters, digits")] {
            let r = try run(["train"] + arguments + common, in: dir)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.hasPrefix("error: ") && r.stderr.contains(message) && r.stderr.split(separator: "\n").count == 1, r.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/Reports"))

        let trained = try run(["train", "--model", Self.modelFile, "--run", "hostile"] + common, in: dir)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let report = dir + "/Reports/hostile"
        let files = FileManager.default.enumerator(atPath: report)!.compactMap { $0 as? String }.sorted()
        let pages = files.filter { $0.hasSuffix(".html") }
        XCTAssertGreaterThanOrEqual(pages.count, 4, "\(files)")
        XCTAssertTrue(pages.contains("occlusion.html"), "the occlusion page names true and predicted classes: \(pages)")

        var shown = ""
        for name in files where [".html", ".css", ".svg", ".js", ".json"].contains(where: name.hasSuffix) {
            let text = try String(contentsOfFile: report + "/" + name, encoding: .utf8)
            for raw in ["<script", "<img", "<svg onload", "</script><svg", "</title><b>", "<b>bold", "'q'"] where !name.hasSuffix(".json") {
                XCTAssertFalse(text.contains(raw), "\(name) contains unescaped \(raw)")
            }
            if name.hasSuffix(".json") {
                XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(text.utf8)), name)
                continue
            }
            guard name.hasSuffix(".html") else { continue }
            let root = try XHTML.parse(text, file: name)
            for element in root.all {
                XCTAssertFalse(["script", "img", "iframe", "object", "embed"].contains(element.name), "\(name): <\(element.name)> from the data")
                // The report's only scripts are fixed handlers (the epoch menu's, the class filter's); no data reaches them.
                for (attribute, value) in element.attributes where attribute.lowercased().hasPrefix("on") {
                    XCTAssertTrue(["location.href=this.value", ClassMakeupSection.filterHandler].contains(value), "\(name): event attribute \(attribute) on <\(element.name)>: \(value)")
                }
            }
            shown += root.all.map { $0.text + "\n" + $0.attributes.values.joined(separator: "\n") }.joined(separator: "\n")
        }
        // Escaped exactly once: the parser gives back the original strings.
        for name in Self.classNames { XCTAssertTrue(shown.contains(name), "class name \(name) is not shown verbatim") }
        XCTAssertTrue(shown.contains(Self.dataFolder), "the data folder is not shown verbatim")
        XCTAssertTrue(shown.contains(Self.modelFile), "the model path is not shown verbatim")
    }
}

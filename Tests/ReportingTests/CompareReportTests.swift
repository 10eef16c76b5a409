import XCTest
import Foundation
@testable import Reporting

/// `CompareReport`: two fixture reports side by side. The page's links resolve, the diagnoses of
/// a findings.json that carries them are shown generically, and default names follow the rule.
final class CompareReportTests: XCTestCase {
    private var root = ""
    override func setUp() {
        super.setUp()
        root = NSTemporaryDirectory() + "deconvscope-compare-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root); super.tearDown() }

    /// Two fixture reports as `<root>/<name>/`, the second with a `diagnoses` list and other epochs.
    private func makeRuns() throws {
        var a = FixtureSpec(), b = FixtureSpec()
        a.runName = "alpha"; b.runName = "beta"
        b.epochs = [0, 1, 2, 3]
        for spec in [a, b] {
            let fixture = try Fixture.make(spec)
            try FileManager.default.moveItem(atPath: fixture.directory, toPath: root + "/" + spec.runName)
            try ReportWriter.write(reportDirectory: root + "/" + spec.runName)
        }
        let path = root + "/beta/findings.json"
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        json["diagnoses"] = [["code": "dead_filters", "severity": "problem", "layer": "conv2", "epoch": 3, "summary": "2 of 4 maps <dead>",
                              "evidence": "fire rate 0 on every probe", "advice": "lower lr"],
                             ["code": "diverged", "severity": "warning", "layer": NSNull(), "epoch": 3, "summary": "loss went up",
                              "evidence": "test loss 9.1", "advice": "lower lr"]]
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        // alpha as written before findings carried diagnoses.
        let alphaPath = root + "/alpha/findings.json"
        var alpha = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: alphaPath))) as! [String: Any]
        alpha["diagnoses"] = nil
        try JSONSerialization.data(withJSONObject: alpha).write(to: URL(fileURLWithPath: alphaPath))
    }

    func testComparisonLinksResolveAndDiagnosesAreShown() throws {
        try makeRuns()
        let index = try CompareReport.write(reports: root, name: "cmp", runs: ["alpha", "beta"])
        let text = try String(contentsOfFile: index, encoding: .utf8)
        let page = try XHTML.parse(text, file: "cmp")
        let base = URL(fileURLWithPath: index).deletingLastPathComponent()
        var checked = 0
        for element in page.all {
            for key in ["href", "src"] {
                guard let link = element.attributes[key], !link.hasPrefix("#") else { continue }
                let path = String(link.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0])
                let target = base.appendingPathComponent(path.removingPercentEncoding!).standardized.path
                XCTAssertTrue(FileManager.default.fileExists(atPath: target), "\(link) -> \(target)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 20)
        // Epochs in common: alpha has 0, 1, 3 and beta 0-3.
        XCTAssertTrue(page.allText.contains("epochs in common: 0, 1, 3"), page.allText)
        let flags = try XCTUnwrap(page.first("section", id: "flags"))
        XCTAssertTrue(flags.allText.contains("problem dead_filters: 2 of 4 maps <dead>"), flags.allText)
        XCTAssertTrue(flags.allText.contains("not in this findings.json"), "alpha has no diagnoses list")
        XCTAssertTrue(flags.allText.contains("warning diverged: loss went up"), "a diagnosis without a layer is shown for the run")
        // The grids were re-cut to the three shared epochs: three columns of the layer's cell width.
        let img = try XCTUnwrap(page.elements("img").first { $0.attributes["src"] == "img/run2-conv1-evolution.png" })
        XCTAssertEqual(img.attributes["alt"], "beta: conv1: Fig. 4 view (strongest projection of each feature map), epochs 0, 1, 3")
    }

    func testDefaultNames() {
        XCTAssertEqual(CompareReport.defaultName(runs: ["a", "b"]), "compare-a-b")
        XCTAssertEqual(CompareReport.defaultName(runs: ["a", "b", "c"]), "compare-a-b-c")
        let long = (0..<5).map { String(repeating: "r\($0)", count: 15) }
        XCTAssertEqual(CompareReport.defaultName(runs: long), "compare-\(long[0])-\(long[1])-and-3-more")
    }

}

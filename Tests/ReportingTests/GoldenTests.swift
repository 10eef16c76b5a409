// Golden-file tests: they pin the structure of the report pages written for the standard
// fixture (Fixtures.swift). A golden is the page's tag skeleton: element names with their id
// (digits as N) and class attributes, one per line, indented by depth; text and all other
// attribute values (numbers, timestamps, titles, styles) are stripped, and identical
// consecutive siblings are folded into one entry marked "x N".
//
// To re-record after an intended change of the page structure:
//
//     DECONVSCOPE_RECORD_GOLDENS=1 swift test --filter ReportingTests
//
// then review `git diff Tests/ReportingTests/Goldens/` before committing. The goldens are read
// through #filePath, so they need no resource declaration in Package.swift.
import XCTest
import Datasets
import Training
import Runs
import Foundation
@testable import Reporting

final class GoldenTests: XCTestCase {
    private static let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens")
    private static var recording: Bool { ProcessInfo.processInfo.environment["DECONVSCOPE_RECORD_GOLDENS"] == "1" }

    /// Element names, ids (digits as N) and classes, indented; identical consecutive siblings folded.
    static func skeleton(_ element: Element, depth: Int = 0) -> [String] {
        let cls = element.classes.isEmpty ? "" : "." + element.classes.joined(separator: ".")
        let id = element.attributes["id"].map { "#" + $0.replacingOccurrences(of: "[0-9]+", with: "N", options: .regularExpression) } ?? ""
        var lines = [String(repeating: "  ", count: depth) + element.name + id + cls]
        var previous: [String]? = nil, run = 0
        func flush() {
            guard var p = previous else { return }
            if run > 1 { p[0] += " x \(run)" }
            lines += p
        }
        for child in element.children {
            let s = skeleton(child, depth: depth + 1)
            if s == previous { run += 1; continue }
            flush()
            previous = s
            run = 1
        }
        flush()
        return lines
    }

    private func check(_ page: String, in fixture: Fixture, golden: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let text = try String(contentsOfFile: fixture.directory + "/" + page, encoding: .utf8)
        let actual = GoldenTests.skeleton(try XHTML.parse(text, file: page)).joined(separator: "\n") + "\n"
        let url = GoldenTests.goldens.appendingPathComponent(golden)
        if GoldenTests.recording {
            try FileManager.default.createDirectory(at: GoldenTests.goldens, withIntermediateDirectories: true)
            try actual.write(to: url, atomically: true, encoding: .utf8)
            print("recorded \(url.path)")
            return
        }
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            XCTFail("missing golden \(url.path); record it with DECONVSCOPE_RECORD_GOLDENS=1 swift test --filter ReportingTests", file: file, line: line)
            return
        }
        if actual != expected {
            let a = actual.split(separator: "\n", omittingEmptySubsequences: false), e = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let first = zip(a, e).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, e.count)
            XCTFail("\(page) differs from golden \(golden) at line \(first + 1): expected \"\(first < e.count ? e[first] : "<end>")\", got \"\(first < a.count ? a[first] : "<end>")\". If the change is intended, re-record with DECONVSCOPE_RECORD_GOLDENS=1 swift test --filter ReportingTests",
                    file: file, line: line)
        }
    }

    /// The epoch pages' figures are written by `EpochPage.figureText`, not rendered through Plot's
    /// node tree (`figure(_:)`, 5x slower): every epoch page of the fixture (flags of every kind,
    /// maps with fewer than k responses, silent maps) is byte for byte the same both ways.
    func testEpochPagesAreTheSameThroughPlot() throws {
        let fixture = try Fixture.make()
        defer { fixture.remove() }
        func epochPages() throws -> [String: String] {
            let names = try FileManager.default.contentsOfDirectory(atPath: fixture.directory).filter { $0.contains("-epoch-") && $0.hasSuffix(".html") }
            return Dictionary(uniqueKeysWithValues: try names.map { ($0, try String(contentsOfFile: fixture.directory + "/" + $0, encoding: .utf8)) })
        }
        try ReportWriter.write(reportDirectory: fixture.directory)
        let direct = try epochPages()
        EpochPage.figuresThroughPlot = true
        defer { EpochPage.figuresThroughPlot = false }
        try? FileManager.default.removeItem(atPath: fixture.directory + "/report-keys.json")   // write every page again
        for name in direct.keys { try FileManager.default.removeItem(atPath: fixture.directory + "/" + name) }
        try ReportWriter.write(reportDirectory: fixture.directory)
        let plot = try epochPages()
        XCTAssertFalse(direct.isEmpty)
        XCTAssertEqual(direct.keys.sorted(), plot.keys.sorted())
        for (name, text) in direct {
            XCTAssertTrue(text.contains("<figure id=\"f0\""), name)
            if text != plot[name] {
                let a = Array(text.utf8), b = Array(plot[name]!.utf8)
                let first = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
                XCTFail("\(name) differs at byte \(first): direct \"\(String(decoding: a[max(0, first - 80)..<min(a.count, first + 80)], as: UTF8.self))\" Plot \"\(String(decoding: b[max(0, first - 80)..<min(b.count, first + 80)], as: UTF8.self))\"")
            }
        }
    }

    func testPageSkeletonsMatchTheGoldens() throws {
        let fixture = try Fixture.make()
        defer { fixture.remove() }
        try ReportWriter.write(reportDirectory: fixture.directory)
        try check("index.html", in: fixture, golden: "index.skeleton.txt")
        try check("layer-conv1.html", in: fixture, golden: "layer-conv1.skeleton.txt")
        try check("layer-conv1-epoch-0001.html", in: fixture, golden: "layer-conv1-epoch-0001.skeleton.txt")
    }

    func testTheSkeletonSeesStructuralChanges() throws {
        let a = try XHTML.parse("<!DOCTYPE html><html><body><div class=\"x\"><p>t</p><p>u</p></div></body></html>", file: "a")
        let b = try XHTML.parse("<!DOCTYPE html><html><body><div class=\"x\"><p>t</p><span>u</span></div></body></html>", file: "b")
        XCTAssertEqual(GoldenTests.skeleton(a), ["html", "  body", "    div.x", "      p x 2"])
        let c = try XHTML.parse("<!DOCTYPE html><html><body><p id=\"f12\">t</p><p id=\"f3\">u</p></body></html>", file: "c")
        XCTAssertEqual(GoldenTests.skeleton(c), ["html", "  body", "    p#fN x 2"])
        XCTAssertNotEqual(GoldenTests.skeleton(a), GoldenTests.skeleton(b))
    }
}

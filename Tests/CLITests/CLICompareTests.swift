import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// `deconvscope compare`: two short runs side by side; every link on the comparison (and on the run
/// pages it links to) resolves on disk, and the metrics lines carry `layers` and `confusion`.
final class CLICompareTests: XCTestCase {
    /// Every href and src of an XHTML page (the report writes well-formed XML).
    final class LinkCollector: NSObject, XMLParserDelegate {
        var links: [String] = []
        var text = ""
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            for key in ["href", "src"] { if let v = attributes[key] { links.append(v) } }
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
    }

    static func links(of page: String) throws -> (links: [String], text: String) {
        let data = try Data(contentsOf: URL(fileURLWithPath: page))
        let parser = XMLParser(data: data)
        let collector = LinkCollector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "\(page) is not well-formed: \(String(describing: parser.parserError))")
        return (collector.links, collector.text)
    }

    /// Checks every link of `page`; returns the local .html pages it links to.
    static func checkLinks(_ page: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let base = URL(fileURLWithPath: page).deletingLastPathComponent()
        var pages: [String] = []
        for link in try links(of: page).links {
            XCTAssertFalse(link.contains("://"), "\(page): link leaves the disk: \(link)", file: file, line: line)
            let path = String(link.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0])
            if path.isEmpty { continue }   // an anchor on the same page
            let decoded = try XCTUnwrap(path.removingPercentEncoding)
            let target = base.appendingPathComponent(decoded).standardized.path
            XCTAssertTrue(FileManager.default.fileExists(atPath: target), "\(page): \(link) does not resolve (\(target))", file: file, line: line)
            if target.hasSuffix(".html") { pages.append(target) }
        }
        return pages
    }

    func testCompareTwoRunsWritesAReportWhoseLinksAllResolve() throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = ["--epochs", "1", "--train-limit", "512", "--batch-size", "64", "--snapshot-epochs", "0,1", "--probes", "32", "--top", "4"]
        let base = try CLI.run(["train", "--run", "base"] + common, in: dir)
        XCTAssertEqual(base.status, 0, base.stderr)
        // Not monitored: compare must monitor it first.
        let fast = try CLI.run(["train", "--run", "fast", "--learning-rate", "0.05", "--no-monitor"] + common, in: dir)
        XCTAssertEqual(fast.status, 0, fast.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/Reports/fast/findings.json"))

        let r = try CLI.run(["compare", "Checkpoints/base", "Checkpoints/fast"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("fast: no report yet; monitoring it"), r.stdout)
        let index = dir + "/Reports/compare-base-fast/index.html"
        XCTAssertTrue(r.stdout.contains("comparison: Reports/compare-base-fast/index.html"), r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/Reports/fast/index.html"), "the unmonitored run got its report")
        // Both runs name their data set alike, whether train's monitor (started before run.json exists) or compare's wrote it.
        for run in ["base", "fast"] {
            let findings = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/Reports/\(run)/findings.json"))) as? [String: Any])
            XCTAssertEqual(findings["data"] as? String, "fashion-mnist", run)
        }

        // Every link of the comparison resolves, and so does every link of the run pages it links to.
        var seen = Set<String>(), queue = [index]
        while let page = queue.popLast() {
            guard seen.insert(page).inserted else { continue }
            let linked = try Self.checkLinks(page)
            if page == index { queue += linked }
        }
        XCTAssertGreaterThan(seen.count, 5, "the comparison links into both runs' reports: \(seen.sorted())")
        let (links, text) = try Self.links(of: index)
        XCTAssertTrue(text.contains("base") && text.contains("fast"), "both run names appear")
        XCTAssertTrue(links.contains("../base/index.html") && links.contains("../fast/index.html"), "\(links)")
        XCTAssertTrue(links.contains { $0.hasPrefix("img/run1-conv1-filters") } && links.contains { $0.hasPrefix("img/run2-conv2-evolution") }, "\(links)")
        let html = try String(contentsOfFile: index, encoding: .utf8)
        XCTAssertNotNil(html.range(of: "<tr class=\"differs\"><th class=\"mono\">learning_rate</th>"), "the differing learning rate is marked")
        XCTAssertNil(html.range(of: "<tr class=\"differs\"><th class=\"mono\">momentum</th>"), "equal settings are not marked")

        // The metrics behind it: layers per parameter layer, confusion over the whole test split.
        let lines = try String(contentsOfFile: dir + "/Checkpoints/base/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        for (epoch, line) in lines.enumerated() {
            let m = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let confusion = try XCTUnwrap(m["confusion"] as? [[Int]])
            let total = confusion.joined().reduce(0, +)
            XCTAssertEqual(total, 10_000, "the Fashion-MNIST test split")
            let diagonal = confusion.indices.reduce(0) { $0 + confusion[$1][$1] }
            XCTAssertEqual(Double(diagonal) / Double(total), try XCTUnwrap(m["test_accuracy"] as? Double), accuracy: 1e-12)
            if epoch == 0 { XCTAssertNil(m["layers"]); continue }
            let layers = try XCTUnwrap(m["layers"] as? [String: [String: Double]])
            XCTAssertEqual(Set(layers.keys), ["conv1", "conv2", "fc3", "fc4"], "every parameter layer of zf-fmnist")
            for (name, values) in layers {
                XCTAssertEqual(Set(values.keys), ["grad_norm", "weight_norm", "update_ratio"], name)
                XCTAssertTrue(values.values.allSatisfy { $0 > 0 && $0.isFinite }, "\(name): \(values)")
            }
        }
    }

    func testCompareRefusesBadInputWithOneLine() throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/a", withIntermediateDirectories: true)
        assertOneLineError(try CLI.run(["compare", "a"], in: dir), contains: "at least two run directories")
        assertOneLineError(try CLI.run(["compare", "a", "missing"], in: dir), contains: "missing: no such run directory")
        assertOneLineError(try CLI.run(["compare", "a", "x/a"], in: dir), contains: "two run directories are named \"a\"")
        assertOneLineError(try CLI.run(["compare", "a", "b", "--name", "../up"], in: dir), contains: "--name")
        assertOneLineError(try CLI.run(["compare", "a", "b", "--name", "a"], in: dir), contains: "one of the runs")
        assertOneLineError(try CLI.run(["compare", "a", "a2"], in: dir), contains: "a2: no such run directory")
    }
}

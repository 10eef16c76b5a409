import XCTest
import Foundation
@testable import Reporting
@testable import Monitoring

/// The classes section (per-class accuracy, most confused pairs and their change), the class
/// make-up of each feature map with its filter, and the per-layer learning charts.
final class ClassesAndLearningReportTests: XCTestCase {
    private var fixtures: [Fixture] = []
    override func tearDown() { fixtures.forEach { $0.remove() }; fixtures = []; super.tearDown() }

    private func page(_ name: String, _ spec: FixtureSpec = FixtureSpec()) throws -> Element {
        let fixture = try Fixture.make(spec)
        fixtures.append(fixture)
        try ReportWriter.write(reportDirectory: fixture.directory)
        return try XHTML.parse(String(contentsOfFile: fixture.directory + "/" + name, encoding: .utf8), file: name)
    }

    /// Fixture: 4 classes, at epoch e class a has 5 + e right and 5 - e taken for class a + 1.
    func testIndexNamesTheMostConfusedPairsWithTheirChangeAndPerClassAccuracy() throws {
        let root = try page("index.html")
        let section = try XCTUnwrap(root.first("section", id: "classes"))
        let pairs = try XCTUnwrap(section.first("ol", class: "pairs")).children
        XCTAssertEqual(pairs.count, 4, "four off-diagonal cells are non-zero")
        XCTAssertEqual(pairs[0].allText, "T-shirt taken for \(FixtureSpec.hostileClass): 2 test images (down from 4 at epoch 1)")
        let rows = try XCTUnwrap(section.first("table", class: "per-class")?.first("tbody")).children
        XCTAssertEqual(rows.count, 4)
        // Epoch 3: 8 of 10 right (80%), epoch 1: 6 of 10 (60%).
        XCTAssertEqual(rows[0].children.map(\.allText), ["T-shirt", "10", "8", "80.0%", "+20.0 pp"])
        let matrix = try XCTUnwrap(section.first("table", class: "confusion")?.first("tbody")).children
        XCTAssertEqual(matrix[1].children.map(\.allText), [FixtureSpec.hostileClass, "0", "8", "2", "0"])
    }

    func testConfusedPairsRankByCountAndCompareWithThePreviousSnapshot() {
        let now = [[5, 3, 0], [1, 6, 2], [0, 3, 4]], before = [[5, 1, 0], [1, 6, 4], [0, 3, 4]]
        let pairs = ClassesSection.confusedPairs(now, previous: before, limit: 3)
        XCTAssertEqual(pairs, [.init(actual: 0, predicted: 1, count: 3, previous: 1), .init(actual: 2, predicted: 1, count: 3, previous: 3),
                               .init(actual: 1, predicted: 2, count: 2, previous: 4)])
    }

    func testWithoutConfusionTheSectionSaysSo() throws {
        var spec = FixtureSpec()
        spec.withMetrics = false
        let root = try page("index.html", spec)
        let section = try XCTUnwrap(root.first("section", id: "classes"))
        XCTAssertNil(section.first("table"))
        XCTAssertTrue(section.allText.contains("No snapshot carries confusion counts"))
        XCTAssertTrue(try XCTUnwrap(root.first("section", id: "learning")).allText.contains("no per-layer statistics"))
    }

    /// Layer page: one row per feature map with the classes of its top-k probes, and the filter box.
    func testLayerPageListsEachMapsClassesAndCanFilterThem() throws {
        let root = try page("layer-conv1.html")
        let section = try XCTUnwrap(root.first("section", id: "classes"))
        let input = try XCTUnwrap(section.first("input", class: "filter"))
        XCTAssertEqual(input.attributes["oninput"], ClassMakeupSection.filterHandler)
        let rows = section.elements("tr", class: "class-row")
        XCTAssertEqual(rows.count, 4)
        // The fixture's top probes and labels (probe i has label i % 4) give the make-up; recompute it.
        let fixture = fixtures[0]
        let top = try XCTUnwrap(fixture.analyses[3]?.layers.first).top
        for (c, row) in rows.enumerated() {
            let shares = ClassMakeup.of(top: top[c].map(\.image), labels: fixture.labels, classNames: fixture.spec.classNames)
            XCTAssertEqual(row.attributes["data-classes"], shares.map { $0.name.lowercased() }.joined(separator: " | "))
            XCTAssertEqual(row.children[2].allText, shares.map { "\($0.name) \($0.count)/4" }.joined(separator: ", "))
        }
    }

    func testClassMakeupCountsLabelsMostFirst() {
        let shares = ClassMakeup.of(top: [4, 0, 2, 1, 7, -1], labels: [0, 1, 0, 1, 2, 2, 2, 1], classNames: ["shirt", "sandal"])
        XCTAssertEqual(shares, [ClassShare(classIndex: 0, name: "shirt", count: 2), ClassShare(classIndex: 1, name: "sandal", count: 2),
                                ClassShare(classIndex: 2, name: "class 2", count: 1)])
        XCTAssertEqual(ClassMakeupSection.verdict([ClassShare(classIndex: 5, name: "Sandal", count: 7)], k: 9), "mostly Sandal")
    }

    /// Three charts, one line per layer, points for epochs 1-3 (epoch 0 has taken no step); the
    /// ratio is on a log10 axis.
    func testLearningChartsHaveOneLinePerLayer() throws {
        let root = try page("index.html")
        let charts = try XCTUnwrap(root.first("section", id: "learning")).elements("svg")
        XCTAssertEqual(charts.count, 3)
        for chart in charts {
            XCTAssertEqual(chart.elements("g", class: "series").count, 2)
            XCTAssertEqual(chart.elements("circle").count, 6)
        }
        let tip = try XCTUnwrap(charts[0].elements("circle").first?.first("title")).allText
        XCTAssertEqual(tip, "conv1, epoch 1: 0.00333")   // 0.01 / 3, plotted at log10 = -2.48, shown as the value
    }

    /// A findings.json written before confusion and top_classes existed still loads.
    func testOlderFindingsWithoutTheNewFieldsLoad() throws {
        let fixture = try Fixture.make(FixtureSpec())
        fixtures.append(fixture)
        let path = fixture.directory + "/findings.json"
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        json["epochs"] = (json["epochs"] as! [[String: Any]]).map { e -> [String: Any] in
            var e = e
            e["confusion"] = nil
            e["layers"] = (e["layers"] as! [[String: Any]]).map { l -> [String: Any] in
                var l = l
                l["filters"] = (l["filters"] as! [[String: Any]]).map { f in var f = f; f["top_classes"] = nil; return f }
                return l
            }
            return e
        }
        json["metrics"] = (json["metrics"] as! [[String: Any]]).map { m in var m = m; m["layers"] = nil; m["confusion"] = nil; return m }
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        XCTAssertFalse(try String(contentsOfFile: path, encoding: .utf8).contains("top_classes"))
        try ReportWriter.write(reportDirectory: fixture.directory)
        let layer = try XHTML.parse(String(contentsOfFile: fixture.directory + "/layer-conv1.html", encoding: .utf8), file: "layer")
        XCTAssertTrue(try XCTUnwrap(layer.first("section", id: "classes")).allText.contains("no class make-up"))
    }
}

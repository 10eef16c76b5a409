import XCTest
import Datasets
import Training
import Runs
import Foundation
import ImageIO
import Layers
import Plot
@testable import Monitoring
@testable import Reporting

/// End-to-end tests of the report: a fake monitor folder in, the written files checked from
/// the outside (parsed pages, decoded PNGs), never against the writer's own helpers.
final class ReportingTests: XCTestCase {
    private var fixtures: [Fixture] = []

    override func tearDown() {
        fixtures.forEach { $0.remove() }
        fixtures = []
        super.tearDown()
    }

    private func report(_ spec: FixtureSpec = FixtureSpec()) throws -> Fixture {
        let fixture = try Fixture.make(spec)
        fixtures.append(fixture)
        let index = try ReportWriter.write(reportDirectory: fixture.directory)
        XCTAssertEqual(index, fixture.directory + "/index.html")
        return fixture
    }

    private func read(_ fixture: Fixture, _ name: String) throws -> (text: String, root: Element) {
        let text = try String(contentsOfFile: fixture.directory + "/" + name, encoding: .utf8)
        return (text, try XHTML.parse(text, file: name))
    }

    private func files(_ fixture: Fixture, ext: String) throws -> [String] {
        let all = FileManager.default.enumerator(atPath: fixture.directory)!.compactMap { $0 as? String }
        return all.filter { $0.hasSuffix("." + ext) }.sorted()
    }

    // MARK: (a) structure

    func testWritesTheExpectedPagesAndEveryPageIsWellFormed() throws {
        let fixture = try report()
        let pages = try files(fixture, ext: "html")
        XCTAssertEqual(pages, [
            "index.html", "layer-conv1-epoch-0000.html", "layer-conv1-epoch-0001.html", "layer-conv1-epoch-0003.html", "layer-conv1.html",
            "layer-conv2-epoch-0000.html", "layer-conv2-epoch-0001.html", "layer-conv2-epoch-0003.html", "layer-conv2.html",
            "occlusion.html",
        ])
        XCTAssertEqual(try files(fixture, ext: "png"), [
            "img/conv1-epoch-0000.png", "img/conv1-epoch-0001.png", "img/conv1-epoch-0003.png", "img/conv1-evolution.png", "img/conv1-filters.png",
            "img/conv2-epoch-0000.png", "img/conv2-epoch-0001.png", "img/conv2-epoch-0003.png", "img/conv2-evolution.png",
            "img/occlusion-epoch-0000.png", "img/occlusion-epoch-0001.png", "img/occlusion-epoch-0003.png",
        ], "one sprite per view per epoch, filters only for the first layer")
        XCTAssertTrue(FileManager.default.fileExists(atPath: fixture.directory + "/style.css"))
        for page in pages {
            XCTAssertNoThrow(try read(fixture, page), page)
        }
    }

    func testTheStrictParserRejectsBrokenMarkup() {
        // The well-formedness check must be able to fail.
        let head = "<!DOCTYPE html><html><body>"
        XCTAssertThrowsError(try XHTML.parse(head + "<div><span></div></body></html>", file: "unbalanced"))
        XCTAssertThrowsError(try XHTML.parse(head + "<p title=\"a\"b\">x</p></body></html>", file: "attribute"))
        XCTAssertThrowsError(try XHTML.parse(head + "<p>a & b</p></body></html>", file: "ampersand"))
        XCTAssertThrowsError(try XHTML.parse(head + "<span class=\"x\"/></body></html>", file: "self-closed span"))
        XCTAssertNoThrow(try XHTML.parse(head + "<p>a &amp; b<img src=\"x.png\" alt=\"x\"/></p></body></html>", file: "good"))
    }

    // MARK: (b) links

    func testEveryLinkedFileAndAnchorExists() throws {
        let fixture = try report()
        var checked = 0
        var parsed: [String: Element] = [:]
        func page(_ name: String) throws -> Element {
            if let p = parsed[name] { return p }
            let p = try read(fixture, name).root
            parsed[name] = p
            return p
        }
        let css = try String(contentsOfFile: fixture.directory + "/style.css", encoding: .utf8)
        for url in XHTML.cssURLs(css) { XCTFail("style.css must not reference files, found \(url)") }
        for name in try files(fixture, ext: "html") {
            let root = try page(name)
            var targets: [String] = []
            for e in root.all {
                for key in ["href", "src"] { if let v = e.attributes[key] { targets.append(v) } }
                if e.name == "option", let v = e.attributes["value"] { targets.append(v) }
                if let style = e.attributes["style"] { targets += XHTML.cssURLs(style) }
                if e.name == "style" { targets += XHTML.cssURLs(e.allText) }
            }
            XCTAssertFalse(targets.isEmpty, name)
            for target in targets {
                XCTAssertFalse(target.contains("://") || target.hasPrefix("//") || target.hasPrefix("data:"), "\(name): external or inline asset \(target)")
                XCTAssertFalse(target.hasPrefix("/") || target.contains(".."), "\(name): link leaves the report folder: \(target)")
                let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                let file = parts[0].isEmpty ? name : parts[0]
                XCTAssertTrue(FileManager.default.fileExists(atPath: fixture.directory + "/" + file), "\(name) links to missing \(file)")
                if parts.count == 2 {
                    XCTAssertTrue(file.hasSuffix(".html"))
                    XCTAssertNotNil(try page(file).all.first { $0.attributes["id"] == parts[1] }, "\(name) links to missing anchor \(target)")
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 100)
    }

    // MARK: (c) pixels

    private struct Sprite {
        let image: Image8
        let scale: Int
    }

    /// The sprite a page's `<style>` binds to `.className`, checked against its CSS size.
    private func sprite(_ className: String, page: Element, fixture: Fixture) throws -> Sprite {
        let css = try XCTUnwrap(page.first("style")).allText
        let regex = try NSRegularExpression(pattern: "\\.\(className)\\{background-image:url\\(([^)]+)\\);background-size:(\\d+)px (\\d+)px\\}")
        let m = try XCTUnwrap(regex.firstMatch(in: css, range: NSRange(css.startIndex..., in: css)), "no sprite rule .\(className)")
        func group(_ i: Int) -> String { String(css[Range(m.range(at: i), in: css)!]) }
        let image = try PNGCodec.read(from: fixture.directory + "/" + group(1))
        let scale = Int(group(2))! / image.width
        XCTAssertGreaterThanOrEqual(scale, 1)
        XCTAssertEqual(Int(group(2))!, image.width * scale)
        XCTAssertEqual(Int(group(3))!, image.height * scale)
        return Sprite(image: image, scale: scale)
    }

    /// The sprite pixels a tile element shows (interleaved channels).
    private func pixels(of tile: Element, in sprite: Sprite) throws -> (width: Int, height: Int, bytes: [UInt8]) {
        let style = XHTML.style(try XCTUnwrap(tile.attributes["style"]))
        let width = try XCTUnwrap(style["width"]?.first), height = try XCTUnwrap(style["height"]?.first)
        let position = try XCTUnwrap(style["background-position"])
        let s = sprite.scale
        XCTAssertEqual([width % s, height % s, position[0] % s, position[1] % s], [0, 0, 0, 0], "tile not on the sprite's pixel grid")
        let (x0, y0, w, h) = (-position[0] / s, -position[1] / s, width / s, height / s)
        XCTAssertTrue(x0 >= 0 && y0 >= 0 && x0 + w <= sprite.image.width && y0 + h <= sprite.image.height, "tile outside the sprite")
        var bytes: [UInt8] = []
        for y in y0..<(y0 + h) { for x in x0..<(x0 + w) { for c in 0..<sprite.image.channels { bytes.append(sprite.image[x, y, c]) } } }
        return (w, h, bytes)
    }

    /// What a projection tile must hold: the box crop, v -> 128 + 127 v / max|v| (all channels).
    private func expectedProjection(_ spec: FixtureSpec, layer: Int, epoch: Int, c: Int, j: Int, top1: Bool = false) -> (Int, Int, [UInt8]) {
        let box = Fixture.box(c, j, epoch: epoch, rf: spec.layers[layer].rf, size: spec.size)
        var values: [Float] = []
        for y in box.top..<box.bottom { for x in box.left..<box.right { for ch in 0..<spec.channels {
            values.append(Fixture.projection(c, j, ch, y, x, epoch: epoch))
        } } }
        let m = values.map { abs($0) }.max() ?? 0
        return (box.width, box.height, values.map { m == 0 ? 128 : UInt8(lround(128 + 127 * Double($0) / Double(m))) })
    }

    private func expectedPatch(_ spec: FixtureSpec, layer: Int, epoch: Int, c: Int, j: Int) -> (Int, Int, [UInt8]) {
        let box = Fixture.box(c, j, epoch: epoch, rf: spec.layers[layer].rf, size: spec.size)
        let image = Fixture.activation(c, j, epoch: epoch, probes: spec.probes).image
        var bytes: [UInt8] = []
        for y in box.top..<box.bottom { for x in box.left..<box.right { for ch in 0..<spec.channels {
            bytes.append(UInt8(lround(Double(Fixture.pixel(image, ch, y, x)) * 255)))
        } } }
        return (box.width, box.height, bytes)
    }

    private func checkFig2(_ fixture: Fixture, layer: Int, epoch: Int) throws {
        let spec = fixture.spec
        let name = "layer-\(spec.layers[layer].name)-epoch-" + String(format: "%04d", epoch) + ".html"
        let root = try read(fixture, name).root
        let sheet = try sprite("sp", page: root, fixture: fixture)
        XCTAssertEqual(sheet.image.channels, spec.channels == 3 ? 3 : 1, "gray renders gray, RGB renders RGB")
        for c in 0..<spec.layers[layer].filters {
            let figure = try XCTUnwrap(root.first("figure", id: "f\(c)"), "\(name): no figure for map \(c)")
            let grids = figure.elements("div", class: "grid")
            // Zero activations are not drawn: their probes are arbitrary and their projections zero.
            let live = Fixture.responses(layer: layer, epoch: epoch, filter: c, k: spec.k)
            XCTAssertEqual(grids.count, live == 0 ? 0 : 2, "projections beside patches, none for a dead map")
            if live > 0 {
                XCTAssertEqual(grids[0].children.count, live)
                XCTAssertEqual(grids[1].children.count, live)
            }
            let silence = figure.elements("p", class: "muted").map(\.allText)
            switch live {
            case 0: XCTAssertEqual(silence, ["zero on all \(spec.probes) probe images: nothing to project"], "\(name) map \(c)")
            case spec.k: XCTAssertEqual(silence, [], "\(name) map \(c)")
            default: XCTAssertEqual(silence, ["non-zero on only \(live) of \(spec.probes) probe images; the other \(spec.k - live) places are empty"], "\(name) map \(c)")
            }
            for j in 0..<live {
                let projection = try pixels(of: grids[0].children[j], in: sheet)
                let want = expectedProjection(spec, layer: layer, epoch: epoch, c: c, j: j)
                XCTAssertEqual(projection.width, want.0, "\(name) map \(c) slot \(j) width")
                XCTAssertEqual(projection.height, want.1, "\(name) map \(c) slot \(j) height")
                XCTAssertEqual(projection.bytes, want.2, "\(name) map \(c) slot \(j) projection pixels")
                let patch = try pixels(of: grids[1].children[j], in: sheet)
                let wantPatch = expectedPatch(spec, layer: layer, epoch: epoch, c: c, j: j)
                XCTAssertEqual(patch.bytes, wantPatch.2, "\(name) map \(c) slot \(j) patch pixels")
            }
            // Caption: the activation values and class names, strongest first.
            guard live > 0 else {
                XCTAssertNil(figure.first("ol", class: "acts"), "\(name) map \(c): no activations listed")
                continue
            }
            let items = try XCTUnwrap(figure.first("ol", class: "acts")).children
            XCTAssertEqual(items.count, live)
            let a0 = Fixture.activation(c, 0, epoch: epoch, probes: spec.probes)
            XCTAssertTrue(items[0].allText.contains(spec.classNames[fixture.labels[a0.image]]), items[0].allText)
            XCTAssertTrue(items[0].allText.hasPrefix(String(format: "%.3g", Double(a0.value))), items[0].allText)
        }
    }

    func testFig2SpritesHoldTheContrastNormalizedProjectionsAndRawPatches() throws {
        let fixture = try report()
        try checkFig2(fixture, layer: 0, epoch: 1)
        try checkFig2(fixture, layer: 1, epoch: 3)
        // The all-zero projection (map 1, slot 1) stays mid gray.
        let want = expectedProjection(fixture.spec, layer: 0, epoch: 0, c: 1, j: 1)
        XCTAssertEqual(Set(want.2), [128])
        try checkFig2(fixture, layer: 0, epoch: 0)
    }

    func testRGBInputsRenderInColour() throws {
        var spec = FixtureSpec()
        spec.channels = 3
        spec.size = 10
        spec.probes = 5
        spec.k = 3
        spec.layers = [("conv1", 3, 5, 3)]
        spec.epochs = [2]
        let fixture = try report(spec)
        try checkFig2(fixture, layer: 0, epoch: 2)
        let filters = try PNGCodec.read(from: fixture.directory + "/img/conv1-filters.png")
        XCTAssertEqual(filters.channels, 3)
    }

    func testEvolutionShowsTheStrongestProjectionOfEveryEpochAndTheFirstLayerItsFilters() throws {
        let fixture = try report()
        let spec = fixture.spec
        for (l, layer) in spec.layers.enumerated() {
            let root = try read(fixture, "layer-\(layer.name).html").root
            let sheet = try sprite("ev", page: root, fixture: fixture)
            let table = try XCTUnwrap(root.first("table", class: "evolution"))
            let rows = try XCTUnwrap(table.first("tbody")).children
            XCTAssertEqual(rows.count, layer.filters, "one row per feature map")
            for (c, row) in rows.enumerated() {
                let cells = row.children.filter { $0.name == "td" }
                XCTAssertEqual(cells.count, spec.epochs.count, "one column per snapshot")
                for (i, epoch) in spec.epochs.enumerated() {
                    if Fixture.responses(layer: l, epoch: epoch, filter: c, k: spec.k) == 0 {
                        // A dead map has no strongest projection: a marked blank that still links to its figure.
                        XCTAssertNil(cells[i].first("span", class: "tile"), "\(layer.name) map \(c) epoch \(epoch)")
                        XCTAssertEqual(cells[i].first("span", class: "blank")?.allText, "0")
                        XCTAssertEqual(cells[i].first("a")?.attributes["href"], "layer-\(layer.name)-epoch-" + String(format: "%04d", epoch) + ".html#f\(c)")
                        XCTAssertTrue(cells[i].first("a")?.attributes["title"]?.contains("zero on every probe image") == true)
                        continue
                    }
                    let tile = try XCTUnwrap(cells[i].first("span", class: "tile"))
                    XCTAssertEqual(try pixels(of: tile, in: sheet).bytes, expectedProjection(spec, layer: l, epoch: epoch, c: c, j: 0).2,
                                   "\(layer.name) map \(c) epoch \(epoch)")
                }
            }
            let filterSection = root.first("section", id: "filters")
            if l == 0 {
                let table = try XCTUnwrap(filterSection?.first("table", class: "evolution"))
                let wt = try sprite("wt", page: root, fixture: fixture)
                let k = layer.kernel
                for (f, row) in try XCTUnwrap(table.first("tbody")).children.enumerated() {
                    for (i, epoch) in spec.epochs.enumerated() {
                        let tile = try XCTUnwrap(row.children.filter { $0.name == "td" }[i].first("span", class: "tile"))
                        var w: [Float] = []
                        for y in 0..<k { for x in 0..<k { w.append(Fixture.weight(f, 0, y, x, epoch: epoch)) } }
                        let m = w.map { abs($0) }.max()!
                        XCTAssertEqual(try pixels(of: tile, in: wt).bytes, w.map { UInt8(lround(128 + 127 * Double($0) / Double(m))) },
                                       "filter \(f) epoch \(epoch)")
                    }
                }
            } else {
                XCTAssertNil(filterSection, "filters are shown for the first layer only")
            }
        }
    }

    func testOcclusionMapsLineUpWithTheImageAndUseTheLegendColours() throws {
        let fixture = try report()
        let root = try read(fixture, "occlusion.html").root
        // Legend: class -> colour, as the page states it.
        var colour: [String: [UInt8]] = [:]
        for swatch in root.elements("span", class: "swatch") {
            let style = try XCTUnwrap(swatch.first("span", class: "chip")?.attributes["style"])
            let rgb = style.split(whereSeparator: { !$0.isNumber }).compactMap { UInt8($0) }
            colour[swatch.allText.trimmingCharacters(in: .whitespaces)] = rgb
        }
        XCTAssertEqual(colour.count, fixture.spec.classNames.count)
        XCTAssertEqual(Set(colour.values.map { $0 }).count, colour.count, "distinct class colours")
        let epoch = 3
        let section = try XCTUnwrap(root.first("section", id: "epoch-\(epoch)"))
        let sheet = try sprite("oc\(epoch)", page: root, fixture: fixture)
        let rows = try XCTUnwrap(section.first("tbody")).children
        XCTAssertEqual(rows.count, 3)
        for (i, row) in rows.enumerated() {
            let tiles = row.elements("span", class: "tile")
            XCTAssertEqual(tiles.count, 4, "input, activation, probability, predicted class")
            // Input: the raw probe pixels, gray in all three channels.
            let input = try pixels(of: tiles[0], in: sheet)
            var want: [UInt8] = []
            for y in 0..<12 { for x in 0..<12 { let v = UInt8(lround(Double(Fixture.pixel(i, 0, y, x)) * 255)); want += [v, v, v] } }
            XCTAssertEqual(input.bytes, want)
            // Probability: the documented ends of the scale, 0 = dark violet, 1 = yellow.
            let probability = try pixels(of: tiles[2], in: sheet)
            XCTAssertEqual(Array(probability.bytes[0..<3]), [68, 1, 84], "p = 0 at the first square")
            XCTAssertEqual(Array(probability.bytes[(11 * 12 + 11) * 3..<(11 * 12 + 11) * 3 + 3]), [253, 231, 37], "p = 1 at the last square")
            // Predicted class: every pixel has the legend colour of the square covering it.
            let predicted = try pixels(of: tiles[3], in: sheet)
            for y in 0..<12 { for x in 0..<12 {
                let cls = ((y / 4) * 3 + x / 4 + i + epoch) % fixture.spec.classNames.count
                let got = Array(predicted.bytes[(y * 12 + x) * 3..<(y * 12 + x) * 3 + 3])
                XCTAssertEqual(got, colour[fixture.spec.classNames[cls]], "image \(i) pixel (\(y), \(x))")
            } }
        }
        XCTAssertNotNil(try read(fixture, "index.html").root.first("section", id: "occlusion"))
    }

    // MARK: (d) escaping

    func testHostileStringsAppearOnlyEscaped() throws {
        let fixture = try report()
        var sawRun = false, sawClass = false, sawQuote = false
        for name in try files(fixture, ext: "html") {
            let (text, root) = try read(fixture, name)
            for raw in ["<script", "<img src=x", "<svg onload", "<b>model", "fc <b>", "<dir>", "<ok>", "<data>", "<x>"] {
                XCTAssertFalse(text.contains(raw), "\(name) contains unescaped \(raw)")
            }
            XCTAssertFalse(text.contains("onerror=alert(1)>") && !text.contains("onerror=alert(1)&gt;"), name)
            // Decoded by the parser, the strings read exactly as given (escaped once, not twice).
            let decoded = root.all.map { $0.text + " " + $0.attributes.values.joined(separator: " ") }.joined(separator: " ")
            sawRun = sawRun || decoded.contains(FixtureSpec.hostileRun)
            sawClass = sawClass || decoded.contains(FixtureSpec.hostileClass)
            sawQuote = sawQuote || decoded.contains(FixtureSpec.quoteClass)
            XCTAssertFalse(decoded.contains("&lt;") || decoded.contains("&amp;"), "\(name): double-escaped text")
        }
        XCTAssertTrue(sawRun && sawClass && sawQuote, "the hostile strings are shown, escaped")
        let index = try read(fixture, "index.html").text
        XCTAssertTrue(index.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        XCTAssertTrue(index.contains("/tmp/&lt;b&gt;model&lt;/b&gt;.json"))
        let epoch = try read(fixture, "layer-conv1-epoch-0001.html").text
        XCTAssertTrue(epoch.contains("&lt;img src=x onerror=alert(1)&gt;"))
        XCTAssertTrue(epoch.contains("&quot;&gt;&lt;svg onload=alert(2)&gt;"), "quotes escaped inside attribute values")
    }

    /// Why the report escapes by itself (Reporting/Markup.swift): Plot 0.14 writes attribute values
    /// verbatim and keeps entity-like text. If a Plot upgrade changes that, values would be escaped
    /// twice, and this test says where to look.
    func testPlotLeavesAttributeValuesUnescapedSoTheReportEscapesThem() {
        let raw = Node<HTML.BodyContext>.a(.href("x\"onmouseover=\"alert(1)"), .text("&lt;")).render()
        XCTAssertEqual(raw, "<a href=\"x\"onmouseover=\"alert(1)\">&lt;</a>", "Plot's escaping changed: revisit Escape in Markup.swift")
        let ours = Node<HTML.BodyContext>.a(.attr("href", "x\"onmouseover=\"alert(1)"), .txt("&lt;")).render()
        XCTAssertEqual(ours, "<a href=\"x&quot;onmouseover=&quot;alert(1)\">&amp;lt;</a>")
    }

    // MARK: content

    func testFlagsAreMarkedInEveryViewWithTheirNumbers() throws {
        let fixture = try report()
        let page = try read(fixture, "layer-conv1-epoch-0001.html").root
        let dead = try XCTUnwrap(page.first("figure", id: "f2"))
        XCTAssertTrue(dead.classes.contains("flag-dead"))
        XCTAssertNotNil(dead.first("span", class: "badge"))
        let reason = try XCTUnwrap(dead.first("ul", class: "reasons")).allText
        XCTAssertTrue(reason.contains("fired on 0 of 8 probes"), reason)
        let f3 = try XCTUnwrap(page.first("figure", id: "f3"))
        let reasons3 = try XCTUnwrap(f3.first("ul", class: "reasons")).allText
        XCTAssertTrue(reasons3.contains("low-band ratio 0.05 < 0.1 (white noise 1)"), reasons3)
        // RMS 0.5 against 5 x the upper median of (0.05, 0.06, 0.07, 0.5) = 0.35.
        XCTAssertTrue(reasons3.contains("weight RMS 0.5 > 5 \u{00D7} median 0.07 = 0.35"), reasons3)
        XCTAssertNil(try XCTUnwrap(page.first("figure", id: "f0")).first("ul", class: "reasons"))
        // The flag table row the overview links to lists the filter.
        let row = try XCTUnwrap(page.first("tr", id: "dead"))
        XCTAssertEqual(row.elements("a").map { $0.attributes["href"] }, ["#f2"])

        let index = try read(fixture, "index.html").root
        let link = try XCTUnwrap(index.elements("a", class: "count").first { $0.attributes["href"] == "layer-conv1-epoch-0001.html#dead" })
        XCTAssertEqual(link.allText, "1")
        XCTAssertEqual(index.elements("a", class: "count").count, 5, "one link per non-zero count")

        let layer = try read(fixture, "layer-conv2.html").root
        let rows = try XCTUnwrap(layer.first("table", class: "evolution")?.first("tbody")).children
        XCTAssertTrue(rows[0].children.filter { $0.name == "td" }[2].classes.contains("flag-collapsed"))
        XCTAssertFalse(rows[0].children.filter { $0.name == "td" }[1].classes.contains("flag-collapsed"))
    }

    func testIndexShowsCurvesModelConfigurationAuditsAndHowToRead() throws {
        let fixture = try report()
        let (text, root) = try read(fixture, "index.html")
        let charts = try XCTUnwrap(root.first("section", id: "curves")).elements("svg")
        XCTAssertEqual(charts.count, 2)
        let labels = charts.flatMap { $0.elements("text", class: "label").map(\.allText) }
        XCTAssertEqual(labels, ["epoch", "loss (nats per image)", "epoch", "accuracy (%)"])
        XCTAssertEqual(charts[0].elements("circle").count, 3 + 4, "train loss from epoch 1, test loss from epoch 0")
        XCTAssertTrue(root.first("section", id: "model")!.allText.contains("receptive field"))
        XCTAssertEqual(root.first("section", id: "model")!.first("tbody")!.children.count, 7)
        XCTAssertTrue(root.first("section", id: "configuration")!.allText.contains("learning rate"))
        XCTAssertTrue(root.first("section", id: "audits")!.allText.contains("use 4 & 2"))
        let howto = root.first("section", id: "howto")!.allText
        for words in ["unpool", "switches", "rectif", "transposed", "128 + 127", "\u{03C4} = 0.025", "0.1 \u{00D7} white noise", "0.05 \u{00D7}", "5 \u{00D7}"] {
            XCTAssertTrue(howto.contains(words), "how to read this lacks \(words)")
        }
        XCTAssertTrue(text.contains("finished"))
        XCTAssertTrue(text.contains("2024-01-01T01:02:03Z"), "last-updated time")
    }

    func testWithoutMetricsTheNoteReplacesTheCurves() throws {
        var spec = FixtureSpec()
        spec.withMetrics = false
        let fixture = try report(spec)
        let root = try read(fixture, "index.html").root
        XCTAssertTrue(root.elements("svg").isEmpty)
        XCTAssertEqual(root.first("section", id: "curves")?.first("p", class: "note")?.allText, "No metrics <here> & none")
    }

    func testEpochNavigationLinksNeighboursAndOffersEverySnapshot() throws {
        let fixture = try report()
        let root = try read(fixture, "layer-conv1-epoch-0001.html").root
        let nav = try XCTUnwrap(root.first("nav", class: "epochnav"))
        let hrefs = nav.elements("a").compactMap { $0.attributes["href"] }
        XCTAssertTrue(hrefs.contains("layer-conv1-epoch-0000.html"))
        XCTAssertTrue(hrefs.contains("layer-conv1-epoch-0003.html"))
        XCTAssertTrue(hrefs.contains("layer-conv2-epoch-0001.html"))
        let select = try XCTUnwrap(nav.first("select"))
        XCTAssertEqual(select.children.map { $0.attributes["value"] ?? "" },
                       ["layer-conv1-epoch-0000.html", "layer-conv1-epoch-0001.html", "layer-conv1-epoch-0003.html"])
        XCTAssertEqual(select.children.filter { $0.attributes["selected"] != nil }.map(\.allText), ["epoch 1"])
        let first = try read(fixture, "layer-conv1-epoch-0000.html").root
        XCTAssertNotNil(first.first("nav", class: "epochnav")?.first("span", class: "disabled"), "no previous epoch at the first snapshot")
    }

    // MARK: robustness

    func testPagesStayLightFor64FiltersAnd8Epochs() throws {
        var spec = FixtureSpec()
        spec.size = 28
        spec.probes = 64
        spec.k = 9
        spec.layers = [("conv1", 64, 5, 5), ("conv2", 64, 14, 5)]
        spec.epochs = Array(0..<8)
        let fixture = Fixture.make
        let made = try fixture(spec)
        fixtures.append(made)
        let start = Date()
        try ReportWriter.write(reportDirectory: made.directory)
        let seconds = Date().timeIntervalSince(start)
        let html = try files(made, ext: "html"), png = try files(made, ext: "png")
        XCTAssertEqual(html.count, 1 + 2 * (1 + 8))
        XCTAssertEqual(png.count, 2 * (8 + 1) + 1)
        for name in html {
            let size = try FileManager.default.attributesOfItem(atPath: made.directory + "/" + name)[.size] as! Int
            XCTAssertLessThan(size, 400_000, "\(name) is \(size) bytes")
            let text = try String(contentsOfFile: made.directory + "/" + name, encoding: .utf8)
            XCTAssertFalse(text.contains("\"data:") || text.contains("url(data:"), "\(name) inlines data")
        }
        for name in png {
            let size = try FileManager.default.attributesOfItem(atPath: made.directory + "/" + name)[.size] as! Int
            XCTAssertLessThan(size, 1_000_000, "\(name) is \(size) bytes")
        }
        print("report of 2 layers x 64 maps x 8 epochs written in \(String(format: "%.2f", seconds)) s (debug build)")
    }

    func testARunWithoutSnapshotsStillGetsAReport() throws {
        var spec = FixtureSpec()
        spec.epochs = []
        let fixture = try report(spec)
        XCTAssertEqual(try files(fixture, ext: "html"), ["index.html", "layer-conv1.html", "layer-conv2.html"])
        let index = try read(fixture, "index.html").root
        XCTAssertEqual(index.first("section", id: "snapshots")?.first("p", class: "note")?.allText, "No snapshot has been monitored yet.")
        for name in ["layer-conv1.html", "layer-conv2.html"] {
            let page = try read(fixture, name).root
            XCTAssertEqual(page.first("table", class: "evolution")?.first("tbody")?.children.count, 0, name)
        }
    }

    func testLayerNamesBecomeSafeFileNamesAndEscapedText() throws {
        var spec = FixtureSpec()
        spec.layers = [("c\"><i>1", 2, 5, 3), ("../up", 2, 9, 3)]
        spec.epochs = [0, 1]
        let fixture = try report(spec)
        XCTAssertEqual(try files(fixture, ext: "html"), [
            "index.html", "layer-.._up-epoch-0000.html", "layer-.._up-epoch-0001.html", "layer-.._up.html",
            "layer-c___i_1-epoch-0000.html", "layer-c___i_1-epoch-0001.html", "layer-c___i_1.html", "occlusion.html",
        ])
        for name in try files(fixture, ext: "html") {
            let (text, root) = try read(fixture, name)
            XCTAssertFalse(text.contains("<i>1"), name)
            for e in root.all { for key in ["href", "src"] { if let v = e.attributes[key] { XCTAssertFalse(v.hasPrefix("../"), "\(name): \(v)") } } }
        }
        XCTAssertTrue(try read(fixture, "index.html").text.contains("c&quot;&gt;&lt;i&gt;1"))
    }

    func testMissingFindingsIsAOneLineError() throws {
        let dir = NSTemporaryDirectory() + "deconvscope-report-empty-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try ReportWriter.write(reportDirectory: dir)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(dir + "/findings.json"), text)
            XCTAssertFalse(text.contains("\n"))
        }
    }

    func testRewritingIsIdempotentAndLeavesNoTemporaryFiles() throws {
        let fixture = try report()
        let before = try String(contentsOfFile: fixture.directory + "/layer-conv1.html", encoding: .utf8)
        try ReportWriter.write(reportDirectory: fixture.directory + "/")
        XCTAssertEqual(try String(contentsOfFile: fixture.directory + "/layer-conv1.html", encoding: .utf8), before)
        let all = FileManager.default.enumerator(atPath: fixture.directory)!.compactMap { $0 as? String }
        XCTAssertEqual(all.filter { ($0 as NSString).lastPathComponent.hasPrefix(".") || $0.contains(".tmp") }, [])
    }
}

/// The index page opens with the diagnoses; findings written before diagnoses existed still render.
final class DiagnosesSectionTests: XCTestCase {
    private var fixtures: [Fixture] = []
    override func tearDown() { fixtures.forEach { $0.remove() }; fixtures = []; super.tearDown() }

    private func index(_ spec: FixtureSpec) throws -> String {
        let fixture = try Fixture.make(spec)
        fixtures.append(fixture)
        let path = try ReportWriter.write(reportDirectory: fixture.directory)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        _ = try XHTML.parse(text, file: "index.html")
        return text
    }

    func testIndexOpensWithTheRankedDiagnosesEachLinkingToItsEvidence() throws {
        let text = try index(FixtureSpec())
        let section = try XCTUnwrap(text.range(of: "id=\"diagnoses\""))
        let curves = try XCTUnwrap(text.range(of: "id=\"curves\""))
        XCTAssertLessThan(section.lowerBound, curves.lowerBound, "the diagnoses come before everything else")
        let order = ["diverged", "shortcut", "dead_filters", "frozen_features", "stalled_updates", "aliasing", "projection_grid", "dormant_filters"]
        let positions = order.map { code in text.range(of: ">\(code)<")?.lowerBound }
        XCTAssertFalse(positions.contains(nil), "every code is shown: \(positions)")
        XCTAssertEqual(positions.compactMap { $0 }, positions.compactMap { $0 }.sorted(), "ranked: problems first, causes before symptoms")
        XCTAssertTrue(text.contains("layer-conv1.html#stability"), "frozen_features links to the layer's stability section")
        XCTAssertTrue(text.contains("layer-conv1.html#filters"), "aliasing links to the layer's filters")
        XCTAssertTrue(text.contains("layer-conv2.html#evolution"), "projection_grid links to the projections of the layer above")
        XCTAssertTrue(text.contains("href=\"occlusion.html\""), "shortcut links to the occlusion maps")
        XCTAssertFalse(text.contains("<b>summary</b>"), "the text is escaped")
    }

    func testFindingsWithoutDiagnosesStillLoadAndSaySo() throws {
        var spec = FixtureSpec()
        spec.withDiagnoses = false
        let fixture = try Fixture.make(spec)
        fixtures.append(fixture)
        // Also drop the thresholds and per-filter measurements added with the diagnoses.
        let path = fixture.directory + "/findings.json"
        let removed: Set<String> = ["diagnoses", "aliased_low_band", "frozen_change", "shortcut_share", "projection_grid", "dead_share",
                                    "update_ratio_low", "update_ratio_high", "chance_multiple", "alias_low_band"]
        func strip(_ value: Any) -> Any {
            if let d = value as? [String: Any] { return d.filter { !removed.contains($0.key) }.mapValues(strip) }
            if let a = value as? [Any] { return a.map(strip) }
            return value
        }
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        let old = try JSONSerialization.data(withJSONObject: strip(original))
        XCTAssertFalse(String(decoding: old, as: UTF8.self).contains("alias_low_band"))
        try old.write(to: URL(fileURLWithPath: path))
        let text = try String(contentsOfFile: try ReportWriter.write(reportDirectory: fixture.directory), encoding: .utf8)
        XCTAssertTrue(text.contains("written by a monitor without diagnoses"))
    }
}

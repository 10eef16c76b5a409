import Foundation
import Plot
import Monitoring
import Tensors
import Layers

/// `layer-<name>-epoch-NNNN.html`: the Fig. 2 view of one layer at one snapshot. For every
/// feature map, its top-k deconvnet projections beside the image patches that caused them,
/// the activation values and class names, and the flags with the numbers behind them.
struct EpochPage {
    let context: ReportContext
    let layer: LayerInfo
    let epochIndex: Int
    let analysis: LayerAnalysis
    let fig2: Fig2Sprite
    /// The first layer's filters over all epochs (its column `epochIndex` is this epoch).
    let filters: EpochGridSprite?

    var epoch: EpochFindings { context.epochs[epochIndex] }
    /// Renders the figures through Plot (`figure(_:)`) instead of `figureText(_:)`: for the test
    /// that compares the two, page by page.
    nonisolated(unsafe) static var figuresThroughPlot = false
    var findings: LayerFindings? { epoch.layers.first { $0.name == layer.name } }
    var fileName: String { ReportFiles.epochPage(layer.slug, epoch: epoch.epoch) }

    func render() -> String {
        let t = context.findings.thresholds
        var subtitle = "step \(epoch.step)"
        if let acc = epoch.testAccuracy { subtitle += " \u{00B7} test accuracy \(Format.percent(acc))" }
        subtitle += " \u{00B7} \(analysis.channels) feature maps, top \(analysis.k) of \(context.probeLabels.count) probe images each"
        let body: [Content] = [
            PageShell.header(runName: context.findings.run,
                             trail: [(layer.name, ReportFiles.layerPage(layer.slug)), ("epoch \(epoch.epoch)", nil)],
                             heading: "\(layer.name) \u{00B7} epoch \(epoch.epoch)", subtitle: [.txt(subtitle)]),
            navigation(),
            flagTable(t),
            .section(.id("fig2"),
                .h2(.txt("What each feature map responds to (Fig. 2 view)")),
                .p(.class("note"), .txt(
                    "Each box shows one feature map of \(layer.name) (after its ReLU and pooling). Left grid: the deconvnet projections of its \(analysis.k) strongest activations over the probe images, strongest first, each cropped to the activation's receptive field (\(layer.cellHeight)\u{00D7}\(layer.cellWidth) input pixels, less at the image border) and contrast-normalized on its own: v \u{2192} 128 + 127\u{00B7}v / max|v|, so mid gray is zero and every projection uses the full range. Right grid: the input pixels inside the same boxes, unchanged. The caption lists each activation value (block output units) and the probe's class; hover a projection for details. Outlined boxes are flagged.")),
                .div(.class("filters"), .raw(renderedFigures()))),
            PageShell.footer(),
        ]
        return PageShell.render(title: "\(layer.name) epoch \(epoch.epoch) \u{2014} \(context.findings.run)", pageStyle: pageStyle(), body: body)
    }

    /// Every feature map's figure as HTML, written on the shared pool: they are most of the page
    /// (a 64-map layer's page is 215 kB) and independent. The page renders without indentation,
    /// so a figure's text is the same alone as inside the page.
    private func renderedFigures() -> String {
        let throughPlot = Self.figuresThroughPlot
        let figures = parallelMap(analysis.channels) { throughPlot ? figure($0).render() : figureText($0) }
        return figures.joined()
    }

    /// Sprite classes and grid geometry of this page (file names are sanitized slugs).
    private func pageStyle() -> String {
        let cellW = layer.cellWidth * layer.scale, cellH = layer.cellHeight * layer.scale
        let columns = Int(Double(max(1, analysis.k)).squareRoot().rounded(.up))
        var css = fig2.sheet.cssRule(className: "sp", url: ReportFiles.fig2Sprite(layer.slug, epoch: epoch.epoch), scale: layer.scale)
        css += ".g{grid-template-columns:repeat(\(columns),\(cellW)px);grid-auto-rows:\(cellH)px}"
        if let filters {
            css += filters.sheet.cssRule(className: "wt", url: ReportFiles.filterSprite(layer.slug), scale: LayerPage.filterScale(filters))
        }
        return css
    }

    /// Previous / next epoch, a jump list, and the same epoch in the other layers.
    private func navigation() -> Content {
        let epochs = context.epochNumbers
        func epochLink(_ i: Int, _ text: String) -> Content {
            guard i >= 0, i < epochs.count else { return .span(.class("disabled"), .txt(text)) }
            return link(text, to: ReportFiles.epochPage(layer.slug, epoch: epochs[i]))
        }
        let options: [Content] = epochs.map { e in
            .el("option", .attr("value", ReportFiles.epochPage(layer.slug, epoch: e)),
                e == epoch.epoch ? .attr("selected", "selected") : .empty, .txt("epoch \(e)"))
        }
        let others: [Content] = context.layers.filter { $0.name != layer.name }.map { other in
            link(other.name, to: ReportFiles.epochPage(other.slug, epoch: epoch.epoch))
        }
        return .nav(.class("epochnav"), .attr("aria-label", "epochs"),
            epochLink(epochIndex - 1, "\u{2190} previous epoch"),
            .el("label", .txt("snapshot "), .el("select", [.attr("onchange", "location.href=this.value")] + options)),
            epochLink(epochIndex + 1, "next epoch \u{2192}"),
            link("evolution over epochs (Fig. 4 view)", to: ReportFiles.layerPage(layer.slug)),
            others.isEmpty ? .empty : .span(.txt("same epoch in: "), .group(others.flatMap { [$0, .txt(" ")] })))
    }

    /// One row per diagnostic, anchored by its name so the overview can link straight to it.
    private func flagTable(_ t: DiagnosticThresholds) -> Content {
        let rows: [Node<HTML.TableContext>] = FilterFlag.tableOrder.map { flag in
            let filters = findings.map { flag.filters(in: $0) } ?? []
            let list: [Content] = filters.map { i in
                var numbers = ""
                if let layerFindings = findings, let filter = layerFindings.filters.first(where: { $0.index == i }) {
                    numbers = flag.evidence(filter, layer: layerFindings, thresholds: t, probes: context.probeLabels.count)
                }
                return link("\(i)", to: "#f\(i)", title: numbers)
            }
            return .tr(.id(flag.rawValue),
                .th(.span(.class("badge \(flag.rawValue)"), .txt(flag.rawValue))),
                .td(.class("num"), .txt("\(filters.count)")),
                .td(list.isEmpty ? .span(.class("muted"), .txt("none")) : .group(list.flatMap { [$0, .txt(" ")] })),
                .td(.class("muted"), .txt(flag.rule(t))))
        }
        return .section(.id("flags"),
            .h2(.txt("Flagged feature maps at epoch \(epoch.epoch)")),
            .table(.thead(.tr(.th(.txt("flag")), .th(.txt("count")), .th(.txt("feature maps")), .th(.txt("criterion")))),
                   .tbody(.group(rows))))
    }

    /// The Fig. 2 box of feature map `c`.
    func figure(_ c: Int) -> Content {
        let filter = findings?.filters.first { $0.index == c }
        let flags = filter.map(FilterFlag.of) ?? []
        let acts = c < analysis.top.count ? Array(analysis.responses(c)) : []
        let tiles = c < fig2.tiles.count ? fig2.tiles[c] : []
        // Only projection tiles carry a tooltip (the patch beside it shows the same activation):
        // at 64 maps x 9 activations every byte per tile counts.
        func tileNode(_ placed: PlacedTile, _ j: Int, titled: Bool) -> Content {
            let a = acts[j]
            return .span(.group(placed.attributes(sprite: "sp", scale: layer.scale)), titled ? .attr("title", tileTitle(j, a)) : .empty)
        }
        var columns: [Content] = []
        if let filters, c < filters.tiles.count, let w = filters.tiles[c][epochIndex] {
            columns.append(.div(.span(.class("tile wt"), .attr("style", w.tile.style(scale: LayerPage.filterScale(filters))),
                                      .attr("title", "filter \(c) weights, contrast-normalized")),
                                .div(.class("label"), .txt("filter"))))
        }
        if !tiles.isEmpty {
            columns.append(.div(.div(.class("grid g"), .group(tiles.enumerated().map { tileNode($1.projection, $0, titled: true) })),
                                .div(.class("label"), .txt("projections"))))
            columns.append(.div(.div(.class("grid g"), .group(tiles.enumerated().map { tileNode($1.patch, $0, titled: false) })),
                                .div(.class("label"), .txt("image patches"))))
        }
        let activations: [Node<HTML.ListContext>] = acts.enumerated().map { j, a in
            let box = analysis.boxes[c][j]
            return .li(.attr("title", activationTitle(a, box)),
                       .b(.txt(Format.number(a.value))), .txt(" " + context.className(probe: a.image)))
        }
        return .el("figure", .id("f\(c)"), .class(figureClass(flags)),
            .h3(.txt("feature map \(c)"), .group(flags.map { .span(.class("badge \($0.rawValue)"), .txt($0.rawValue)) })),
            columns.isEmpty ? .empty : .div(.class("pair"), .group(columns)),
            .el("figcaption",
                acts.isEmpty ? .empty : .ol(.class("acts"), .group(activations)),
                silence(c, shown: acts.count),
                filter.map { numbers($0) } ?? .empty,
                reasons(filter, flags)))
    }

    // Texts the figure shares with `figureText(_:)`.
    func figureClass(_ flags: [FilterFlag]) -> String { (["filter"] + flags.prefix(1).map { "flag-" + $0.rawValue }).joined(separator: " ") }
    func tileTitle(_ j: Int, _ a: Activation) -> String {
        "#\(j + 1): \(Format.number(a.value)), \(context.className(probe: a.image)) (probe \(a.image))"
    }
    func activationTitle(_ a: Activation, _ box: PixelBox) -> String {
        "probe \(a.image) at (\(a.y), \(a.x)); pixels \(box.top)\u{2013}\(box.bottom - 1) \u{00D7} \(box.left)\u{2013}\(box.right - 1)"
    }

    /// Why a box has fewer than k projections: the map is zero on the other probes, so there is
    /// nothing to project and no image that caused it.
    private func silence(_ c: Int, shown: Int) -> Content {
        silenceText(c, shown: shown).map { .p(.class("muted"), .txt($0)) } ?? .empty
    }

    func silenceText(_ c: Int, shown: Int) -> String? {
        guard shown < analysis.k else { return nil }
        let probes = context.probeLabels.count
        if c >= analysis.top.count || analysis.top[c].isEmpty { return "no activations recorded" }
        if shown == 0 { return "zero on all \(probes) probe images: nothing to project" }
        return "non-zero on only \(shown) of \(probes) probe images; the other \(analysis.k - shown) places are empty"
    }

    /// The measurements behind the flags, each with the threshold it is compared to.
    private func numbers(_ f: FilterFindings) -> Content {
        numbersText(f).map { .p(.class("numbers"), .txt($0)) } ?? .empty
    }

    func numbersText(_ f: FilterFindings) -> String? {
        guard let layerFindings = findings else { return nil }
        let t = context.findings.thresholds
        var parts = [
            "fires on \(Format.percent(Double(f.fireRate))) of probes",
            "max \(Format.number(f.maxActivation)), mean \(Format.number(f.meanActivation))",
            "dormancy \(Format.number(f.dormancyScore)) (flag \u{2264} \(Format.number(t.dormantTau)))",
            "low-band ratio \(f.aliasLowBand.map { Format.number($0) } ?? "n/a") (flag < \(Format.number(t.aliasedLowBand)))",
            "weight RMS \(Format.number(f.weightRMS)) (median \(Format.number(FilterFlag.medianRMS(layerFindings))))",
        ]
        if let change = f.weightChange { parts.append("moved \(Format.percent(change)) since epoch \(context.epochNumbers.first ?? 0)") }
        return parts.joined(separator: " \u{00B7} ")
    }

    private func reasons(_ f: FilterFindings?, _ flags: [FilterFlag]) -> Content {
        guard let f, let layerFindings = findings, !flags.isEmpty else { return .empty }
        return .ul(.class("reasons"), .group(flags.map { flag in
            .li(.class(flag.rawValue), .b(.txt(flag.rawValue + ": ")),
                .txt(flag.evidence(f, layer: layerFindings, thresholds: context.findings.thresholds, probes: context.probeLabels.count)))
        }))
    }
}

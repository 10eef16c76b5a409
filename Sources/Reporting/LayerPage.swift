import Foundation
import Plot
import Monitoring

/// `layer-<name>.html`: one monitored layer over the whole run. The snapshot list with its
/// flag counts, the Fig. 4 view (each feature map's strongest projection at every snapshot)
/// and, for the first conv layer, the filters themselves at every snapshot.
struct LayerPage {
    let context: ReportContext
    let layer: LayerInfo
    let evolution: EpochGridSprite
    let filters: EpochGridSprite?

    var fileName: String { ReportFiles.layerPage(layer.slug) }
    var featureMaps: Int { evolution.tiles.count }

    /// Filters are shown about 48 CSS pixels wide.
    static func filterScale(_ sprite: EpochGridSprite) -> Int { ReportContext.scale(cell: max(sprite.sheet.cellWidth, sprite.sheet.cellHeight), target: 48) }

    func render() -> String {
        let epochs = context.epochNumbers
        let body: [Content] = [
            PageShell.header(runName: context.findings.run, trail: [(layer.name, nil)], heading: layer.name, subtitle: [.txt(
                "\(featureMaps) feature maps \u{00B7} receptive field \(layer.cellHeight)\u{00D7}\(layer.cellWidth) input pixels (clipped to the image) \u{00B7} \(epochs.count) snapshots")]),
            snapshots(),
            stability(),
            evolutionSection(),
            filtersSection(),
            ClassMakeupSection(context: context, layer: layer).render(),
            PageShell.footer(),
        ]
        return PageShell.render(title: "\(layer.name) \u{2014} \(context.findings.run)", pageStyle: pageStyle(), body: body)
    }

    private func pageStyle() -> String {
        var css = evolution.sheet.cssRule(className: "ev", url: ReportFiles.evolutionSprite(layer.slug), scale: layer.scale)
        css += "table.evolution td.e a{width:\(layer.cellWidth * layer.scale)px;height:\(layer.cellHeight * layer.scale)px}"
        if let filters {
            let s = LayerPage.filterScale(filters)
            css += filters.sheet.cssRule(className: "wt", url: ReportFiles.filterSprite(layer.slug), scale: s)
            css += "table.evolution td.w a{width:\(filters.sheet.cellWidth * s)px;height:\(filters.sheet.cellHeight * s)px}"
        }
        return css
    }

    /// Snapshot table: per epoch the flag counts, each linking to its evidence.
    private func snapshots() -> Content {
        let header: Node<HTML.TableContext> = .thead(.tr(.th(.txt("epoch")), .th(.txt("step")), .th(.txt("test accuracy")),
                                                          .group(FilterFlag.tableOrder.map { .th(.class("num"), .txt($0.rawValue)) }), .th(.txt("view"))))
        let rows: [Node<HTML.TableContext>] = context.epochs.map { e in
            let page = ReportFiles.epochPage(layer.slug, epoch: e.epoch)
            let lf = e.layers.first { $0.name == layer.name }
            return .tr(.td(.class("num"), .txt("\(e.epoch)")), .td(.class("num"), .txt("\(e.step)")),
                       .td(.class("num"), .txt(e.testAccuracy.map { Format.percent($0) } ?? "\u{2013}")),
                       .group(FilterFlag.tableOrder.map { flag in IndexPage.countCell(lf.map { flag.filters(in: $0).count }, flag: flag, page: page) }),
                       .td(link("Fig. 2 view", to: page)))
        }
        return .section(.id("snapshots"), .h2(.txt("Snapshots")), .table(header, .tbody(.group(rows))))
    }

    /// Convergence between consecutive snapshots, and the feature maps that died.
    private func stability() -> Content {
        let t = context.findings.convergenceThresholds
        let convergence = context.findings.convergence.first { $0.name == layer.name }
        let rule = "the median correlation of the feature maps' per-probe responses stays \u{2265} \(Format.number(t.correlation)) and the median share of top-\(context.findings.top) probe images kept stays \u{2265} \(Format.percent(t.topOverlap, digits: 0))"
        var nodes: [Content] = [.h2(.txt("Convergence and deaths"))]
        if let convergence, !convergence.steps.isEmpty {
            let verdict = convergence.convergedAt.map { "Settled at epoch \($0): from there on, between consecutive snapshots, " + rule + "." }
                ?? "Not settled: the latest step does not satisfy the rule (" + rule + ")."
            nodes.append(.p(.txt(verdict)))
            let rows: [Node<HTML.TableContext>] = convergence.steps.map { step in
                .tr(.td(.txt("\(step.from) \u{2192} \(step.to)")),
                    .td(.class(step.medianCorrelation >= t.correlation ? "num" : "num below"), .txt(Format.fixed(step.medianCorrelation, 3))),
                    .td(.class(step.medianTopOverlap >= t.topOverlap ? "num" : "num below"), .txt(Format.percent(step.medianTopOverlap))),
                    .td(.class("num"), .txt("\(step.silentMaps.count)")))
            }
            nodes.append(.table(.thead(.tr(.th(.txt("snapshots")), .th(.class("num"), .txt("median correlation")),
                                           .th(.class("num"), .txt("median top-k kept")), .th(.class("num"), .txt("silent maps")))),
                                .tbody(.group(rows))))
            nodes.append(.p(.class("note"), .txt(
                "Silent maps are zero on every probe image at both snapshots of a step. Their responses cannot change and their top-\(context.findings.top) are ties, so they are left out of the medians: a layer whose maps died does not count as settled.")))
        } else {
            nodes.append(.p(.class("muted"), .txt("Convergence needs two snapshots.")))
        }
        let deaths = context.findings.deaths[layer.name] ?? []
        if deaths.isEmpty {
            nodes.append(.p(.txt("No feature map died.")))
        } else {
            let items: [Node<HTML.ListContext>] = deaths.map { d in
                .li(link("feature map \(d.filter)", to: ReportFiles.epochPage(layer.slug, epoch: d.diedAt) + "#f\(d.filter)"),
                    .txt(" died at epoch \(d.diedAt)" + (d.recoveredAt.map { ", recovered at epoch \($0)" } ?? ", still dead")))
            }
            nodes.append(.p(.txt("Dead feature maps (zero on every probe image):")))
            nodes.append(.ul(.group(items)))
        }
        return .section(.id("stability"), .group(nodes))
    }

    private func evolutionSection() -> Content {
        .section(.id("evolution"),
            .h2(.txt("Evolution of each feature map (Fig. 4 view)")),
            .p(.class("note"), .txt(
                "One row per feature map, one column per snapshot: the deconvnet projection of the feature map's strongest activation over all probe images at that epoch, cropped to its receptive field and contrast-normalized on its own (v \u{2192} 128 + 127\u{00B7}v / max|v|; mid gray is zero). A sudden change between columns means the feature map switched to another pattern; a stable one means it has converged. Outlined cells were flagged at that epoch; click a cell for the Fig. 2 view.")),
            grid(evolution, cellClass: "e", sprite: "ev", scale: layer.scale, blank: "zero on every probe image: nothing to project") { c, e, lf in
                let top = lf?.filters.first { $0.index == c }
                return "feature map \(c), epoch \(e)" + (top.map { ": max activation \(Format.number($0.maxActivation)), fire rate \(Format.percent(Double($0.fireRate)))" } ?? "")
            })
    }

    private func filtersSection() -> Content {
        guard let filters else { return .empty }
        return .section(.id("filters"),
            .h2(.txt("Filters of the first layer")),
            .p(.class("note"), .txt(
                "The learned \(filters.sheet.cellHeight)\u{00D7}\(filters.sheet.cellWidth) filters at every snapshot, each contrast-normalized on its own over all its input channels (w \u{2192} 128 + 127\u{00B7}w / max|w|; mid gray is zero). Noisy, high-frequency filters alias at a large stride; filters that stay mid gray have collapsed.")),
            grid(filters, cellClass: "w", sprite: "wt", scale: LayerPage.filterScale(filters)) { c, e, lf in
                let f = lf?.filters.first { $0.index == c }
                return "filter \(c), epoch \(e)" + (f.map { ": weight RMS \(Format.number($0.weightRMS)), low-band ratio \($0.aliasLowBand.map { Format.number($0) } ?? "n/a")" } ?? "")
            })
    }

    /// Feature maps down, epochs across; every cell links to that epoch's figure of the map.
    /// A map measured at an epoch but without a tile there shows `blank` (when given) instead.
    private func grid(_ sprite: EpochGridSprite, cellClass: String, sprite spriteClass: String, scale: Int, blank: String? = nil,
                      title: (Int, Int, LayerFindings?) -> String) -> Content {
        let epochs = context.epochNumbers
        let layerFindings = epochs.map { context.layerFindings(layer.name, epoch: $0) }
        let head: Node<HTML.TableContext> = .thead(.tr(.th(.txt("map")), .group(epochs.map { e in
            .th(.class("num"), link("epoch \(e)", to: ReportFiles.epochPage(layer.slug, epoch: e)))
        })))
        let rows: [Node<HTML.TableContext>] = (0..<sprite.tiles.count).map { c in
            let latest = layerFindings.last.flatMap { $0?.filters.first { $0.index == c } }
            let cells: [Node<HTML.TableRowContext>] = epochs.indices.map { i in
                let measured = layerFindings[i]?.filters.first { $0.index == c }
                let placed = sprite.tiles[c][i]
                guard placed != nil || (measured != nil && blank != nil) else { return .td(.class("missing"), .txt("\u{2013}")) }
                let flags = measured.map(FilterFlag.of) ?? []
                let cls = ([cellClass] + flags.prefix(1).map { "flag-" + $0.rawValue }).joined(separator: " ")
                let flagText = flags.isEmpty ? "" : " \u{2014} flagged: " + flags.map(\.rawValue).joined(separator: ", ")
                let content: Node<HTML.AnchorContext> = placed.map { .span(.group($0.attributes(sprite: spriteClass, scale: scale))) }
                    ?? .span(.class("blank"), .txt("0"))
                let tip = title(c, epochs[i], layerFindings[i]) + (placed == nil ? " \u{2014} " + (blank ?? "") : "") + flagText
                return .td(.class(cls),
                           .a(.attr("href", ReportFiles.epochPage(layer.slug, epoch: epochs[i]) + "#f\(c)"),
                              .attr("title", tip), content))
            }
            return .tr(.th(.class("num"), .txt("\(c)"), .group((latest.map(FilterFlag.of) ?? []).map { .span(.class("badge \($0.rawValue)"), .attr("title", "at the latest snapshot"), .txt($0.rawValue)) })),
                       .group(cells))
        }
        return .table(.class("evolution"), head, .tbody(.group(rows)))
    }
}

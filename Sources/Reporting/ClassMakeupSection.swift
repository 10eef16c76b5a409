import Foundation
import Plot
import Monitoring

/// On a layer page: which classes each feature map's top-k probe images belong to at the newest
/// snapshot ("responds mostly to sandals"), with a text box that filters the rows by class name
/// in the page itself (one fixed event handler, no network).
struct ClassMakeupSection {
    let context: ReportContext
    let layer: LayerInfo

    /// The filter, as a fixed `oninput` handler (the report has no script element; like the
    /// epoch menu's handler, no data reaches it): rows whose `data-classes` (the map's class names,
    /// lower case) contain the typed text stay visible.
    static let filterHandler = "var q=this.value.trim().toLowerCase();document.querySelectorAll('#classes tr.class-row').forEach(function(r){r.hidden=q!==''?r.getAttribute('data-classes').indexOf(q)===-1:false})"

    /// "Sandal 7/9, Sneaker 2/9".
    static func describe(_ shares: [ClassShare], k: Int) -> String {
        shares.map { "\($0.name) \($0.count)/\(k)" }.joined(separator: ", ")
    }

    /// "mostly Sandal" when one class holds more than half of the top k, else "mixed".
    static func verdict(_ shares: [ClassShare], k: Int) -> String {
        guard let first = shares.first, k > 0 else { return "\u{2013}" }
        return first.count * 2 > k ? "mostly \(first.name)" : "mixed"
    }

    func render() -> Content {
        let heading: Content = .h2(.txt("Classes each feature map responds to"))
        guard let latest = context.epochs.last, let lf = latest.layers.first(where: { $0.name == layer.name }),
              lf.filters.contains(where: { $0.topClasses != nil }) else {
            return .section(.id("classes"), heading, .p(.class("note"), .txt("This findings.json carries no class make-up of the top probe images (written by an older monitor); run `deconvscope monitor --force` to add it.")))
        }
        let k = context.findings.top
        let rows: [Node<HTML.TableContext>] = lf.filters.map { f in
            let shares = f.topClasses ?? []
            let count = shares.reduce(0) { $0 + $1.count }
            return .tr(.class("class-row"), .attr("data-classes", shares.map { $0.name.lowercased() }.joined(separator: " | ")),
                       .td(.class("num"), link("\(f.index)", to: ReportFiles.epochPage(layer.slug, epoch: latest.epoch) + "#f\(f.index)")),
                       .td(.txt(Self.verdict(shares, k: count))), .td(.txt(Self.describe(shares, k: count))))
        }
        return .section(.id("classes"), heading,
            .p(.txt("At epoch \(latest.epoch): the classes of each feature map's top-\(k) probe images, most frequent first. A map whose top images are mostly one class is class-specific; early layers usually respond to edges and textures of every class. Type a class name to list the maps that respond to it.")),
            .el("label", .txt("Filter by class: "),
                .el("input", .attr("id", "class-filter"), .attr("class", "filter"), .attr("type", "search"), .attr("placeholder", "e.g. sandal"),
                    .attr("oninput", Self.filterHandler))),
            .table(.class("classes"), .thead(.tr(.th(.txt("map")), .th(.txt("verdict")), .th(.txt("classes of its top images")))),
                   .tbody(.group(rows))))
    }
}

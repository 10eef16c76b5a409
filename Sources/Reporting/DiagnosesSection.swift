import Foundation
import Plot
import Monitoring

/// The index page's first section: the newest snapshot's diagnoses, most important first, each
/// with its measurement, its advice and a link to the page that shows the evidence.
struct DiagnosesSection {
    let context: ReportContext
    /// Whether occlusion.html exists (the `shortcut` evidence).
    var hasOcclusion: Bool

    func render() -> Content {
        guard let diagnoses = context.findings.diagnoses else {
            return .section(.id("diagnoses"), .h2(.txt("Diagnoses")),
                            .p(.class("note"), .txt("These findings were written by a monitor without diagnoses; run the monitor again to get them.")))
        }
        guard !diagnoses.isEmpty else {
            return .section(.id("diagnoses"), .h2(.txt("Diagnoses")),
                            .p(.class("note"), .txt("Nothing to report at the newest snapshot: no rule in docs/report-data.md fired.")))
        }
        let items: [Node<HTML.ListContext>] = diagnoses.map { d in
            .li(.class("diagnosis \(d.severity.rawValue)"),
                .span(.class("severity \(d.severity.rawValue)"), .txt(d.severity.rawValue)), .txt(" "),
                .span(.class("mono"), .txt(d.code.rawValue)), .txt(" \u{2014} " + d.summary + ". "),
                .br(),
                .span(.class("evidence"), .txt("Evidence: " + d.evidence + " ")),
                link("see the evidence", to: evidenceLink(d)),
                .br(),
                .span(.class("advice"), .txt("What to change: " + d.advice + ".")))
        }
        return .section(.id("diagnoses"), .h2(.txt("Diagnoses")), .ol(.class("diagnoses"), .group(items)))
    }

    /// The page and anchor that show what the diagnosis measured.
    func evidenceLink(_ d: Diagnosis) -> String {
        let layerPage = d.layer.flatMap { name in context.layers.first { $0.name == name } }.map { ReportFiles.layerPage($0.slug) }
        switch d.code {
        case .diverged, .notLearning, .explodingUpdates, .stalledUpdates:
            return "#curves"
        case .shortcut:
            return hasOcclusion ? OcclusionPage.fileName : "#curves"
        case .frozenFeatures:
            return layerPage.map { $0 + "#stability" } ?? "#layers"
        case .aliasing:
            return layerPage.map { $0 + "#filters" } ?? "#layers"
        case .projectionGrid:
            // The grid shows in the projections of the layer above: its Fig. 4 view.
            let above = context.layers.firstIndex { $0.name == d.layer }.flatMap { i in i + 1 < context.layers.count ? context.layers[i + 1] : nil }
            return above.map { ReportFiles.layerPage($0.slug) + "#evolution" } ?? layerPage ?? "#layers"
        case .deadFilters, .dominantFilters, .collapsedFilters, .dormantFilters:
            return layerPage.map { $0 + "#snapshots" } ?? "#layers"
        }
    }
}

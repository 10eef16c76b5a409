import Foundation
import Plot
import Monitoring

/// Per-class results from the snapshots' `confusion` counts: per-class accuracy at the newest
/// snapshot (with its change since the one before), the most confused class pairs and how they
/// changed, and the matrix itself. Shown on the index page.
struct ClassesSection {
    let findings: Findings
    let classNames: [String]
    /// How many confused pairs the index names.
    static let pairsShown = 6

    /// Snapshots that carry confusion counts, oldest first.
    var measured: [EpochFindings] {
        findings.epochs.filter { $0.confusion != nil }.sorted { $0.epoch < $1.epoch }
    }

    func name(_ c: Int) -> String { c < classNames.count ? classNames[c] : "class \(c)" }

    /// One off-diagonal cell: images of class `actual` predicted as `predicted`.
    struct Pair: Equatable {
        var actual: Int
        var predicted: Int
        var count: Int
        /// Count at the snapshot before, when there is one.
        var previous: Int?
    }

    /// The largest off-diagonal counts, most first (ties: lower true class, then lower predicted).
    static func confusedPairs(_ confusion: [[Int]], previous: [[Int]]?, limit: Int) -> [Pair] {
        var pairs: [Pair] = []
        for (a, row) in confusion.enumerated() {
            for (p, count) in row.enumerated() where p != a && count > 0 {
                let before = previous.flatMap { a < $0.count && p < $0[a].count ? $0[a][p] : nil }
                pairs.append(Pair(actual: a, predicted: p, count: count, previous: before))
            }
        }
        pairs.sort { ($0.count, -$0.actual, -$0.predicted) > ($1.count, -$1.actual, -$1.predicted) }
        return Array(pairs.prefix(limit))
    }

    /// Per class: (images, correct); accuracy nil for a class with no test image.
    static func perClass(_ confusion: [[Int]]) -> [(images: Int, correct: Int)] {
        confusion.enumerated().map { c, row in (row.reduce(0, +), c < row.count ? row[c] : 0) }
    }

    func render() -> Content {
        let heading: Content = .h2(.txt("Classes"))
        guard let newest = measured.last, let confusion = newest.confusion else {
            return .section(.id("classes"), heading, .p(.class("note"), .txt(
                "No snapshot carries confusion counts: they come from the trainer's test evaluation (metrics.jsonl), which this run does not have or predates.")))
        }
        let before = measured.dropLast().last
        let previous = before?.confusion
        let since = before.map { " since epoch \($0.epoch)" } ?? ""
        let now = Self.perClass(confusion), then = previous.map(Self.perClass)
        let classRows: [Node<HTML.TableContext>] = now.enumerated().map { c, n in
            let accuracy = n.images > 0 ? Double(n.correct) / Double(n.images) : nil
            let old = then.flatMap { c < $0.count && $0[c].images > 0 ? Double($0[c].correct) / Double($0[c].images) : nil }
            let change = accuracy.flatMap { a in old.map { a - $0 } }
            return .tr(.td(.txt(name(c))), .td(.class("num"), .txt("\(n.images)")), .td(.class("num"), .txt("\(n.correct)")),
                       .td(.class("num"), .txt(accuracy.map { Format.percent($0) } ?? "\u{2013}")),
                       .td(.class("num"), .txt(change.map(Self.signedPoints) ?? "\u{2013}")))
        }
        let pairs = Self.confusedPairs(confusion, previous: previous, limit: Self.pairsShown)
        let pairItems: [Node<HTML.ListContext>] = pairs.map { p in
            let trend: String
            if let old = p.previous {
                trend = p.count == old ? "unchanged since epoch \(before!.epoch)" : "\(p.count > old ? "up" : "down") from \(old) at epoch \(before!.epoch)"
            } else {
                trend = before == nil ? "first measured snapshot" : "not counted at epoch \(before!.epoch)"
            }
            return .li(.b(.txt(name(p.actual))), .txt(" taken for "), .b(.txt(name(p.predicted))), .txt(": \(p.count) test images (\(trend))"))
        }
        return .section(.id("classes"), heading,
            .p(.txt("Test split at epoch \(newest.epoch), \(now.reduce(0) { $0 + $1.images }) images; rows of the matrix are the true class, columns the predicted one (the largest logit).")),
            .h3(.txt("Most confused class pairs")),
            pairItems.isEmpty ? .p(.txt("No test image is misclassified.")) : .ol(.class("pairs"), .group(pairItems)),
            .h3(.txt("Accuracy per class")),
            .table(.class("per-class"), .thead(.tr(.th(.txt("class")), .th(.class("num"), .txt("test images")), .th(.class("num"), .txt("correct")),
                                                   .th(.class("num"), .txt("accuracy")), .th(.class("num"), .txt("change" + since)))),
                   .tbody(.group(classRows))),
            .h3(.txt("Confusion matrix")),
            matrix(confusion))
    }

    /// Counts with a background whose strength is the row's share (diagonal blue, errors orange).
    private func matrix(_ confusion: [[Int]]) -> Content {
        let head: Node<HTML.TableContext> = .thead(.tr(.th(.txt("true \u{2193} / predicted \u{2192}")),
                                                        .group(confusion.indices.map { .th(.class("num"), .txt(name($0))) })))
        let rows: [Node<HTML.TableContext>] = confusion.enumerated().map { a, row in
            let total = max(1, row.reduce(0, +))
            return .tr(.th(.txt(name(a))), .group(row.enumerated().map { p, count in
                let share = Double(count) / Double(total)
                let colour = p == a ? "47,93,138" : "217,130,43"
                let style = count == 0 ? "" : String(format: "background:rgba(%@,%.2f)", colour, 0.08 + 0.6 * share)
                return .td(.class("num"), .attr("style", style), .attr("title", "\(name(a)) predicted as \(name(p)): \(count) of \(total)"), .txt("\(count)"))
            }))
        }
        return .table(.class("confusion"), head, .tbody(.group(rows)))
    }

    /// A change of a share in percentage points, signed.
    static func signedPoints(_ change: Double) -> String {
        (change > 0 ? "+" : change < 0 ? "\u{2212}" : "\u{00B1}") + Format.fixed(abs(change) * 100, 1) + " pp"
    }
}

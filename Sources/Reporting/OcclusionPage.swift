import Foundation
import Plot
import Monitoring

/// `occlusion.html`: the occlusion sensitivity maps of every snapshot that has them (Zeiler &
/// Fergus, Fig. 7). A gray square slides over each image; per position, the activation of the top
/// layer's strongest feature map, the probability of the true class and the most probable class.
struct OcclusionPage {
    struct Snapshot {
        var epoch: Int
        var maps: [OcclusionMap]
        var size: Int
        var stride: Int
        var sprite: OcclusionSprite
    }

    let context: ReportContext
    let snapshots: [Snapshot]

    static let fileName = "occlusion.html"
    static func sprite(epoch: Int) -> String { "\(ReportFiles.imageFolder)/occlusion-epoch-\(ReportFiles.padded(epoch)).png" }

    var scale: Int {
        let shape = context.imageShape
        return ReportContext.scale(cell: max(shape.count > 2 ? max(shape[1], shape[2]) : 1, 1), target: 112)
    }

    func render() -> String {
        let top = context.layers.last?.name ?? "the top conv layer"
        let first = snapshots.first
        let body: [Content] = [
            PageShell.header(runName: context.findings.run, trail: [("occlusion sensitivity", nil)], heading: "Occlusion sensitivity (Fig. 7 view)",
                             subtitle: [.txt(first.map { "\($0.maps.count) probe images \u{00B7} gray square \($0.size)\u{00D7}\($0.size) px moved in steps of \($0.stride) px \u{00B7} feature maps of \(top)" } ?? "")]),
            .p(.class("note"), .txt(
                "Zeiler & Fergus ask whether the network really uses the object or only its surroundings: they cover part of the image with a gray square (the data set's mean pixel) and record, for every position of the square, (a) the activation of the feature map of the top layer that is strongest on the uncovered image (summed over the map), (b) the probability of the correct class and (c) the most probable class. Each map pixel shows the value for the square centred nearest to it. If the probability drops only when the object is covered, the network localizes the object.")),
            legend(),
            .nav(.class("epochnav"), .attr("aria-label", "snapshots"), .txt("Snapshots: "),
                 .group(snapshots.reversed().flatMap { [link("epoch \($0.epoch)", to: "#epoch-\($0.epoch)"), .txt(" ")] })),
            // Newest first: the trained network is what one usually wants to check.
            .group(snapshots.reversed().map(section)),
            PageShell.footer(),
        ]
        return PageShell.render(title: "Occlusion sensitivity \u{2014} \(context.findings.run)", pageStyle: pageStyle(), body: body)
    }

    private func pageStyle() -> String {
        snapshots.map { $0.sprite.sheet.cssRule(className: "oc\($0.epoch)", url: OcclusionPage.sprite(epoch: $0.epoch), scale: scale) }.joined()
    }

    private func legend() -> Content {
        let classes: [Content] = context.classNames.enumerated().map { i, name in
            .span(.class("swatch"), .span(.class("chip"), .attr("style", "background:" + Palette.categoryCSS(i))), .txt(" " + name))
        }
        return .div(.class("legend"),
            .p(.b(.txt("(a), (b): ")), .span(.class("ramp"), .attr("style", "background:" + Palette.sequentialCSS)),
               .txt(" from 0 (dark) to 1 (yellow); (a) is relative to the highest activation of that image, (b) is the probability itself.")),
            .p(.b(.txt("(c): ")), .group(classes)))
    }

    private func section(_ s: Snapshot) -> Content {
        let head: Node<HTML.TableContext> = .thead(.tr(.th(.txt("input")), .th(.txt("(a) feature activation")),
                                                        .th(.txt("(b) p(true class)")), .th(.txt("(c) most probable class")), .th(.txt("uncovered image: facts"))))
        let top = context.layers.last
        let rows: [Node<HTML.TableContext>] = s.maps.enumerated().map { row, map in
            let truth = map.label >= 0 && map.label < context.classNames.count ? context.classNames[map.label] : "class \(map.label)"
            let predicted = map.cleanPredicted >= 0 && map.cleanPredicted < context.classNames.count ? context.classNames[map.cleanPredicted] : "class \(map.cleanPredicted)"
            let lowest = map.correctProbability.min() ?? map.cleanProbability
            let tiles: [Node<HTML.TableRowContext>] = s.sprite.tiles[row].map { placed in
                .td(.span(.group(placed.attributes(sprite: "oc\(s.epoch)", scale: scale))))
            }
            var facts: [Content] = [
                .txt("probe \(map.image), true class "), .b(.txt(truth)), .br(),
                .txt("predicted " + predicted + ", p(true class) \(Format.percent(Double(map.cleanProbability)))"), .br(),
                .txt("lowest p(true class) with the square: \(Format.percent(Double(lowest)))"), .br(),
            ]
            if let top {
                facts.append(.txt("feature map "))
                facts.append(link("\(map.feature)", to: ReportFiles.epochPage(top.slug, epoch: s.epoch) + "#f\(map.feature)"))
                facts.append(.txt(" of \(top.name): activation \(Format.number(map.cleanActivation)) uncovered"))
            }
            return .tr(.group(tiles), .td(.class("facts"), .group(facts)))
        }
        return .section(.id("epoch-\(s.epoch)"), .h2(.txt("Epoch \(s.epoch)")), .table(.class("occlusion"), head, .tbody(.group(rows))))
    }
}

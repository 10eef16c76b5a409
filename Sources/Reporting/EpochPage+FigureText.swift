import Monitoring

/// The Fig. 2 box of one feature map written straight into a string, byte for byte what Plot
/// renders for `EpochPage.figure(_:)` (the tests render both for every map of real analyses).
///
/// Why: the figures are nearly all of an epoch page (215 kB for a 64-map layer), and Plot builds
/// a node tree of closures and renders it at about 70 ns per byte: 41 ms of CPU per
/// `monitor --force` of a zf-fmnist snapshot. This writes the same text about 5x faster.
/// `figure(_:)` stays as the readable definition and the oracle.
extension EpochPage {
    func figureText(_ c: Int) -> String {
        let filter = findings?.filters.first { $0.index == c }
        let flags = filter.map(FilterFlag.of) ?? []
        let acts = c < analysis.top.count ? Array(analysis.responses(c)) : []
        let tiles = c < fig2.tiles.count ? fig2.tiles[c] : []
        var out = MarkupText()
        out.open("figure", raw: [("id", "f\(c)"), ("class", figureClass(flags))])
        out.open("h3")
        out.text("feature map \(c)")
        for flag in flags {
            out.open("span", raw: [("class", "badge \(flag.rawValue)")]); out.text(flag.rawValue); out.close("span")
        }
        out.close("h3")
        var columns = MarkupText()
        if let filters, c < filters.tiles.count, let w = filters.tiles[c][epochIndex] {
            columns.open("div")
            columns.open("span", raw: [("class", "tile wt")], escaped: [("style", w.tile.style(scale: LayerPage.filterScale(filters))),
                                                                      ("title", "filter \(c) weights, contrast-normalized")])
            columns.close("span")
            columns.open("div", raw: [("class", "label")]); columns.text("filter"); columns.close("div")
            columns.close("div")
        }
        if !tiles.isEmpty {
            for titled in [true, false] {
                columns.open("div")
                columns.open("div", raw: [("class", "grid g")])
                for (j, tile) in tiles.enumerated() {
                    let placed = titled ? tile.projection : tile.patch
                    var attributes = [("class", "tile sp" + placed.alignment.classes), ("style", placed.tile.style(scale: layer.scale))]
                    if titled { attributes.append(("title", tileTitle(j, acts[j]))) }
                    columns.open("span", escaped: attributes)
                    columns.close("span")
                }
                columns.close("div")
                columns.open("div", raw: [("class", "label")]); columns.text(titled ? "projections" : "image patches"); columns.close("div")
                columns.close("div")
            }
        }
        if !columns.string.isEmpty {
            out.open("div", raw: [("class", "pair")]); out.string += columns.string; out.close("div")
        }
        out.open("figcaption")
        if !acts.isEmpty {
            out.open("ol", raw: [("class", "acts")])
            for (j, a) in acts.enumerated() {
                let box = analysis.boxes[c][j]
                out.open("li", escaped: [("title", activationTitle(a, box))])
                out.open("b"); out.text(Format.number(a.value)); out.close("b")
                out.text(" " + context.className(probe: a.image))
                out.close("li")
            }
            out.close("ol")
        }
        if let muted = silenceText(c, shown: acts.count) {
            out.open("p", raw: [("class", "muted")]); out.text(muted); out.close("p")
        }
        if let filter, let numbers = numbersText(filter) {
            out.open("p", raw: [("class", "numbers")]); out.text(numbers); out.close("p")
        }
        if let filter, let layerFindings = findings, !flags.isEmpty {
            out.open("ul", raw: [("class", "reasons")])
            for flag in flags {
                out.open("li", raw: [("class", flag.rawValue)])
                out.open("b"); out.text(flag.rawValue + ": "); out.close("b")
                out.text(flag.evidence(filter, layer: layerFindings, thresholds: context.findings.thresholds, probes: context.probeLabels.count))
                out.close("li")
            }
            out.close("ul")
        }
        out.close("figcaption")
        out.close("figure")
        return out.string
    }
}

/// Elements and escaped text appended to a string, as Plot writes them without indentation:
/// attributes in the order given, an empty attribute value left out, every element closed.
struct MarkupText {
    var string = ""

    /// `raw` attribute values are written as they are (Plot's `.class`/`.id`, for values made of
    /// names and numbers only), `escaped` ones through `Escape.html` (the pages' `.attr`).
    mutating func open(_ tag: String, raw: [(String, String)] = [], escaped: [(String, String)] = []) {
        string += "<" + tag
        for (name, value) in raw where !value.isEmpty { string += " " + name + "=\"" + value + "\"" }
        for (name, value) in escaped {
            let text = Escape.html(value)
            if !text.isEmpty { string += " " + name + "=\"" + text + "\"" }
        }
        string += ">"
    }

    mutating func close(_ tag: String) { string += "</" + tag + ">" }
    mutating func text(_ text: String) { string += Escape.html(text) }
}

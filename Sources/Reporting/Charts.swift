import Foundation
import Plot

/// Inline SVG line charts with labelled axes, built as Plot nodes (every label escaped).
enum Charts {
    struct Series {
        var name: String
        /// CSS class that colours the line (`series-a`, `series-b`, ... in style.css).
        var cssClass: String
        var points: [(x: Double, y: Double)]
    }

    static let width = 520.0, height = 280.0
    static let left = 64.0, right = 16.0, top = 30.0, bottom = 48.0

    /// A line chart of `series` against a shared x axis (epochs: integer ticks).
    static func lineChart(title: String, xLabel: String, yLabel: String, series: [Series],
                          yRange fixed: ClosedRange<Double>? = nil, yFormat: (Double) -> String = { Format.number($0) }) -> Content {
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let xs = all.map(\.x), ys = all.map(\.y)
        var xRange = (xs.min() ?? 0)...(xs.max() ?? 1)
        if xRange.lowerBound == xRange.upperBound { xRange = (xRange.lowerBound - 1)...(xRange.upperBound + 1) }
        var yRange = fixed ?? (ys.min() ?? 0)...(ys.max() ?? 1)
        if yRange.lowerBound == yRange.upperBound { yRange = (yRange.lowerBound - 1)...(yRange.upperBound + 1) }
        if fixed == nil {   // widen to round numbers so the outermost grid lines frame the data
            let step = niceStep((yRange.upperBound - yRange.lowerBound) / 5)
            yRange = ((yRange.lowerBound / step).rounded(.down) * step)...((yRange.upperBound / step).rounded(.up) * step)
        }
        let xTicks = niceTicks(xRange, count: 8, integer: true), yTicks = niceTicks(yRange, count: 5)

        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * plotW }
        func py(_ y: Double) -> Double { top + plotH - (y - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound) * plotH }
        func n(_ v: Double) -> String { String(format: "%.1f", v) }

        var nodes: [Content] = [.el("title", .txt(title))]
        // Grid and ticks.
        for t in yTicks {
            nodes.append(.el("line", .attr("class", "grid"), .attr("x1", n(left)), .attr("x2", n(left + plotW)), .attr("y1", n(py(t))), .attr("y2", n(py(t)))))
            nodes.append(.el("text", .attr("class", "tick"), .attr("x", n(left - 6)), .attr("y", n(py(t) + 4)), .attr("text-anchor", "end"), .txt(yFormat(t))))
        }
        for t in xTicks {
            nodes.append(.el("line", .attr("class", "grid"), .attr("x1", n(px(t))), .attr("x2", n(px(t))), .attr("y1", n(top)), .attr("y2", n(top + plotH))))
            nodes.append(.el("text", .attr("class", "tick"), .attr("x", n(px(t))), .attr("y", n(top + plotH + 16)), .attr("text-anchor", "middle"), .txt(Format.number(t))))
        }
        // Axes and their labels.
        nodes.append(.el("line", .attr("class", "axis"), .attr("x1", n(left)), .attr("x2", n(left)), .attr("y1", n(top)), .attr("y2", n(top + plotH))))
        nodes.append(.el("line", .attr("class", "axis"), .attr("x1", n(left)), .attr("x2", n(left + plotW)), .attr("y1", n(top + plotH)), .attr("y2", n(top + plotH))))
        nodes.append(.el("text", .attr("class", "label"), .attr("x", n(left + plotW / 2)), .attr("y", n(height - 8)), .attr("text-anchor", "middle"), .txt(xLabel)))
        nodes.append(.el("text", .attr("class", "label"), .attr("x", "14"), .attr("y", n(top + plotH / 2)), .attr("text-anchor", "middle"),
                         .attr("transform", "rotate(-90 14 \(n(top + plotH / 2)))"), .txt(yLabel)))
        // Series: a polyline plus a point per epoch with its value as a tooltip.
        for (i, s) in series.enumerated() {
            let pts = s.points.filter { $0.x.isFinite && $0.y.isFinite }
            guard !pts.isEmpty else { continue }
            var g: [Content] = [.attr("class", "series " + s.cssClass)]
            if pts.count > 1 {
                g.append(.el("polyline", .attr("points", pts.map { "\(n(px($0.x))),\(n(py($0.y)))" }.joined(separator: " "))))
            }
            for p in pts {
                g.append(.el("circle", .attr("cx", n(px(p.x))), .attr("cy", n(py(p.y))), .attr("r", "3"),
                             .el("title", .txt("\(s.name), epoch \(Format.number(p.x)): \(yFormat(p.y))"))))
            }
            // Legend entry.
            // Up to three entries in one row; more wrap into rows of four (two rows fit above the plot).
            let perRow = series.count <= 3 ? 3 : 4, spacing = series.count <= 3 ? 150.0 : 112.0
            let ly = top - 12 - Double(i / perRow) * 14, lx = left + 8 + Double(i % perRow) * spacing
            g.append(.el("line", .attr("x1", n(lx)), .attr("x2", n(lx + 18)), .attr("y1", n(ly)), .attr("y2", n(ly))))
            g.append(.el("text", .attr("class", "legend"), .attr("x", n(lx + 24)), .attr("y", n(ly + 4)), .txt(s.name)))
            nodes.append(.el("g", g))
        }
        return .el("figure", .attr("class", "chart"),
                   .el("svg", [.attr("xmlns", "http://www.w3.org/2000/svg"), .attr("viewBox", "0 0 \(Int(width)) \(Int(height))"),
                               .attr("width", "\(Int(width))"), .attr("height", "\(Int(height))"), .attr("role", "img"),
                               .attr("aria-label", title)] + nodes),
                   .el("figcaption", .txt(title)))
    }

    /// About `count` round tick values (1, 2 or 5 times a power of ten) covering `range`.
    static func niceTicks(_ range: ClosedRange<Double>, count: Int, integer: Bool = false) -> [Double] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [range.lowerBound] }
        var step = niceStep(span / Double(max(1, count)))
        if integer { step = max(1, step.rounded()) }
        var ticks: [Double] = []
        var t = (range.lowerBound / step).rounded(.down) * step
        while t <= range.upperBound + step * 1e-9 {
            if t >= range.lowerBound - step * 1e-9 { ticks.append(abs(t) < step * 1e-9 ? 0 : t) }
            t += step
        }
        return ticks
    }

    /// The smallest of 1, 2, 5 or 10 times a power of ten that is at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let power = pow(10, floor(log10(raw)))
        return [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw * (1 - 1e-12) } ?? 10 * power
    }
}

import Tensors
import Layers
@testable import Monitoring

/// What `compareWithOracle` found: one line per disagreement, and how much it compared.
struct OracleReport {
    var mismatches: [String] = []
    var projectionsCompared = 0
    /// Projections left out: a non-zero value went through a pooling window whose winner sits at
    /// the tie margin's edge (`NaiveDeconvnet.ambiguousBand`), and the projection matches the
    /// oracle with neither a slightly smaller nor a slightly larger margin.
    var projectionsAmbiguous = 0
    /// Projections that matched only the oracle with the margin just outside the band.
    var projectionsMatchedAtBandEdge = 0
    /// Projections off the oracle by more than the tolerance of their peak.
    var projectionsDiffering = 0
    var worstProjectionError = 0.0   // relative to the projection's peak
}

/// Compares the monitor's `Replay` result for `network` on `probes` with the naive whole-image
/// deconvnet: top-k probes, activations and positions, and every projection within `tolerance`
/// of its peak. Near ties (values within the oracle's tie tolerance) may be ordered either way.
func compareWithOracle(network: Network, probes: ProbeSet, k: Int, analysis: SnapshotAnalysis,
                       tolerance: Double = 1e-4) -> OracleReport {
    var report = OracleReport()
    let spec = network.spec
    // The weights as data, by their snapshot names.
    var tensors: [Int: [String: [Float]]] = [:]
    for (i, layer) in network.layers.enumerated() {
        for p in layer.parameters { tensors[i, default: [:]][p.name] = p.value.data }
        for b in layer.buffers { tensors[i, default: [:]][b.name] = b.value.data }
    }
    let oracle = NaiveDeconvnet(input: spec.input, layers: spec.layers, tensors: tensors)
    // The oracle normalizes the raw pixels itself.
    let (c, h, w) = oracle.input, size = c * h * w
    let norm = spec.normalization ?? Normalization(mean: [Float](repeating: 0, count: c), std: [Float](repeating: 1, count: c))
    let images: [NaivePlanes] = (0..<probes.count).map { image in
        var planes = NaivePlanes(c: c, h: h, w: w)
        for i in 0..<size {
            let ch = i / (h * w)
            planes.v[i] = (Double(probes.pixels.data[image * size + i]) - Double(norm.mean[ch])) / Double(norm.std[ch])
        }
        return planes
    }
    let traces = images.map { oracle.forward($0) }
    // The oracle with the margin just outside the ambiguous band, on either side; traces on demand.
    let edges = [0.75, 1.3].map { oracle.withMargin($0) }
    var edgeTraces: [Int: [NaiveDeconvnet.Trace]] = [:]
    guard oracle.blocks.map(\.name) == analysis.layers.map(\.name) else {
        report.mismatches.append("blocks \(oracle.blocks.map(\.name)) but the monitor has \(analysis.layers.map(\.name))")
        return report
    }
    for (block, layer) in zip(oracle.blocks, analysis.layers) {
        let expected = oracle.topK(block: block, traces: traces, k: k)
        let layerScale = expected.map { abs($0.first?.value ?? 0) }.max() ?? 0
        guard layer.top.count == expected.count else {
            report.mismatches.append("\(block.name): \(layer.top.count) maps, oracle \(expected.count)")
            continue
        }
        for ch in 0..<expected.count {
            let scale = max(abs(expected[ch].first?.value ?? 0), 1e-3 * layerScale, 1e-12)
            let near = 2 * oracle.tieTolerance * scale
            guard layer.top[ch].count == expected[ch].count else {
                report.mismatches.append("\(block.name) map \(ch): top-\(layer.top[ch].count), oracle top-\(expected[ch].count)")
                continue
            }
            for (slot, (got, want)) in zip(layer.top[ch], expected[ch]).enumerated() {
                let label = "\(block.name) map \(ch) slot \(slot)"
                if abs(Double(got.value) - want.value) > near {
                    report.mismatches.append("\(label): activation \(got.value), oracle \(want.value)")
                }
                let map = traces[got.image].outputs[block.output]
                let imageMax = (0..<(map.h * map.w)).map { map.v[ch * map.h * map.w + $0] }.max()!
                if got.image != want.image && abs(imageMax - want.value) > near {
                    report.mismatches.append("\(label): probe \(got.image), oracle probe \(want.image) (\(imageMax) vs \(want.value))")
                }
                if got.y >= map.h || got.x >= map.w {
                    report.mismatches.append("\(label): position (\(got.y), \(got.x)) outside the \(map.h)x\(map.w) map")
                    continue
                }
                let first = (0..<(map.h * map.w)).first { map.v[ch * map.h * map.w + $0] == imageMax }!
                if (got.y, got.x) != (first / map.w, first % map.w) && abs(map[ch, got.y, got.x] - imageMax) > near {
                    report.mismatches.append("\(label): position (\(got.y), \(got.x)), oracle (\(first / map.w), \(first % map.w))")
                }

                // The projection of the monitor's own choice, by the oracle.
                let offset = (ch * layer.k + slot) * size
                let stored = layer.projections.data[offset..<(offset + size)]
                // Relative to the projection's peak; through an LRN, to the peak of its terms'
                // magnitudes if larger (`NaiveDeconvnet.project`: its gradient cancels at its maximum).
                func error(_ pixels: NaivePlanes, magnitude: NaivePlanes?) -> (relative: Double, peak: Double, at: Int) {
                    let peak = max(pixels.v.map(abs).max()!, magnitude?.v.max() ?? 0)
                    var worst = 0.0, at = 0
                    for (i, v) in zip(stored.indices, stored) {
                        let e = abs(Double(v) - pixels.v[i - offset])
                        if e > worst { (worst, at) = (e, i - offset) }
                    }
                    return (peak > 0 ? worst / peak : (worst > 0 ? .infinity : 0), peak, at)
                }
                let (pixels, ambiguous, magnitude) = oracle.project(block: block, channel: ch, y: got.y, x: got.x,
                                                                     value: Double(got.value), trace: traces[got.image])
                var (relative, peak, at) = error(pixels, magnitude: magnitude)
                if relative > tolerance && ambiguous {
                    if edgeTraces[got.image] == nil { edgeTraces[got.image] = edges.map { $0.forward(images[got.image]) } }
                    let alternatives = zip(edges, edgeTraces[got.image]!).map { edge, trace in
                        let projection = edge.project(block: block, channel: ch, y: got.y, x: got.x, value: Double(got.value), trace: trace)
                        return error(projection.pixels, magnitude: projection.magnitude)
                    }
                    guard let match = alternatives.first(where: { $0.relative <= tolerance }) else { report.projectionsAmbiguous += 1; continue }
                    (relative, peak, at) = match
                    report.projectionsMatchedAtBandEdge += 1
                }
                report.projectionsCompared += 1
                report.worstProjectionError = max(report.worstProjectionError, relative)
                if relative > tolerance {
                    report.projectionsDiffering += 1
                    report.mismatches.append("\(label) (probe \(got.image) at (\(got.y), \(got.x)) = \(got.value)): projection differs by \(relative) of its peak \(peak) at channel \(at / (h * w)), pixel (\(at % (h * w) / w), \(at % w))")
                }
            }
        }
    }
    return report
}

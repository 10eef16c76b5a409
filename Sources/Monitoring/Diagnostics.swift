import Foundation
import Tensors
import Layers

/// Turns one layer's measurements into per-filter flags (see `DiagnosticThresholds`).
public enum Diagnostics {
    /// `initial` is the same layer in the earliest monitored snapshot, for `weight_change`.
    public static func evaluate(_ layer: LayerAnalysis, thresholds: DiagnosticThresholds, imageShape: [Int],
                                initial: LayerAnalysis? = nil) -> LayerFindings {
        let f = layer.channels
        let per = layer.weight.count / max(1, f)
        let layerMean = layer.meanActivation.reduce(0.0) { $0 + Double($1) } / Double(max(1, f))
        let rms: [Float] = (0..<f).map { o in
            var s: Float = 0
            for i in 0..<per { let w = layer.weight.data[o * per + i]; s += w * w }
            return (s / Float(per)).squareRoot()
        }
        let medianRMS = Double(rms.sorted()[f / 2])
        let imageSize = imageShape.reduce(1, *)

        // The spectra (each filter's, and each of its top-k projections') are most of the work:
        // one filter per thread at a time, each result computed as on one thread. The filters'
        // own may be made already (`FilterSpectra.prepare`, beside the monitor's top-k pass).
        let filterSpectra = FilterSpectra.of(weight: layer.weight, kernel: layer.kernel, samplingStride: layer.samplingStride)
        let spectra: [(alias: Double, lowBand: Double, projections: Double)] = parallelMap(f) { o in
            let (alias, lowBand) = filterSpectra[o]
            var hf = 0.0
            for j in 0..<layer.top[o].count {
                let start = (o * layer.k + j) * imageSize
                hf += Spectrum.highFrequencyShare(layer.projections.data[start..<(start + imageSize)],
                                                  channels: imageShape[0], height: imageShape[1], width: imageShape[2])
            }
            return (alias, lowBand, hf / Double(max(1, layer.top[o].count)))
        }

        var filters: [FilterFindings] = []
        for o in 0..<f {
            let fire = layer.fireRate(o)
            let score = layerMean > 0 ? Double(layer.meanActivation[o]) / layerMean : 0
            let (aliasEnergy, lowBand, hf) = spectra[o]
            var change: Double? = nil
            if let initial, initial.weight.shape == layer.weight.shape {
                // Distance between the filter's unit-norm pattern now and at the first snapshot:
                // rescaling (weight decay, --max-filter-rms) is not learning a new pattern.
                var dot = 0.0, now = 0.0, then = 0.0
                for i in (o * per)..<((o + 1) * per) {
                    let a = Double(layer.weight.data[i]), b = Double(initial.weight.data[i])
                    dot += a * b; now += a * a; then += b * b
                }
                change = now > 0 && then > 0 ? (max(0, 2 - 2 * dot / (now * then).squareRoot())).squareRoot() : nil
            }
            var flags: [FilterFlag] = []
            if fire == 0 { flags.append(.dead) } else if score <= thresholds.dormantTau { flags.append(.dormant) }
            // A dead or collapsed filter's pattern reaches no output: nothing of it is folded back.
            let collapsed = Double(rms[o]) < thresholds.collapsedRMS * medianRMS
            if lowBand < thresholds.aliasedLowBand && fire > 0 && !collapsed { flags.append(.aliased) }
            if collapsed { flags.append(.collapsed) }
            if Double(rms[o]) > thresholds.dominantRMS * medianRMS { flags.append(.dominant) }
            filters.append(FilterFindings(index: o, maxActivation: layer.maxActivation(o), meanActivation: layer.meanActivation[o],
                                          fireRate: fire, dormancyScore: score, weightRMS: rms[o], aliasEnergy: aliasEnergy,
                                          aliasLowBand: lowBand, weightChange: change, projectionHighFrequency: hf, flags: flags))
        }
        func flagged(_ flag: FilterFlag) -> [Int] { filters.filter { $0.flags.contains(flag) }.map(\.index) }
        return LayerFindings(name: layer.name, deadFilters: flagged(.dead), dormantFilters: flagged(.dormant),
                             aliasedFilters: flagged(.aliased), collapsedFilters: flagged(.collapsed),
                             dominantFilters: flagged(.dominant),
                             medianWeightChange: initial == nil ? nil : Convergence.median(filters.compactMap(\.weightChange)),
                             filters: filters)
    }

    /// Geometry problems visible from the architecture alone.
    public static func audit(_ network: Network) -> [LayerAudit] {
        var audits: [LayerAudit] = []
        for block in network.convBlocks {
            guard let w = network.layers[block.convIndex].window else { continue }
            if w.stride > 1 && w.kernel % w.stride != 0 {
                audits.append(LayerAudit(
                    layer: block.name,
                    issue: "kernel \(w.kernel) is not divisible by stride \(w.stride): input pixels are covered by uneven numbers of windows, which leaves a checkerboard pattern in every deconvnet projection through this layer",
                    advice: "use a kernel that is a multiple of the stride, or stride 1-2 (Zeiler & Fergus replaced AlexNet's 11x11 stride 4 with 7x7 stride 2)"))
            }
            if w.stride >= 4 {
                audits.append(LayerAudit(
                    layer: block.name,
                    issue: "stride \(w.stride) samples the input every \(w.stride) pixels: filter content above 1/\(2 * w.stride) cycles per pixel aliases",
                    advice: "reduce the stride to 2 and the kernel accordingly (e.g. 11x11/4 -> 7x7/2, as in the paper)"))
            }
        }
        return audits
    }

    /// The model table: output shape, receptive field, jump and parameter count of every layer,
    /// with the conv block it belongs to.
    public static func modelTable(_ network: Network) -> [ModelLayerRow] {
        var block: [Int: String] = [:]
        for b in network.convBlocks { for i in b.convIndex...b.outputIndex { block[i] = b.name } }
        return network.layers.enumerated().map { i, layer in
            let rf = network.receptiveFieldSize(layer: i)
            let isSpatial = layer.outputShape.count == 3
            return ModelLayerRow(index: i, type: layer.kind, name: layer.name, detail: layer.summary, outputShape: layer.outputShape,
                                 receptiveField: isSpatial ? rf.size : network.spec.input[1], jump: rf.jump,
                                 parameters: layer.parameters.reduce(0) { $0 + $1.value.count }, block: block[i])
        }
    }
}

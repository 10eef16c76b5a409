import Foundation
import Tensors

/// How much a layer's features still change between consecutive snapshots (the paper's Fig. 4
/// observation that lower layers settle first, as a measurement).
public struct ConvergenceStep: Codable, Sendable, Equatable {
    public var from: Int
    public var to: Int
    /// Per filter: share of its top-k probe images that are in its top-k at both epochs.
    public var topOverlap: [Double]
    /// Per filter: Pearson correlation of its per-probe maximum activations at both epochs.
    public var correlation: [Double]
    /// Maps that are zero on every probe at both epochs. Their responses cannot change and their
    /// top-k are ties broken by probe index, so they would count as perfectly stable: they are
    /// left out of the medians, or a layer that died would read as settled.
    public var silentMaps: [Int]
    /// Medians over the other maps (0 when every map is silent).
    public var medianTopOverlap: Double
    public var medianCorrelation: Double

    public init(from: Int, to: Int, topOverlap: [Double], correlation: [Double], silentMaps: [Int] = []) {
        self.from = from
        self.to = to
        self.topOverlap = topOverlap
        self.correlation = correlation
        self.silentMaps = silentMaps
        let silent = Set(silentMaps)
        let kept = topOverlap.indices.filter { !silent.contains($0) }
        medianTopOverlap = Convergence.median(kept.map { topOverlap[$0] })
        medianCorrelation = Convergence.median(kept.map { correlation[$0] })
    }

    enum CodingKeys: String, CodingKey {
        case from, to, correlation
        case topOverlap = "top_overlap", silentMaps = "silent_maps"
        case medianTopOverlap = "median_top_overlap", medianCorrelation = "median_correlation"
    }

    /// findings.json written before `silent_maps` existed reads as no silent maps.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        from = try c.decode(Int.self, forKey: .from)
        to = try c.decode(Int.self, forKey: .to)
        topOverlap = try c.decode([Double].self, forKey: .topOverlap)
        correlation = try c.decode([Double].self, forKey: .correlation)
        silentMaps = try c.decodeIfPresent([Int].self, forKey: .silentMaps) ?? []
        medianTopOverlap = try c.decode(Double.self, forKey: .medianTopOverlap)
        medianCorrelation = try c.decode(Double.self, forKey: .medianCorrelation)
    }
}

public struct LayerConvergence: Codable, Sendable, Equatable {
    public var name: String
    public var steps: [ConvergenceStep]
    /// The first snapshot epoch from which every later step keeps the median correlation and
    /// the median top-k overlap at or above the thresholds; nil if the layer has not settled.
    public var convergedAt: Int?

    enum CodingKeys: String, CodingKey {
        case name, steps
        case convergedAt = "converged_at"
    }

    /// `converged_at` is written as null when the layer has not settled, so readers see the key.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(steps, forKey: .steps)
        try c.encode(convergedAt, forKey: .convergedAt)
    }
}

/// Thresholds for "converged"; written into findings.json.
public struct ConvergenceThresholds: Codable, Sendable, Equatable {
    /// Median correlation of per-probe responses between consecutive snapshots.
    public var correlation: Double = 0.9
    /// Median share of the top-k probe set kept between consecutive snapshots.
    public var topOverlap: Double = 0.5
    public init() {}

    enum CodingKeys: String, CodingKey {
        case correlation
        case topOverlap = "top_overlap"
    }
}

public enum Convergence {
    public static func step(from a: LayerAnalysis, _ epochA: Int, to b: LayerAnalysis, _ epochB: Int) -> ConvergenceStep {
        let c = min(a.channels, b.channels), p = min(a.maxPerProbe.shape[1], b.maxPerProbe.shape[1])
        var overlaps: [Double] = [], correlations: [Double] = [], silent: [Int] = []
        for f in 0..<c {
            let sa = Set(a.top[f].map(\.image)), sb = Set(b.top[f].map(\.image))
            overlaps.append(Double(sa.intersection(sb).count) / Double(max(1, max(sa.count, sb.count))))
            let pa = a.maxPerProbe.shape[1], pb = b.maxPerProbe.shape[1]
            let ra = (0..<p).map { a.maxPerProbe.data[f * pa + $0] }, rb = (0..<p).map { b.maxPerProbe.data[f * pb + $0] }
            correlations.append(pearson(ra, rb))
            // Dead at both, by the dead flag's own measure.
            if a.fireRate(f) == 0 && b.fireRate(f) == 0 { silent.append(f) }
        }
        return ConvergenceStep(from: epochA, to: epochB, topOverlap: overlaps, correlation: correlations, silentMaps: silent)
    }

    /// Steps between consecutive analyses of one layer, and the epoch it settled at.
    public static func layer(_ name: String, epochs: [(epoch: Int, layer: LayerAnalysis)], thresholds: ConvergenceThresholds) -> LayerConvergence {
        var steps: [ConvergenceStep] = []
        for i in 1..<max(1, epochs.count) {
            steps.append(step(from: epochs[i - 1].layer, epochs[i - 1].epoch, to: epochs[i].layer, epochs[i].epoch))
        }
        // Walk back from the newest step while it holds; the last holding step's start is the answer.
        var settled: Int? = nil
        for s in steps.reversed() {
            guard s.medianCorrelation >= thresholds.correlation && s.medianTopOverlap >= thresholds.topOverlap else { break }
            settled = s.from
        }
        return LayerConvergence(name: name, steps: steps, convergedAt: settled)
    }

    /// Pearson correlation; 1 for two constant vectors that are equal, 0 when only one is constant.
    static func pearson(_ x: [Float], _ y: [Float]) -> Double {
        let n = Double(x.count)
        guard n > 1 else { return 1 }
        let mx = x.reduce(0.0) { $0 + Double($1) } / n, my = y.reduce(0.0) { $0 + Double($1) } / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in 0..<x.count {
            let dx = Double(x[i]) - mx, dy = Double(y[i]) - my
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy
        }
        if sxx == 0 || syy == 0 { return (sxx == 0 && syy == 0 && x == y) ? 1 : 0 }
        return sxy / (sxx * syy).squareRoot()
    }

    static func median(_ v: [Double]) -> Double {
        guard !v.isEmpty else { return 0 }
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

/// When each filter was first found dead, and whether it came back.
public struct DeathRecord: Codable, Sendable, Equatable {
    public var filter: Int
    public var diedAt: Int
    public var recoveredAt: Int?

    enum CodingKeys: String, CodingKey {
        case filter
        case diedAt = "died_at", recoveredAt = "recovered_at"
    }

    /// Walks the epochs in order; a filter can die, recover and die again (one record per death).
    public static func history(layer name: String, epochs: [EpochFindings]) -> [DeathRecord] {
        var open: [Int: Int] = [:], records: [DeathRecord] = []
        for e in epochs {
            guard let layer = e.layers.first(where: { $0.name == name }) else { continue }
            let dead = Set(layer.deadFilters)
            for f in dead where open[f] == nil { open[f] = e.epoch }
            for (f, since) in open where !dead.contains(f) {
                records.append(DeathRecord(filter: f, diedAt: since, recoveredAt: e.epoch))
                open[f] = nil
            }
        }
        records += open.map { DeathRecord(filter: $0.key, diedAt: $0.value, recoveredAt: nil) }
        return records.sorted { ($0.filter, $0.diedAt) < ($1.filter, $1.diedAt) }
    }
}

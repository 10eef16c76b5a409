import Foundation

/// How much a diagnosis matters: a `problem` makes the training or the network wrong, a `warning`
/// wastes capacity or misleads the pictures, an `info` is worth knowing.
public enum Severity: String, Codable, Sendable, CaseIterable {
    case problem, warning, info
    var rank: Int { Severity.allCases.firstIndex(of: self)! }
}

/// What a diagnosis is about. The raw value is the `code` in findings.json and on `--fail-on`.
/// The order of the cases is the ranking among diagnoses of equal severity: causes that explain
/// the others come first (a diverged run also has dead filters).
public enum DiagnosisCode: String, Codable, Sendable, CaseIterable {
    case diverged
    case notLearning = "not_learning"
    case shortcut
    case explodingUpdates = "exploding_updates"
    case deadFilters = "dead_filters"
    case stalledUpdates = "stalled_updates"
    case frozenFeatures = "frozen_features"
    case aliasing
    case projectionGrid = "projection_grid"
    case dominantFilters = "dominant_filters"
    case collapsedFilters = "collapsed_filters"
    case dormantFilters = "dormant_filters"

    var rank: Int { DiagnosisCode.allCases.firstIndex(of: self)! }
}

/// One finding about the training, with the numbers behind it and what to change.
public struct Diagnosis: Codable, Sendable, Equatable {
    public var code: DiagnosisCode
    public var severity: Severity
    /// The layer it is about; nil for the whole network.
    public var layer: String?
    public var epoch: Int
    public var summary: String
    /// The measurement against its threshold.
    public var evidence: String
    public var advice: String
    /// Sort key within a code: how strongly the measurement exceeds its threshold.
    var strength: Double = 0

    public init(code: DiagnosisCode, severity: Severity, layer: String?, epoch: Int, summary: String, evidence: String,
                advice: String, strength: Double = 0) {
        self.code = code; self.severity = severity; self.layer = layer; self.epoch = epoch
        self.summary = summary; self.evidence = evidence; self.advice = advice; self.strength = strength
    }

    enum CodingKeys: String, CodingKey { case code, severity, layer, epoch, summary, evidence, advice }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(code, forKey: .code); try c.encode(severity, forKey: .severity)
        try c.encode(layer, forKey: .layer)   // null, not absent, for the whole network
        try c.encode(epoch, forKey: .epoch); try c.encode(summary, forKey: .summary)
        try c.encode(evidence, forKey: .evidence); try c.encode(advice, forKey: .advice)
    }

    /// Most important first: severity, then the code's rank, then strength.
    public static func ranked(_ list: [Diagnosis]) -> [Diagnosis] {
        list.enumerated().sorted { a, b in
            let x = a.element, y = b.element
            if x.severity != y.severity { return x.severity.rank < y.severity.rank }
            if x.code != y.code { return x.code.rank < y.code.rank }
            if x.strength != y.strength { return x.strength > y.strength }
            return a.offset < b.offset
        }.map(\.element)
    }
}

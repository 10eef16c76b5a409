import Layers
import Datasets
import Runs

/// Thresholds of the filter diagnostics; every one is an option and is written into findings.json.
public struct DiagnosticThresholds: Codable, Sendable, Equatable {
    /// tau of the tau-dormant score (Sokar et al., "The Dormant Neuron Phenomenon in Deep RL",
    /// ICML 2023): a filter whose mean activation is at most tau times its layer's average filter
    /// is dormant. 0.025 is the paper's setting for ReLU networks.
    public var dormantTau: Double = 0.025
    /// A filter is aliased when it keeps less than this fraction of white noise's share of energy
    /// at frequencies its block's sampling (conv stride times pooling strides) represents
    /// (`Spectrum.lowBandRatio`): its pattern lives where the sampling folds it back. Random filters
    /// sit near 1 and smooth learned ones above; 0.1 is from the doctor's benchmark
    /// (docs/diagnostics.md).
    public var aliasedLowBand: Double = 0.1
    /// Weight RMS below this fraction of the layer's median filter RMS: the filter collapsed.
    public var collapsedRMS: Double = 0.05
    /// Weight RMS above this multiple of the layer's median: the filter dominates its layer
    /// (the reason Zeiler & Fergus renormalize filters whose RMS exceeds 0.1).
    public var dominantRMS: Double = 5
    /// A layer whose filter patterns moved less than this (median `weight_change`) since the
    /// first snapshot is still mostly its random initialization: its features are random
    /// projections, and "settled" only means "never left the start".
    public var barelyMoved: Double = 0.2
    /// `dead_filters` is a problem when at least this share of a layer's maps is dead (any dead
    /// map below it is an info).
    public var deadShare: Double = 0.25
    /// `shortcut`: the share of the occlusion sensitivity (drop of the correct class's
    /// probability) that falls on pixels outside the object, averaged over the occluded probes.
    public var shortcutShare: Double = 0.65
    /// The healthy band of update_ratio (an SGD step's ||delta W|| / ||W|| per parameter layer,
    /// from metrics.jsonl's `layers`): below it `stalled_updates`, above it `exploding_updates`.
    /// Measured healthy layers: 10^-3.1 to 10^-2.0; too low a learning rate: 10^-4.3 to 10^-3.2
    /// (docs/diagnostics.md).
    public var updateRatioLow: Double = 1e-4
    public var updateRatioHigh: Double = 0.03
    /// `frozen_features`: a layer whose median `weight_change` since the first snapshot is below
    /// this after training (from the benchmark: too low a learning rate 0.007-0.025, healthy
    /// recipes 0.066 and up after 156 steps; the geometric middle).
    public var frozenChange: Double = 0.04
    /// `projection_grid`: `ProjectionGrid.ratio` above this (benchmark: 7x7/2 1.3-1.5, 11x11/4 2.2-2.5).
    public var projectionGrid: Double = 1.8
    /// `not_learning`: test accuracy below this multiple of chance (1 / classes) after training.
    public var chanceMultiple: Double = 1.5
    public init() {}

    enum CodingKeys: String, CodingKey {
        case dormantTau = "dormant_tau", aliasedLowBand = "aliased_low_band"
        case collapsedRMS = "collapsed_rms", dominantRMS = "dominant_rms", barelyMoved = "barely_moved"
        case deadShare = "dead_share", shortcutShare = "shortcut_share", chanceMultiple = "chance_multiple"
        case updateRatioLow = "update_ratio_low", updateRatioHigh = "update_ratio_high"
        case frozenChange = "frozen_change", projectionGrid = "projection_grid"
    }

    /// A findings.json written before a threshold existed (e.g. `aliased_low_band`) still loads:
    /// missing keys take their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = DiagnosticThresholds()
        dormantTau = try c.decodeIfPresent(Double.self, forKey: .dormantTau) ?? d.dormantTau
        aliasedLowBand = try c.decodeIfPresent(Double.self, forKey: .aliasedLowBand) ?? d.aliasedLowBand
        collapsedRMS = try c.decodeIfPresent(Double.self, forKey: .collapsedRMS) ?? d.collapsedRMS
        dominantRMS = try c.decodeIfPresent(Double.self, forKey: .dominantRMS) ?? d.dominantRMS
        barelyMoved = try c.decodeIfPresent(Double.self, forKey: .barelyMoved) ?? d.barelyMoved
        deadShare = try c.decodeIfPresent(Double.self, forKey: .deadShare) ?? d.deadShare
        shortcutShare = try c.decodeIfPresent(Double.self, forKey: .shortcutShare) ?? d.shortcutShare
        updateRatioLow = try c.decodeIfPresent(Double.self, forKey: .updateRatioLow) ?? d.updateRatioLow
        updateRatioHigh = try c.decodeIfPresent(Double.self, forKey: .updateRatioHigh) ?? d.updateRatioHigh
        frozenChange = try c.decodeIfPresent(Double.self, forKey: .frozenChange) ?? d.frozenChange
        projectionGrid = try c.decodeIfPresent(Double.self, forKey: .projectionGrid) ?? d.projectionGrid
        chanceMultiple = try c.decodeIfPresent(Double.self, forKey: .chanceMultiple) ?? d.chanceMultiple
    }
}

/// Measurements and flags of one filter in one snapshot.
public struct FilterFindings: Codable, Sendable, Equatable {
    public var index: Int
    public var maxActivation: Float
    public var meanActivation: Float
    /// Share of probe images on which the feature map is positive somewhere.
    public var fireRate: Float
    /// Mean activation over the layer's average mean activation (the tau-dormant score).
    public var dormancyScore: Double
    public var weightRMS: Float
    /// Share of the filter's spectral energy above the Nyquist frequency of its block's sampling
    /// (conv stride times pooling strides). White noise already has 1 - 1/s^2 of it, so this is
    /// shown, not flagged on.
    public var aliasEnergy: Double
    /// `Spectrum.lowBandRatio` under the block's sampling: what the `aliased` flag compares with
    /// `DiagnosticThresholds.aliasedLowBand` (nil in findings written before it existed).
    public var aliasLowBand: Double?
    /// || W/|W| - W_first/|W_first| || against the earliest monitored snapshot: how far training has
    /// moved the filter's pattern from where it started, ignoring its scale (0 = same pattern,
    /// sqrt(2) = orthogonal; nil until there are two snapshots).
    public var weightChange: Double?
    /// Mean high-frequency share of its top projections: the aliasing evidence in the data.
    public var projectionHighFrequency: Double
    public var flags: [FilterFlag]
    /// The classes of its top-k probe images, most frequent first (nil in older findings files).
    public var topClasses: [ClassShare]? = nil

    enum CodingKeys: String, CodingKey {
        case index, flags
        case topClasses = "top_classes"
        case maxActivation = "max_activation", meanActivation = "mean_activation", fireRate = "fire_rate"
        case dormancyScore = "dormancy_score", weightRMS = "weight_rms", aliasEnergy = "alias_energy"
        case projectionHighFrequency = "projection_high_frequency"
        case aliasLowBand = "alias_low_band", weightChange = "weight_change"
    }
}

public struct LayerFindings: Codable, Sendable, Equatable {
    public var name: String
    public var deadFilters: [Int]
    public var dormantFilters: [Int]
    public var aliasedFilters: [Int]
    public var collapsedFilters: [Int]
    public var dominantFilters: [Int]
    /// Median `weight_change` of the layer's filters (nil until there are two snapshots).
    public var medianWeightChange: Double?
    public var filters: [FilterFindings]

    enum CodingKeys: String, CodingKey {
        case name, filters
        case medianWeightChange = "median_weight_change"
        case deadFilters = "dead_filters", dormantFilters = "dormant_filters", aliasedFilters = "aliased_filters"
        case collapsedFilters = "collapsed_filters", dominantFilters = "dominant_filters"
    }
}

public struct EpochFindings: Codable, Sendable, Equatable {
    public var epoch: Int
    public var step: Int
    public var testAccuracy: Double?
    public var layers: [LayerFindings]
    /// Test-split confusion counts (classes x classes, row = true class, column = predicted), from
    /// the trainer's evaluation after this epoch (metrics.jsonl); nil when the run's metrics do not
    /// carry it (snapshots from other tools, runs trained before it existed).
    public var confusion: [[Int]]? = nil

    enum CodingKeys: String, CodingKey {
        case epoch, step, layers, confusion
        case testAccuracy = "test_accuracy"
    }
}

/// A row of the model table: each layer's output shape and receptive field.
public struct ModelLayerRow: Codable, Sendable, Equatable {
    public var index: Int
    public var type: String
    public var name: String?
    public var detail: String
    public var outputShape: [Int]
    public var receptiveField: Int
    public var jump: Int
    public var parameters: Int
    /// The conv block the layer belongs to (absent in findings written before it was recorded).
    public var block: String?

    enum CodingKeys: String, CodingKey {
        case index, type, name, detail, jump, parameters, block
        case outputShape = "output_shape", receptiveField = "receptive_field"
    }
}

/// A static property of a layer's geometry worth knowing before looking at any data.
public struct LayerAudit: Codable, Sendable, Equatable {
    public var layer: String
    public var issue: String
    public var advice: String
}

/// `Reports/<run>/findings.json`: the contract's fields (`run`, `probes`, `top`, `epochs`) plus
/// what the report shows beside them. The report is generated from this file and the data files.
public struct Findings: Codable, Sendable {
    public var run: String
    public var probes: Int
    public var top: Int
    public var epochs: [EpochFindings]
    public var status: String
    public var updated: String
    public var data: String
    public var classNames: [String]
    public var inputShape: [Int]
    public var monitoredLayers: [String]
    public var model: [ModelLayerRow]
    public var audits: [LayerAudit]
    public var thresholds: DiagnosticThresholds
    public var configuration: RunConfiguration?
    public var metrics: [EpochMetrics]
    /// Per monitored layer: how its features change between consecutive snapshots.
    public var convergence: [LayerConvergence]
    public var convergenceThresholds: ConvergenceThresholds
    /// Per monitored layer: when filters died and whether they recovered.
    public var deaths: [String: [DeathRecord]]
    /// Why the curves are missing, when they are.
    public var metricsNote: String?
    /// The newest snapshot's diagnoses, most important first (absent in findings written before
    /// diagnoses existed).
    public var diagnoses: [Diagnosis]?

    enum CodingKeys: String, CodingKey {
        case run, probes, top, epochs, status, updated, data, model, audits, thresholds, configuration, metrics, convergence, deaths, diagnoses
        case convergenceThresholds = "convergence_thresholds"
        case classNames = "class_names", inputShape = "input_shape", monitoredLayers = "monitored_layers", metricsNote = "metrics_note"
    }
}

extension Findings {
    /// findings.json as this process last wrote it (`Monitor.writeFindings`), while the file on
    /// disk is still that one: the report takes it from here instead of decoding the file again.
    static let lastWritten = FileMemo<Findings>()

    /// The findings in the file at `path` if this process wrote that file and it is unchanged.
    public static func written(at path: String) -> Findings? { lastWritten.value(at: path) }
}

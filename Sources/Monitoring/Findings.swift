import Layers
import Training

/// Thresholds of the filter diagnostics; every one is an option and is written into findings.json.
public struct DiagnosticThresholds: Codable, Sendable, Equatable {
    /// tau of the tau-dormant score (Sokar et al., "The Dormant Neuron Phenomenon in Deep RL",
    /// ICML 2023): a filter whose mean activation is at most tau times its layer's average filter
    /// is dormant. 0.025 is the paper's setting for ReLU networks.
    public var dormantTau: Double = 0.025
    /// A filter is aliased when more than this share of its spectral energy lies above the
    /// Nyquist frequency of the sampling after it.
    public var aliasedEnergy: Double = 0.5
    /// Which sampling the aliasing flag uses: `conv` (the conv's own stride: linear subsampling,
    /// where the Nyquist argument is exact) or `block` (conv stride times its pooling strides).
    /// With `block`, every 5x5 filter of both presets, random init included, exceeds 0.5
    /// (measured), so the flag would carry no information; `conv` is the default.
    public var aliasSampling: AliasSampling = .conv
    /// Weight RMS below this fraction of the layer's median filter RMS: the filter collapsed.
    public var collapsedRMS: Double = 0.05
    /// Weight RMS above this multiple of the layer's median: the filter dominates its layer
    /// (the reason Zeiler & Fergus renormalize filters whose RMS exceeds 0.1).
    public var dominantRMS: Double = 5
    /// A layer whose filter patterns moved less than this (median `weight_change`) since the
    /// first snapshot is still mostly its random initialization: its features are random
    /// projections, and "settled" only means "never left the start".
    public var barelyMoved: Double = 0.2
    public init() {}

    enum CodingKeys: String, CodingKey {
        case dormantTau = "dormant_tau", aliasedEnergy = "aliased_energy", aliasSampling = "alias_sampling"
        case collapsedRMS = "collapsed_rms", dominantRMS = "dominant_rms", barelyMoved = "barely_moved"
    }
}

public enum AliasSampling: String, Codable, Sendable, CaseIterable {
    case conv, block
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
    /// Share of the filter's spectral energy above the Nyquist frequency of the sampling the
    /// aliasing flag uses (see `DiagnosticThresholds.aliasSampling`).
    public var aliasEnergy: Double
    /// The same share for the block's sampling (conv stride times pooling strides).
    public var aliasEnergyBlock: Double
    /// || W/|W| - W_first/|W_first| || against the earliest monitored snapshot: how far training has
    /// moved the filter's pattern from where it started, ignoring its scale (0 = same pattern,
    /// sqrt(2) = orthogonal; nil until there are two snapshots).
    public var weightChange: Double?
    /// Mean high-frequency share of its top projections: the aliasing evidence in the data.
    public var projectionHighFrequency: Double
    /// Any of: dead, dormant, aliased, collapsed, dominant.
    public var flags: [String]
    /// The classes of its top-k probe images, most frequent first (nil in older findings files).
    public var topClasses: [ClassShare]? = nil

    enum CodingKeys: String, CodingKey {
        case index, flags
        case topClasses = "top_classes"
        case maxActivation = "max_activation", meanActivation = "mean_activation", fireRate = "fire_rate"
        case dormancyScore = "dormancy_score", weightRMS = "weight_rms", aliasEnergy = "alias_energy"
        case projectionHighFrequency = "projection_high_frequency"
        case aliasEnergyBlock = "alias_energy_block", weightChange = "weight_change"
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

    enum CodingKeys: String, CodingKey {
        case index, type, name, detail, jump, parameters
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

    enum CodingKeys: String, CodingKey {
        case run, probes, top, epochs, status, updated, data, model, audits, thresholds, configuration, metrics, convergence, deaths
        case convergenceThresholds = "convergence_thresholds"
        case classNames = "class_names", inputShape = "input_shape", monitoredLayers = "monitored_layers", metricsNote = "metrics_note"
    }
}

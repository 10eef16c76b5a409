import Foundation
import Tensors
import Layers
import Snapshots
import Training

public struct MonitorOptions: Sendable {
    public var probes = 1024
    public var top = 9
    public var force = false
    public var thresholds = DiagnosticThresholds()
    public var convergence = ConvergenceThresholds()
    public var occlusion = OcclusionOptions()
    public init() {}
}

/// What happened to one snapshot in a monitor pass.
public struct SnapshotOutcome: Sendable {
    public var epoch: Int
    public var processed: Bool      // false: its data file was already up to date
    public var seconds: Double
    public var findings: EpochFindings?
}

/// Replays snapshots of a run into `Reports/<run>/data/` and keeps `findings.json` current.
/// Incremental: a snapshot whose data file is newer than it, with the same probes and k, is
/// skipped unless `force` is set.
public final class Monitor {
    public let run: RunDirectory
    public let reportDirectory: String
    public let options: MonitorOptions
    public var dataDirectory: String { reportDirectory + "/data" }
    public var findingsPath: String { reportDirectory + "/findings.json" }
    public var probesPath: String { dataDirectory + "/probes.h5" }

    private let config: RunConfiguration?
    private var probeSet: ProbeSet?
    private var testData: Dataset?
    private var probeSource = ""

    /// `data` is used when the run directory has no run.json (snapshots written by other tools).
    public init(run: RunDirectory, reportDirectory: String, options: MonitorOptions, testData: Dataset? = nil) throws {
        self.run = run
        self.reportDirectory = reportDirectory
        self.options = options
        self.config = try run.readConfig()
        self.testData = testData
        // A monitor or report writer killed mid-write leaves temporaries in the report folder and
        // its subfolders (data/, img/). Done here, before this process writes anything there.
        let subfolders = ((try? FileManager.default.contentsOfDirectory(atPath: reportDirectory)) ?? []).sorted().map { reportDirectory + "/" + $0 }
        for folder in [reportDirectory] + subfolders { AtomicFile.removeStaleTemporaries(in: folder) }
    }

    public func dataPath(epoch: Int) -> String { dataDirectory + "/" + SnapshotFiles.fileName(epoch: epoch) }

    /// Snapshots that a pass would process: all of them when the probe set is missing or was
    /// made for another `--probes` (every epoch must see the same images), else those whose data
    /// file is missing, older than the snapshot, or made with another k or probe set.
    public func pending() throws -> [(epoch: Int, path: String)] {
        let all = try run.snapshots()
        guard !options.force, let recorded = ProbeFile.recorded(at: probesPath), recorded.requested == options.probes else { return all }
        return all.filter { !isUpToDate(dataPath(epoch: $0.epoch), snapshot: $0.path, probes: recorded.count) }
    }

    private func isUpToDate(_ data: String, snapshot: String, probes: Int) -> Bool {
        let fm = FileManager.default
        guard let d = try? fm.attributesOfItem(atPath: data)[.modificationDate] as? Date,
              let s = try? fm.attributesOfItem(atPath: snapshot)[.modificationDate] as? Date, d >= s,
              let file = try? HDF5File.open(data) else { return false }
        defer { try? file.close() }
        let count = (try? file.int64Attribute("probes")).flatMap { $0 }
        let top = (try? file.int64Attribute("top")).flatMap { $0 }
        return top == Int64(options.top) && count == Int64(probes)
    }

    /// Loads the data set's test split once and fixes the probe set (first P images).
    private func probes(normalization: Normalization) throws -> ProbeSet {
        if let p = probeSet { return p }
        if testData == nil {
            let kind = config?.data ?? DatasetKind.fashionMNIST.rawValue
            guard let k = DatasetKind(rawValue: kind) else { throw RunError("run.json names data set \"\(kind)\", which this build cannot load") }
            testData = try DatasetLoader.load(k, directory: config?.dataDir).test
        }
        let set = ProbeSet(test: testData!, count: options.probes, normalization: normalization)
        probeSource = "first \(set.count) images of the \(testData!.name) test split"
        probeSet = set
        return set
    }

    /// Processes one snapshot: replay, projections, data file. Returns its analysis.
    public func process(epoch: Int, snapshotPath: String) throws -> SnapshotAnalysis {
        let snapshot = try Snapshot.read(from: snapshotPath)
        let network = try Network.load(snapshot: snapshot, path: snapshotPath)
        guard let normalization = network.spec.normalization else {
            throw RunError("\(snapshotPath): the architecture has no normalization; add {\"mean\": [...], \"std\": [...]} to it")
        }
        let probes = try probes(normalization: normalization)
        guard probes.imageShape == network.spec.input else {
            throw RunError("\(snapshotPath): the model expects input \(network.spec.input) but the probe images are \(probes.imageShape)")
        }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let recorded = ProbeFile.recorded(at: probesPath)
        if recorded == nil || recorded! != (probes.count, options.probes) {
            try ProbeFile.write(probes, requested: options.probes, source: probeSource, to: probesPath)
        }
        var analysis = Replay(network: network, probes: probes, k: options.top).analyze(epoch: snapshot.epoch, step: snapshot.step)
        if options.occlusion.images > 0 {
            analysis.occlusion = Occlusion.maps(network: network, probes: probes, options: options.occlusion)
            (analysis.occlusionSize, analysis.occlusionStride) = options.occlusion.resolved(imageSide: min(probes.imageShape[1], probes.imageShape[2]))
        }
        try MonitorDataFile.write(analysis, k: options.top, to: dataPath(epoch: epoch))
        return analysis
    }

    /// One pass: processes pending snapshots (calling `progress` after each), then rewrites findings.json.
    @discardableResult
    public func pass(progress: (SnapshotOutcome) -> Void = { _ in }) throws -> Findings {
        for snap in try pending() {
            let start = Date()
            _ = try process(epoch: snap.epoch, snapshotPath: snap.path)
            progress(SnapshotOutcome(epoch: snap.epoch, processed: true, seconds: Date().timeIntervalSince(start), findings: nil))
        }
        return try writeFindings()
    }

    /// Rebuilds findings.json from the data files (so it never disagrees with them).
    @discardableResult
    public func writeFindings() throws -> Findings {
        let snapshots = try run.snapshots()
        guard let newest = snapshots.last else { throw RunError("\(run.path): no snapshots (epoch-NNNN.h5) found") }
        let snapshot = try Snapshot.read(from: newest.path)
        let network = try Network.load(snapshot: snapshot, path: newest.path)
        let order = network.convBlocks.map(\.name)
        let metrics = run.readMetrics()
        let accuracy = Dictionary(metrics.map { ($0.epoch, $0.testAccuracy) }, uniquingKeysWith: { $1 })
        var epochs: [EpochFindings] = []
        var analyses: [SnapshotAnalysis] = []
        for snap in snapshots where FileManager.default.fileExists(atPath: dataPath(epoch: snap.epoch)) {
            let analysis = try MonitorDataFile.read(from: dataPath(epoch: snap.epoch), layers: order)
            let first = analyses.first ?? analysis
            let layers = analysis.layers.map { layer in
                Diagnostics.evaluate(layer, thresholds: options.thresholds, imageShape: network.spec.input,
                                     initial: analyses.isEmpty ? nil : first.layers.first { $0.name == layer.name })
            }
            epochs.append(EpochFindings(epoch: analysis.epoch, step: analysis.step, testAccuracy: accuracy[analysis.epoch], layers: layers))
            analyses.append(analysis)
        }
        let convergence = order.map { name in
            Convergence.layer(name, epochs: analyses.compactMap { a in a.layers.first { $0.name == name }.map { (a.epoch, $0) } },
                              thresholds: options.convergence)
        }
        let deaths = Dictionary(uniqueKeysWithValues: order.map { ($0, DeathRecord.history(layer: $0, epochs: epochs)) })
        let probeInfo = try? ProbeFile.read(from: probesPath)
        let current = (try? run.readConfig()) ?? config   // status changes while a run trains
        let findings = Findings(
            run: run.name, probes: probeInfo?.labels.count ?? 0, top: options.top, epochs: epochs,
            status: current?.status.rawValue ?? "snapshots only",
            updated: Timestamp.now(), data: config?.data ?? (testData?.name ?? "unknown"),
            classNames: probeInfo?.classNames ?? [], inputShape: network.spec.input, monitoredLayers: order,
            model: Diagnostics.modelTable(network), audits: Diagnostics.audit(network), thresholds: options.thresholds,
            configuration: current, metrics: metrics, convergence: convergence, convergenceThresholds: options.convergence,
            deaths: deaths,
            metricsNote: metrics.isEmpty ? "This run directory has no metrics.jsonl (its snapshots were not written by `deconvscope train`), so there are no training curves." : nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(findings), to: findingsPath)
        return findings
    }
}

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

    /// Called once for each snapshot that cannot be read or loaded (damaged, truncated, not a
    /// snapshot, weights that do not fit its architecture), with the error naming the file. The
    /// pass skips that snapshot and goes on with the others; it is retried only once the file
    /// changes. Unset, such snapshots are skipped silently.
    public var onUnreadableSnapshot: ((_ path: String, _ error: Error) -> Void)?
    /// Snapshots that could not be read, with the file's identity when they failed.
    private var unreadable: [String: FileStamp] = [:]
    /// The network of the snapshot read last, so `writeFindings` does not read the newest
    /// snapshot a second time right after a pass processed it.
    private var lastLoaded: (path: String, stamp: FileStamp, network: Network)?

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
        let readable = all.filter { !isKnownUnreadable($0.path) }
        guard !options.force, let recorded = ProbeFile.recorded(at: probesPath), recorded.requested == options.probes else { return readable }
        return readable.filter { !isUpToDate(dataPath(epoch: $0.epoch), snapshot: $0.path, probes: recorded.count) }
    }

    /// Whether `path` failed to read before and has not changed since.
    private func isKnownUnreadable(_ path: String) -> Bool {
        guard let failed = unreadable[path] else { return false }
        return FileStamp(path) == failed
    }

    /// Reads a snapshot (in a child process when the executable guards reads: these files may come
    /// from anywhere) and builds its network. On failure the snapshot is recorded as unreadable,
    /// reported through `onUnreadableSnapshot`, and nil is returned.
    private func load(_ path: String) -> (Snapshot, Network)? {
        let stamp = FileStamp(path)
        do {
            let snapshot = try Snapshot.readGuarded(from: path)
            let network = try Network.load(snapshot: snapshot, path: path)
            unreadable[path] = nil
            lastLoaded = (path, stamp, network)
            return (snapshot, network)
        } catch {
            unreadable[path] = stamp
            onUnreadableSnapshot?(path, error)
            return nil
        }
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
        let snapshot = try Snapshot.readGuarded(from: snapshotPath)
        let network = try Network.load(snapshot: snapshot, path: snapshotPath)
        return try process(epoch: epoch, snapshotPath: snapshotPath, snapshot: snapshot, network: network)
    }

    private func process(epoch: Int, snapshotPath: String, snapshot: Snapshot, network: Network) throws -> SnapshotAnalysis {
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
    /// A snapshot that cannot be read goes to `onUnreadableSnapshot` and the pass goes on without it.
    @discardableResult
    public func pass(progress: (SnapshotOutcome) -> Void = { _ in }) throws -> Findings {
        for snap in try pending() {
            let start = Date()
            guard let (snapshot, network) = load(snap.path) else { continue }
            _ = try process(epoch: snap.epoch, snapshotPath: snap.path, snapshot: snapshot, network: network)
            progress(SnapshotOutcome(epoch: snap.epoch, processed: true, seconds: Date().timeIntervalSince(start), findings: nil))
        }
        return try writeFindings()
    }

    /// Rebuilds findings.json from the data files (so it never disagrees with them).
    /// The architecture comes from the newest snapshot that can be read; unreadable snapshots are
    /// left out (an old data file of theirs no longer describes them).
    @discardableResult
    public func writeFindings() throws -> Findings {
        let all = try run.snapshots()
        guard !all.isEmpty else { throw RunError("\(run.path): no snapshots (epoch-NNNN.h5) found") }
        var network: Network? = nil
        for candidate in all.reversed() where !isKnownUnreadable(candidate.path) {
            if let last = lastLoaded, last.path == candidate.path, last.stamp == FileStamp(candidate.path) {
                network = last.network
            } else {
                network = load(candidate.path)?.1
            }
            if network != nil { break }
        }
        guard let network else { throw NoReadableSnapshotError(run: run.path, count: all.count) }
        let snapshots = all.filter { !isKnownUnreadable($0.path) }
        let order = network.convBlocks.map(\.name)
        let metrics = run.readMetrics()
        let accuracy = Dictionary(metrics.map { ($0.epoch, $0.testAccuracy) }, uniquingKeysWith: { $1 })
        let confusion = Dictionary(metrics.compactMap { m in m.confusion.map { (m.epoch, $0) } }, uniquingKeysWith: { $1 })
        let probeInfo = try? ProbeFile.read(from: probesPath)
        let probeClassNames = probeInfo?.classNames ?? []
        var epochs: [EpochFindings] = []
        var analyses: [SnapshotAnalysis] = []
        for snap in snapshots where FileManager.default.fileExists(atPath: dataPath(epoch: snap.epoch)) {
            let analysis = try MonitorDataFile.read(from: dataPath(epoch: snap.epoch), layers: order)
            let first = analyses.first ?? analysis
            let layers = analysis.layers.map { layer in
                var findings = Diagnostics.evaluate(layer, thresholds: options.thresholds, imageShape: network.spec.input,
                                                    initial: analyses.isEmpty ? nil : first.layers.first { $0.name == layer.name })
                if let probeInfo { ClassMakeup.annotate(&findings, analysis: layer, labels: probeInfo.labels, classNames: probeClassNames) }
                return findings
            }
            epochs.append(EpochFindings(epoch: analysis.epoch, step: analysis.step, testAccuracy: accuracy[analysis.epoch], layers: layers,
                                        confusion: confusion[analysis.epoch]))
            analyses.append(analysis)
        }
        let convergence = order.map { name in
            Convergence.layer(name, epochs: analyses.compactMap { a in a.layers.first { $0.name == name }.map { (a.epoch, $0) } },
                              thresholds: options.convergence)
        }
        let deaths = Dictionary(uniqueKeysWithValues: order.map { ($0, DeathRecord.history(layer: $0, epochs: epochs)) })
        let current = (try? run.readConfig()) ?? config   // status changes while a run trains
        let findings = Findings(
            run: run.name, probes: probeInfo?.labels.count ?? 0, top: options.top, epochs: epochs,
            status: current?.status.rawValue ?? "snapshots only",
            // run.json from now: a monitor started by `train` exists before the run writes it.
            updated: Timestamp.now(), data: current?.data ?? (testData?.name ?? "unknown"),
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

/// Every snapshot of the run failed to read (each was reported through `onUnreadableSnapshot`),
/// so there is no architecture to write findings for.
public struct NoReadableSnapshotError: Error, CustomStringConvertible {
    public var run: String
    public var count: Int
    public var description: String { "\(run): none of its \(count) snapshots can be read" }
}

/// A file's identity and version (inode, size, modification time): a snapshot replaced or
/// rewritten since it failed to read gets another chance.
struct FileStamp: Equatable {
    var inode: UInt64 = 0
    var size: Int64 = -1
    var seconds = 0
    var nanoseconds = 0

    init(_ path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        seconds = info.st_mtim.tv_sec
        nanoseconds = info.st_mtim.tv_nsec
    }
}

import Foundation
import Tensors
import Layers
import Snapshots
import Datasets
import Runs

public struct MonitorOptions: Sendable {
    public var probes = 1024
    public var top = 9
    public var force = false
    public var thresholds = DiagnosticThresholds()
    public var convergence = ConvergenceThresholds()
    public var occlusion = OcclusionOptions()
    /// For snapshots whose architecture carries no normalization (networks exported as ONNX):
    /// `--mean` / `--std`, pixels scaled to [0, 1]. Without it, the data set's train split is measured.
    public var normalization: Normalization?
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
    private var probeSet: (set: ProbeSet, normalization: Normalization)?
    /// The data file `process` is writing beside the pass, until `finishDataWrite`.
    private var dataWrite: MonitorDataFile.PendingWrite?
    private var testData: Dataset?
    /// The data set to read probe images from when no `testData` is given and no recorded probe
    /// set fits: run.json's, else the one passed to `init`, else Fashion-MNIST.
    private let dataKind: String
    private let probeDataDirectory: String?
    /// The test split's name as `Dataset.name` spells it, recorded in probes.h5.
    private let testSplitName: String
    private var probeSource = ""
    /// Measured once, for snapshots that carry no normalization and no `--mean`/`--std`.
    private var measuredNormalization: Normalization?
    /// Where the normalization of snapshots without one came from, once one was met; the CLI
    /// prints it and the report shows it with the probe set.
    public private(set) var normalizationNote: String?

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

    /// `testData` (already in memory, e.g. the trainer's) gives the probe images; without it they
    /// come from `data/probes.h5` when that was recorded for the same `--probes` and data set, else
    /// from the test split of run.json's data set, or of `data` when the run directory has no
    /// run.json (snapshots written by other tools).
    public init(run: RunDirectory, reportDirectory: String, options: MonitorOptions, testData: Dataset? = nil,
                data: (kind: DatasetKind, directory: String?)? = nil) throws {
        self.run = run
        self.reportDirectory = reportDirectory
        self.options = options
        self.config = try run.readConfig()
        self.testData = testData
        dataKind = config?.data ?? data?.kind.rawValue ?? DatasetKind.fashionMNIST.rawValue
        probeDataDirectory = config == nil ? data?.directory : config?.dataDir
        testSplitName = testData?.name ?? "\(dataKind)/test"
        // A monitor or report writer killed mid-write leaves temporaries in the report folder and
        // its subfolders (data/, img/). Done here, before this process writes anything there.
        let subfolders = ((try? FileManager.default.contentsOfDirectory(atPath: reportDirectory)) ?? []).sorted().map { reportDirectory + "/" + $0 }
        for folder in [reportDirectory] + subfolders { AtomicFile.removeStaleTemporaries(in: folder) }
    }

    public func dataPath(epoch: Int) -> String { dataDirectory + "/" + SnapshotFiles.fileName(epoch: epoch) }

    /// Snapshots that a pass would process: all of them when the probe set is missing or was
    /// made for another `--probes` or data set (every epoch must see the same images), else those
    /// whose data file is missing, older than the snapshot, or made with another k or probe set.
    public func pending() throws -> [(epoch: Int, path: String)] {
        let all = try run.snapshots()
        let readable = all.filter { !isKnownUnreadable($0.path) }
        guard !options.force, let recorded = ProbeFile.recorded(at: probesPath), recorded.requested == options.probes,
              recorded.dataset == nil || recorded.dataset == testSplitName else { return readable }
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
            let (snapshot, network) = try PhaseTimings.measure("snapshot read") {
                let snapshot = try readWhilePreparing(path)
                return (snapshot, try PhaseTimings.measure("network build") { try Network.load(snapshot: snapshot, path: path) })
            }
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
        guard let d = FileInfo(data)?.modified, let s = FileInfo(snapshot)?.modified, d >= s,
              let file = try? HDF5File.open(data) else { return false }
        defer { try? file.close() }
        let count = (try? file.int64Attribute("probes")).flatMap { $0 }
        let top = (try? file.int64Attribute("top")).flatMap { $0 }
        return top == Int64(options.top) && count == Int64(probes)
    }

    private func datasetKind() throws -> DatasetKind {
        guard let k = DatasetKind(rawValue: dataKind) else { throw RunError("run.json names data set \"\(dataKind)\", which this build cannot load") }
        return k
    }

    /// Reads a snapshot without the optimizer state (the monitor runs the network only), loading
    /// the probe images while the reader child reads it (4-5 ms of the process's wall time).
    private func readWhilePreparing(_ path: String) throws -> Snapshot {
        let pending = Snapshot.beginReadAnyFormat(from: path, optimizerState: false)
        // Errors here come back, with their own message, when the probe set is built.
        try? PhaseTimings.measure("probe images") { try loadProbeImages() }
        return try PhaseTimings.measure("reader wait") { try pending.finish() }
    }

    /// The probe images in memory (`testData`), from `testData` itself, probes.h5 or the data set.
    private func loadProbeImages() throws {
        if testData == nil, let recorded = ProbeFile.recorded(at: probesPath), recorded.requested == options.probes,
           recorded.dataset == testSplitName, let file = try? ProbeFile.read(from: probesPath),
           file.labels.count == recorded.count, file.pixels.rank == 4 {
            testData = Dataset(name: testSplitName, images: file.pixels, labels: file.labels, classNames: file.classNames)
        }
        if testData == nil {
            testData = try DatasetLoader.loadTest(try datasetKind(), directory: probeDataDirectory, limit: options.probes)
        }
    }

    /// Fixes the probe set (the first P images of the test split) once per monitor: from
    /// `testData`, else from the recorded probes.h5 when it was made for the same `--probes` and
    /// data set (the same images, without reading the data set), else from the data set's test
    /// split, reading only P images.
    private func probes(normalization: Normalization) throws -> ProbeSet {
        if let p = probeSet, p.normalization == normalization { return p.set }
        try loadProbeImages()
        let set = ProbeSet(test: testData!, count: options.probes, normalization: normalization)
        probeSource = "first \(set.count) images of the \(testData!.name) test split" + (normalizationNote.map { "; \($0)" } ?? "")
        probeSet = (set, normalization)
        return set
    }

    /// The snapshot's own normalization, else `--mean`/`--std`, else the train split's, measured once.
    private func normalization(of network: Network) throws -> Normalization {
        if let own = network.spec.normalization { return own }
        let channels = network.spec.input[0]
        if let given = options.normalization {
            guard given.mean.count == channels, given.std.count == channels else {
                throw RunError("--mean and --std need one value per input channel (\(channels)), got \(given.mean.count) and \(given.std.count)")
            }
            normalizationNote = "normalization from --mean/--std (the snapshots carry none)"
            return given
        }
        if measuredNormalization == nil {
            let train = try DatasetLoader.load(try datasetKind(), directory: probeDataDirectory).train
            measuredNormalization = Normalization.measure(train)
        }
        let measured = measuredNormalization!
        guard measured.mean.count == channels else {
            throw RunError("the snapshots carry no normalization and the data set has \(measured.mean.count) channels, the model \(channels); give --mean and --std")
        }
        func list(_ v: [Float]) -> String { v.map { String(format: "%.4f", $0) }.joined(separator: ",") }
        normalizationNote = "normalization measured on the train split (mean \(list(measured.mean)), std \(list(measured.std))) because the snapshots carry none; give --mean/--std if the network was trained with other values"
        return measured
    }

    /// Processes one snapshot: replay, projections, data file. Returns its analysis.
    public func process(epoch: Int, snapshotPath: String) throws -> SnapshotAnalysis {
        let (snapshot, network) = try PhaseTimings.measure("snapshot read") {
            let snapshot = try readWhilePreparing(snapshotPath)
            return (snapshot, try Network.load(snapshot: snapshot, path: snapshotPath))
        }
        return try process(epoch: epoch, snapshotPath: snapshotPath, snapshot: snapshot, network: network, writingBeside: false)
    }

    /// With `writingBeside`, the data file is written on a thread of its own while the caller goes
    /// on (`MonitorDataFile.beginWrite`; `finishDataWrite` waits for it): in a pass, the findings'
    /// diagnostics run meanwhile, and the file's fsync no longer waits in line (4-9 ms).
    private func process(epoch: Int, snapshotPath: String, snapshot: Snapshot, network: Network,
                         writingBeside: Bool) throws -> SnapshotAnalysis {
        let probes = try PhaseTimings.measure("probe set") { try self.probes(normalization: try self.normalization(of: network)) }
        guard probes.imageShape == network.spec.input else {
            throw RunError("\(snapshotPath): the model expects input \(network.spec.input) but the probe images are \(probes.imageShape)")
        }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let recorded = ProbeFile.recorded(at: probesPath)
        if recorded != ProbeFile.Recorded(count: probes.count, requested: options.probes, dataset: testSplitName) {
            try PhaseTimings.measure("probe file write") {
                try ProbeFile.write(probes, requested: options.probes, source: probeSource, dataset: testSplitName, to: probesPath)
            }
        }
        let replay = Replay(network: network, probes: probes, k: options.top)
        var analysis: SnapshotAnalysis
        if options.occlusion.images > 0 {
            // The occlusion maps run beside the top-k pass, on a network of their own (a layer keeps
            // buffers and switches between calls, so one network runs one forward at a time; the
            // weights are shared, copy-on-write): the top-k pass's serial stretches leave a core
            // idle that the maps fill. Measured on the demo's epoch-1 snapshot, alternating in the
            // same minutes: the two phases 0.18 s one after the other, 0.167 s beside each other
            // (medians of 6); the whole `monitor --force` process 0.2545 -> 0.2393 s (medians of 16).
            let occlusionNetwork = try Network.load(snapshot: snapshot, path: snapshotPath)
            let occlusionOptions = options.occlusion
            let maps: [OcclusionMap]
            (analysis, maps) = ComputeBudget.concurrently({
                PhaseTimings.measure("replay") { replay.analyze(epoch: snapshot.epoch, step: snapshot.step) }
            }, beside: {
                let maps = PhaseTimings.measure("occlusion") { Occlusion.maps(network: occlusionNetwork, probes: probes, options: occlusionOptions) }
                // The diagnostics' filter spectra need only the weights: made here, the stream
                // that ends first, instead of on the findings' serial tail.
                PhaseTimings.measure("filter spectra") { FilterSpectra.prepare(for: occlusionNetwork) }
                return maps
            })
            analysis.occlusion = maps
            (analysis.occlusionSize, analysis.occlusionStride) = options.occlusion.resolved(imageSide: min(probes.imageShape[1], probes.imageShape[2]))
        } else {
            analysis = PhaseTimings.measure("replay") { replay.analyze(epoch: snapshot.epoch, step: snapshot.step) }
        }
        try finishDataWrite()   // one data file in flight at a time (the last one written is `read`'s memo)
        if writingBeside {
            dataWrite = MonitorDataFile.beginWrite(analysis, k: options.top, to: dataPath(epoch: epoch))
        } else {
            try PhaseTimings.measure("data file write") { try MonitorDataFile.write(analysis, k: options.top, to: dataPath(epoch: epoch)) }
        }
        return analysis
    }

    /// Waits for the data file `process` is writing beside, if any; rethrows what stopped it.
    private func finishDataWrite() throws {
        guard let pending = dataWrite else { return }
        dataWrite = nil
        try pending.finish()
    }

    /// One pass: processes pending snapshots (calling `progress` after each), then rewrites findings.json.
    /// A snapshot that cannot be read goes to `onUnreadableSnapshot` and the pass goes on without it.
    @discardableResult
    public func pass(progress: (SnapshotOutcome) -> Void = { _ in }) throws -> Findings {
        do {
            for snap in try pending() {
                let start = Date()
                guard let (snapshot, network) = load(snap.path) else { continue }
                _ = try PhaseTimings.measure("process snapshot") {
                    try process(epoch: snap.epoch, snapshotPath: snap.path, snapshot: snapshot, network: network, writingBeside: true)
                }
                progress(SnapshotOutcome(epoch: snap.epoch, processed: true, seconds: Date().timeIntervalSince(start), findings: nil))
            }
            // Waits for the last data file before findings.json is written (`writeFindings`).
            return try PhaseTimings.measure("findings") { try writeFindings() }
        } catch {
            try? finishDataWrite()   // no write outlives a failed pass
            throw error
        }
    }

    /// The per-layer findings of findings.json that a rebuild would compute again unchanged, by
    /// epoch. A snapshot's diagnostics depend only on its data file, the first snapshot's data file
    /// (weight change), the thresholds, the input shape and this program; they are taken over when
    /// findings.json was written after all of those (status-change times: the kernel sets them on
    /// every write or rename, and no copy or `touch` can set them back; equal times count as
    /// changed). Recomputing costs about 25 ms of CPU per zf-fmnist snapshot, on every pass.
    private func reusableDiagnostics(firstEpoch: Int?, order: [String], imageShape: [Int]) -> [Int: [LayerFindings]] {
        func changeTime(_ path: String) -> Int64? { FileInfo(path)?.changed }
        guard let firstEpoch, let written = changeTime(findingsPath), let program = changeTime("/proc/self/exe"), program < written,
              let firstData = changeTime(dataPath(epoch: firstEpoch)), firstData < written,
              let data = FileManager.default.contents(atPath: findingsPath),
              let previous = try? JSONDecoder().decode(Findings.self, from: data),
              previous.thresholds == options.thresholds, previous.inputShape == imageShape, previous.monitoredLayers == order,
              previous.epochs.first?.epoch == firstEpoch else { return [:] }
        var reusable: [Int: [LayerFindings]] = [:]
        for epoch in previous.epochs {
            if let changed = changeTime(dataPath(epoch: epoch.epoch)), changed < written { reusable[epoch.epoch] = epoch.layers }
        }
        return reusable
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
        // From memory when this process wrote or read the file (`ProbeFile.read`).
        let probeInfo = try? ProbeFile.read(from: probesPath)
        let probeClassNames = probeInfo?.classNames ?? []
        var epochs: [EpochFindings] = []
        var analyses: [SnapshotAnalysis] = []
        // A data file still being written (`process`) is read from memory meanwhile, and its old
        // file's diagnostics are not reused. Taken before the reuse is decided: a write may end
        // meanwhile, after which the ctime test below sees the new file.
        let beingWritten = Set(snapshots.map(\.epoch).filter { MonitorDataFile.isBeingWritten(dataPath(epoch: $0)) })
        let withData = snapshots.filter { beingWritten.contains($0.epoch) || FileManager.default.fileExists(atPath: dataPath(epoch: $0.epoch)) }
        let reusable = reusableDiagnostics(firstEpoch: withData.first?.epoch, order: order, imageShape: network.spec.input)
        for snap in withData {
            let analysis = try PhaseTimings.measure("data file read") { try MonitorDataFile.read(from: dataPath(epoch: snap.epoch), layers: order) }
            let first = analyses.first ?? analysis
            let layers = PhaseTimings.measure("diagnostics") {
                if !beingWritten.contains(snap.epoch), let kept = reusable[snap.epoch], kept.map(\.name) == analysis.layers.map(\.name) { return kept }
                return analysis.layers.map { layer in
                    var findings = Diagnostics.evaluate(layer, thresholds: options.thresholds, imageShape: network.spec.input,
                                                        initial: analyses.isEmpty ? nil : first.layers.first { $0.name == layer.name })
                    if let probeInfo { ClassMakeup.annotate(&findings, analysis: layer, labels: probeInfo.labels, classNames: probeClassNames) }
                    return findings
                }
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
        var shortcut: ShortcutMeasurement? = nil
        if let newest = analyses.last, !newest.occlusion.isEmpty, let pixels = probeInfo?.pixels {
            shortcut = Shortcut.measure(maps: newest.occlusion, pixels: pixels, size: newest.occlusionSize, stride: newest.occlusionStride)
        }
        var grids: [GridMeasurement] = []
        if let newest = analyses.last {
            for (below, above) in zip(newest.layers, newest.layers.dropFirst()) where below.convStride >= 2 {
                if let r = ProjectionGrid.ratio(above.projections, period: below.convStride) {
                    grids.append(GridMeasurement(layer: below.name, above: above.name, stride: below.convStride, ratio: r))
                }
            }
        }
        let diagnoses = Diagnose.run(Diagnose.Inputs(
            epochs: epochs, metrics: metrics, updates: UpdateStatsReader.newest(metricsPath: run.metricsPath),
            shortcut: shortcut, grids: grids, classes: network.spec.classes,
            failure: current?.status == .failed ? current?.message : nil, thresholds: options.thresholds))
        let findings = Findings(
            run: run.name, probes: probeInfo?.labels.count ?? 0, top: options.top, epochs: epochs,
            status: current?.status.rawValue ?? "snapshots only",
            // run.json from now: a monitor started by `train` exists before the run writes it.
            updated: Timestamp.now(), data: current?.data ?? testSplitName,
            classNames: probeInfo?.classNames ?? [], inputShape: network.spec.input, monitoredLayers: order,
            model: Diagnostics.modelTable(network), audits: Diagnostics.audit(network), thresholds: options.thresholds,
            configuration: current, metrics: metrics, convergence: convergence, convergenceThresholds: options.convergence,
            deaths: deaths,
            metricsNote: metrics.isEmpty ? "This run directory has no metrics.jsonl (its snapshots were not written by `deconvscope train`), so there are no training curves." : nil,
            diagnoses: diagnoses)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // findings.json only names data files that are on disk.
        try finishDataWrite()
        try PhaseTimings.measure("findings.json write") { try AtomicFile.write(try encoder.encode(findings), to: findingsPath) }
        Findings.lastWritten.remember(findings, at: findingsPath)
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
    var modified: Int64 = 0

    init(_ path: String) {
        guard let info = FileInfo(path) else { return }
        (inode, size, modified) = (info.inode, info.size, info.modified)
    }
}

import Foundation
import Tensors
import Datasets
import Runs
import Layers
import Snapshots

/// What a training session reports while it runs; the CLI turns these into progress output and
/// runs the monitor on each snapshot.
public enum TrainingEvent {
    case started(epoch: Int, of: Int, resumed: Bool)
    case batch(BatchProgress)
    case epochFinished(EpochMetrics)
    case snapshotWritten(epoch: Int, path: String)
}

/// Runs a whole training job into its run directory: snapshots at the chosen epochs,
/// `metrics.jsonl` after every epoch, `run.json` with the configuration and status.
public final class TrainingSession {
    public private(set) var config: RunConfiguration
    public let directory: RunDirectory
    public let trainer: Trainer
    private var metrics: [EpochMetrics]

    /// Prepares a new run, or with `resume` continues from the newest state in `directory`: the
    /// newest snapshot, or the resume point if that is newer.
    /// `data` holds raw [0, 1] pixels; normalization comes from the architecture, or is measured on
    /// the training split for a new run whose model names none.
    public init(config: RunConfiguration, directory: RunDirectory, data: DatasetPair, resume: Bool) throws {
        var config = config
        let snapshots = try directory.snapshots()
        let hasResumePoint = FileManager.default.fileExists(atPath: directory.resumePointPath)
        var resumeFrom: (snapshot: Snapshot, path: String)? = nil
        if resume {
            if let newest = snapshots.last {
                do {
                    resumeFrom = (try Snapshot.readGuarded(from: newest.path), newest.path)
                } catch {
                    // Not skipped on our own: resuming from an older snapshot discards the epochs after it.
                    guard let older = snapshots.dropLast().last else { throw error }
                    throw RunError("\(error); to continue from \((older.path as NSString).lastPathComponent) (epoch \(older.epoch)) instead, move \((newest.path as NSString).lastPathComponent) out of \(directory.path) and resume again")
                }
            }
            if hasResumePoint {
                let point = try Snapshot.readGuarded(from: directory.resumePointPath)
                if point.epoch > resumeFrom?.snapshot.epoch ?? -1 { resumeFrom = (point, directory.resumePointPath) }
            }
            guard let (snapshot, path) = resumeFrom else {
                throw RunError("\(directory.path): nothing to resume (no snapshots); start the run without --resume")
            }
            config.architecture = try ModelSpec.decode(json: snapshot.architecture, source: path)
        } else if !snapshots.isEmpty || hasResumePoint {
            throw RunError("\(directory.path) already holds snapshots; pass --resume to continue it, or choose another --run name")
        }
        guard data.train.inputShape == config.architecture.input else {
            throw RunError("the data set's images are \(data.train.inputShape) but the model expects input \(config.architecture.input)")
        }
        guard data.train.classNames.count <= config.architecture.classes else {
            throw RunError("the data set has \(data.train.classNames.count) classes but the model has \(config.architecture.classes) outputs; set \"classes\" and the last layer's out_features to \(data.train.classNames.count)")
        }
        if config.architecture.normalization == nil {
            config.architecture.normalization = Normalization.measure(data.train)
        }
        let network = try Network(spec: config.architecture, source: config.model)
        let normalization = config.architecture.normalization!
        let trainer = Trainer(network: network, train: data.train, test: data.test, normalization: normalization,
                              optimizer: SGD(learningRate: config.learningRate, momentum: config.momentum,
                                             weightDecay: config.weightDecay, maxFilterRMS: config.maxFilterRMS),
                              batchSize: config.batchSize, seed: config.seed)
        if let (snapshot, path) = resumeFrom {
            try trainer.restore(snapshot, path: path)
            metrics = directory.readMetrics().filter { $0.epoch <= snapshot.epoch }
        } else {
            trainer.initializeWeights(firstConvStd: config.firstConvInitStd)
            metrics = []
        }
        self.config = config
        self.directory = directory
        self.trainer = trainer
    }

    public var metricsSoFar: [EpochMetrics] { metrics }

    /// Trains up to `config.epochs`. Returns the final status (`finished`, or `interrupted` when
    /// `trainer.shouldStop` fired). A divergence is recorded in run.json and rethrown.
    @discardableResult
    public func run(onEvent: (TrainingEvent) throws -> Void) throws -> RunStatus {
        try directory.create()
        // A writer killed mid-write (kill -9, power loss) leaves its temporary file behind.
        AtomicFile.removeStaleTemporaries(in: directory.path)
        config.status = .running
        config.updated = Timestamp.now()
        try directory.writeConfig(config)
        let resumed = trainer.epoch > 0 || !metrics.isEmpty
        try onEvent(.started(epoch: trainer.epoch, of: config.epochs, resumed: resumed))

        if trainer.epoch == 0 && metrics.isEmpty {
            let initial = trainer.initialMetrics()
            try record(initial, onEvent: onEvent)
        }
        do {
            while trainer.epoch < config.epochs {
                guard let m = try trainer.trainEpoch(progress: { p in try? onEvent(.batch(p)) }) else {
                    try finish(.interrupted, message: "interrupted during epoch \(trainer.epoch + 1); resume with --resume from epoch \(trainer.epoch)")
                    return .interrupted
                }
                try record(m, onEvent: onEvent)
            }
        } catch var error as TrainingDiverged {
            error.lastSnapshot = try? directory.snapshots().last.map { URL(fileURLWithPath: $0.path).lastPathComponent }
            try? finish(.failed, message: error.description)
            throw error
        } catch {
            // E.g. a full disk: say so in run.json (if it can still be written), so `monitor --watch`
            // stops following the run instead of waiting for it forever.
            try? finish(.failed, message: "\(error)")
            throw error
        }
        try finish(.finished, message: nil)
        return .finished
    }

    /// Whether `epoch` gets a snapshot: the chosen epochs, and always the last one, so a finished
    /// run can be monitored and extended with --resume.
    public func snapshots(epoch: Int) -> Bool {
        config.snapshotEpochs.contains(epoch) || epoch == config.epochs
    }

    private func record(_ m: EpochMetrics, onEvent: (TrainingEvent) throws -> Void) throws {
        metrics.append(m)
        try directory.writeMetrics(metrics)
        if snapshots(epoch: m.epoch) {
            let path = directory.snapshotPath(epoch: m.epoch)
            try trainer.snapshot().write(to: path)
            // Older than the snapshot just written: no longer needed to resume.
            unlink(directory.resumePointPath)
            try onEvent(.epochFinished(m))
            try onEvent(.snapshotWritten(epoch: m.epoch, path: path))
        } else {
            // Not a snapshot epoch, but a kill must not cost more than the epoch in progress.
            try trainer.snapshot().write(to: directory.resumePointPath)
            try onEvent(.epochFinished(m))
        }
    }

    private func finish(_ status: RunStatus, message: String?) throws {
        config.status = status
        config.message = message
        config.updated = Timestamp.now()
        try directory.writeConfig(config)
    }
}

import ArgumentParser
import Foundation
import Layers
import Training
import Monitoring
import Reporting

/// Set by SIGINT; the trainer checks it between batches.
nonisolated(unsafe) private var interruptRequested: Int32 = 0

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a CNN with SGD, snapshot it to HDF5, and update its report after every snapshot.",
        discussion: """
        Snapshots go to <checkpoints>/<run>/epoch-NNNN.h5 at the epochs in --snapshot-epochs (0 is the \
        initialization; the last epoch is always saved). Unless --no-monitor is given, each snapshot is \
        replayed on the probe set and <reports>/<run>/index.html is refreshed, so the report can be opened \
        while training goes on. Ctrl-C stops after the current batch; --resume continues from the newest snapshot.
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var dataOptions: DataOptions

    @Option(help: "Epochs to train.") var epochs = 10
    @Option(help: "Images per SGD step.") var batchSize = 128
    @Option(help: "SGD learning rate.") var learningRate: Float = 0.01
    @Option(help: "SGD momentum.") var momentum: Float = 0.9
    @Option(help: "L2 weight decay added to the gradient.") var weightDecay: Float = 0
    @Option(help: ArgumentHelp("Rescale conv filters whose RMS exceeds R back to R, as Zeiler & Fergus did (they used 0.1).", valueName: "R"))
    var maxFilterRms: Float?
    @Option(help: "Seed for initialization, shuffling and dropout; equal seeds give equal runs.") var seed: UInt64 = 0
    @Option(help: ArgumentHelp("Train on only the first N training images (quick experiments).", valueName: "N")) var trainLimit: Int?
    @Option(help: ArgumentHelp("Epochs to snapshot, comma-separated.", valueName: "list")) var snapshotEpochs = "0,1,2,5,10"
    @Option(name: .customLong("run"), help: ArgumentHelp("Run name (letters, digits, '_', '.', '-'); default: <model>-<date>-<time>.", valueName: "name"))
    var runName: String?
    @Option(help: ArgumentHelp("Folder that receives <run>/ with the snapshots.", valueName: "dir")) var checkpoints = "Checkpoints"
    @Flag(help: "Continue the run from its newest snapshot (same weights, momentum and random state).") var resume = false
    @Flag(help: "Do not replay snapshots or write the report while training.") var noMonitor = false
    @OptionGroup var probeOptions: ProbeOptions
    @OptionGroup(title: "Diagnostics") var diagnostics: DiagnosticOptions

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be a positive number") }
        guard momentum >= 0, momentum < 1 else { throw ValidationError("--momentum must be in [0, 1)") }
        guard weightDecay >= 0 else { throw ValidationError("--weight-decay must be at least 0") }
        if let r = maxFilterRms { guard r > 0 else { throw ValidationError("--max-filter-rms must be positive") } }
        if let n = trainLimit { guard n >= 1 else { throw ValidationError("--train-limit must be at least 1") } }
        _ = try parseEpochList(snapshotEpochs)
        _ = try dataOptions.kind()
        if let runName { try RunDirectory.validate(runName: runName) }
    }

    func run() throws {
        try reportingErrors {
            let (spec, modelName) = try loadModel(model.model)
            var data = try DatasetLoader.load(try dataOptions.kind(), directory: dataOptions.dataDir)
            if let n = trainLimit { data.train = data.train.prefix(n) }
            let runName = self.runName ?? defaultRunName(modelName)
            let directory = RunDirectory(path: checkpoints + "/" + runName)
            let now = Timestamp.now()
            let config = RunConfiguration(
                run: runName, model: modelName, architecture: spec, data: dataOptions.data, dataDir: dataOptions.dataDir,
                epochs: epochs, batchSize: batchSize, learningRate: learningRate, momentum: momentum, weightDecay: weightDecay,
                maxFilterRMS: maxFilterRms, seed: seed, trainLimit: trainLimit, snapshotEpochs: try parseEpochList(snapshotEpochs),
                probes: probeOptions.probes, top: probeOptions.top, status: .running, message: nil, created: now, updated: now)
            let session = try TrainingSession(config: config, directory: directory, data: data, resume: resume)
            signal(SIGINT) { _ in interruptRequested = 1 }
            session.trainer.shouldStop = { interruptRequested != 0 }

            let reportDir = probeOptions.reports + "/" + runName
            let monitor = noMonitor ? nil : try Monitor(run: directory, reportDirectory: reportDir, options: monitorOptions(probeOptions, diagnostics), testData: data.test)
            let background = monitor.map { BackgroundMonitor(monitor: $0, reportDirectory: reportDir) }
            var progress = ProgressPrinter()
            var lastMetrics: EpochMetrics?
            print("run \(runName): \(data.train.count) training images, \(data.test.count) test images, model \(modelName) (\(session.trainer.network.parameterCount) parameters)")
            print("snapshots: \(directory.path)/" + (noMonitor ? "" : "   report: \(reportDir)/index.html"))
            let status: RunStatus
            do {
                status = try session.run { event in
                    switch event {
                    case .started(let epoch, let total, let resumed):
                        if resumed { print("resuming at epoch \(epoch) of \(total)") }
                    case .batch(let p):
                        progress.show(p, epochs: epochs)
                    case .epochFinished(let m):
                        lastMetrics = m
                        if !session.snapshots(epoch: m.epoch) { print(summary(m, epochs: epochs)) }
                    case .snapshotWritten(let epoch, _):
                        let line = summary(lastMetrics, epochs: epochs)
                        if let background {
                            // Replayed while the next epoch trains; the line is printed when the report is ready.
                            background.process(epoch: epoch, summary: line, clearLine: progress.isTerminal)
                        } else {
                            print(line + "  snapshot: epoch-\(String(format: "%04d", epoch)).h5")
                        }
                    }
                }
            } catch {
                background?.drain()
                throw error
            }
            if let background {
                try background.finish()
                // run.json now says finished or interrupted: refresh the report so it does not say "running".
                try monitor!.writeFindings()
                try ReportWriter.write(reportDirectory: reportDir)
            }
            if status == .interrupted {
                print("interrupted: stopped after the current batch; the newest snapshot is kept. Continue with --resume --run \(runName).")
                throw ExitCode(130)
            }
            print(noMonitor ? "done: \(directory.path)" : "done: open \(reportDir)/index.html")
        }
    }

    private func summary(_ m: EpochMetrics?, epochs: Int) -> String {
        guard let m else { return "" }
        let loss = m.trainLoss.map { String(format: "loss %.4f", $0) } ?? "loss    -  "
        return String(format: "epoch %d/%d  %@  test loss %.4f  test acc %.4f", m.epoch, epochs, loss, m.testLoss, m.testAccuracy)
    }
}

func flagSummary(_ e: EpochFindings) -> String {
    e.layers.map { l in
        var parts = ["\(l.deadFilters.count) dead"]
        if !l.dormantFilters.isEmpty { parts.append("\(l.dormantFilters.count) dormant") }
        parts.append("\(l.aliasedFilters.count) aliased")
        return "\(l.name): " + parts.joined(separator: ", ")
    }.joined(separator: "  ")
}

/// A preset name or a model JSON file.
func loadModel(_ value: String) throws -> (ModelSpec, String) {
    if let preset = ModelPreset(rawValue: value) { return (preset.spec, value) }
    if value.hasSuffix(".json") || FileManager.default.fileExists(atPath: value) {
        let spec = try ModelSpec.load(path: value)
        _ = try Network(spec: spec, source: value)   // validate before any data is loaded
        return (spec, value)
    }
    throw RunError("unknown model \"\(value)\": use a preset (\(ModelPreset.allCases.map(\.rawValue).joined(separator: ", "))) or a path to a model JSON file")
}

func defaultRunName(_ model: String) -> String {
    let base = URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent
        .replacingOccurrences(of: "[^A-Za-z0-9_.-]", with: "-", options: .regularExpression)
    let f = DateFormatter()
    f.dateFormat = "yyyyMMdd-HHmmss"
    f.timeZone = TimeZone(identifier: "UTC")
    return "\(base)-\(f.string(from: Date()))"
}

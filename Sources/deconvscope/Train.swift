import ArgumentParser
import Foundation
import Layers
import Training
import Datasets
import Runs
import Monitoring
import Reporting

/// Set by SIGINT; the trainer checks it between batches.
nonisolated(unsafe) private var interruptRequested: Int32 = 0

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a CNN with SGD, snapshot it to HDF5, and update its report after every snapshot.",
        discussion: """
        Snapshots go to <checkpoints>/<run>/epoch-NNNN.h5 at the epochs in --snapshot-epochs (0 is the \
        initialization; the last epoch is always saved). Unless --no-monitor is given, each snapshot is \
        replayed on the probe set and <reports>/<run>/index.html is refreshed, so the report can be opened \
        while training goes on. After every epoch that is not snapshotted, <run>/resume-point.h5 keeps the \
        state, so a crash loses at most the epoch in progress. Ctrl-C stops after the current batch; the same \
        command plus --resume continues from the newest snapshot or resume point.
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var dataOptions: DataOptions

    @Option(help: "Epochs to train (default 10; with --resume, the run's own setting unless given).") var epochs: Int?
    @Option(help: "Images per SGD step (default 128).") var batchSize: Int?
    @Option(help: "SGD learning rate (default 0.01).") var learningRate: Float?
    @Option(help: "SGD momentum (default 0.9).") var momentum: Float?
    @Option(help: "L2 weight decay added to the gradient (default 0).") var weightDecay: Float?
    @Option(help: ArgumentHelp("After every step, rescale conv filters whose RMS exceeds R back to R, as Zeiler & Fergus did (default 0.1, theirs; 0 turns it off). Without it, lr 0.01 kills some conv2 filters of zf-fmnist in the first epochs.", valueName: "R"))
    var maxFilterRms: Float?
    @Option(help: ArgumentHelp("Draw the first conv layer's initial weights with this std (default 0.01, Zeiler & Fergus's; 0 uses He's, ~0.28 for 5x5). From 0.01, edge and bar detectors show after one epoch; from He's, the filters keep their random look for many epochs.", valueName: "std"))
    var firstConvInitStd: Float?
    @Option(help: "Seed for initialization, shuffling and dropout; equal seeds give equal runs (default 0).") var seed: UInt64?
    @Option(help: ArgumentHelp("Train on only the first N training images (quick experiments).", valueName: "N")) var trainLimit: Int?
    @Option(help: ArgumentHelp("Epochs to snapshot, comma-separated (default 0,1,2,5,10; with --resume, the run's own list unless given).", valueName: "list"))
    var snapshotEpochs: String?
    @Option(name: .customLong("run"), help: ArgumentHelp("Run name (letters, digits, '_', '.', '-'); default: <model>-<date>-<time>.", valueName: "name"))
    var runName: String?
    @Option(help: ArgumentHelp("Folder that receives <run>/ with the snapshots.", valueName: "dir")) var checkpoints = "Checkpoints"
    @Flag(help: "Continue --run NAME from its newest snapshot (or newer resume point) with its stored configuration (run.json): same weights, momentum and random state. The first run's options may be given again (the same command plus --resume continues); a value that differs from the stored one is refused, except --epochs and --snapshot-epochs, which may extend the run.")
    var resume = false
    @Flag(help: "Do not replay snapshots or write the report while training.") var noMonitor = false
    @OptionGroup var probeOptions: ProbeOptions
    @OptionGroup(title: "Diagnostics") var diagnostics: DiagnosticOptions

    func validate() throws {
        if let e = epochs { guard e >= 1 else { throw ValidationError("--epochs must be at least 1") } }
        if let b = batchSize { guard b >= 1 else { throw ValidationError("--batch-size must be at least 1") } }
        if let lr = learningRate { guard lr > 0, lr.isFinite else { throw ValidationError("--learning-rate must be a positive number") } }
        if let m = momentum { guard m >= 0, m < 1 else { throw ValidationError("--momentum must be in [0, 1)") } }
        if let wd = weightDecay { guard wd >= 0 else { throw ValidationError("--weight-decay must be at least 0") } }
        if let r = maxFilterRms { guard r >= 0, r.isFinite else { throw ValidationError("--max-filter-rms must be a positive number, or 0 for off") } }
        if let s = firstConvInitStd { guard s >= 0, s.isFinite else { throw ValidationError("--first-conv-init-std must be a positive number, or 0 for He's") } }
        if let n = trainLimit { guard n >= 1 else { throw ValidationError("--train-limit must be at least 1") } }
        if let list = snapshotEpochs { _ = try parseEpochList(list) }
        if let runName { try RunDirectory.validate(runName: runName) }
        if resume {
            guard runName != nil else { throw ValidationError("--resume needs --run NAME (the run to continue)") }
        }
        _ = try dataOptions.kind()
    }

    func run() throws {
        try reportingErrors {
            let config: RunConfiguration
            let data: DatasetPair
            var builtFor: String? = nil
            if resume {
                let directory = RunDirectory(path: checkpoints + "/" + runName!)
                guard var stored = try directory.readConfig() else {
                    throw RunError("\(directory.configPath): not found; nothing to resume (check --run and --checkpoints)")
                }
                try refuseChangedOptions(stored: stored)
                // The folder is the run: a copy of another run's folder (run.json still naming that
                // run) continues as the copy, in its own folder and report, and leaves the original alone.
                if stored.run != runName! {
                    print("note: \(directory.configPath) names the run \(stored.run) (a copy of its folder?); it continues as \(runName!), in \(directory.path)")
                    stored.run = runName!
                }
                data = try loadData(stored: stored)
                stored.epochs = epochs ?? stored.epochs
                stored.snapshotEpochs = try snapshotEpochs.map(parseEpochList) ?? stored.snapshotEpochs
                stored.probes = probeOptions.probes
                stored.top = probeOptions.top
                config = stored
            } else {
                let modelName = model.model ?? ModelPreset.zfFMNIST.rawValue
                let preset = ModelPreset(rawValue: modelName)
                // A model file is read and validated before any data is loaded.
                let file = preset == nil ? try loadModelFile(modelName) : nil
                let kind = try dataOptions.kind()
                var loaded = try DatasetLoader.load(kind, directory: dataOptions.dataDir)
                if let n = trainLimit { loaded.train = loaded.train.prefix(n) }
                data = loaded
                let spec: ModelSpec
                if let preset {
                    spec = try preset.spec(input: data.train.inputShape, classes: data.train.classNames.count,
                                           normalization: presetNormalization(kind))
                    builtFor = "model \(modelName) built for input \(spec.input) and \(spec.classes) classes"
                } else {
                    spec = file!
                    try checkInput(of: spec, path: modelName, fits: data.train)
                }
                let now = Timestamp.now()
                config = RunConfiguration(
                    run: runName ?? defaultRunName(modelName), model: modelName, architecture: spec,
                    data: kind.rawValue, dataDir: dataOptions.dataDir,
                    epochs: epochs ?? 10, batchSize: batchSize ?? 128, learningRate: learningRate ?? 0.01, momentum: momentum ?? 0.9,
                    weightDecay: weightDecay ?? 0, maxFilterRMS: RecipeDefaults.maxFilterRMS(given: maxFilterRms), seed: seed ?? 0, trainLimit: trainLimit,
                    snapshotEpochs: try parseEpochList(snapshotEpochs ?? "0,1,2,5,10"),
                    probes: probeOptions.probes, top: probeOptions.top, status: .running, message: nil, created: now, updated: now,
                    firstConvInitStd: RecipeDefaults.firstConvInitStd(given: firstConvInitStd))
            }
            let runName = config.run, modelName = config.model, epochs = config.epochs
            let directory = RunDirectory(path: checkpoints + "/" + runName)
            let session = try TrainingSession(config: config, directory: directory, data: data, resume: resume)
            signal(SIGINT) { _ in interruptRequested = 1 }
            session.trainer.shouldStop = { interruptRequested != 0 }

            let reportDir = probeOptions.reports + "/" + runName
            let monitor = noMonitor ? nil : try Monitor(run: directory, reportDirectory: reportDir, options: monitorOptions(probeOptions, diagnostics), testData: data.test)
            // An unreadable snapshot (one left in the run folder before a --resume) is the monitor's
            // problem, not training's: the report leaves it out and training goes on.
            monitor?.onUnreadableSnapshot = { _, error in
                FileHandle.standardError.write(Data("warning: monitor skipped a snapshot: \(error)\n".utf8))
            }
            let background = monitor.map { BackgroundMonitor(monitor: $0, reportDirectory: reportDir) }
            var progress = ProgressPrinter()
            var lastMetrics: EpochMetrics?
            if let builtFor { print(builtFor) }
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
                // run.json says failed now; without a refresh the report would go on saying "running".
                // Best effort: the training error is the one to report.
                if let monitor, (try? monitor.writeFindings()) != nil { _ = try? ReportWriter.write(reportDirectory: reportDir) }
                throw error
            }
            if let background {
                try background.finish()
                // run.json now says finished or interrupted: refresh the report so it does not say "running".
                try monitor!.writeFindings()
                try ReportWriter.write(reportDirectory: reportDir)
            }
            if status == .interrupted {
                print("interrupted: stopped after the current batch; the last finished epoch is kept. Continue with --resume --run \(runName).")
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

/// A model JSON file, validated on its own (its fit to the data is checked once the data is loaded).
func loadModelFile(_ value: String) throws -> ModelSpec {
    if value.hasSuffix(".json") || FileManager.default.fileExists(atPath: value) {
        let spec = try ModelSpec.load(path: value)
        _ = try Network(spec: spec, source: value)
        return spec
    }
    throw RunError("unknown model \"\(value)\": use a preset (\(ModelPreset.allCases.map(\.rawValue).joined(separator: ", "))) or a path to a model JSON file")
}

/// The normalization a preset gets on `kind`. On Fashion-MNIST, its whole training split's statistics,
/// which the presets have always carried: default runs stay bit for bit what they were, also under
/// --train-limit (where measuring would give other values). Elsewhere nil, so `train` measures it
/// per channel on the training split, as for a model JSON without one.
func presetNormalization(_ kind: DatasetKind) -> Normalization? {
    kind == .fashionMNIST ? ModelPreset.fashionMNISTNormalization : nil
}

/// A model JSON keeps its own input; when the data does not match it, the error says which key to
/// change, to what.
func checkInput(of spec: ModelSpec, path: String, fits train: Dataset) throws {
    let images = train.inputShape
    guard spec.input != images else { return }
    var fix = "set \"input\": \(images) in \(path)"
    if let normalization = spec.normalization, normalization.mean.count != images[0] {
        fix += " and give \"normalization\" \(images[0]) means and stds (or remove it to have them measured)"
    }
    throw RunError("the data set's images are \(images) but \(path) expects input \(spec.input); \(fix), "
                   + "or use a preset (\(ModelPreset.allCases.map(\.rawValue).joined(separator: ", "))), which is built for the data")
}

func defaultRunName(_ model: String) -> String {
    let base = URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent
    let safe = String(base.map { c -> Character in c.asciiValue.map(SafeNames.isAllowed) == true ? c : "-" })
    let f = DateFormatter()
    f.dateFormat = "yyyyMMdd-HHmmss"
    f.timeZone = TimeZone(identifier: "UTC")
    return "\(safe)-\(f.string(from: Date()))"
}

import ArgumentParser
import Foundation
import Training
import Layers
import Datasets
import Runs
import Monitoring
import Reporting

/// Set by SIGINT in --watch mode; the loop finishes its current pass and exits.
nonisolated(unsafe) private var watchInterrupted: Int32 = 0

struct MonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Replay a fixed probe set through every snapshot of a run and write its report.",
        discussion: """
        For every feature map of every conv layer, the monitor finds the probe images that excite it most and \
        projects each one's single strongest activation back to pixel space with a deconvnet: the network's own \
        backward pass, unpooling through the max-pooling switches, rectifying with ReLU, and filtering with the \
        transposed weights. The projection shows which input pattern caused that activation, next to the image \
        patch under its receptive field. The probe set is the same for every snapshot, so you can watch each \
        feature form epoch by epoch, with dead, dormant and aliased filters flagged as they appear.
        A snapshot that cannot be read (cut short, damaged, one that crashes the HDF5 library) gets one error line; \
        the other snapshots are still processed and the report written without it, and the exit status is 1.
        """)

    @Argument(help: ArgumentHelp("A run directory, e.g. Checkpoints/<run>, or any folder of epoch-NNNN.h5 snapshots or epoch-NNNN.onnx networks exported from PyTorch, Keras or JAX (where an epoch has both, the newer file counts).", valueName: "run-dir"))
    var runDir: String

    @OptionGroup var probeOptions: ProbeOptions
    @OptionGroup(title: "Data (for snapshot folders without run.json)") var dataOptions: DataOptions
    @OptionGroup(title: "Diagnostics") var diagnostics: DiagnosticOptions

    @Option(help: ArgumentHelp("Exit with status 3, after writing everything, when any filter of the newest snapshot carries one of these flags (dead, dormant, aliased, collapsed, dominant) or the newest snapshot has a diagnosis with one of these codes (e.g. dead_filters, frozen_features, aliasing, shortcut, diverged; docs/report-data.md lists them), or one of this severity (problem, warning, info). Comma-separated.", valueName: "names"))
    var failOn: String?

    @Flag(help: "Reprocess every snapshot; by default only snapshots without up-to-date report data are processed.") var force = false

    @Flag(help: "Keep following the run: process new snapshots as the trainer writes them, until run.json says the run has ended (or Ctrl-C). A folder without run.json (a training script elsewhere writing epoch-NNNN.onnx files) is followed until Ctrl-C.")
    var watch = false

    @Option(help: ArgumentHelp("Seconds between checks for new snapshots in --watch mode.", valueName: "s"))
    var pollInterval: Double = 1

    @Option(help: ArgumentHelp("Per-channel mean of the input normalization, for snapshots that carry none (ONNX files exported without the deconvscope.normalization metadata): pixels scaled to [0, 1], e.g. --mean 0.2860 or --mean 0.485,0.456,0.406. Without --mean/--std the data set's train split is measured.", valueName: "m[,m...]"))
    var mean: String?

    @Option(help: ArgumentHelp("Per-channel standard deviation that goes with --mean.", valueName: "s[,s...]"))
    var std: String?

    /// `--mean` and `--std` as a normalization, nil when neither is given.
    func normalization() throws -> Normalization? {
        guard mean != nil || std != nil else { return nil }
        guard let mean, let std else { throw ValidationError("--mean and --std go together") }
        func values(_ text: String, _ flag: String) throws -> [Float] {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let numbers = parts.compactMap { Float($0) }.filter(\.isFinite)
            guard numbers.count == parts.count, !numbers.isEmpty else { throw ValidationError("\(flag): expected comma-separated numbers, got \"\(text)\"") }
            return numbers
        }
        let (m, sd) = (try values(mean, "--mean"), try values(std, "--std"))
        guard m.count == sd.count else { throw ValidationError("--mean has \(m.count) values and --std \(sd.count); give one of each per input channel") }
        guard sd.allSatisfy({ $0 > 0 }) else { throw ValidationError("--std values must be positive") }
        return Normalization(mean: m, std: sd)
    }

    static let knownFlags = Set(FilterFlag.allCases.map(\.rawValue))
    static let knownCodes = Set(DiagnosisCode.allCases.map(\.rawValue))
    static let knownSeverities = Set(Severity.allCases.map(\.rawValue))

    func failOnFlags() throws -> Set<String>? {
        guard let failOn else { return nil }
        let names = Set(failOn.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let known = Self.knownFlags.union(Self.knownCodes).union(Self.knownSeverities)
        if let bad = names.subtracting(known).sorted().first {
            throw ValidationError("--fail-on: unknown flag, code or severity \"\(bad)\" (flags: \(FilterFlag.allCases.map(\.rawValue).joined(separator: ", ")); codes: \(DiagnosisCode.allCases.map(\.rawValue).joined(separator: ", ")); severities: problem, warning, info)")
        }
        return names
    }

    func validate() throws {
        _ = try failOnFlags()
        _ = try normalization()
        guard pollInterval > 0 else { throw ValidationError("--poll-interval must be positive") }
    }

    func run() throws {
        try reportingErrors {
            let directory = RunDirectory(path: runDir)
            if watch {
                signal(SIGINT) { _ in watchInterrupted = 1 }
                // The watcher may start before the trainer has written anything.
                var announced = false
                while watchInterrupted == 0, (try? directory.snapshots().isEmpty) ?? true {
                    if !announced { print("waiting for the first snapshot in \(runDir) (Ctrl-C to stop)"); announced = true }
                    usleep(useconds_t(pollInterval * 1_000_000))
                }
                if watchInterrupted != 0 { return }
            }
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: runDir, isDirectory: &isDir), isDir.boolValue else {
                throw RunError("\(runDir): no such run directory")
            }
            let reportDir = probeOptions.reports + "/" + directory.name
            var options = monitorOptions(probeOptions, diagnostics, force: force)
            options.normalization = try normalization()
            let config = try directory.readConfig()
            // Without run.json the data options name the data set; it is read only if the probe set
            // is not already recorded in the report (and then only its test split's first images).
            let data = config == nil ? (kind: try dataOptions.kind(), directory: dataOptions.dataDir) : nil
            let monitor = try Monitor(run: directory, reportDirectory: reportDir, options: options, data: data)
            // A snapshot that cannot be read is one error line; the others are still processed and
            // the report written, and the exit status is 1 at the end.
            var unreadable = 0
            monitor.onUnreadableSnapshot = { _, error in
                unreadable += 1
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            }
            let pending = try monitor.pending()
            let total = try directory.snapshots().count
            guard total > 0 else { throw RunError("\(runDir): no snapshots (epoch-NNNN.h5 or epoch-NNNN.onnx) found") }
            print("\(directory.name): \(total) snapshots, \(pending.count) to process (probes \(options.probes), top \(options.top))")
            var findings: Findings
            do {
                findings = try monitor.pass { outcome in
                    print(String(format: "  epoch %d processed in %.2f s", outcome.epoch, outcome.seconds))
                }
            } catch is NoReadableSnapshotError where unreadable > 0 {
                throw ExitCode(1)   // every snapshot already had its error line
            }
            if let note = monitor.normalizationNote { print("note: \(note)") }
            for e in findings.epochs { print("epoch \(e.epoch)  " + flagSummary(e)) }
            for d in findings.diagnoses ?? [] {
                print("\(d.severity.rawValue): \(d.code.rawValue)\(d.layer.map { " (" + $0 + ")" } ?? ""): \(d.summary)")
            }
            var index = try ReportWriter.write(reportDirectory: reportDir)
            print("report: \(index)")
            if watch {
                print("watching \(runDir) for new snapshots (Ctrl-C to stop)")
                // The trainer renames each finished snapshot into place, so a listed file is complete.
                while watchInterrupted == 0 {
                    let status = try directory.readConfig()?.status
                    let pendingNow = try monitor.pending()
                    if !pendingNow.isEmpty {
                        findings = try monitor.pass { outcome in
                            print(String(format: "epoch %d processed in %.2f s", outcome.epoch, outcome.seconds))
                        }
                        if let e = findings.epochs.last { print("epoch \(e.epoch)  " + flagSummary(e)) }
                        index = try ReportWriter.write(reportDirectory: reportDir)
                    } else if let status, status != .running {
                        // One last pass so the report shows the final status, then stop. A folder without
                        // run.json (a training script elsewhere writing .onnx or .h5 files) is followed until Ctrl-C.
                        findings = try monitor.writeFindings()
                        index = try ReportWriter.write(reportDirectory: reportDir)
                        print("run \(status.rawValue): stopped watching; report: \(index)")
                        break
                    }
                    if watchInterrupted == 0 { usleep(useconds_t(pollInterval * 1_000_000)) }
                }
            }
            if unreadable > 0 {
                print("\(unreadable) of \(try directory.snapshots().count) snapshots could not be read (error lines above); the report leaves them out")
                throw ExitCode(1)
            }
            if let flags = try failOnFlags(), let newest = findings.epochs.last {
                let hits = newest.layers.flatMap { l in l.filters.filter { !Set($0.flags.map(\.rawValue)).isDisjoint(with: flags) }.map { "\(l.name)#\($0.index)" } }
                let diagnoses = (findings.diagnoses ?? []).filter { flags.contains($0.code.rawValue) || flags.contains($0.severity.rawValue) }
                if let first = diagnoses.first {
                    let more = diagnoses.count > 1 ? " (and \(diagnoses.count - 1) more)" : ""
                    FileHandle.standardError.write(Data("error: epoch \(first.epoch): \(first.severity.rawValue) \(first.code.rawValue)\(first.layer.map { " in " + $0 } ?? ""): \(first.summary)\(more)\n".utf8))
                    throw ExitCode(3)
                }
                if !hits.isEmpty {
                    FileHandle.standardError.write(Data("error: epoch \(newest.epoch): \(hits.count) filters flagged \(flags.sorted().joined(separator: "/")): \(hits.prefix(12).joined(separator: " "))\(hits.count > 12 ? " ..." : "")\n".utf8))
                    throw ExitCode(3)
                }
            }
        }
    }
}

import ArgumentParser
import Foundation
import Training
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
        """)

    @Argument(help: ArgumentHelp("A run directory, e.g. Checkpoints/<run> (or any folder of epoch-NNNN.h5 snapshots).", valueName: "run-dir"))
    var runDir: String

    @OptionGroup var probeOptions: ProbeOptions
    @OptionGroup(title: "Data (for snapshot folders without run.json)") var dataOptions: DataOptions
    @OptionGroup(title: "Diagnostics") var diagnostics: DiagnosticOptions

    @Option(help: ArgumentHelp("Exit with status 3 when any filter of the newest snapshot carries one of these flags (comma-separated: dead, dormant, aliased, collapsed, dominant), after writing everything.", valueName: "flags"))
    var failOn: String?

    @Flag(help: "Reprocess every snapshot; by default only snapshots without up-to-date report data are processed.") var force = false

    @Flag(help: "Keep following the run: process new snapshots as the trainer writes them, until run.json says the run has ended (or Ctrl-C).")
    var watch = false

    @Option(help: ArgumentHelp("Seconds between checks for new snapshots in --watch mode.", valueName: "s"))
    var pollInterval: Double = 1

    static let knownFlags: Set<String> = ["dead", "dormant", "aliased", "collapsed", "dominant"]

    func failOnFlags() throws -> Set<String>? {
        guard let failOn else { return nil }
        let flags = Set(failOn.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        if let bad = flags.subtracting(Self.knownFlags).first {
            throw ValidationError("--fail-on: unknown flag \"\(bad)\" (known: \(Self.knownFlags.sorted().joined(separator: ", ")))")
        }
        return flags
    }

    func validate() throws {
        _ = try failOnFlags()
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
            let options = monitorOptions(probeOptions, diagnostics, force: force)
            let config = try directory.readConfig()
            // Without run.json the data options name the data set; it is read only if the probe set
            // is not already recorded in the report (and then only its test split's first images).
            let data = config == nil ? (kind: try dataOptions.kind(), directory: dataOptions.dataDir) : nil
            let monitor = try Monitor(run: directory, reportDirectory: reportDir, options: options, data: data)
            let pending = try monitor.pending()
            let total = try directory.snapshots().count
            guard total > 0 else { throw RunError("\(runDir): no snapshots (epoch-NNNN.h5) found") }
            print("\(directory.name): \(total) snapshots, \(pending.count) to process (probes \(options.probes), top \(options.top))")
            var findings = try monitor.pass { outcome in
                print(String(format: "  epoch %d processed in %.2f s", outcome.epoch, outcome.seconds))
            }
            for e in findings.epochs { print("epoch \(e.epoch)  " + flagSummary(e)) }
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
                    } else if status != .running {
                        // One last pass so the report shows the final status, then stop.
                        findings = try monitor.writeFindings()
                        index = try ReportWriter.write(reportDirectory: reportDir)
                        print("run \(status?.rawValue ?? "without run.json"): stopped watching; report: \(index)")
                        break
                    }
                    if watchInterrupted == 0 { usleep(useconds_t(pollInterval * 1_000_000)) }
                }
            }
            if let flags = try failOnFlags(), let newest = findings.epochs.last {
                let hits = newest.layers.flatMap { l in l.filters.filter { !Set($0.flags).isDisjoint(with: flags) }.map { "\(l.name)#\($0.index)" } }
                if !hits.isEmpty {
                    FileHandle.standardError.write(Data("error: epoch \(newest.epoch): \(hits.count) filters flagged \(flags.sorted().joined(separator: "/")): \(hits.prefix(12).joined(separator: " "))\(hits.count > 12 ? " ..." : "")\n".utf8))
                    throw ExitCode(3)
                }
            }
        }
    }
}

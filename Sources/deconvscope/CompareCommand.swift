import ArgumentParser
import Foundation
import Runs
import Datasets
import Training
import Monitoring
import Reporting

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Put several runs side by side in one static report.",
        discussion: """
        "I changed X; what changed inside the network?" The comparison overlays the runs' training curves, lists \
        their configurations (run.json) with the differing settings marked, sets each conv layer's flags and \
        diagnoses side by side, compares per-class accuracy, and shows the first layer's filters and every layer's \
        Fig. 4 grid at the epochs all runs share. It is made from each run's own report data (Reports/<run>/): a \
        run without a report is monitored first (with the probes and k of its run.json). The page links into the \
        runs' report folders, so it opens from disk while it stays in the same --reports folder as them.
        Example:
          deconvscope compare Checkpoints/lr-0.01 Checkpoints/lr-0.1
          open Reports/compare-lr-0.01-lr-0.1/index.html
        """)

    @Argument(help: ArgumentHelp("Two or more run directories, e.g. Checkpoints/<run>.", valueName: "run-dir"))
    var runDirs: [String] = []

    @Option(help: ArgumentHelp("Folder that holds the runs' reports and receives the comparison.", valueName: "dir"))
    var reports = "Reports"

    @Option(help: ArgumentHelp("Folder name of the comparison in --reports (default compare-<run1>-<run2>, every run name joined by '-' for more runs, shortened to compare-<run1>-<run2>-and-<N>-more past 120 characters).", valueName: "name"))
    var name: String?

    func validate() throws {
        guard runDirs.count >= 2 else { throw ValidationError("compare needs at least two run directories, got \(runDirs.count)") }
        let names = runDirs.map { RunDirectory(path: $0).name }
        if let twice = names.first(where: { n in names.filter { $0 == n }.count > 1 }) {
            throw ValidationError("two run directories are named \"\(twice)\"; their reports would be the same folder")
        }
        if let name {
            do { try RunDirectory.validate(runName: name) } catch { throw ValidationError("--name: \(error)") }
            if names.contains(name) { throw ValidationError("--name \(name) is one of the runs; its report folder would be overwritten") }
        }
    }

    func run() throws {
        try reportingErrors {
            let runs = runDirs.map { RunDirectory(path: $0) }
            // Every directory is checked before any run is monitored, so a typo costs no monitoring time.
            for run in runs {
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: run.path, isDirectory: &isDir), isDir.boolValue else {
                    throw RunError("\(run.path): no such run directory")
                }
            }
            for run in runs {
                let reportDir = reports + "/" + run.name
                if !FileManager.default.fileExists(atPath: reportDir + "/findings.json") {
                    guard try !run.snapshots().isEmpty else { throw RunError("\(run.path): no snapshots (epoch-NNNN.h5) found") }
                    var options = MonitorOptions()
                    if let config = try run.readConfig() { options.probes = config.probes; options.top = config.top }
                    print("\(run.name): no report yet; monitoring it (probes \(options.probes), top \(options.top))")
                    let monitor = try Monitor(run: run, reportDirectory: reportDir, options: options)
                    monitor.onUnreadableSnapshot = { _, error in FileHandle.standardError.write(Data("error: \(error)\n".utf8)) }
                    try monitor.pass { print(String(format: "  epoch %d processed in %.2f s", $0.epoch, $0.seconds)) }
                    try ReportWriter.write(reportDirectory: reportDir)
                } else if !FileManager.default.fileExists(atPath: reportDir + "/index.html") {
                    try ReportWriter.write(reportDirectory: reportDir)
                }
            }
            let names = runs.map(\.name)
            let folder = name ?? CompareReport.defaultName(runs: names)
            if name == nil, names.contains(folder) { throw RunError("the default name \(folder) is one of the runs; choose --name") }
            let index = try CompareReport.write(reports: reports, name: folder, runs: names)
            print("comparison: \(index)")
        }
    }
}

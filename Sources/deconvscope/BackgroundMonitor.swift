import Foundation
import Tensors
import Monitoring
import Reporting

/// Runs the monitor and report for each new snapshot on a serial background queue, so the next
/// epoch trains meanwhile. While a pass runs, `ComputeBudget.sharing` splits the cores between
/// it and the trainer, so the two never run more threads than there are cores.
final class BackgroundMonitor: @unchecked Sendable {
    private let monitor: Monitor
    private let reportDirectory: String
    private let queue = DispatchQueue(label: "deconvscope.monitor")
    private let group = DispatchGroup()
    private let lock = NSLock()
    private var failure: Error?

    init(monitor: Monitor, reportDirectory: String) {
        self.monitor = monitor
        self.reportDirectory = reportDirectory
    }

    /// Queues a pass for the snapshot of `epoch`; prints `summary` with the flag counts when done.
    func process(epoch: Int, summary: String, clearLine: Bool) {
        group.enter()
        queue.async { [self] in
            defer { group.leave() }
            guard currentFailure == nil else { return }
            do {
                let (findings, index) = try ComputeBudget.sharing {
                    (try monitor.pass(), try ReportWriter.write(reportDirectory: reportDirectory))
                }
                var line = summary
                if let latest = findings.epochs.first(where: { $0.epoch == epoch }) { line += "  " + flagSummary(latest) }
                print((clearLine ? "\r\u{1B}[2K" : "") + line + "  report: \(index)")
            } catch {
                lock.lock(); failure = error; lock.unlock()
                FileHandle.standardError.write(Data("warning: monitor stopped: \(error) (training continues; rerun `deconvscope monitor` later)\n".utf8))
            }
        }
    }

    private var currentFailure: Error? { lock.lock(); defer { lock.unlock() }; return failure }

    /// Waits for queued passes; rethrows the first monitor failure.
    func finish() throws {
        group.wait()
        if let failure = currentFailure { throw failure }
    }

    /// Waits, dropping any failure (training itself failed; that error wins).
    func drain() {
        group.wait()
    }
}

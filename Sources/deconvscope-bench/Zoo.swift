import Foundation
import Runs

/// Training speed and peak memory of one preset: a real `deconvscope train` child (`--no-monitor`),
/// one epoch of `images` Fashion-MNIST images; images/s from its metrics.jsonl (training time only),
/// peak resident memory from GNU time (`/usr/bin/time -f %M`, KiB), so each model has its own process.
func zooTraining(cli: String, model: String, images: Int) throws -> (imagesPerSecond: Double, peakMiB: Double) {
    let root = NSTemporaryDirectory() + "deconvscope-bench-zoo-\(getpid())-\(model)"
    defer { try? FileManager.default.removeItem(atPath: root) }
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let run = try spawnAndWait("/usr/bin/time", ["-f", "%M", "-o", root + "/peak-kib", cli, "train", "--model", model, "--epochs", "1",
                                                 "--snapshot-epochs", "1", "--train-limit", "\(images)", "--no-monitor", "--run", "zoo",
                                                 "--checkpoints", root + "/Checkpoints", "--reports", root + "/Reports"],
                               environment: ProcessInfo.processInfo.environment)
    guard run.status == 0 else { throw BenchError("deconvscope train --model \(model) exited with \(run.status): \(run.stderr)") }
    guard let rate = RunDirectory(path: root + "/Checkpoints/zoo").readMetrics().last?.imagesPerSecond else {
        throw BenchError("no images_per_second in the \(model) run's metrics.jsonl")
    }
    let kib = Double((try String(contentsOfFile: root + "/peak-kib", encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    return (rate, kib / 1024)
}

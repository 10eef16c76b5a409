import Foundation
import Runs
import Tensors
import Layers
import Training

/// The SGD step of zf-fmnist's 0.86 M parameters, ms per step: the plain momentum loop this
/// project used before the per-layer statistics (kept here as the reference), and `SGD.step`, which
/// also sums grad^2, w^2 and update^2 per layer. Their difference is what `metrics.jsonl`'s
/// `layers` costs per training step. Best of `rounds`, alternating the two.
func sgdStepMilliseconds(network: Network, rounds: Int = 7, steps: Int = 50) -> (plain: Double, measured: Double) {
    var rng = Xoshiro256(seed: 5)
    network.initialize(rng: &rng)
    for p in network.allParameters { for i in 0..<p.gradient.count { p.gradient.data[i] = rng.nextGaussian() * 1e-3 } }
    let sgd = SGD(learningRate: 1e-4, momentum: 0.9, weightDecay: 5e-4)
    func plain() {
        for p in network.allParameters {
            let lr = sgd.learningRate, mu = sgd.momentum, wd = sgd.weightDecay
            p.value.data.withUnsafeMutableBufferPointer { w in
            p.gradient.data.withUnsafeBufferPointer { g in
            p.momentum.data.withUnsafeMutableBufferPointer { v in
                for i in 0..<w.count {
                    let grad = g[i] + wd * w[i]
                    v[i] = mu * v[i] + grad
                    w[i] -= lr * v[i]
                }
            } } }
        }
    }
    var best = (plain: Double.infinity, measured: Double.infinity)
    var sink = 0.0
    for _ in 0..<rounds {
        best.plain = min(best.plain, seconds { for _ in 0..<steps { plain() } } * 1000 / Double(steps))
        best.measured = min(best.measured, seconds { for _ in 0..<steps { sink += sgd.step(network).first?.squares.update ?? 0 } } * 1000 / Double(steps))
    }
    if sink.isNaN { print("") }   // keeps the sums alive
    return best
}

/// Training images/s of a real `deconvscope train` child (from its metrics.jsonl, training time
/// only), one epoch of `images` after the epoch-0 snapshot, so a monitor pass runs beside it.
func cliTrainingImagesPerSecond(cli: String, images: Int, extra: [String]) throws -> Double {
    let root = NSTemporaryDirectory() + "deconvscope-bench-overhead-\(getpid())-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: root) }
    let run = try spawnAndWait(cli, ["train", "--model", "zf-fmnist", "--epochs", "1", "--snapshot-epochs", "0,1", "--train-limit", "\(images)",
                                     "--run", "overhead", "--checkpoints", root + "/Checkpoints", "--reports", root + "/Reports"] + extra,
                               environment: ProcessInfo.processInfo.environment)
    guard run.status == 0 else { throw BenchError("deconvscope train exited with \(run.status): \(run.stderr)") }
    let metrics = RunDirectory(path: root + "/Checkpoints/overhead").readMetrics()
    guard let rate = metrics.last?.imagesPerSecond else { throw BenchError("no images_per_second in metrics.jsonl") }
    return rate
}

// deconvscope-bench: measured numbers for `make bench`, in a release build. Never part of the tests.
//
// `deconvscope-bench [SECTION...]` runs only the named sections (sgemm, train, layers, monitor,
// pool, beside, sgd, overhead, zoo, memory); with none it runs all of them, as `make bench` does.
import Foundation
import Tensors
import Layers
import Training
import Datasets
import Runs
import Monitoring
import Reporting
import Snapshots

setvbuf(stdout, nil, _IOLBF, 0)
ProcessMemory.keepFreedBlocksForReuse()
BLASThreads.ensureSingleThreaded()
let cores = ProcessInfo.processInfo.activeProcessorCount
let sections = Set(CommandLine.arguments.dropFirst())
func wants(_ section: String) -> Bool { sections.isEmpty || sections.contains(section) }
let environment = ProcessInfo.processInfo.environment

print("deconvscope-bench (release, \(cores) cores)")
var peak = 0.0
if wants("sgemm") || wants("train") {
    let peak1 = sgemmGFLOPs(threads: 1)
    peak = sgemmGFLOPs(threads: cores)
    print(String(format: "cblas_sgemm 1024^3:        %7.1f GFLOP/s (1 thread)  %7.1f GFLOP/s (%d threads)", peak1, peak, cores))
}

// Real Fashion-MNIST (synthetic images if the package is absent), normalized as training sees it.
let spec = ModelPreset.zfFMNIST.spec
let norm = spec.normalization!
let data: DatasetPair
do { data = try DatasetLoader.load(.fashionMNIST, directory: nil) } catch {
    print("note: \(error); timing on random images instead")
    var rng = Xoshiro256(seed: 2)
    func fake(_ n: Int) -> Dataset {
        Dataset(name: "random", images: Tensor(shape: [n, 1, 28, 28], data: (0..<(n * 784)).map { _ in rng.nextUnitFloat() }),
                labels: (0..<n).map { $0 % 10 }, classNames: (0..<10).map(String.init))
    }
    data = DatasetPair(train: fake(20_000), test: fake(1_024))
}
let network = try Network(spec: spec)
let steps = Int(environment["BENCH_STEPS"] ?? "60") ?? 60

if wants("train") {
    let trainer = Trainer(network: network, train: data.train.prefix(128 * (steps + 10)), test: data.test.prefix(256), normalization: norm,
                          optimizer: SGD(learningRate: 0.01, momentum: 0.9), batchSize: 128, seed: 0)
    trainer.initializeWeights()
    var timed = (images: 0, seconds: 0.0)
    var warm = 0
    _ = try trainer.trainEpoch { p in
        // The first 10 batches warm caches and buffers; the rest are timed.
        warm += 1
        if warm == 10 { timed = (p.imagesSeen, p.elapsed) }
        if p.batch == p.batches { timed = (p.imagesSeen - timed.images, p.elapsed - timed.seconds) }
    }
    let imagesPerSecond = Double(timed.images) / timed.seconds
    // FLOPs per image by the direct count (im2col + GEMM, every layer's three GEMMs: 68.8 M for
    // zf-fmnist, the count behind PyTorch's 141 GFLOP/s at 2,050 images/s), and as executed here:
    // Winograd conv layers multiply less, and the first layer computes no input gradient.
    var executedMACs = 0
    for (index, layer) in network.layers.enumerated() {
        let passes = index == 0 ? 2 : 3
        if let conv = layer as? Conv2D { executedMACs += passes * conv.multiplyAddsPerImage.executed }
        if let linear = layer as? Linear { executedMACs += passes * linear.inFeatures * linear.outFeatures }
    }
    let flopPerImage = 68.8e6
    let trainGFLOPs = imagesPerSecond * flopPerImage / 1e9
    print(String(format: "training zf-fmnist b=128:  %7.0f images/s  %6.1f GFLOP/s  = %3.0f%% of sgemm peak  (%d steps timed; PyTorch 2.15 CPU: ~2050 images/s)",
                 imagesPerSecond, trainGFLOPs, 100 * trainGFLOPs / peak, steps))
    print(String(format: "                           (GFLOP/s by the direct count, 68.8 MFLOP per image as for PyTorch; the GEMMs execute %.1f MFLOP per image, %.1f GFLOP/s, with Winograd's conv2)",
                 2 * Double(executedMACs) / 1e6, imagesPerSecond * 2 * Double(executedMACs) / 1e9))
}

if wants("layers") {
    var rng = Xoshiro256(seed: 0)
    network.initialize(rng: &rng)
    let profile = layerProfile(network: network, data: data.train.prefix(128 * 40).normalized(by: norm), batchSize: 128, steps: steps / 2)
    let total = profile.reduce(0) { $0 + $1.forward + $1.backward }
    print("per layer, ms per batch of 128 (forward / backward), \(steps / 2) steps:")
    for row in profile where row.forward + row.backward >= 0.005 * total {
        print("  " + row.name.padding(toLength: 9, withPad: " ", startingAt: 0) + String(format: " %7.2f / %7.2f   %4.1f%%", row.forward, row.backward, 100 * (row.forward + row.backward) / total))
    }
    print(String(format: "  total     %7.2f ms per batch = %.0f images/s without loss, SGD and batch assembly", total, 128_000 / total))
}

let probeCount = 1024
if wants("monitor") {
    // One snapshot, P = 1024, k = 9, both conv layers.
    var rng = Xoshiro256(seed: 0)
    network.initialize(rng: &rng)
    let probes = ProbeSet(test: data.test, count: probeCount, normalization: norm)
    var replay = Replay(network: network, probes: probes, k: 9)
    // Batch sizes can be overridden to measure alternatives (BENCH_TOPK_BATCH, BENCH_PROJECTION_BATCH).
    if let b = environment["BENCH_TOPK_BATCH"].flatMap(Int.init) { replay.batchSize = b }
    if let b = environment["BENCH_PROJECTION_BATCH"].flatMap(Int.init) { replay.projectionBatchSize = b }
    let result = fingerprint(replay.analyze(epoch: 0, step: 0))  // also the warm-up
    var monitorBest = Double.infinity
    for _ in 0..<3 { monitorBest = min(monitorBest, seconds { _ = replay.analyze(epoch: 1, step: 0) }) }
    print(String(format: "monitor snapshot:          %7.3f s  (P = %d, k = 9, %d projections; PyTorch 2.15: 0.64 s)",
                 monitorBest, probes.count, 9 * (32 + 64)))
    print("monitor result fingerprint: " + String(result, radix: 16) + "  (FNV-1a of the analysis' bits: equal means bit-identical)")

    // The same job as the user runs it: the real binary as a child process, start-up, probes,
    // replay, occlusion, diagnostics, findings.json and the report included.
    let cli = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("deconvscope").path
    let runs = Int(environment["BENCH_PROCESS_RUNS"] ?? "5") ?? 5
    if runs > 0 {
    let whole = try monitorProcessSeconds(cli: cli, snapshot: network.snapshot(epoch: 1, step: 0, trainerState: nil), runs: runs)
    print(String(format: "monitor whole process:     %7.3f s  median of %d `deconvscope monitor RUN --force` (%.3f-%.3f), the report already there; %.3f s (%.3f-%.3f) into an empty report folder",
                 whole.forced.median, runs, whole.forced.min, whole.forced.max, whole.fresh.median, whole.fresh.min, whole.fresh.max))
    print("                           (one snapshot, P = 1024, k = 9; in-process replay alone: the `monitor snapshot` line above)")
    print("                           phases of the last --force run (DECONVSCOPE_TIMINGS=1, seconds): " + whole.phases)
    }
}

if wants("pool") {
    var rng = Xoshiro256(seed: 3)
    // zf-fmnist's two poolings (3/2/1), on batches of 128 (inputs from memory) and of 8 (from cache).
    for (shape, batch, reps) in [([32, 28, 28], 128, 40), ([64, 14, 14], 128, 40), ([32, 28, 28], 8, 640), ([64, 14, 14], 8, 640)] {
        let layer = MaxPool2D(inputShape: shape, window: WindowGeometry(kernel: 3, stride: 2, padding: 1))!
        let x = Tensor(shape: [batch] + shape, data: (0..<(batch * shape.reduce(1, *))).map { _ in rng.nextGaussian() })
        _ = layer.forward(x, mode: .inference)
        let t = seconds { for _ in 0..<reps { _ = layer.forward(x, mode: .inference) } }
        print(String(format: "max pooling forward %@, batch %3d: %6.3f ms per 128 images", shape.description, batch, t * 1000 / Double(reps * batch) * 128))
    }
}

if wants("beside") {
    // Training with the monitor running beside it (issue 6): one full monitor pass and report, P = 1024,
    // on a snapshot of the current weights, started as an epoch of E images begins. E = 20,000 is a third
    // of a Fashion-MNIST epoch, so the ratio is a conservative bound for a full epoch.
    let epochImages = Int(environment["BENCH_EPOCH_IMAGES"] ?? "20000") ?? 20000
    let epochTrainer = Trainer(network: network, train: data.train.prefix(epochImages), test: data.test.prefix(10), normalization: norm,
                               optimizer: SGD(learningRate: 0.01, momentum: 0.9), batchSize: 128, seed: 1)
    epochTrainer.initializeWeights()
    func timedEpoch(withMonitor: Bool) throws -> (train: Double, monitor: Double) {
        final class Seconds: @unchecked Sendable { var value = 0.0 }   // written by the monitor thread, read after wait()
        let monitorSeconds = Seconds()
        let group = DispatchGroup()
        if withMonitor {
            let root = NSTemporaryDirectory() + "deconvscope-bench-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: root + "/run", withIntermediateDirectories: true)
            try epochTrainer.snapshot().write(to: root + "/run/epoch-0001.h5")
            var options = MonitorOptions()
            options.probes = probeCount
            let monitor = try Monitor(run: RunDirectory(path: root + "/run"), reportDirectory: root + "/report", options: options, testData: data.test)
            DispatchQueue.global().async(group: group) {
                monitorSeconds.value = seconds {
                    ComputeBudget.sharing {
                        _ = try? monitor.pass()
                        _ = try? ReportWriter.write(reportDirectory: root + "/report")
                    }
                }
                try? FileManager.default.removeItem(atPath: root)
            }
        }
        var trainSeconds = 0.0
        _ = try epochTrainer.trainEpoch { p in trainSeconds = p.elapsed }
        group.wait()
        return (trainSeconds, monitorSeconds.value)
    }
    _ = try timedEpoch(withMonitor: false)   // warm-up
    let alone = try timedEpoch(withMonitor: false), beside = try timedEpoch(withMonitor: true)
    let rateAlone = Double(epochImages) / alone.train, rateBeside = Double(epochImages) / beside.train
    print(String(format: "training with monitor:     %7.0f images/s alone, %7.0f with a monitor pass beside it (%.2f s), ratio %.3f (%d images)",
                 rateAlone, rateBeside, beside.monitor, rateBeside / rateAlone, epochImages))
}

if wants("sgd") {
    // What the per-layer statistics (metrics.jsonl `layers`) add to a training step.
    let t = sgdStepMilliseconds(network: network)
    print(String(format: "SGD step, 0.86 M parameters: %6.3f ms plain momentum loop, %6.3f ms with the per-layer sums (+%.3f ms per step)",
                 t.plain, t.measured, t.measured - t.plain))
}

if wants("overhead") {
    // Cockpit-style overhead table: a real `deconvscope train` child, one epoch of E images after the
    // epoch-0 snapshot, training images/s from its metrics.jsonl. Rounds alternate the configurations.
    let cli = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("deconvscope").path
    let images = Int(environment["BENCH_EPOCH_IMAGES"] ?? "20000") ?? 20000
    let rounds = Int(environment["BENCH_ROUNDS"] ?? "3") ?? 3
    let configurations: [(String, [String])] = [
        ("training alone (--no-monitor)", ["--no-monitor"]),
        ("monitor beside, no occlusion", ["--occlusion-images", "0"]),
        ("everything on (default)", []),
    ]
    var rates = [[Double]](repeating: [], count: configurations.count)
    for _ in 0..<rounds {
        for (i, c) in configurations.enumerated() { rates[i].append(try cliTrainingImagesPerSecond(cli: cli, images: images, extra: c.1)) }
    }
    let baseline = rates[0].sorted()[rates[0].count / 2]
    print("overhead, deconvscope train zf-fmnist, 1 epoch of \(images) images after the epoch-0 snapshot, \(rounds) alternating rounds:")
    for (i, c) in configurations.enumerated() {
        let sorted = rates[i].sorted(), median = sorted[sorted.count / 2]
        print("  " + c.0.padding(toLength: 32, withPad: " ", startingAt: 0)
              + String(format: "%6.0f images/s median (%4.0f-%4.0f), %5.1f%% of training alone", median, sorted.first!, sorted.last!, 100 * median / baseline))
    }
}

if wants("zoo") {
    // A small zoo (issue 21): the presets' training speed and peak memory, each in its own process.
    let cli = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("deconvscope").path
    let images = Int(environment["BENCH_ZOO_IMAGES"] ?? "12800") ?? 12800
    print("zoo, deconvscope train --no-monitor, 1 epoch of \(images) Fashion-MNIST images, batch 128 (PyTorch 2.15 CPU on the same models: docs/pytorch-zoo.py):")
    for model in ["zf-fmnist", "alexnet-fmnist", "vgg-bn", "zf-net"] {
        let r = try zooTraining(cli: cli, model: model, images: images)
        print("  " + model.padding(toLength: 16, withPad: " ", startingAt: 0) + String(format: "%7.0f images/s   peak %5.0f MiB", r.imagesPerSecond, r.peakMiB))
    }
}

if wants("memory") {
    let cli = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("deconvscope").path
    let (mebibytes, elapsed) = try trainingPeakResidentMiB(cli: cli)
    print(String(format: "peak resident memory:      %7.0f MiB  (deconvscope train, 1 epoch on all 60,000 images with snapshots 0,1 and the monitor, %.0f s; PyTorch: 1.39 GB)",
                 mebibytes, elapsed))
}

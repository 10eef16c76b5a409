// deconvscope-bench: measured numbers for `make bench`, in a release build. Never part of the tests.
import Foundation
import COpenBLAS
import Tensors
import Layers
import Training
import Monitoring
import Reporting
import Snapshots

setvbuf(stdout, nil, _IOLBF, 0)
let cores = ProcessInfo.processInfo.activeProcessorCount

func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Best of several runs of a 1024^3 sgemm: the machine's arithmetic peak as our code sees it.
func sgemmGFLOPs(threads: Int) -> Double {
    BLASThreads.set(threads)
    let n = 1024
    var rng = Xoshiro256(seed: 1)
    let a = (0..<(n * n)).map { _ in rng.nextUnitFloat() }, b = (0..<(n * n)).map { _ in rng.nextUnitFloat() }
    var c = [Float](repeating: 0, count: n * n)
    var best = Double.infinity
    for _ in 0..<5 {
        let t = seconds { a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            gemm(m: n, n: n, k: n, a: ap.baseAddress!, lda: n, b: bp.baseAddress!, ldb: n, c: cp.baseAddress!, ldc: n)
        } } } }
        best = min(best, t)
    }
    return 2 * Double(n * n * n) / best / 1e9
}

func peakResidentMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024   // ru_maxrss is in KiB on Linux
}

print("deconvscope-bench (release, \(cores) cores)")
let peak1 = sgemmGFLOPs(threads: 1)
let peak = sgemmGFLOPs(threads: cores)
print(String(format: "cblas_sgemm 1024^3:        %7.1f GFLOP/s (1 thread)  %7.1f GFLOP/s (%d threads)", peak1, peak, cores))

// Training: zf-fmnist, batch 128, on real Fashion-MNIST (synthetic images if the package is absent).
let data: DatasetPair
do { data = try DatasetLoader.load(.fashionMNIST, directory: nil) } catch {
    print("note: \(error); timing on random images instead")
    var rng = Xoshiro256(seed: 2)
    func fake(_ n: Int) -> Dataset {
        Dataset(name: "random", images: Tensor(shape: [n, 1, 28, 28], data: (0..<(n * 784)).map { _ in rng.nextUnitFloat() }),
                labels: (0..<n).map { $0 % 10 }, classNames: (0..<10).map(String.init))
    }
    data = DatasetPair(train: fake(12_800), test: fake(1_024))
}
let spec = ModelPreset.zfFMNIST.spec
let norm = spec.normalization!
let network = try Network(spec: spec)
let steps = Int(ProcessInfo.processInfo.environment["BENCH_STEPS"] ?? "60") ?? 60
let trainer = Trainer(network: network, train: data.train.prefix(128 * (steps + 10)).normalized(by: norm),
                      test: data.test.prefix(256).normalized(by: norm),
                      optimizer: SGD(learningRate: 0.01, momentum: 0.9), batchSize: 128, seed: 0)
trainer.initializeWeights()
BLASThreads.set(cores)
var timed = (images: 0, seconds: 0.0)
var warm = 0
_ = try trainer.trainEpoch { p in
    // The first 10 batches warm caches and buffers; the rest are timed.
    warm += 1
    if warm == 10 { timed = (p.imagesSeen, p.elapsed) }
    if p.batch == p.batches { timed = (p.imagesSeen - timed.images, p.elapsed - timed.seconds) }
}
let imagesPerSecond = Double(timed.images) / timed.seconds
let flopPerImage = 68.8e6
let trainGFLOPs = imagesPerSecond * flopPerImage / 1e9
print(String(format: "training zf-fmnist b=128:  %7.0f images/s  %6.1f GFLOP/s  = %3.0f%% of sgemm peak  (%d steps timed; PyTorch 2.15 CPU: ~2050 images/s)",
             imagesPerSecond, trainGFLOPs, 100 * trainGFLOPs / peak, steps))

// Monitor: one snapshot, P = 1024, k = 9, both conv layers.
let probeCount = 1024
let probes = ProbeSet(test: data.test, count: probeCount, normalization: norm)
let replay = Replay(network: network, probes: probes, k: 9)
_ = replay.analyze(epoch: 0, step: 0)  // warm-up
var monitorBest = Double.infinity
for _ in 0..<3 { monitorBest = min(monitorBest, seconds { _ = replay.analyze(epoch: 1, step: 0) }) }
print(String(format: "monitor snapshot:          %7.3f s  (P = %d, k = 9, %d projections; PyTorch 2.15: 0.64 s)",
             monitorBest, probes.count, 9 * (32 + 64)))
// Training with the monitor running beside it (issue 6): one full monitor pass and report, P = 1024,
// on a snapshot of the current weights, started as an epoch of E images begins. E = 20,000 is a third
// of a Fashion-MNIST epoch, so the ratio is a conservative bound for a full epoch.
let epochImages = Int(ProcessInfo.processInfo.environment["BENCH_EPOCH_IMAGES"] ?? "20000") ?? 20000
let epochTrainer = Trainer(network: network, train: data.train.prefix(epochImages).normalized(by: norm),
                           test: data.test.prefix(10).normalized(by: norm),
                           optimizer: SGD(learningRate: 0.01, momentum: 0.9), batchSize: 128, seed: 1)
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
print(String(format: "peak resident memory:      %7.0f MiB", peakResidentMiB()))

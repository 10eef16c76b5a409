import Foundation
import Tensors
import Monitoring
import Snapshots

/// Wall-clock seconds of `body`; with BENCH_CLOCK=cpu, the process's CPU seconds instead (all
/// threads), a steadier measure of work done while other jobs share the machine.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let clock = ProcessInfo.processInfo.environment["BENCH_CLOCK"] == "cpu" ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC
    var start = timespec(), end = timespec()
    clock_gettime(clock, &start)
    try body()
    clock_gettime(clock, &end)
    return Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
}

/// Best of several runs of a 1024^3 sgemm: the machine's arithmetic peak as our code sees it.
func sgemmGFLOPs(threads: Int) -> Double {
    BLASThreads.set(threads)
    defer { BLASThreads.set(ComputeBudget.cores) }
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

/// Peak resident memory of a full-data training epoch, measured on the real CLI in a child
/// process (so nothing this benchmark allocated counts): `deconvscope train` for one epoch on all
/// 60,000 images with snapshots at epochs 0 and 1 and the monitor and report running beside it.
func trainingPeakResidentMiB(cli: String) throws -> (mebibytes: Double, seconds: Double) {
    let root = NSTemporaryDirectory() + "deconvscope-bench-memory-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: root) }
    let run = try spawnAndWait(cli, ["train", "--model", "zf-fmnist", "--epochs", "1", "--snapshot-epochs", "0,1", "--run", "memory",
                                     "--checkpoints", root + "/Checkpoints", "--reports", root + "/Reports"],
                               environment: ProcessInfo.processInfo.environment)
    guard run.status == 0 else { throw BenchError("deconvscope train exited with \(run.status): \(run.stderr)") }
    var usage = rusage()
    getrusage(RUSAGE_CHILDREN.rawValue, &usage)
    return (Double(usage.ru_maxrss) / 1024, run.seconds)   // ru_maxrss is in KiB on Linux
}

/// Wall seconds of whole `deconvscope monitor` processes on a run folder holding one snapshot:
/// `runs` times with `--force` into a report folder that a first pass already wrote, and `runs`
/// times into an empty report folder (the probe images then come from the data set). Also the
/// top-level phases (DECONVSCOPE_TIMINGS) of the last `--force` run, with the start-up and exit
/// time that the process spent outside them.
func monitorProcessSeconds(cli: String, snapshot: Snapshot, runs: Int) throws
    -> (forced: (median: Double, min: Double, max: Double), fresh: (median: Double, min: Double, max: Double), phases: String) {
    let root = NSTemporaryDirectory() + "deconvscope-bench-process-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: root) }
    try FileManager.default.createDirectory(atPath: root + "/run", withIntermediateDirectories: true)
    try snapshot.write(to: root + "/run/epoch-0001.h5")
    func monitor(_ extra: [String], timings: Bool = false) throws -> (seconds: Double, stderr: String) {
        var environment = ProcessInfo.processInfo.environment
        if timings { environment["DECONVSCOPE_TIMINGS"] = "1" }
        let run = try spawnAndWait(cli, ["monitor", root + "/run", "--reports", root + "/Reports"] + extra, environment: environment)
        guard run.status == 0 else { throw BenchError("deconvscope monitor exited with \(run.status): \(run.stderr)") }
        return (run.seconds, run.stderr)
    }
    func summary(_ values: [Double]) -> (median: Double, min: Double, max: Double) {
        let sorted = values.sorted()
        return (sorted[sorted.count / 2], sorted.first!, sorted.last!)
    }
    var fresh: [Double] = [], forced: [Double] = []
    for _ in 0..<max(1, runs) {
        try? FileManager.default.removeItem(atPath: root + "/Reports")
        fresh.append(try monitor([]).seconds)
    }
    for _ in 0..<max(1, runs) { forced.append(try monitor(["--force"]).seconds) }
    let last = try monitor(["--force"], timings: true)
    // Top-level phases only ("timing: <name> <s>" with one level of indent under "command").
    var phases: [String] = []
    var inside = 0.0
    for line in last.stderr.split(separator: "\n") where line.hasPrefix("timing: ") {
        let body = line.dropFirst("timing: ".count)
        let parts = body.split(separator: " ").prefix { !$0.hasPrefix("(") }   // drop "(<n> faults)"
        guard let value = parts.last.flatMap({ Double($0) }) else { continue }
        let name = parts.dropLast().joined(separator: " ")
        if !body.hasPrefix(" ") { inside = value } else if body.hasPrefix("  "), !body.hasPrefix("    ") { phases.append("\(name) \(String(format: "%.3f", value))") }
    }
    phases.append("start-up and exit \(String(format: "%.3f", last.seconds - inside)) (of \(String(format: "%.3f", last.seconds)))")
    return (summary(forced), summary(fresh), phases.joined(separator: ", "))
}

/// Runs `executable` with `arguments` (stdout to /dev/null, stderr collected) and waits for it with
/// waitpid: wall seconds from spawn to exit, its stderr and exit status. Every child of the
/// benchmark runs through here. Not Foundation's `Process`,
/// whose `waitUntilExit` polls its run loop every 50 ms, so every time it measured came out on a
/// 50 ms grid, up to 50 ms late.
func spawnAndWait(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> (seconds: Double, stderr: String, status: Int32) {
    var pipeEnds: [Int32] = [-1, -1]
    guard pipe(&pipeEnds) == 0 else { throw BenchError("pipe: \(String(cString: strerror(errno)))") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 2)
    posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let start = PhaseTimings.now()
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
    close(pipeEnds[1])
    defer { close(pipeEnds[0]) }
    guard spawned == 0 else { throw BenchError("cannot start \(executable): \(String(cString: strerror(spawned)))") }
    var collected: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(pipeEnds[0], $0.baseAddress, $0.count) }
        if n > 0 { collected += chunk[0..<n]; continue }
        if n < 0 && errno == EINTR { continue }
        break
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let seconds = PhaseTimings.now() - start
    return (seconds, String(decoding: collected, as: UTF8.self), (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F))
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// FNV-1a over the bit patterns of everything `Replay.analyze` computes (top-k, projections,
/// per-probe maxima, mean activations): equal fingerprints before and after a speed change mean
/// bit-identical results, which tolerance-based tests cannot show.
func fingerprint(_ analysis: SnapshotAnalysis) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ word: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { hash = (hash ^ UInt64((word >> UInt32(shift)) & 0xff)) &* 0x100_0000_01b3 }
    }
    for layer in analysis.layers {
        for acts in layer.top { for a in acts { mix(UInt32(a.image)); mix(UInt32(a.y)); mix(UInt32(a.x)); mix(a.value.bitPattern) } }
        for v in layer.projections.data { mix(v.bitPattern) }
        for v in layer.maxPerProbe.data { mix(v.bitPattern) }
        for v in layer.meanActivation { mix(v.bitPattern) }
    }
    return hash
}

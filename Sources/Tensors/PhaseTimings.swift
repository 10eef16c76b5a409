import Foundation

/// Wall-clock seconds per named phase of one process, for profiling whole commands: with
/// `DECONVSCOPE_TIMINGS=1` in the environment, the CLI prints them to stderr when it exits (one
/// `timing: <phase> <seconds> (<cpu> s CPU, <n> faults)` line each, nested phases indented, with
/// the CPU time of all threads and the minor page faults taken during the phase), and `deconvscope-bench`'s
/// whole-process monitor figure reads them from its child. Without the variable `measure` only runs
/// its body: one branch on a constant, no clock read.
///
/// Phases are inclusive (a phase's time contains its nested phases'); a name measured twice adds
/// up. Thread-safe: each thread nests its own phases, and a stream started beside the main one
/// (`ComputeBudget.concurrently`) nests its phases where it was started; the CPU seconds and faults
/// of phases that overlap count both streams.
public enum PhaseTimings {
    public static let enabled = ProcessInfo.processInfo.environment["DECONVSCOPE_TIMINGS"].map { !$0.isEmpty && $0 != "0" } ?? false

    private struct Phase { var name: String; var depth: Int; var seconds: Double; var cpu: Double; var faults: Int }
    nonisolated(unsafe) private static var phases: [Phase] = []
    private static let lock = NSLock()
    private static let depthKey = "deconvscope.PhaseTimings.depth"

    /// The calling thread's nesting depth (0 on a thread that never measured).
    public static var depth: Int {
        get { enabled ? (Thread.current.threadDictionary[depthKey] as? Int ?? 0) : 0 }
        set { if enabled { Thread.current.threadDictionary[depthKey] = newValue } }
    }

    /// Monotonic seconds.
    public static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Runs `body`, adding its wall-clock time to phase `name` when timings are enabled.
    @inline(__always)
    public static func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        guard enabled else { return try body() }
        let level = depth
        let index: Int = lock.withLock {
            if let i = phases.firstIndex(where: { $0.name == name && $0.depth == level }) { return i }
            phases.append(Phase(name: name, depth: level, seconds: 0, cpu: 0, faults: 0))
            return phases.count - 1
        }
        depth = level + 1
        let start = now(), startUsage = usage()
        defer {
            let elapsed = now() - start, end = usage()
            depth = level
            lock.withLock {
                phases[index].seconds += elapsed
                phases[index].cpu += end.cpu - startUsage.cpu
                phases[index].faults += end.faults - startUsage.faults
            }
        }
        return try body()
    }

    /// CPU seconds (user + system, all threads) and minor page faults of the process so far. A
    /// minor fault is a first touch of fresh memory: a few microseconds of kernel time zeroing a page.
    public static func usage() -> (cpu: Double, faults: Int) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return (cpu, usage.ru_minflt)
    }

    /// The recorded phases as `timing: <indent><name> <seconds> (<cpu> s CPU, <faults> faults)`
    /// lines, in first-start order.
    public static func lines() -> [String] {
        lock.withLock {
            phases.map { "timing: " + String(repeating: "  ", count: $0.depth) + $0.name + " " + String(format: "%.4f", $0.seconds) + String(format: " (%.4f s CPU, %d faults)", $0.cpu, $0.faults) }
        }
    }

    /// Prints `lines()` to stderr if timings are enabled.
    public static func printIfEnabled() {
        guard enabled else { return }
        FileHandle.standardError.write(Data(lines().map { $0 + "\n" }.joined().utf8))
    }
}

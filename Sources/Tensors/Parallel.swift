import Dispatch
import Foundation

/// How many cores each compute stream may use. Normally one stream (training, or a monitor pass)
/// has all of them; while a background stream runs beside it (the monitor replaying a snapshot
/// during the next epoch), each of the `sharers` streams gets `cores / sharers`, so together they
/// never run more threads than the machine has cores.
public enum ComputeBudget {
    public static let cores = ProcessInfo.processInfo.activeProcessorCount
    private static let lock = NSLock()
    nonisolated(unsafe) private static var sharers = 1

    /// Threads the calling stream may use right now.
    public static var threads: Int {
        lock.lock(); defer { lock.unlock() }
        return max(1, cores / sharers)
    }

    /// Runs `body` as an extra stream beside the current ones, shrinking every stream's budget
    /// for its duration.
    public static func sharing<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock(); sharers += 1; lock.unlock()
        defer { lock.lock(); sharers -= 1; lock.unlock() }
        return try body()
    }
}

extension ComputeBudget {
    /// Runs `side` on a thread of its own while `main` runs on the calling thread, as two streams
    /// sharing the cores (as `sharing` does): each gets half of them while both run, and `main` gets
    /// them all back once `side` is done. For independent work whose own parallel loops leave a
    /// core idle between them: the monitor's occlusion maps beside its top-k pass, whose serial
    /// stretches (keeping switches, offering candidates) the other stream fills.
    public static func concurrently<Main, Side>(_ main: () throws -> Main, beside side: @escaping () -> Side) rethrows -> (Main, Side) {
        lock.lock(); sharers += 1; lock.unlock()
        let task = BackgroundTask { () -> Side in
            defer { lock.lock(); sharers -= 1; lock.unlock() }
            return side()
        }
        let result: Main
        do { result = try main() } catch { _ = try? task.wait(); throw error }
        return (result, try! task.wait())   // `side` does not throw
    }
}

/// Work started on a thread of its own; `wait()` hands back its result (or rethrows its error),
/// as often as asked. The thread nests its `PhaseTimings` where it was started.
public final class BackgroundTask<Value>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    // Written once by the thread before it signals `done`; read after `done` is waited on.
    private var outcome: Result<Value, Error>?

    public init(_ body: @escaping () throws -> Value) {
        let depth = PhaseTimings.depth
        let thread = Thread { [self] in
            PhaseTimings.depth = depth
            let result = Result { try body() }
            lock.withLock { outcome = result }
            done.signal()
        }
        thread.stackSize = 8 << 20   // the main thread's: kernels keep small scratch on the stack
        thread.start()
    }

    public func wait() throws -> Value {
        if let known = lock.withLock({ outcome }) { return try known.get() }
        done.wait()
        done.signal()   // for the next `wait`
        return try lock.withLock { outcome! }.get()
    }
}

/// Runs `body(i)` for i in 0..<count on up to `ComputeBudget.threads` threads of the shared pool
/// (im2col, col2im, pooling, GEMM panels): one pool for all parallel work, so nothing oversubscribes.
@inline(__always)
public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 1 { if count == 1 { body(0) }; return }
    let threads = min(count, ComputeBudget.threads)
    if threads == 1 {
        for i in 0..<count { body(i) }
    } else if threads >= count {
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    } else {
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var i = t
            while i < count { body(i); i += threads }
        }
    }
}

/// `body(i)` for i in 0..<count, in that order in the result, computed on the shared pool like
/// `parallelFor` (report pages, their figures, the diagnostics' per-filter spectra).
public func parallelMap<T>(_ count: Int, _ body: (Int) -> T) -> [T] {
    guard count > 0 else { return [] }
    return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        let base = buffer.baseAddress!
        parallelFor(count) { (base + $0).initialize(to: body($0)) }
        initialized = count
    }
}

/// Runs `body(range)` over `0..<count` split into at most one contiguous range per available
/// thread, each at least `minimum` long: for elementwise loops (ReLU, pooling's scatter), which
/// are memory-bound and too short to amortize more than a few hand-offs.
@inline(__always)
public func parallelRanges(_ count: Int, minimum: Int = 1 << 16, _ body: (Range<Int>) -> Void) {
    let parts = max(1, min(ComputeBudget.threads, count / max(1, minimum)))
    if parts == 1 { if count > 0 { body(0..<count) }; return }
    let step = (count + parts - 1) / parts
    DispatchQueue.concurrentPerform(iterations: parts) { part in
        let start = part * step, end = min(count, start + step)
        if start < end { body(start..<end) }
    }
}

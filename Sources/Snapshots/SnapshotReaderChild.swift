import Foundation
import Tensors

/// The child side of ``Snapshot/readGuarded(from:)``: a copy of the executable that reads one
/// snapshot under resource bounds and writes the result (snapshot or error) to its stdout in
/// ``SnapshotWire`` form.
public enum SnapshotReaderChild {
    /// Set by the parent to the snapshot's path; its presence makes the process a reader child.
    static let pathVariable = "DECONVSCOPE_SNAPSHOT_READER_PATH"
    /// Set (to 1) by the parent when it wants no optimizer state (`read(from:optimizerState:)`).
    static let withoutOptimizerVariable = "DECONVSCOPE_SNAPSHOT_READER_WITHOUT_OPTIMIZER"

    /// Bounds that turn a runaway read into the death of the child (then reported by the parent):
    /// address space beyond what the process already maps (a snapshot's contents fit in its file
    /// size; a corrupt heap object claiming a gigabyte then fails to allocate), CPU seconds
    /// (SIGXCPU on a spinning read) and wall-clock seconds (SIGALRM on anything else that hangs).
    static let extraAddressSpace = 512 << 20
    static let cpuSeconds: rlim_t = 60
    static let wallClockSeconds: UInt32 = 300

    /// Call first thing in `main`. In a reader child this reads the snapshot, answers, and
    /// exits; in any other process it returns at once.
    public static func serveIfRequested() {
        guard let value = getenv(pathVariable) else { return }
        serve(path: String(cString: value), optimizerState: getenv(withoutOptimizerVariable) == nil, answerTo: 1)
    }

    /// Reads the snapshot at `path` under the bounds, writes the answer to file descriptor
    /// `output` and exits the process: the body of both kinds of reader child (a started copy of
    /// the executable, or a fork of a single-threaded parent).
    static func serve(path: String, optimizerState: Bool, answerTo output: Int32) -> Never {
        // A crash must end the child at once with its signal, not run the parent's handlers (Swift's
        // backtracer among them), and no signal the parent blocked may stay blocked.
        for crash in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGXCPU, SIGALRM, SIGPIPE, SIGXFSZ] { signal(crash, SIG_DFL) }
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        // Ctrl-C goes to the whole process group; the parent decides what it means.
        signal(SIGINT, SIG_IGN)
        limitResources(fileSize: Int(FileInfo(path)?.size ?? 0))
        let result: Result<Snapshot, FileError>
        do {
            result = .success(try Snapshot.read(from: path, optimizerState: optimizerState))
        } catch let error as FileError {
            result = .failure(error)
        } catch {
            result = .failure(FileError(file: path, message: String(describing: error)))
        }
        do {
            try SnapshotWire.encode(result) { try writeAll($0, to: output) }
        } catch {
            _exit(3)
        }
        // _exit: nothing left to flush, and HDF5's exit handlers have no file of ours to close (a
        // forked child must not flush or close the parent's open files either).
        _exit(0)
    }

    private static func limitResources(fileSize: Int) {
        var cpu = rlimit(rlim_cur: cpuSeconds, rlim_max: cpuSeconds + 5)
        setrlimit(__rlimit_resource_t(RLIMIT_CPU.rawValue), &cpu)
        alarm(wallClockSeconds)
        guard let mapped = mappedBytes() else { return }
        let (doubled, o1) = fileSize.multipliedReportingOverflow(by: 2)
        let (limit, o2) = mapped.addingReportingOverflow(doubled)
        guard !o1, !o2 else { return }
        let (bound, o3) = limit.addingReportingOverflow(extraAddressSpace)
        guard !o3 else { return }
        var space = rlimit(rlim_cur: rlim_t(bound), rlim_max: rlim_t(bound))
        setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &space)
    }

    /// The process's current virtual size (first field of /proc/self/statm, in pages).
    private static func mappedBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = text.split(separator: " ").first.flatMap({ Int($0) }) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    private struct WriteFailed: Error {}

    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to output: Int32) throws {
        var offset = 0
        while offset < bytes.count {
            let n = write(output, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw WriteFailed() }
            offset += n
        }
    }
}

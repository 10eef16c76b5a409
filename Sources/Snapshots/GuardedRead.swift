import Foundation
import Tensors

/// Reading snapshots that this process did not write, so that a crash of libhdf5 on a damaged or
/// hostile file cannot take the process down.
///
/// Why a child process: Debian's libhdf5 1.10.8 segfaults, or allocates gigabytes, on files
/// whose global-heap references are corrupt (a variable-length string attribute pointing to a
/// heap object that does not exist, or a heap object claiming a gigabyte length), inside
/// `H5Aread`'s conversion, before any check of ours can run: the HDF5 API gives no way to look
/// at those references first. So the executable reads such files in a copy of itself
/// (``SnapshotReaderChild``) with bounded memory and time, and gets the snapshot back over a
/// pipe (``SnapshotWire``). The file is read once, in the child; a child that dies by a signal
/// becomes the one-line error `FILE: damaged HDF5 file (the HDF5 library crashed reading it)`.
///
/// Off by default (library users and the in-process tests read directly); the `deconvscope`
/// executable turns it on at start-up with ``enable()``.
public enum GuardedSnapshotReading {
    /// The executable to run as the reader child, or nil to read in this process.
    nonisolated(unsafe) private(set) static var executable: String? = nil

    /// Reads snapshots through a copy of the running executable from now on; that executable
    /// must call ``SnapshotReaderChild/serveIfRequested()`` first thing in `main`. Set once at
    /// start-up, before any thread reads snapshots.
    public static func enable() {
        // /proc/self/exe is this very binary, even if the file on disk was replaced since.
        if access("/proc/self/exe", X_OK) == 0 {
            executable = "/proc/self/exe"
        } else if let argv0 = CommandLine.arguments.first, argv0.contains("/"), let resolved = realpath(argv0, nil) {
            executable = String(cString: resolved)
            free(resolved)
        }
        // Otherwise (no /proc, started through PATH) snapshots are read in-process, unguarded.
    }

    /// The message for a file whose reader child died by a signal (or hit its memory/time bounds).
    public static let crashMessage = "damaged HDF5 file (the HDF5 library crashed reading it)"
}

extension Snapshot {
    /// ``read(from:)``, in a child process when ``GuardedSnapshotReading`` is enabled.
    ///
    /// Same result and same errors as ``read(from:)``, plus: a file that crashes the HDF5
    /// library (or exceeds the child's memory or CPU bound) throws a ``SnapshotError`` with
    /// ``GuardedSnapshotReading/crashMessage``. The child is a fork of this process while it has
    /// no other thread (the `monitor` and `inspect` commands when they read their first snapshot),
    /// else a started copy of the executable; the cost of each is in the README ("Fuzzing").
    public static func readGuarded(from path: String, optimizerState: Bool = true) throws -> Snapshot {
        try beginGuardedRead(from: path, optimizerState: optimizerState).finish()
    }

    /// ``readGuarded(from:optimizerState:)`` in two steps: this starts the reader child, and a
    /// thread that collects and decodes its answer, and returns at once, so the caller can do other
    /// work (the monitor loads its probe images) while the child reads and its answer crosses the
    /// pipe; ``PendingSnapshotRead/finish()`` hands over the snapshot.
    ///
    /// Why the thread: the pipe holds 64 KB, so the child stalled on its first write until the
    /// caller came to collect; a monitor process waited 5-10 ms for the transfer after its probe
    /// images were loaded.
    public static func beginGuardedRead(from path: String, optimizerState: Bool = true) -> PendingSnapshotRead {
        guard let executable = GuardedSnapshotReading.executable else {
            return PendingSnapshotRead(finished: Result { try read(from: path, optimizerState: optimizerState) })
        }
        // A fork needs no process start (~25 ms of loading 57 shared libraries), but is only safe
        // while no other thread can hold a lock the child would need.
        do {
            let reader = try ProcessThreads.count() == 1 ? forkReaderChild(path, optimizerState: optimizerState)
                                                         : runReaderChild(executable, path, optimizerState: optimizerState)
            return PendingSnapshotRead(collecting: BackgroundTask { try Snapshot.answer(of: reader.collect(), path: reader.path) })
        } catch {
            return PendingSnapshotRead(finished: .failure(error))
        }
    }

    /// ``readGuarded(from:optimizerState:)`` in a fork of this process whatever its threads (for
    /// tests of the fork path; a process with other threads should not fork).
    static func readInForkedChild(from path: String, optimizerState: Bool = true) throws -> Snapshot {
        let reader = try forkReaderChild(path, optimizerState: optimizerState)
        return try answer(of: reader.collect(), path: reader.path)
    }

    fileprivate static func answer(of child: (bytes: [UInt8], status: ChildStatus), path: String) throws -> Snapshot {
        switch child.status {
        case .exited(0):
            guard let result = try? SnapshotWire.decode(child.bytes) else {
                throw SnapshotError(file: path, message: "damaged HDF5 file (the snapshot reader's answer was incomplete)")
            }
            return try result.get()
        case .exited(let code):
            throw SnapshotError(file: path, message: "damaged HDF5 file (the snapshot reader exited with status \(code))")
        case .signaled:
            throw SnapshotError(file: path, message: GuardedSnapshotReading.crashMessage)
        }
    }
}

/// A snapshot read under way (``Snapshot/beginGuardedRead(from:optimizerState:)``).
public struct PendingSnapshotRead {
    fileprivate enum State {
        case done(Result<Snapshot, Error>)
        case collecting(BackgroundTask<Snapshot>)
    }
    fileprivate let state: State
    /// A read that is already over (an in-process read, or a file that needs no child).
    init(finished result: Result<Snapshot, Error>) { state = .done(result) }
    /// A reader child whose answer `task` collects, decodes and waits for.
    init(collecting task: BackgroundTask<Snapshot>) { state = .collecting(task) }

    /// The snapshot, or the error a direct read would give (or the crash line). Waits for the child.
    public func finish() throws -> Snapshot {
        switch state {
        case .done(let result): return try result.get()
        case .collecting(let task): return try task.wait()
        }
    }
}

/// A reader child at work: the read end of the pipe it answers on, and its process.
struct StartedReader {
    let readEnd: Int32
    let pid: pid_t
    let path: String

    func collect() throws -> (bytes: [UInt8], status: ChildStatus) {
        defer { close(readEnd) }
        return try collectAnswer(from: readEnd, of: pid, path: path)
    }
}

enum ChildStatus: Equatable {
    case exited(Int32)
    case signaled(Int32)
}

/// Starts `executable` as the reader child for `path`, collects everything it writes to its
/// stdout and waits for it. The child gets no stdin and no stderr (a crash report or HDF5's
/// error stack must not reach the user's terminal: the parent says what happened, in one line).
private func runReaderChild(_ executable: String, _ path: String, optimizerState: Bool) throws -> StartedReader {
    let (readEnd, writeEnd) = try readerPipe(path)

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)

    // The caller may be a Dispatch worker thread, which blocks most signals; a blocked SIGXCPU
    // or SIGALRM would disarm the child's time bounds. So: empty mask, default handlers.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t(), defaults = sigset_t()
    sigemptyset(&noSignals)
    sigemptyset(&defaults)
    for signal in [SIGPIPE, SIGXCPU, SIGALRM, SIGXFSZ, SIGSEGV, SIGBUS] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    var environment = ProcessInfo.processInfo.environment
    environment[SnapshotReaderChild.pathVariable] = path
    environment[SnapshotReaderChild.withoutOptimizerVariable] = optimizerState ? nil : "1"
    environment["OPENBLAS_NUM_THREADS"] = "1"        // the child computes nothing: no BLAS thread pool
    environment["SWIFT_BACKTRACE"] = "enable=no"     // a crash should end the child at once, not symbolicate
    let arguments = ["deconvscope (snapshot reader)"]
    let environmentLines = environment.map { "\($0.key)=\($0.value)" }

    var pid: pid_t = 0
    let spawned = withCStrings(arguments) { argv in
        withCStrings(environmentLines) { envp in
            posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        }
    }
    close(writeEnd)
    guard spawned == 0 else { close(readEnd); throw startFailure(path, "spawn", spawned) }
    return StartedReader(readEnd: readEnd, pid: pid, path: path)
}

/// Reads `path` in a fork of this process, which must have no other thread: the child then holds
/// every lock it may need (malloc's, the Swift runtime's, HDF5's) and runs
/// ``SnapshotReaderChild/serve(path:optimizerState:answerTo:)`` as a started reader would.
private func forkReaderChild(_ path: String, optimizerState: Bool) throws -> StartedReader {
    let (readEnd, writeEnd) = try readerPipe(path)
    let pid = fork()
    if pid == 0 {
        close(readEnd)
        // As for a started reader: no terminal, so HDF5's error stack or a crash report stays unseen.
        let null = open("/dev/null", O_RDWR)
        if null >= 0 { for fd: Int32 in [0, 1, 2] { dup2(null, fd) }; if null > 2 { close(null) } }
        SnapshotReaderChild.serve(path: path, optimizerState: optimizerState, answerTo: writeEnd)
    }
    let forkError = errno
    close(writeEnd)
    guard pid > 0 else {
        close(readEnd)
        throw startFailure(path, "fork", forkError)
    }
    return StartedReader(readEnd: readEnd, pid: pid, path: path)
}

/// The pipe a reader child answers on. Both ends close on exec, so no other child inherits them
/// (a started reader gets its own copy of the write end as stdout).
private func readerPipe(_ path: String) throws -> (readEnd: Int32, writeEnd: Int32) {
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else { throw startFailure(path, "pipe", errno) }
    _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
    return (ends[0], ends[1])
}

private func startFailure(_ path: String, _ what: String, _ code: Int32) -> SnapshotError {
    SnapshotError(file: path, message: "cannot start a process to read it (\(what): \(String(cString: strerror(code))))")
}

/// Everything a reader child writes to `readEnd` up to end of file, and how the child ended.
private func collectAnswer(from readEnd: Int32, of pid: pid_t, path: String) throws -> (bytes: [UInt8], status: ChildStatus) {
    // Everything up to end of file; the child's bounds (memory, CPU, wall clock) end it.
    // Straight into an array of about the file's size (the answer's usual size), then, only for
    // a longer answer (a compressed snapshot), through a staging buffer: no zero-filled staging
    // buffer to copy every byte out of (1 MB of memset and 3.4 MB of copying for the demo's).
    func readSome(_ into: UnsafeMutableRawPointer, _ count: Int) -> Int {
        while true {
            let n = read(readEnd, into, count)
            if n < 0 && errno == EINTR { continue }
            return max(0, n)
        }
    }
    let expected = Int(FileInfo(path)?.size ?? 0) + 4096
    var ended = false
    var bytes = [UInt8](unsafeUninitializedCapacity: expected) { buffer, initialized in
        initialized = 0
        while initialized < expected {
            let n = readSome(buffer.baseAddress! + initialized, expected - initialized)
            if n == 0 { ended = true; break }
            initialized += n
        }
    }
    if !ended {
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { readSome($0.baseAddress!, $0.count) }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard errno == EINTR else {
            throw SnapshotError(file: path, message: "cannot wait for the process reading it (waitpid: \(String(cString: strerror(errno))))")
        }
    }
    // <sys/wait.h>'s WIFEXITED / WTERMSIG are macros Swift cannot import.
    let signal = status & 0x7F
    return (bytes, signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal))
}

/// Threads of this process, from /proc/self/stat (field 20); nil where that cannot be read.
enum ProcessThreads {
    static func count() -> Int? {
        let fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        // The command name (field 2) is in parentheses and may hold spaces: count from its end.
        guard let close = buffer[0..<n].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = buffer[(close + 1)..<n].split(separator: UInt8(ascii: " "))
        // fields[0] is field 3 (state), so field 20 is fields[17].
        guard fields.count > 17 else { return nil }
        return Int(String(decoding: fields[17], as: UTF8.self))
    }
}

/// Runs `body` with a NULL-terminated C array of the strings (argv / envp for posix_spawn).
private func withCStrings<T>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> T) -> T {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}

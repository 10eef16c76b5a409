import Foundation

/// Whole-file writes that readers never see half-done: write a temporary file in the same
/// directory, flush it to disk, then rename(2) it over the target (atomic on POSIX).
///
/// Every writer of the project names its temporary `<dir>/.<name>.tmp-<pid>` (see
/// ``temporaryPath(for:)``): a dot file, so directory listings that look for `epoch-NNNN.h5` or
/// `*.html` never pick it up, and tagged with the writer's process id, so a file left behind by a
/// killed writer can be recognised and removed (``removeStaleTemporaries(in:)``).
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public init(path: String, reason: String) { self.path = path; self.reason = reason }
        public var description: String { "\(path): cannot write: \(reason)" }
    }

    /// The temporary name this process writes `path` under before renaming it into place.
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().path + "/." + url.lastPathComponent + ".tmp-\(getpid())"
    }

    /// The writer's process id, if `name` is a temporary name of ours (PNG writes add `-<random>`).
    static func writerProcess(ofTemporaryName name: String) -> pid_t? {
        guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards) else { return nil }
        let tag = name[marker.upperBound...].split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = tag.first, !first.isEmpty, first.allSatisfy({ $0.isASCII && $0.isNumber }),
              tag.count == 1 || tag[1].allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return pid_t(first)
    }

    /// Removes the temporary files in `directory` whose writer is gone: a process killed in the
    /// middle of a write (e.g. `kill -9` during a snapshot) leaves one behind, and nothing else
    /// ever deletes it. A file of this process counts as stale too, so call this only before this
    /// process starts writing into `directory`. Files of other live processes are kept (they may
    /// be mid-write). Returns the names removed; errors are ignored (a leftover is harmless).
    @discardableResult
    public static func removeStaleTemporaries(in directory: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        let me = getpid()
        var removed: [String] = []
        for name in names.sorted() {
            guard let writer = writerProcess(ofTemporaryName: name) else { continue }
            let alive = writer != me && (kill(writer, 0) == 0 || errno == EPERM)
            if !alive, unlink(directory + "/" + name) == 0 { removed.append(name) }
        }
        return removed
    }

    public static func write(_ data: Data, to path: String) throws {
        let temp = temporaryPath(for: path)
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        var failure: String? = nil
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno)); return
                }
                offset += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        if failure == nil, rename(temp, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temp)
            throw WriteError(path: path, reason: failure)
        }
    }

    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }
}

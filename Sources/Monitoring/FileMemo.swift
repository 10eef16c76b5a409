import Foundation

/// The contents of the last file of one kind this process wrote or read, with that file's stamp
/// (`FileStamp`): handed back instead of reading the file again while the file on disk is still
/// the one remembered. A monitor pass writes the data file, probes.h5 and findings.json that the
/// findings and the report then read (3-9 ms of HDF5 and JSON per pass). One entry, so a long run
/// keeps no more than one value alive per kind.
final class FileMemo<Value>: @unchecked Sendable {
    private let lock = NSLock()
    /// `stamp` nil while the file is still being written (`rememberWhileWriting`).
    private var entry: (path: String, stamp: FileStamp?, value: Value)?

    /// `value` is what reading the file now at `path` gives.
    func remember(_ value: Value, at path: String) {
        let stamp = FileStamp(path)
        lock.withLock { entry = stamp.size >= 0 ? (path, stamp, value) : nil }
    }

    /// `value` is what the file being written to `path` will give, until `remember` or `forget`.
    func rememberWhileWriting(_ value: Value, at path: String) {
        lock.withLock { entry = (path, nil, value) }
    }

    func forget(_ path: String) {
        lock.withLock { if entry?.path == path { entry = nil } }
    }

    func value(at path: String) -> Value? {
        lock.withLock { entry.flatMap { $0.path == path && ($0.stamp == nil || $0.stamp == FileStamp(path)) ? $0.value : nil } }
    }

    func isBeingWritten(_ path: String) -> Bool {
        lock.withLock { entry.map { $0.path == path && $0.stamp == nil } ?? false }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `stat(2)` says of a path (following symlinks), for the checks that need a size or a time.
///
/// Why not `FileManager.attributesOfItem`: it also resolves the owner's and the group's names,
/// which parses /etc/passwd and /etc/group (glibc's NSS) on every call. A monitor process made six
/// such calls before its first forward, two of them in the snapshot reader child.
public struct FileInfo: Equatable, Sendable {
    public let size: Int64
    public let inode: UInt64
    /// Last modification and last status change, in nanoseconds since the epoch.
    public let modified: Int64, changed: Int64
    public let isDirectory: Bool, isRegularFile: Bool

    /// Nil when `path` cannot be stat'ed (missing, or a directory on the way is not searchable).
    public init?(_ path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        size = Int64(info.st_size)
        inode = UInt64(info.st_ino)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
        isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        isRegularFile = (info.st_mode & S_IFMT) == S_IFREG
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libFuzzer's input as an array (libFuzzer may pass a null pointer for an empty input).
public func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// A per-process file holding the input, for readers that take a path (IDX, CIFAR, HDF5):
/// they are fuzzed through their real entry points, file opening included. It lives on tmpfs
/// (`/dev/shm`) when there is one, so millions of writes do not touch the disk.
public final class ScratchFile {
    public let path: String

    public init(suffix: String) {
        var info = stat()
        let directory = stat("/dev/shm", &info) == 0 ? "/dev/shm" : "/tmp"
        path = "\(directory)/deconvscope-fuzz-\(getpid())\(suffix)"
    }

    deinit { unlink(path) }

    /// Replaces the file's contents with `bytes`; a failure here is the harness's fault, so it traps.
    public func write(_ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "fuzz harness cannot create \(path)")
        defer { close(fd) }
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                precondition(n > 0, "fuzz harness cannot write \(path)")
                offset += n
            }
        }
    }
}

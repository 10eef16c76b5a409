import FuzzSupport
import Snapshots
import Datasets
import Layers

private let scratch = ScratchFile(suffix: ".h5")

/// Bytes -> snapshot reader -> network loading, the path of `inspect`, `monitor` and `--resume`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshot(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    scratch.write(fuzzBytes(data, size))
    if let snapshot = try? Snapshot.read(from: scratch.path) {
        _ = try? Network.load(snapshot: snapshot, path: scratch.path)
    }
    return 0
}

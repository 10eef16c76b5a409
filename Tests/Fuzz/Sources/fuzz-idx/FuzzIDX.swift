import FuzzSupport
import Datasets

// One scratch file for the whole run; the reader sniffs gzip (1f 8b) itself, so the corpus
// holds raw and gzip-compressed IDX files alike.
private let scratch = ScratchFile(suffix: ".idx")

/// Bytes -> IDX image and label readers (raw or gzip).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    scratch.write(fuzzBytes(data, size))
    _ = try? IDXReader.readImages(at: scratch.path)
    _ = try? IDXReader.readLabels(at: scratch.path)
    return 0
}

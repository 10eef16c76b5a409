import FuzzSupport
import Datasets

private let scratch = ScratchFile(suffix: ".bin")

/// Bytes -> CIFAR-10 batch reader and class-name list reader.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCIFAR(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    scratch.write(fuzzBytes(data, size))
    _ = try? CIFAR10Reader.readBatches(at: [scratch.path])
    _ = try? CIFAR10Reader.readClassNames(at: scratch.path)
    return 0
}

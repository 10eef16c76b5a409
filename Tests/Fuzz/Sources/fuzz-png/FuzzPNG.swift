import FuzzSupport
import ImageIO

/// Bytes -> PNG decoder (`PNGCodec.decode`, libpng's simplified API), the path every image-folder file takes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = try? PNGCodec.decode(fuzzBytes(data, size))
    return 0
}

import FuzzSupport
import Layers

/// Bytes -> model JSON decoder -> `Network(spec:)`, which validates the spec and allocates the
/// layers: the path of `train --model FILE.json` and of a snapshot's `architecture` attribute.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    if let spec = try? ModelSpec.decode(json: text) {
        _ = try? Network(spec: spec)
    }
    return 0
}

import Foundation
import FuzzSupport
import ONNXFormat

/// Bytes -> protobuf decoding -> chain import (every node, attribute and tensor check), the path of
/// `inspect X.onnx` and of `monitor` on a folder of ONNX files. What imports is exported and imported
/// again, so the exporter also meets every model shape the importer lets through.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if let imported = try? ONNXImporter.decode(Data(fuzzBytes(data, size)), source: "fuzz.onnx"),
       let exported = try? ONNXExporter.export(imported.model, parameters: imported.parameters, source: "fuzz") {
        _ = try? ONNXImporter.decode(exported, source: "fuzz-reexported.onnx")
    }
    return 0
}

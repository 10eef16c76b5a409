import Foundation
import ONNXProto
import Tensors

/// A constant of the graph (an initializer or a `Constant` node's value), decoded: float32 weights or
/// int64 shapes and axes, the two element types the supported ops take.
struct ConstantValue {
    /// Dimensions as stored (a scalar has none).
    var shape: [Int]
    var floats: [Float]?
    var ints: [Int64]?

    var count: Int { floats?.count ?? ints?.count ?? 0 }

    /// The float32 values as a tensor of `shape`.
    var tensor: Tensor? { floats.map { Tensor(shape: shape, data: $0) } }
}

/// ONNX `TensorProto.DataType` codes this module reads or writes.
enum ONNXElementType {
    static let float: Int32 = 1
    static let int64: Int32 = 7
    static let names: [Int32: String] = [
        0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64",
        8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 16: "BFLOAT16",
    ]
    static func name(_ code: Int32) -> String { names[code] ?? "type \(code)" }
}

extension ConstantValue {
    /// Largest element count of one constant (the protobuf format itself stops at 2 GiB per file).
    static let maxElements = 1 << 29

    /// Decodes a `TensorProto`, checking everything an untrusted file can get wrong: negative or
    /// overflowing dims, a value count that does not match them, element types other than float32/int64,
    /// data kept outside the file.
    init(_ proto: Onnx_TensorProto) throws {
        if proto.dataLocation == .external || !proto.externalData.isEmpty {
            throw ONNXProblem("its data is stored outside the .onnx file (external data); save the model as one file "
                              + "(onnx.save_model(model, path, save_as_external_data=False))")
        }
        guard proto.dims.allSatisfy({ $0 >= 0 && $0 <= Int64(Self.maxElements) }) else {
            throw ONNXProblem("invalid dims \(proto.dims)")
        }
        let shape = proto.dims.map { Int($0) }
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= Self.maxElements else { throw ONNXProblem("dims \(shape) hold too many values") }
            count = product
        }
        self.shape = shape
        switch proto.dataType {
        case ONNXElementType.float:
            if proto.hasRawData {
                floats = try Self.littleEndian(proto.rawData, count: count, width: 4) { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) }
            } else {
                guard proto.floatData.count == count else {
                    throw ONNXProblem("dims \(shape) need \(count) values but float_data holds \(proto.floatData.count)")
                }
                floats = proto.floatData
            }
        case ONNXElementType.int64:
            if proto.hasRawData {
                ints = try Self.littleEndian(proto.rawData, count: count, width: 8) { Int64(bitPattern: $0) }
            } else {
                guard proto.int64Data.count == count else {
                    throw ONNXProblem("dims \(shape) need \(count) values but int64_data holds \(proto.int64Data.count)")
                }
                ints = proto.int64Data
            }
        default:
            throw ONNXProblem("element type \(ONNXElementType.name(proto.dataType)) is not supported (only FLOAT weights and INT64 shapes)")
        }
    }

    /// Reads `count` little-endian words of `width` bytes (ONNX's raw_data layout on every platform).
    private static func littleEndian<T>(_ raw: Data, count: Int, width: Int, _ make: (UInt64) -> T) throws -> [T] {
        guard raw.count == count * width else {
            throw ONNXProblem("dims need \(count) values (\(count * width) bytes) but raw_data holds \(raw.count) bytes")
        }
        return raw.withUnsafeBytes { bytes in
            (0..<count).map { index in
                var word: UInt64 = 0
                for byte in 0..<width { word |= UInt64(bytes[index * width + byte]) << (8 * UInt64(byte)) }
                return make(word)
            }
        }
    }
}

extension Onnx_TensorProto {
    /// A float32 initializer in raw little-endian form (what PyTorch's exporter writes, and the compact one).
    init(name: String, floats tensor: Tensor) {
        self.init()
        self.name = name
        dims = tensor.shape.map { Int64($0) }
        dataType = ONNXElementType.float
        var bytes = [UInt8]()
        bytes.reserveCapacity(tensor.count * 4)
        for value in tensor.data {
            let bits = value.bitPattern
            for byte in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt32(byte)))) }
        }
        rawData = Data(bytes)
    }
}

import Foundation
import ONNXProto
import SwiftProtobuf
import Tensors

/// A network read from an ONNX file, in the project's own terms.
public struct ImportedModel: Sendable {
    /// The model JSON (architecture) of the public contract.
    public var model: ContractModel
    /// Layer name -> field name -> tensor, in PyTorch `state_dict` layouts: `weight`, `bias` for conv and
    /// linear; `weight`, `bias`, `running_mean`, `running_var` for batchnorm.
    public var parameters: [String: [String: Tensor]]
    /// True when the graph's batch axis is symbolic; false when it is fixed at 1.
    public var dynamicBatch: Bool
    /// What the import left out on purpose, one sentence each (e.g. a final Softmax: the monitor reads logits).
    public var notes: [String]

    /// The model JSON text, as a snapshot's `architecture` attribute holds it.
    public var architecture: String { model.json() }
}

/// Reads an ONNX model whose graph is a chain of supported ops (docs/onnx.md) into the model JSON and
/// named parameter tensors. Everything else is refused with one line that names the node, its op and what
/// is not supported. The file is untrusted: no input makes this trap.
public enum ONNXImporter {
    /// Protobuf's own limit for one message.
    public static let maxFileBytes = Int(Int32.max)
    /// The metadata_props key that carries the input normalization (`{"mean": [...], "std": [...]}`).
    public static let normalizationKey = "deconvscope.normalization"
    /// The oldest default-domain opset accepted (the op semantics this importer maps were settled by 11).
    public static let minimumOpset: Int64 = 11

    public static func read(path: String) throws -> ImportedModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw ONNXError(source: path, message: isDirectory.boolValue ? "is a directory, not an ONNX file" : "no such file")
        }
        if let size = FileInfo(path)?.size, size > maxFileBytes {
            throw ONNXError(source: path, message: "\(size) bytes is larger than protobuf's 2 GiB limit for an ONNX file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ONNXError(source: path, message: "cannot read the file (permission denied?)")
        }
        return try decode(data, source: path)
    }

    /// Imports the bytes of an ONNX file; `source` names it in errors.
    public static func decode(_ data: Data, source: String) throws -> ImportedModel {
        do {
            return try importModel(try parse(data))
        } catch let problem as ONNXProblem {
            throw ONNXError(source: source, message: problem.message)
        }
    }

    /// Bytes -> ModelProto. The generated decoder throws on truncated or malformed input; an input that
    /// decodes but has no graph (an empty file, most non-ONNX files) is refused here.
    static func parse(_ data: Data) throws -> Onnx_ModelProto {
        var options = BinaryDecodingOptions()
        options.discardUnknownFields = true
        let model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: data, options: options)
        } catch let error as BinaryDecodingError {
            throw ONNXProblem("not a readable ONNX file (protobuf decoding failed: \(describe(error)))")
        } catch {
            throw ONNXProblem("not a readable ONNX file (protobuf decoding failed: \(error))")
        }
        guard model.hasIrVersion, model.hasGraph else {
            throw ONNXProblem(data.isEmpty ? "the file is empty" : "not an ONNX model (no ir_version or graph)")
        }
        return model
    }

    private static func describe(_ error: BinaryDecodingError) -> String {
        switch error {
        case .truncated: return "the file is truncated"
        case .malformedProtobuf: return "malformed protobuf data"
        case .invalidUTF8: return "a string is not UTF-8"
        case .messageDepthLimit: return "messages nested too deeply"
        default: return "\(error)"
        }
    }

    static func importModel(_ model: Onnx_ModelProto) throws -> ImportedModel {
        let opsets = model.opsetImport.filter { $0.domain.isEmpty || $0.domain == "ai.onnx" }
        guard let opset = opsets.map(\.version).max() else {
            throw ONNXProblem("the model imports no default-domain opset")
        }
        guard opset >= minimumOpset else {
            throw ONNXProblem("opset \(opset) is not supported (opset \(minimumOpset) or later; re-export with opset_version=\(minimumOpset) or newer)")
        }
        let graph = model.graph
        let initializerNames = Set(graph.initializer.map(\.name))
        // IR < 4 also lists initializers as graph inputs; only the others are fed by the caller.
        let inputs = graph.input.filter { !initializerNames.contains($0.name) }
        guard inputs.count == 1 else {
            throw ONNXProblem("the graph has \(inputs.count) inputs (\(inputs.map { "\"\(NodeView.printable($0.name))\"" }.joined(separator: ", "))); only one image input is supported")
        }
        guard graph.output.count == 1 else {
            throw ONNXProblem("the graph has \(graph.output.count) outputs; only one (the logits) is supported")
        }
        let (input, dynamicBatch) = try inputShape(inputs[0])

        var chain = ChainImport(opset: opset, input: inputs[0].name, shape: input)
        for tensor in graph.initializer { chain.constants[tensor.name] = tensor }
        for (index, node) in graph.node.enumerated() {
            try chain.add(NodeView(node, index: index))
        }
        let classes = try chain.finish(output: graph.output[0])
        let normalization = try readNormalization(model.metadataProps, channels: input[0])
        return ImportedModel(model: ContractModel(input: input, classes: classes, normalization: normalization, layers: chain.layers),
                             parameters: chain.parameters, dynamicBatch: dynamicBatch, notes: chain.notes)
    }

    /// (C, H, W) of the NCHW float32 input, and whether its batch axis is symbolic.
    static func inputShape(_ input: Onnx_ValueInfoProto) throws -> ([Int], Bool) {
        let name = "the input \"\(NodeView.printable(input.name))\""
        guard case .tensorType(let type)? = input.type.value else { throw ONNXProblem("\(name) is not a tensor") }
        guard type.elemType == ONNXElementType.float else {
            throw ONNXProblem("\(name) has element type \(ONNXElementType.name(type.elemType)); only FLOAT (float32) images are supported")
        }
        let dims = type.shape.dim
        guard type.hasShape, dims.count == 4 else {
            throw ONNXProblem("\(name) has \(type.hasShape ? "\(dims.count) axes" : "no shape"); an NCHW image batch (4 axes) is needed")
        }
        var dynamicBatch = true
        if case .dimValue(let batch)? = dims[0].value {
            guard batch == 1 else { throw ONNXProblem("\(name) has a fixed batch of \(batch); only a batch of 1 or a dynamic batch is supported") }
            dynamicBatch = false
        }
        var chw: [Int] = []
        for (axis, dim) in dims.dropFirst().enumerated() {
            guard case .dimValue(let size)? = dim.value, size >= 1, size <= 1 << 16 else {
                throw ONNXProblem("\(name) axis \(["C", "H", "W"][axis]) has no fixed size between 1 and 65536; channels, height and width must be fixed")
            }
            chw.append(Int(size))
        }
        return (chw, dynamicBatch)
    }

    /// The normalization of metadata_props `deconvscope.normalization`, checked against the channels.
    static func readNormalization(_ properties: [Onnx_StringStringEntryProto], channels: Int) throws -> ContractNormalization? {
        guard let entry = properties.last(where: { $0.key == normalizationKey }) else { return nil }
        let where_ = "metadata_props \(normalizationKey)"
        guard let parsed = try? JSONDecoder().decode(ContractNormalization.self, from: Data(entry.value.utf8)) else {
            throw ONNXProblem("\(where_) is not JSON of the form {\"mean\": [...], \"std\": [...]}")
        }
        guard parsed.mean.count == channels, parsed.std.count == channels else {
            throw ONNXProblem("\(where_) has \(parsed.mean.count) means and \(parsed.std.count) stds; the input has \(channels) channels")
        }
        guard parsed.mean.allSatisfy(\.isFinite), parsed.std.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw ONNXProblem("\(where_) needs finite means and positive finite stds")
        }
        return parsed
    }
}

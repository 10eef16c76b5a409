import Foundation
import ONNXProto
import SwiftProtobuf
import Tensors

/// Writes a network (model JSON + named parameter tensors) as an ONNX model that Netron opens and
/// onnxruntime runs: opset 13, input `input` (batch, C, H, W) with a symbolic batch axis, output `logits`
/// (batch, classes), the normalization in metadata_props `deconvscope.normalization`.
///
/// Node names follow PyTorch's exporter (`/conv1/Conv`), so importing the file gives the same layer names.
public enum ONNXExporter {
    public static let opset: Int64 = 13
    /// IR version 8 (ONNX 1.10): opset 13 needs 7 or later, and every current onnxruntime reads it.
    public static let irVersion: Int64 = 8
    public static let inputName = "input"
    public static let outputName = "logits"

    /// The serialized ONNX model. `parameters` maps layer name -> field (`weight`, `bias`, `running_mean`,
    /// `running_var`) -> tensor in PyTorch layouts; `source` names the snapshot in errors.
    public static func export(architecture: String, parameters: [String: [String: Tensor]], source: String) throws -> Data {
        let model = try ContractModel.decode(json: architecture, source: source)
        return try export(model, parameters: parameters, source: source)
    }

    public static func export(_ model: ContractModel, parameters: [String: [String: Tensor]], source: String) throws -> Data {
        do {
            return try build(model, parameters: parameters).serializedData()
        } catch let problem as ONNXProblem {
            throw ONNXError(source: source, message: problem.message)
        }
    }

    static func build(_ model: ContractModel, parameters: [String: [String: Tensor]]) throws -> Onnx_ModelProto {
        guard model.input.count == 3, model.input.allSatisfy({ $0 >= 1 && $0 <= 1 << 20 }) else {
            throw ONNXProblem("input \(model.input) is not (C, H, W)")
        }
        var graph = Onnx_GraphProto()
        graph.name = "deconvscope"
        graph.input = [valueInfo(inputName, [nil] + model.input.map { Int64($0) })]
        var shape = model.input                      // per-sample shape of `current`
        var current = inputName
        var used = Set<String>()

        for (index, layer) in model.layers.enumerated() {
            let label = "layer \(index) (\(layer.name ?? layer.type))"
            // Named layers take PyTorch's node names; the others their index, which no layer name can collide with
            // in the ops they use (a named layer's node ends in Conv, Gemm or BatchNormalization).
            let scope = layer.name ?? "layers.\(index)"
            let output = index == model.layers.count - 1 ? outputName : "/\(scope)/output_\(index)"
            var node = Onnx_NodeProto()
            node.input = [current]
            node.output = [output]

            func tensor(_ field: String, _ expected: [Int]) throws -> String {
                guard let name = layer.name, let value = parameters[name]?[field] else {
                    throw ONNXProblem("\(label): no \(field) tensor for layer \(layer.name ?? "?")")
                }
                guard value.shape == expected else {
                    throw ONNXProblem("\(label): \(field) has shape \(value.shape), the architecture needs \(expected)")
                }
                let initializer = "\(name).\(field)"
                graph.initializer.append(Onnx_TensorProto(name: initializer, floats: value))
                node.input.append(initializer)
                return initializer
            }
            func needMaps() throws {
                guard shape.count == 3 else { throw ONNXProblem("\(label): \(layer.type) needs (C, H, W) input, got \(shape)") }
            }
            func window(kernel: Int?, stride: Int?, padding: Int?) throws -> SpatialWindow {
                let limit = 1 << 20
                guard let kernel, kernel >= 1, kernel <= limit else { throw ONNXProblem("\(label): missing or invalid \"kernel\"") }
                let w = SpatialWindow(kernel: kernel, stride: stride ?? 1, padding: padding ?? 0)
                guard (1...limit).contains(w.stride), (0...limit).contains(w.padding), shape[1] <= limit, shape[2] <= limit,
                      w.output(shape[1]) != nil, w.output(shape[2]) != nil else {
                    throw ONNXProblem("\(label): kernel \(kernel), stride \(w.stride), padding \(w.padding) do not fit the input \(shape)")
                }
                node.attribute += [ints("kernel_shape", [kernel, kernel]), ints("strides", [w.stride, w.stride]),
                                   ints("pads", [w.padding, w.padding, w.padding, w.padding])]
                return w
            }

            switch layer.type {
            case "conv":
                try needMaps()
                guard let out = layer.outChannels, out >= 1 else { throw ONNXProblem("\(label): missing \"out_channels\"") }
                node.opType = "Conv"
                let w = try window(kernel: layer.kernel, stride: layer.stride, padding: layer.padding)
                node.attribute += [ints("dilations", [1, 1]), int("group", 1)]
                _ = try tensor("weight", [out, shape[0], w.kernel, w.kernel])
                _ = try tensor("bias", [out])
                shape = [out, w.output(shape[1])!, w.output(shape[2])!]
            case "relu":
                node.opType = "Relu"
            case "maxpool", "avgpool":
                try needMaps()
                node.opType = layer.type == "maxpool" ? "MaxPool" : "AveragePool"
                // Both pools' stride defaults to the kernel in the model JSON (PyTorch's default).
                let w = try window(kernel: layer.kernel, stride: layer.stride ?? layer.kernel, padding: layer.padding)
                node.attribute.append(int("ceil_mode", 0))
                if layer.type == "avgpool" { node.attribute.append(int("count_include_pad", 1)) }
                shape = [shape[0], w.output(shape[1])!, w.output(shape[2])!]
            case "globalavgpool":
                try needMaps()
                node.opType = "GlobalAveragePool"
                shape = [shape[0], 1, 1]
            case "batchnorm":
                try needMaps()
                node.opType = "BatchNormalization"
                for field in ["weight", "bias", "running_mean", "running_var"] { _ = try tensor(field, [shape[0]]) }
                // ONNX's momentum weighs the running value, PyTorch's the batch value.
                node.attribute += [float("epsilon", layer.eps ?? 1e-5), float("momentum", 1 - (layer.momentum ?? 0.1))]
            case "lrn":
                try needMaps()
                let size = layer.size ?? 5
                guard size >= 1, size % 2 == 1 else {
                    throw ONNXProblem("\(label): lrn size \(size) cannot be exported: ONNX's LRN matches PyTorch's LocalResponseNorm only for an odd size")
                }
                node.opType = "LRN"
                node.attribute += [int("size", size), float("alpha", layer.alpha ?? 1e-4), float("beta", layer.beta ?? 0.75),
                                   float("bias", layer.k ?? 1)]
            case "flatten":
                node.opType = "Flatten"
                node.attribute.append(int("axis", 1))
                shape = [shape.reduce(1, *)]
            case "linear":
                guard shape.count == 1 else { throw ONNXProblem("\(label): linear needs flat input, got \(shape)") }
                guard let out = layer.outFeatures, out >= 1 else { throw ONNXProblem("\(label): missing \"out_features\"") }
                node.opType = "Gemm"
                node.attribute += [int("transB", 1), float("alpha", 1), float("beta", 1)]
                _ = try tensor("weight", [out, shape[0]])
                _ = try tensor("bias", [out])
                shape = [out]
            case "dropout":
                // Dropout(ratio) is the identity at inference; kept so Netron shows it and an import gives it back.
                node.opType = "Dropout"
                let ratio = "/\(scope)/ratio_\(index)"
                graph.initializer.append(Onnx_TensorProto(name: ratio, floats: Tensor(shape: [], data: [layer.rate ?? 0.5])))
                node.input.append(ratio)
            default:
                throw ONNXProblem("\(label): layer type \"\(layer.type)\" cannot be exported to ONNX")
            }
            node.name = "/\(scope)/\(node.opType)"
            if !used.insert(node.name).inserted { node.name += "_\(index)" }
            graph.node.append(node)
            current = output
        }
        guard !model.layers.isEmpty, shape == [model.classes] else {
            throw ONNXProblem("the layers end in shape \(shape), not (\(model.classes)) logits")
        }
        graph.output = [valueInfo(outputName, [nil, Int64(model.classes)])]

        var proto = Onnx_ModelProto()
        proto.irVersion = irVersion
        proto.producerName = "deconvscope"
        var opsetID = Onnx_OperatorSetIdProto()
        opsetID.domain = ""
        opsetID.version = opset
        proto.opsetImport = [opsetID]
        proto.graph = graph
        if let normalization = model.normalization {
            var entry = Onnx_StringStringEntryProto()
            entry.key = ONNXImporter.normalizationKey
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            guard let json = try? encoder.encode(normalization) else {
                throw ONNXProblem("the normalization \(normalization) is not finite numbers")
            }
            entry.value = String(decoding: json, as: UTF8.self)
            proto.metadataProps = [entry]
        }
        return proto
    }

    /// A float32 tensor value; a nil dimension is the symbolic batch axis.
    private static func valueInfo(_ name: String, _ dims: [Int64?]) -> Onnx_ValueInfoProto {
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = ONNXElementType.float
        tensorType.shape.dim = dims.map { size in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let size { dim.dimValue = size } else { dim.dimParam = "batch" }
            return dim
        }
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType = tensorType
        return info
    }

    private static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name; a.type = .int; a.i = Int64(value)
        return a
    }

    private static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name; a.type = .ints; a.ints = values.map { Int64($0) }
        return a
    }

    private static func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name; a.type = .float; a.f = value
        return a
    }
}

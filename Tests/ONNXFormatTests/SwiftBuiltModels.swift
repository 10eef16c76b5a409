import Foundation
import ONNXFormat
import ONNXProto
import SwiftProtobuf
import Tensors

/// Small valid ONNX models made in Swift (through the exporter), for tests that change one field to make
/// them invalid, with no Python involved.
enum SwiftBuiltModels {
    /// input (2, 4, 4) -> `convs` x (conv 1x1 -> relu) -> flatten -> linear 3. Nodes: conv, relu, conv, relu, ...
    static func chain(convs: Int) throws -> Onnx_ModelProto {
        var layers: [ContractLayer] = []
        var parameters: [String: [String: Tensor]] = [:]
        for index in 0..<convs {
            let name = "c\(index)"
            layers += [ContractLayer(type: "conv", name: name, outChannels: 2, kernel: 1, stride: 1, padding: 0), ContractLayer(type: "relu")]
            parameters[name] = ["weight": Tensor(shape: [2, 2, 1, 1], data: [1, 0.5, -0.5, 1]), "bias": Tensor(shape: [2], data: [0.1, -0.1])]
        }
        layers += [ContractLayer(type: "flatten"), ContractLayer(type: "linear", name: "fc", outFeatures: 3)]
        parameters["fc"] = ["weight": Tensor(shape: [3, 32], data: (0..<96).map { Float($0 % 7) / 7 }), "bias": Tensor(zeros: [3])]
        let model = ContractModel(input: [2, 4, 4], classes: 3, normalization: nil, layers: layers)
        return try Onnx_ModelProto(serializedBytes: try ONNXExporter.export(model, parameters: parameters, source: "chain"))
    }

    /// input (2, 4, 4) -> conv -> batchnorm -> lrn (size 3) -> flatten -> linear 3. Nodes: Conv, BatchNormalization, LRN, ...
    static func batchNormAndLRN() throws -> Onnx_ModelProto {
        let layers = [ContractLayer(type: "conv", name: "c", outChannels: 2, kernel: 1, stride: 1, padding: 0),
                      ContractLayer(type: "batchnorm", name: "bn", eps: 1e-5), ContractLayer(type: "lrn", size: 3),
                      ContractLayer(type: "flatten"), ContractLayer(type: "linear", name: "fc", outFeatures: 3)]
        let ones = Tensor(shape: [2], repeating: 1)
        let parameters = ["c": ["weight": Tensor(shape: [2, 2, 1, 1], data: [1, 0.5, -0.5, 1]), "bias": ones],
                          "bn": ["weight": ones, "bias": ones, "running_mean": ones, "running_var": ones],
                          "fc": ["weight": Tensor(shape: [3, 32], repeating: 0.25), "bias": Tensor(zeros: [3])]]
        let model = ContractModel(input: [2, 4, 4], classes: 3, normalization: nil, layers: layers)
        return try Onnx_ModelProto(serializedBytes: try ONNXExporter.export(model, parameters: parameters, source: "bn"))
    }

    /// Replaces (or adds) attribute `attribute.name` of node `index`.
    static func set(_ attribute: Onnx_AttributeProto, node index: Int, in model: inout Onnx_ModelProto) {
        model.graph.node[index].attribute.removeAll { $0.name == attribute.name }
        model.graph.node[index].attribute.append(attribute)
    }

    static func attribute(_ name: String, float: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name; a.type = .float; a.f = float
        return a
    }

    /// An attribute for a node built by hand.
    static func attribute(_ name: String, ints: [Int64]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name; a.type = .ints; a.ints = ints
        return a
    }

    static func attribute(_ name: String, int: Int64) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name; a.type = .int; a.i = int
        return a
    }
}

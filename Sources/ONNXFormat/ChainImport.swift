import ONNXProto
import Tensors

/// Walks the nodes of a chain graph in order and maps each onto model JSON layers and named tensors,
/// tracking the per-sample shape (C, H, W) or (F) of the value that flows from node to node.
///
/// ONNX requires nodes in topological order, so a chain is: every node but `Constant` takes exactly one
/// non-constant input, the previous node's output, and the last one writes the graph output.
struct ChainImport {
    let opset: Int64
    /// The value the next node must consume.
    private(set) var current: String
    /// Per-sample shape of `current`: (C, H, W) or (F).
    private(set) var shape: [Int]
    /// Initializers and `Constant` outputs by value name, decoded when a node uses them.
    var constants: [String: Onnx_TensorProto] = [:]
    private(set) var layers: [ContractLayer] = []
    private(set) var parameters: [String: [String: Tensor]] = [:]
    private(set) var notes: [String] = []
    private var names = LayerNames()
    private var previous = "the graph input"
    /// A MatMul just mapped to a linear layer, whose output an Add may give its bias.
    private var openMatMul: (name: String, features: Int)?
    /// Set by a Softmax: only `Constant` nodes may follow it.
    private var softmax: String?

    init(opset: Int64, input: String, shape: [Int]) {
        self.opset = opset
        self.current = input
        self.shape = shape
    }

    static let supportedOps = ["Conv", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean",
                               "BatchNormalization", "LRN", "Flatten", "Reshape", "Gemm", "MatMul", "Add",
                               "Dropout", "Identity", "Softmax", "Constant"]

    mutating func add(_ node: NodeView) throws {
        guard node.node.domain.isEmpty || node.node.domain == "ai.onnx" else {
            throw node.problem("ops of domain \"\(NodeView.printable(node.node.domain))\" are not supported (only the default ONNX domain)")
        }
        if node.op == "Constant" { return try addConstant(node) }
        let dataInputs = node.node.input.filter { !$0.isEmpty && constants[$0] == nil }
        if dataInputs.isEmpty {
            // Exporters put Identity nodes on shared weights; anything else on constants alone is unfolded arithmetic.
            if node.op == "Identity", let source = node.node.input.first, let value = constants[source], let output = node.node.output.first {
                constants[output] = value
                return
            }
            throw node.problem("computes on constants only, which is not supported; export with constant folding on (do_constant_folding=True)")
        }
        guard dataInputs == [current] else {
            let names = dataInputs.map { "\"\(NodeView.printable($0))\"" }.joined(separator: ", ")
            throw node.problem("is not part of a chain: it reads \(names), but the previous step (\(previous)) writes \"\(NodeView.printable(current))\"; branches, skip connections and several inputs are not supported")
        }
        if let softmax {
            throw node.problem("follows the Softmax \(softmax); a Softmax is supported only as the last node")
        }
        guard let output = node.node.output.first, !output.isEmpty else { throw node.problem("has no output") }
        if node.op != "Add", node.node.input.first != current {
            throw node.problem("takes the data as a later input, not as its first; not supported")
        }
        let pendingMatMul = openMatMul
        openMatMul = nil
        switch node.op {
        case "Conv": try conv(node)
        case "Relu": layers.append(ContractLayer(type: "relu"))
        case "MaxPool", "AveragePool": try pool(node)
        case "GlobalAveragePool": try globalAveragePool(node, keepDims: true)
        case "ReduceMean": try reduceMean(node)
        case "BatchNormalization": try batchNormalization(node)
        case "LRN": try localResponseNorm(node)
        case "Flatten": try flatten(node)
        case "Reshape": try reshape(node)
        case "Gemm": try gemm(node)
        case "MatMul": try matMul(node)
        case "Add": try addBias(node, to: pendingMatMul)
        case "Dropout": try dropout(node)
        case "Identity": break
        case "Softmax": try finalSoftmax(node)
        default:
            throw node.problem("op \(NodeView.printable(node.op)) is not supported (supported: \(Self.supportedOps.joined(separator: ", ")); see docs/onnx.md)")
        }
        current = output
        previous = node.label
    }

    /// Checks that the chain ends in the graph output with a (N, classes) shape; returns the class count.
    func finish(output: Onnx_ValueInfoProto) throws -> Int {
        let name = NodeView.printable(output.name)
        guard output.name == current else {
            throw ONNXProblem("the graph output \"\(name)\" is not the end of the chain (\(previous) writes \"\(NodeView.printable(current))\")")
        }
        guard layers.contains(where: { $0.type == "linear" }) || layers.contains(where: { $0.type == "conv" }) else {
            throw ONNXProblem("the graph has no Conv, Gemm or MatMul node; there is no network to monitor")
        }
        guard shape.count == 1 else {
            throw ONNXProblem("the graph output \"\(name)\" has per-image shape \(shape); a classifier's logits (N, classes) are needed")
        }
        if case .tensorType(let type)? = output.type.value, type.hasShape {
            let dims = type.shape.dim
            guard dims.count == 2 else {
                throw ONNXProblem("the graph output \"\(name)\" declares \(dims.count) axes; logits have 2 (N, classes)")
            }
            if case .dimValue(let classes)? = dims[1].value, classes != shape[0] {
                throw ONNXProblem("the graph output \"\(name)\" declares \(classes) classes but the chain computes \(shape[0])")
            }
        }
        return shape[0]
    }

    // MARK: - Constants

    private mutating func addConstant(_ node: NodeView) throws {
        guard let output = node.node.output.first, !output.isEmpty, let attribute = node.node.attribute.first else {
            throw node.problem("has no output or no value")
        }
        var tensor = Onnx_TensorProto()
        switch attribute.name {
        case "value": tensor = attribute.t
        case "value_float": tensor.dataType = ONNXElementType.float; tensor.floatData = [attribute.f]
        case "value_floats": tensor.dataType = ONNXElementType.float; tensor.floatData = attribute.floats; tensor.dims = [Int64(attribute.floats.count)]
        case "value_int": tensor.dataType = ONNXElementType.int64; tensor.int64Data = [attribute.i]
        case "value_ints": tensor.dataType = ONNXElementType.int64; tensor.int64Data = attribute.ints; tensor.dims = [Int64(attribute.ints.count)]
        default: throw node.problem("a Constant given as \(NodeView.printable(attribute.name)) is not supported (only tensors, floats and ints)")
        }
        constants[output] = tensor
    }

    /// The constant at input `index` of `node`, decoded; nil when the optional input is absent.
    private func constant(_ node: NodeView, _ index: Int, _ role: String, required: Bool = true) throws -> ConstantValue? {
        guard index < node.node.input.count, !node.node.input[index].isEmpty else {
            if required { throw node.problem("has no \(role) input") }
            return nil
        }
        let name = node.node.input[index]
        guard let proto = constants[name] else {
            throw node.problem("its \(role) \"\(NodeView.printable(name))\" is computed in the graph; only initializers and Constant nodes are supported")
        }
        do {
            return try ConstantValue(proto)
        } catch let problem as ONNXProblem {
            throw node.problem("its \(role) \"\(NodeView.printable(name))\": \(problem.message)")
        }
    }

    /// A float32 constant input as a tensor, with its element count checked.
    private func floats(_ node: NodeView, _ index: Int, _ role: String, count: Int? = nil) throws -> Tensor {
        guard let value = try constant(node, index, role), let tensor = value.tensor else {
            throw node.problem("its \(role) is not float32")
        }
        if let count, tensor.count != count {
            throw node.problem("its \(role) has shape \(tensor.shape), \(count) values are needed")
        }
        return tensor
    }

    private func needMaps(_ node: NodeView) throws {
        guard shape.count == 3 else {
            throw node.problem("needs (C, H, W) feature maps but gets flat features \(shape); only 2-D NCHW networks are supported")
        }
    }

    private func needFlat(_ node: NodeView) throws {
        guard shape.count == 1 else {
            throw node.problem("needs flat features but gets (C, H, W) = \(shape); put a Flatten before it")
        }
    }

    // MARK: - Ops

    private mutating func conv(_ node: NodeView) throws {
        try needMaps(node)
        try node.require("group", default: 1, in: [1], "only group 1; grouped and depthwise convolutions are not")
        let weight = try floats(node, 1, "weight")
        guard weight.rank == 4, weight.shape[1] == shape[0], weight.shape[0] >= 1 else {
            throw node.problem("its weight has shape \(weight.shape); (out_channels, \(shape[0]), kh, kw) is needed")
        }
        let out = weight.shape[0]
        let window = try SpatialWindow.read(node, height: shape[1], width: shape[2], weightKernel: Array(weight.shape[2...]))
        let bias = try constant(node, 2, "bias", required: false) == nil
            ? Tensor(zeros: [out]) : try floats(node, 2, "bias", count: out).reshaped([out])
        let name = names.name(node: node.node.name, op: node.op, kind: "conv")
        layers.append(ContractLayer(type: "conv", name: name, outChannels: out, kernel: window.kernel,
                                    stride: window.stride, padding: window.padding))
        parameters[name] = ["weight": weight, "bias": bias]
        shape = [out, window.output(shape[1])!, window.output(shape[2])!]
        // Later flattens multiply these; a hostile file must not overflow them.
        guard shape.reduce(1.0, { $0 * Double($1) }) <= Double(Self.maxValuesPerImage) else {
            throw node.problem("its output \(shape) holds more than \(Self.maxValuesPerImage) values per image")
        }
    }

    /// Largest activation of one image the importer accepts (far beyond any network the monitor can run).
    static let maxValuesPerImage = 1 << 40

    /// A float attribute that the model JSON will hold: JSON has no NaN or infinity.
    private func finite(_ node: NodeView, _ name: String, default value: Float) throws -> Float {
        let x = try node.float(name, default: value)
        guard x.isFinite else { throw node.problem("\(name) \(x) is not a finite number") }
        return x
    }

    private mutating func pool(_ node: NodeView) throws {
        try needMaps(node)
        try node.require("ceil_mode", default: 0, in: [0], "only 0, PyTorch's default")
        let window = try SpatialWindow.read(node, height: shape[1], width: shape[2])
        guard window.padding * 2 <= window.kernel else {
            throw node.problem("padding \(window.padding) is more than half the kernel \(window.kernel), which PyTorch's pooling (the model JSON's) does not allow")
        }
        let type: String
        if node.op == "MaxPool" {
            type = "maxpool"
        } else {
            // The model JSON's avgpool divides by the whole kernel (PyTorch's count_include_pad=True); ONNX's
            // default count_include_pad=0 divides by the unpadded part, which differs only where there is padding.
            let includePad = try node.int("count_include_pad", default: 0)
            if window.padding > 0 && includePad == 0 {
                throw node.problem("count_include_pad 0 with padding \(window.padding) is not supported (the avgpool layer counts the padding, as PyTorch's AvgPool2d(count_include_pad=True))")
            }
            type = "avgpool"
        }
        layers.append(ContractLayer(type: type, kernel: window.kernel, stride: window.stride, padding: window.padding))
        shape = [shape[0], window.output(shape[1])!, window.output(shape[2])!]
    }

    private mutating func globalAveragePool(_ node: NodeView, keepDims: Bool) throws {
        try needMaps(node)
        layers.append(ContractLayer(type: "globalavgpool"))
        shape = [shape[0], 1, 1]
        if !keepDims {
            layers.append(ContractLayer(type: "flatten"))
            shape = [shape[0]]
        }
    }

    /// ReduceMean over H and W is global average pooling; keepdims 0 also flattens.
    private mutating func reduceMean(_ node: NodeView) throws {
        try needMaps(node)
        // Opset 18 moved axes from an attribute to an optional second input.
        let axes = opset >= 18 ? try constant(node, 1, "axes", required: false).map { $0.ints ?? [] } : try node.ints("axes")
        guard let axes, Set(axes.map { $0 < 0 ? $0 + 4 : $0 }) == [2, 3], axes.count == 2 else {
            throw node.problem("axes \(axes.map { "\($0)" } ?? "(all)") are not supported (only [2, 3], the mean over height and width)")
        }
        let keepDims = try node.int("keepdims", default: 1)
        try globalAveragePool(node, keepDims: keepDims != 0)
    }

    private mutating func batchNormalization(_ node: NodeView) throws {
        guard shape.count == 3 else {
            throw node.problem("normalizes flat features \(shape) (BatchNorm1d); only BatchNorm2d on conv feature maps is supported")
        }
        try node.require("training_mode", default: 0, in: [0], "only inference: export the model in eval mode")
        let channels = shape[0]
        let tensors = try ["weight", "bias", "running_mean", "running_var"].enumerated().map { index, field in
            (field, try floats(node, index + 1, field == "weight" ? "scale" : field, count: channels).reshaped([channels]))
        }
        let name = names.name(node: node.node.name, op: node.op, kind: "bn")
        let eps = try finite(node, "epsilon", default: 1e-5)
        guard eps >= 0 else { throw node.problem("epsilon \(eps) is negative") }
        layers.append(ContractLayer(type: "batchnorm", name: name, eps: eps))
        parameters[name] = Dictionary(uniqueKeysWithValues: tensors)
    }

    /// ONNX's LRN and PyTorch's LocalResponseNorm both divide alpha by size; their channel windows agree
    /// only for an odd size (for an even one ONNX reaches one channel further up, PyTorch one further down).
    private mutating func localResponseNorm(_ node: NodeView) throws {
        try needMaps(node)
        guard let size = try node.attribute("size").map({ _ in try node.int("size", default: 0) }) else {
            throw node.problem("has no size attribute")
        }
        guard size >= 1, size <= 1 << 16, size % 2 == 1 else {
            throw node.problem("size \(size) is not supported (an odd size; for an even one ONNX's channel window differs from PyTorch's LocalResponseNorm)")
        }
        layers.append(ContractLayer(type: "lrn", size: Int(size), alpha: try finite(node, "alpha", default: 1e-4),
                                    beta: try finite(node, "beta", default: 0.75), k: try finite(node, "bias", default: 1)))
    }

    private mutating func flatten(_ node: NodeView) throws {
        let axis = try node.int("axis", default: 1)
        guard axis == 1 || axis == -Int64(shape.count) else {
            throw node.problem("axis \(axis) is not supported (only 1, keeping the batch axis)")
        }
        appendFlatten()
    }

    private mutating func appendFlatten() {
        guard shape.count == 3 else { return }   // already (N, F): a no-op
        layers.append(ContractLayer(type: "flatten"))
        shape = [shape.reduce(1, *)]
    }

    /// Reshape to (N, -1), (1, -1), (0, -1) or (-1, C*H*W) is a flatten.
    private mutating func reshape(_ node: NodeView) throws {
        guard let target = try constant(node, 1, "shape")?.ints else { throw node.problem("its shape is not INT64") }
        let features = shape.reduce(1, *)
        let allowZero = try node.int("allowzero", default: 0) != 0
        let batchKept = target.count == 2 && ((target[0] == 0 && !allowZero) || target[0] == 1 || (target[0] == -1 && target[1] == features))
        guard batchKept, target[1] == -1 || target[1] == Int64(features) else {
            throw node.problem("reshape to \(target) is not supported (only to (N, -1), a flatten of the \(shape) features)")
        }
        appendFlatten()
    }

    private mutating func gemm(_ node: NodeView) throws {
        try needFlat(node)
        try node.require("transA", default: 0, in: [0], "only 0")
        guard try node.float("alpha", default: 1) == 1, try node.float("beta", default: 1) == 1 else {
            throw node.problem("alpha and beta other than 1 are not supported")
        }
        let b = try floats(node, 1, "weight B")
        let transB = try node.int("transB", default: 0) != 0
        guard b.rank == 2, b.shape[transB ? 1 : 0] == shape[0] else {
            throw node.problem("its weight B has shape \(b.shape) (transB \(transB ? 1 : 0)); the input has \(shape[0]) features")
        }
        let weight = transB ? b : transposed(b)          // (out_features, in_features)
        let out = weight.shape[0]
        var bias = Tensor(zeros: [out])
        if let c = try constant(node, 2, "bias C", required: false) {
            guard let values = c.floats, values.count == out || values.count == 1, c.shape.count <= 2 else {
                throw node.problem("its bias C has shape \(c.shape); (\(out)) is needed")
            }
            bias = Tensor(shape: [out], data: values.count == out ? values : [Float](repeating: values[0], count: out))
        }
        appendLinear(node, weight: weight, bias: bias)
    }

    /// MatMul by a constant (in, out) matrix: a linear layer, whose bias a following Add supplies.
    private mutating func matMul(_ node: NodeView) throws {
        try needFlat(node)
        let b = try floats(node, 1, "weight")
        guard b.rank == 2, b.shape[0] == shape[0] else {
            throw node.problem("its weight has shape \(b.shape); (\(shape[0]), out_features) is needed")
        }
        let name = appendLinear(node, weight: transposed(b), bias: Tensor(zeros: [b.shape[1]]))
        openMatMul = (name, b.shape[1])
    }

    private mutating func addBias(_ node: NodeView, to matMul: (name: String, features: Int)?) throws {
        guard let matMul else {
            throw node.problem("an Add is supported only as the bias right after a MatMul (skip connections are not supported)")
        }
        let constantIndex = node.node.input.firstIndex { constants[$0] != nil }
        guard node.node.input.count == 2, let constantIndex else { throw node.problem("needs a constant bias input") }
        guard let c = try constant(node, constantIndex, "bias"), let values = c.floats,
              values.count == matMul.features || values.count == 1, c.shape.count <= 2 else {
            throw node.problem("its bias is not float32 of shape (\(matMul.features))")
        }
        let bias = values.count == matMul.features ? values : [Float](repeating: values[0], count: matMul.features)
        parameters[matMul.name]?["bias"] = Tensor(shape: [matMul.features], data: bias)
    }

    @discardableResult
    private mutating func appendLinear(_ node: NodeView, weight: Tensor, bias: Tensor) -> String {
        let name = names.name(node: node.node.name, op: node.op, kind: "linear")
        layers.append(ContractLayer(type: "linear", name: name, outFeatures: weight.shape[0]))
        parameters[name] = ["weight": weight, "bias": bias]
        shape = [weight.shape[0]]
        return name
    }

    private mutating func dropout(_ node: NodeView) throws {
        var rate: Float = 0.5
        if opset >= 12 {
            if let ratio = try constant(node, 1, "ratio", required: false) {
                guard let value = ratio.floats, value.count == 1 else { throw node.problem("its ratio is not one float32") }
                rate = value[0]
            }
            if node.node.input.count > 2, !node.node.input[2].isEmpty {
                guard let mode = constants[node.node.input[2]], Self.isFalse(mode) else {
                    throw node.problem("training_mode must be a constant false (an exported model in eval mode)")
                }
            }
        } else {
            rate = try node.float("ratio", default: 0.5)
        }
        guard rate >= 0, rate < 1 else { throw node.problem("ratio \(rate) is not in [0, 1)") }
        layers.append(ContractLayer(type: "dropout", rate: rate))
    }

    /// A BOOL (or int) scalar constant that holds zero.
    private static func isFalse(_ proto: Onnx_TensorProto) -> Bool {
        if proto.hasRawData { return proto.rawData.count <= 8 && proto.rawData.allSatisfy { $0 == 0 } }
        return (proto.int32Data + proto.int64Data.map { Int32(truncatingIfNeeded: $0) }).allSatisfy { $0 == 0 }
    }

    private mutating func finalSoftmax(_ node: NodeView) throws {
        try needFlat(node)
        let axis = try node.int("axis", default: opset >= 13 ? -1 : 1)
        guard axis == 1 || axis == -1 else { throw node.problem("axis \(axis) is not the class axis") }
        softmax = node.label
        notes.append("the final Softmax (\(node.label)) is left out: the monitor reads the logits before it")
    }

    /// (rows, cols) -> (cols, rows).
    private func transposed(_ matrix: Tensor) -> Tensor {
        let rows = matrix.shape[0], cols = matrix.shape[1]
        var data = [Float](repeating: 0, count: matrix.count)
        for r in 0..<rows { for c in 0..<cols { data[c * rows + r] = matrix.data[r * cols + c] } }
        return Tensor(shape: [cols, rows], data: data)
    }
}

import Foundation
import TestSupport
import XCTest

/// The Python side of the ONNX tests: builds networks with the `onnx` package (numpy random weights, seed 22)
/// and runs them in onnxruntime, an engine that shares no code with ours. Embedded here so the test target
/// has no resource files; `make test` installs onnx and onnxruntime (the Makefile's pydeps).
let onnxFixturesScript = #"""
# Builds the ONNX test networks with the onnx package and numpy random weights, and runs onnxruntime.
#   build CASE DIR      -> DIR/model.onnx, DIR/input.bin (float32 NCHW), DIR/logits.bin (onnxruntime, before any
#                          final Softmax), DIR/case.json {"input": [N, C, H, W], "classes": K},
#                          DIR/initializers.json {name: flat values} (the initializers, not Constant nodes)
#   run MODEL INPUT.bin N C H W OUT.bin  -> onnxruntime logits of MODEL (after onnx.checker.check_model)
import json, sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import onnxruntime as ort

rng = np.random.default_rng(22)

def rand(*shape, scale=0.3):
    return (rng.standard_normal(shape) * scale).astype(np.float32)

class Graph:
    def __init__(self, c, h, w, batch):
        self.nodes, self.inits = [], []
        self.current, self.count = "x", 0
        self.input = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, c, h, w])
        self.batch, self.chw = batch, (c, h, w)

    def const(self, name, array, as_node=False):
        if as_node:
            self.nodes.append(helper.make_node("Constant", [], [name], value=numpy_helper.from_array(array, name)))
        else:
            self.inits.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type, name, extra_inputs=(), data_index=0, **attrs):
        self.count += 1
        out = f"{name or op_type}_out{self.count}"
        inputs = list(extra_inputs)
        inputs.insert(data_index, self.current)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=name, **attrs))
        self.current = out
        return out

    def model(self, classes, opset, metadata=None, drop_last=False):
        nodes = self.nodes[:-1] if drop_last else self.nodes
        out = nodes[-1].output[0]
        batch = self.batch if isinstance(self.batch, int) else "N"
        output = helper.make_tensor_value_info(out, TensorProto.FLOAT, [batch, classes])
        graph = helper.make_graph(nodes, "test", [self.input], [output], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="fixtures")
        if metadata:
            helper.set_model_props(model, metadata)
        return model

def current_kinds_dynamic():
    # Conv (explicit pads) Relu MaxPool Conv (auto_pad SAME_UPPER, no bias) Relu MaxPool Flatten Gemm(transB=1)
    # Relu Dropout(ratio input) Gemm(transB=0) Softmax; dynamic batch, opset 17.
    g = Graph(3, 12, 12, "N")
    g.op("Conv", "/conv1/Conv", [g.const("w1", rand(4, 3, 3, 3)), g.const("b1", rand(4))], pads=[1, 1, 1, 1], strides=[1, 1], kernel_shape=[3, 3])
    g.op("Relu", "/relu1/Relu")
    g.op("MaxPool", "/pool1/MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    g.op("Conv", "/features/features.3/Conv", [g.const("w2", rand(6, 4, 3, 3))], auto_pad="SAME_UPPER")
    g.op("Relu", "/relu2/Relu")
    g.op("MaxPool", "/pool2/MaxPool", kernel_shape=[2, 2], strides=[2, 2])
    g.op("Flatten", "/flatten/Flatten", axis=1)
    g.op("Gemm", "/fc1/Gemm", [g.const("w3", rand(16, 6 * 3 * 3)), g.const("b3", rand(16))], transB=1)
    g.op("Relu", "/relu3/Relu")
    g.op("Dropout", "/drop/Dropout", [g.const("ratio", np.array(0.25, dtype=np.float32))])
    g.op("Gemm", "/fc2/Gemm", [g.const("w4", rand(16, 5)), g.const("b4", rand(5))], transB=0)
    g.op("Softmax", "/softmax/Softmax", axis=-1)
    return g, 5, 17, {"deconvscope.normalization": json.dumps({"mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3]})}

def current_kinds_fixed():
    # Fixed batch 1, opset 11: weights as Constant nodes, Conv auto_pad VALID with stride 2, Reshape to (1, -1),
    # MatMul + Add (bias first), Identity, Dropout with its opset-11 ratio attribute.
    g = Graph(1, 11, 11, 1)
    g.op("Conv", "/conv_a/Conv", [g.const("cw", rand(3, 1, 3, 3), as_node=True), g.const("cb", rand(3), as_node=True)], auto_pad="VALID", strides=[2, 2])
    g.op("Relu", "")
    g.op("Identity", "/id/Identity")
    g.op("Reshape", "/Reshape", [g.const("shape", np.array([1, -1], dtype=np.int64), as_node=True)])
    g.op("MatMul", "/head/MatMul", [g.const("mw", rand(3 * 5 * 5, 4))])
    g.op("Add", "/head/Add", [g.const("mb", rand(4))], data_index=1)
    g.op("Dropout", "/d/Dropout", ratio=0.5)
    return g, 4, 11, None

def new_kinds(folded):
    # Conv BatchNormalization Relu AveragePool(pads, count_include_pad 1) LRN(size 3) Conv GlobalAveragePool
    # Flatten Gemm; folded=True folds the BatchNorm into the first Conv, as torch.onnx.export does by default.
    g = Graph(2, 10, 10, "N")
    w, b = rand(5, 2, 3, 3), rand(5)
    scale, shift, mean, var, eps = rand(5) + 1, rand(5), rand(5), (rng.random(5) + 0.5).astype(np.float32), 1e-3
    if folded:
        factor = scale / np.sqrt(var + eps)
        g.op("Conv", "/block1/conv/Conv", [g.const("w1", (w * factor[:, None, None, None]).astype(np.float32)),
                                           g.const("b1", ((b - mean) * factor + shift).astype(np.float32))], pads=[1, 1, 1, 1])
    else:
        g.op("Conv", "/block1/conv/Conv", [g.const("w1", w), g.const("b1", b)], pads=[1, 1, 1, 1])
        g.op("BatchNormalization", "/block1/bn/BatchNormalization",
             [g.const("s", scale), g.const("t", shift), g.const("m", mean), g.const("v", var)], epsilon=eps, momentum=0.9)
    g.op("Relu", "/block1/relu/Relu")
    g.op("AveragePool", "/block1/pool/AveragePool", kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)
    g.op("LRN", "/block1/lrn/LRN", size=3, alpha=2e-4, beta=0.7, bias=1.5)
    g.op("Conv", "/block2/conv/Conv", [g.const("w2", rand(4, 5, 3, 3)), g.const("b2", rand(4))], pads=[1, 1, 1, 1])
    g.op("GlobalAveragePool", "/gap/GlobalAveragePool")
    g.op("Flatten", "/flatten/Flatten")
    g.op("Gemm", "/fc/Gemm", [g.const("fw", rand(3, 4)), g.const("fb", rand(3))], transB=1)
    return g, 3, 13, None

def reduce_mean(opset):
    # ReduceMean over (2, 3): keepdims 0 with opset 18's axes input, keepdims 1 + Flatten with opset 13's attribute.
    g = Graph(2, 6, 6, "N")
    g.op("Conv", "/c/Conv", [g.const("w", rand(3, 2, 3, 3)), g.const("b", rand(3))])
    if opset >= 18:
        g.op("ReduceMean", "/mean/ReduceMean", [g.const("axes", np.array([-1, -2], dtype=np.int64))], keepdims=0)
    else:
        g.op("ReduceMean", "/mean/ReduceMean", axes=[2, 3])
        g.op("Flatten", "/f/Flatten")
    g.op("Gemm", "/fc/Gemm", [g.const("fw", rand(2, 3)), g.const("fb", rand(2))], transB=1)
    return g, 2, opset, None

def unsupported_op():
    g = Graph(1, 6, 6, "N")
    g.op("Conv", "/c/Conv", [g.const("w", rand(2, 1, 3, 3))])
    g.op("Sigmoid", "/act/Sigmoid")
    g.op("Flatten", "/f/Flatten")
    g.op("Gemm", "/fc/Gemm", [g.const("fw", rand(2, 32))], transB=1)
    return g, 2, 13, None

def avgpool_excluding_pad():
    g = Graph(1, 6, 6, "N")
    g.op("Conv", "/c/Conv", [g.const("w", rand(2, 1, 3, 3))], pads=[1, 1, 1, 1])
    g.op("AveragePool", "/p/AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    g.op("Flatten", "/f/Flatten")
    g.op("Gemm", "/fc/Gemm", [g.const("fw", rand(2, 18))], transB=1)
    return g, 2, 13, None

def skip_connection():
    g = Graph(1, 6, 6, "N")
    x = g.op("Conv", "/c1/Conv", [g.const("w", rand(2, 1, 3, 3))], pads=[1, 1, 1, 1])
    g.op("Relu", "/r/Relu")
    g.nodes.append(helper.make_node("Add", [g.current, x], ["sum"], name="/res/Add"))
    g.current = "sum"
    g.op("Flatten", "/f/Flatten")
    g.op("Gemm", "/fc/Gemm", [g.const("fw", rand(2, 72))], transB=1)
    return g, 2, 13, None

def fixed_batch_four():
    g = Graph(1, 4, 4, 4)
    g.op("Flatten", "/f/Flatten")
    g.op("Gemm", "/fc/Gemm", [g.const("fw", rand(2, 16))], transB=1)
    return g, 2, 13, None

CASES = {
    "current_dynamic": current_kinds_dynamic, "current_fixed": current_kinds_fixed,
    "bn_unfolded": lambda: new_kinds(False), "bn_folded": lambda: new_kinds(True),
    "reducemean18": lambda: reduce_mean(18), "reducemean13": lambda: reduce_mean(13),
    "unsupported_op": unsupported_op, "avgpool_excluding_pad": avgpool_excluding_pad,
    "skip_connection": skip_connection, "fixed_batch_four": fixed_batch_four,
}

def run(path, x):
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0].astype(np.float32)

if sys.argv[1] == "build":
    case, out = sys.argv[2], sys.argv[3]
    g, classes, opset, metadata = CASES[case]()
    model = g.model(classes, opset, metadata)
    onnx.save(model, f"{out}/model.onnx")
    batch = g.batch if isinstance(g.batch, int) else 3
    x = rng.standard_normal((batch,) + g.chw).astype(np.float32)
    x.tofile(f"{out}/input.bin")
    json.dump({"input": list(x.shape), "classes": classes}, open(f"{out}/case.json", "w"))
    json.dump({t.name: numpy_helper.to_array(t).ravel().tolist() for t in g.inits}, open(f"{out}/initializers.json", "w"))
    if case not in ("unsupported_op", "skip_connection", "fixed_batch_four"):
        # The logits: the graph without its final Softmax, if it has one.
        logits_model = g.model(classes, opset, metadata, drop_last=g.nodes[-1].op_type == "Softmax")
        onnx.save(logits_model, f"{out}/logits.onnx")
        run(f"{out}/logits.onnx", x).tofile(f"{out}/logits.bin")
elif sys.argv[1] == "run":
    model, inp, n, c, h, w, out = sys.argv[2], sys.argv[3], *map(int, sys.argv[4:8]), sys.argv[8]
    run(model, np.fromfile(inp, dtype=np.float32).reshape(n, c, h, w)).tofile(out)
"""#

/// One network built by the fixtures script: the model file, its input batch and onnxruntime's logits
/// (before a final Softmax), when the case computes any.
struct ONNXFixture {
    var directory: String
    var model: String { directory + "/model.onnx" }
    var input: [Int]
    var classes: Int
    var inputValues: [Float]
    var logits: [Float]?

    /// The values of the fixture's initializer `name`, flattened, as the onnx package wrote them.
    func initializer(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/initializers.json"))
        let all = try JSONDecoder().decode([String: [Double]].self, from: data)
        return try XCTUnwrap(all[name], "no initializer \(name)").map { Float($0) }
    }
}

/// A fresh directory per test, removed afterwards.
func makeTemporaryDirectory(_ testCase: XCTestCase) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ONNXFormatTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
}

/// Runs the fixtures script with `arguments`; skips when onnx or onnxruntime is missing, fails when the script does.
func runFixturesScript(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
    let probe = try runProcess("/usr/bin/env", ["python3", "-c", "import onnx, onnxruntime, numpy"])
    if probe.status != 0 {
        throw XCTSkip("onnx and onnxruntime are not importable by python3 (make test installs them): \(probe.stderr.suffix(200))")
    }
    let result = try runProcess("/usr/bin/env", ["python3", "-c", onnxFixturesScript] + arguments)
    guard result.status == 0 else {
        XCTFail("fixtures script \(arguments) failed:\n\(result.stderr)", file: file, line: line)
        throw XCTSkip("fixtures script failed")
    }
}

func buildFixture(_ name: String, in testCase: XCTestCase) throws -> ONNXFixture {
    let directory = try makeTemporaryDirectory(testCase) + "/" + name
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try runFixturesScript(["build", name, directory])
    struct Case: Decodable { var input: [Int]; var classes: Int }
    let info = try JSONDecoder().decode(Case.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/case.json")))
    let logitsPath = directory + "/logits.bin"
    return ONNXFixture(directory: directory, input: info.input, classes: info.classes,
                       inputValues: try readFloats(directory + "/input.bin"),
                       logits: FileManager.default.fileExists(atPath: logitsPath) ? try readFloats(logitsPath) : nil)
}

/// onnxruntime's logits for `model` on `input` (N, C, H, W); the script also runs onnx.checker on the model.
func onnxruntimeLogits(model: String, input: [Float], shape: [Int], in directory: String) throws -> [Float] {
    let inputPath = directory + "/ort-input-\(UUID().uuidString).bin", outputPath = inputPath + ".logits"
    try writeFloats(input, to: inputPath)
    try runFixturesScript(["run", model, inputPath] + shape.map(String.init) + [outputPath])
    return try readFloats(outputPath)
}

func readFloats(_ path: String) throws -> [Float] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return data.withUnsafeBytes { raw in
        (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
    }
}

func writeFloats(_ values: [Float], to path: String) throws {
    var bytes = [UInt8]()
    for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Largest absolute difference, and a failure when it exceeds `tolerance` or the counts differ.
func assertClose(_ a: [Float], _ b: [Float], tolerance: Float, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "value counts differ \(message)", file: file, line: line)
    let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(worst, tolerance, "largest difference \(worst) \(message): \(a.prefix(8)) vs \(b.prefix(8))", file: file, line: line)
}


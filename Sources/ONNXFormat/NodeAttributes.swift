import Foundation
import ONNXProto

/// One node of the graph with typed access to its attributes. Every failure names the node and its op.
struct NodeView {
    let node: Onnx_NodeProto

    var op: String { node.opType }
    /// How errors name the node: `node "/conv1/Conv" (Conv)`, or its position when it has no name.
    let label: String

    init(_ node: Onnx_NodeProto, index: Int) {
        self.node = node
        let name = node.name.isEmpty ? "#\(index) (unnamed)" : "\"\(Self.printable(node.name))\""
        label = "node \(name) (\(Self.printable(node.opType)))"
    }

    /// A node's name or op type as printed in a one-line error: control characters and long names are cut.
    static func printable(_ text: String) -> String {
        let cleaned = String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
        return cleaned.count > 120 ? String(cleaned.prefix(120)) + "..." : cleaned
    }

    /// "node X (Op): message" as an error.
    func problem(_ message: String) -> ONNXProblem { ONNXProblem("\(label): \(message)") }

    func attribute(_ name: String) -> Onnx_AttributeProto? { node.attribute.first { $0.name == name } }

    private func check(_ attribute: Onnx_AttributeProto, is expected: Onnx_AttributeProto.AttributeType) throws {
        guard attribute.type == expected || attribute.type == .undefined else {
            throw problem("attribute \(attribute.name) should be of type \(expected) but is \(attribute.type)")
        }
    }

    func int(_ name: String, default value: Int64) throws -> Int64 {
        guard let a = attribute(name) else { return value }
        try check(a, is: .int)
        return a.i
    }

    func ints(_ name: String) throws -> [Int64]? {
        guard let a = attribute(name) else { return nil }
        try check(a, is: .ints)
        return a.ints
    }

    func float(_ name: String, default value: Float) throws -> Float {
        guard let a = attribute(name) else { return value }
        try check(a, is: .float)
        return a.f
    }

    func string(_ name: String, default value: String) throws -> String {
        guard let a = attribute(name) else { return value }
        try check(a, is: .string)
        return String(decoding: a.s, as: UTF8.self)
    }

    /// Fails unless the integer attribute holds one of `allowed` (its default when absent).
    func require(_ name: String, default value: Int64, in allowed: Set<Int64>, _ why: String) throws {
        let actual = try int(name, default: value)
        guard allowed.contains(actual) else { throw problem("\(name) \(actual) is not supported (\(why))") }
    }
}

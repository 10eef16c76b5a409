/// Why an ONNX file cannot be imported, or a model cannot be exported: one line that names the file and,
/// when one node is at fault, that node and its op (`node "/conv1/Conv" (Conv): group 2 is not supported`).
public struct ONNXError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file (or "model" for an export), as the user named it.
    public var source: String
    public var message: String

    public init(source: String, message: String) {
        self.source = source
        self.message = message
    }

    public var description: String { "\(source): \(message)" }
}

/// An error found while reading one part of a file, before the file's name is known to the code that
/// finds it; the importer prefixes the source. Internal: callers only ever see `ONNXError`.
struct ONNXProblem: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

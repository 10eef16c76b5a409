import Foundation
import Tensors

/// Per-channel input normalization, `(pixel - mean) / std` after scaling pixels to [0, 1].
public struct Normalization: Codable, Equatable, Sendable {
    public var mean: [Float]
    public var std: [Float]
    public init(mean: [Float], std: [Float]) { self.mean = mean; self.std = std }
}

/// One entry of the model JSON's `layers` array: its `type` and the other keys as written.
/// Which keys a type takes, and what they mean, is its layer kind's business (`LayerKind`); the
/// typed accessors below only read them.
public struct LayerSpec: Codable, Equatable, Sendable {
    public var type: String
    /// Every key but `type`.
    public var values: [String: JSONValue]

    public init(type: String, values: [String: JSONValue] = [:]) {
        self.type = type
        self.values = values
    }

    /// The keys of the contract's common kinds, set where given.
    public init(type: String, name: String? = nil, outChannels: Int? = nil, kernel: Int? = nil, stride: Int? = nil,
                padding: Int? = nil, outFeatures: Int? = nil, rate: Float? = nil) {
        var values: [String: JSONValue] = [:]
        if let name { values["name"] = .string(name) }
        for (key, value) in [("out_channels", outChannels), ("kernel", kernel), ("stride", stride), ("padding", padding),
                             ("out_features", outFeatures)] {
            if let value { values[key] = .int(value) }
        }
        if let rate { values["rate"] = .number(rate) }
        self.init(type: type, values: values)
    }

    public var name: String? { if case .string(let s)? = values["name"] { return s } else { return nil } }
    /// An integer key, nil when absent or not an integer.
    public func int(_ key: String) -> Int? {
        switch values[key] {
        case .int(let i)?: return i
        case .double(let d)? where d.rounded() == d && abs(d) < 1e15: return Int(d)
        default: return nil
        }
    }
    public func float(_ key: String) -> Float? { values[key]?.number.map(Float.init) }
    public var kernel: Int? { int("kernel") }
    public var stride: Int? { int("stride") }
    public var padding: Int? { int("padding") }
    public var outChannels: Int? { int("out_channels") }
    public var outFeatures: Int? { int("out_features") }
    public var rate: Float? { float("rate") }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        type = try c.decode(String.self, forKey: Key(stringValue: "type"))
        var values: [String: JSONValue] = [:]
        for key in c.allKeys where key.stringValue != "type" { values[key.stringValue] = try c.decode(JSONValue.self, forKey: key) }
        self.values = values
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(type, forKey: Key(stringValue: "type"))
        for (key, value) in values { try c.encode(value, forKey: Key(stringValue: key)) }
    }

    public static func conv(_ name: String, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0) -> LayerSpec {
        LayerSpec(type: "conv", name: name, outChannels: outChannels, kernel: kernel, stride: stride, padding: padding)
    }
    public static func maxpool(kernel: Int, stride: Int, padding: Int = 0) -> LayerSpec {
        LayerSpec(type: "maxpool", kernel: kernel, stride: stride, padding: padding)
    }
    public static func linear(_ name: String, _ outFeatures: Int) -> LayerSpec {
        LayerSpec(type: "linear", name: name, outFeatures: outFeatures)
    }
    public static let relu = LayerSpec(type: "relu")
    public static let flatten = LayerSpec(type: "flatten")
    public static func dropout(_ rate: Float) -> LayerSpec { LayerSpec(type: "dropout", rate: rate) }
}

/// The model JSON of the public contract: input shape (C, H, W), class count, normalization
/// and the layer stack. `Network(spec:)` validates it.
public struct ModelSpec: Codable, Equatable, Sendable {
    public var input: [Int]
    public var classes: Int
    public var normalization: Normalization?
    public var layers: [LayerSpec]

    public init(input: [Int], classes: Int, normalization: Normalization?, layers: [LayerSpec]) {
        self.input = input; self.classes = classes; self.normalization = normalization; self.layers = layers
    }

    public static func decode(json: String, source: String = "model JSON") throws -> ModelSpec {
        do {
            return try JSONDecoder().decode(ModelSpec.self, from: Data(json.utf8))
        } catch let error as DecodingError {
            throw ModelError(source: source, message: describe(error))
        }
    }

    /// Largest model JSON file accepted (a model is a few hundred bytes; this stops `--model /dev/zero`
    /// or a multi-gigabyte file given by mistake from being read into memory whole).
    public static let maxFileBytes = 1 << 24

    public static func load(path: String) throws -> ModelSpec {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelError(source: path, message: "no such file")
        }
        let info = FileInfo(path)
        guard !isDirectory.boolValue, info?.isRegularFile == true else {
            throw ModelError(source: path, message: "not a regular file; expected a model JSON file")
        }
        if let size = info.map({ Int($0.size) }), size > maxFileBytes {
            throw ModelError(source: path, message: "\(size) bytes is larger than the \(maxFileBytes)-byte limit for a model JSON file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError(source: path, message: "cannot read the file (permission denied?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ModelError(source: path, message: "not UTF-8 text")
        }
        return try decode(json: text, source: path)
    }

    /// Canonical JSON (sorted keys), as stored in snapshots' `architecture` attribute.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case .keyNotFound(let key, let ctx): return "missing key \"\(key.stringValue)\" at \(path(ctx.codingPath).isEmpty ? "top level" : path(ctx.codingPath))"
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx): return "wrong type at \(path(ctx.codingPath)): \(ctx.debugDescription)"
        case .dataCorrupted(let ctx): return "invalid JSON\(ctx.codingPath.isEmpty ? "" : " at " + path(ctx.codingPath)): \(ctx.underlyingError.map { "\($0.localizedDescription)" } ?? ctx.debugDescription)"
        @unknown default: return "invalid model JSON"
        }
    }
}

/// A model that cannot be built; the message names the layer and the shapes involved.
public struct ModelError: Error, CustomStringConvertible, Equatable {
    public var source: String
    public var message: String
    public init(source: String = "model", message: String) { self.source = source; self.message = message }
    public var description: String { "\(source): \(message)" }
}

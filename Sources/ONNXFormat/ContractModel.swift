import Foundation

/// Per-channel input normalization of the model JSON: `(pixel - mean) / std`, pixels scaled to [0, 1].
public struct ContractNormalization: Codable, Equatable, Sendable {
    public var mean: [Float]
    public var std: [Float]
    public init(mean: [Float], std: [Float]) { self.mean = mean; self.std = std }
}

/// One entry of the model JSON's `layers` array, with every key of the public contract's layer kinds
/// (conv, relu, maxpool, avgpool, globalavgpool, batchnorm, lrn, flatten, linear, dropout).
///
/// Held here rather than taken from `Layers` so the ONNX code depends only on the contract (the JSON text),
/// not on how the layer system is built. Absent keys are omitted when encoded, so a layer encodes as the
/// contract writes it.
public struct ContractLayer: Codable, Equatable, Sendable {
    public var type: String
    public var name: String?
    public var outChannels: Int?
    public var kernel: Int?
    public var stride: Int?
    public var padding: Int?
    public var outFeatures: Int?
    public var rate: Float?
    public var eps: Float?
    public var momentum: Float?
    public var size: Int?
    public var alpha: Float?
    public var beta: Float?
    public var k: Float?

    enum CodingKeys: String, CodingKey {
        case type, name, kernel, stride, padding, rate, eps, momentum, size, alpha, beta, k
        case outChannels = "out_channels"
        case outFeatures = "out_features"
    }

    public init(type: String, name: String? = nil, outChannels: Int? = nil, kernel: Int? = nil, stride: Int? = nil,
                padding: Int? = nil, outFeatures: Int? = nil, rate: Float? = nil, eps: Float? = nil,
                momentum: Float? = nil, size: Int? = nil, alpha: Float? = nil, beta: Float? = nil, k: Float? = nil) {
        self.type = type; self.name = name; self.outChannels = outChannels; self.kernel = kernel
        self.stride = stride; self.padding = padding; self.outFeatures = outFeatures; self.rate = rate
        self.eps = eps; self.momentum = momentum; self.size = size; self.alpha = alpha; self.beta = beta; self.k = k
    }
}

/// The model JSON of the public contract: input (C, H, W), class count, optional normalization, layers.
public struct ContractModel: Codable, Equatable, Sendable {
    public var input: [Int]
    public var classes: Int
    public var normalization: ContractNormalization?
    public var layers: [ContractLayer]

    public init(input: [Int], classes: Int, normalization: ContractNormalization?, layers: [ContractLayer]) {
        self.input = input; self.classes = classes; self.normalization = normalization; self.layers = layers
    }

    /// Canonical JSON text (sorted keys), the form snapshots store in their `architecture` attribute.
    /// Every float must be finite (JSON has no NaN): the importer checks the ones it reads from a file.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    /// Reads model JSON text; unknown keys are ignored (the layer system may carry more than export needs).
    public static func decode(json: String, source: String) throws -> ContractModel {
        do {
            return try JSONDecoder().decode(ContractModel.self, from: Data(json.utf8))
        } catch let error as DecodingError {
            throw ONNXError(source: source, message: "the model JSON cannot be read: \(describe(error))")
        } catch {
            throw ONNXError(source: source, message: "the model JSON cannot be read: \(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            let text = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "top level" : text
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing key \"\(key.stringValue)\" at \(path(context.codingPath))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "wrong type at \(path(context.codingPath))"
        case .dataCorrupted(let context): return "invalid JSON at \(path(context.codingPath))"
        @unknown default: return "invalid JSON"
        }
    }
}

import Tensors

/// A kind of layer as the model JSON names it. Each layer class conforms in its own file and says
/// there everything about itself: its `type`, its keys and their validation, how it is built for
/// an input shape (hence its output shape and parameters), and, through `Layer`, its
/// initialization, forward and backward with the deconvnet rule, receptive geometry and crop,
/// conv-block membership and description. `LayerKinds.all` lists the kinds; nothing else in the
/// project switches on a `type` string.
public protocol LayerKind: Layer {
    /// The model JSON `type`.
    static var type: String { get }
    /// The keys this kind reads besides `type`; any other key is refused as a likely typo.
    static var keys: [String] { get }
    /// The layer for per-sample input `input`, from `spec`, whose keys it validates through `context`.
    static func build(_ spec: LayerSpec, input: [Int], context: inout LayerBuildContext) throws -> Self
}

/// Every layer kind a model JSON may use. Adding a kind: its file under Sources/Layers, and its
/// type here (docs/layer-kinds.md).
public enum LayerKinds {
    public static let all: [any LayerKind.Type] = [
        Conv2D.self, ReLU.self, MaxPool2D.self, Flatten.self, Linear.self, Dropout.self,
        BatchNorm2D.self, AvgPool2D.self, GlobalAvgPool2D.self, LocalResponseNorm.self,
    ]

    public static func kind(named type: String) -> (any LayerKind.Type)? { all.first { $0.type == type } }
}

/// What `Network(spec:)` checks across layers while a kind builds one: key validation with
/// messages that name the layer, unique names, and the model's size limits.
public struct LayerBuildContext {
    let source: String
    /// "layer 3 (conv2)": how messages name the layer being built.
    public let label: String
    let spec: LayerSpec
    var names: Set<String>
    var parameters: Int

    public func fail(_ message: String) -> ModelError { ModelError(source: source, message: "\(label): \(message)") }

    /// An integer key, required (`default` nil) or defaulted, at least `min` and at most the size limit.
    public func int(_ key: String, default fallback: Int? = nil, min: Int) throws -> Int {
        guard let raw = spec.values[key] else {
            guard let fallback else { throw fail("missing \"\(key)\"") }
            return fallback
        }
        guard let v = spec.int(key) else { throw fail("\"\(key)\" must be an integer, got \(raw.text)") }
        guard v >= min else { throw fail("\"\(key)\" must be at least \(min), got \(v)") }
        guard v <= ModelLimits.maxSize else { throw fail("\"\(key)\" must be at most \(ModelLimits.maxSize), got \(v)") }
        return v
    }

    /// A number key, defaulted, within `range`.
    public func float(_ key: String, default fallback: Float, in range: ClosedRange<Float>, open: Bool = false) throws -> Float {
        guard let raw = spec.values[key] else { return fallback }
        guard let v = spec.float(key), v.isFinite else { throw fail("\"\(key)\" must be a number, got \(raw.text)") }
        guard range.contains(v), !(open && v == range.upperBound) else {
            throw fail("\"\(key)\" must be in [\(range.lowerBound), \(range.upperBound)\(open ? ")" : "]"), got \(v)")
        }
        return v
    }

    /// The layer's `name`, required, well formed and unused so far.
    public mutating func uniqueName() throws -> String {
        guard let n = spec.name, !n.isEmpty else { throw fail("a \(spec.type) layer needs a \"name\"") }
        guard SafeNames.isSafe(n) else {
            throw fail("name \"\(n)\" may only use letters, digits, '_', '.', '-'")
        }
        guard names.insert(n).inserted else { throw fail("the name \"\(n)\" is used twice") }
        return n
    }

    /// An input of (C, H, W), or the error naming what this kind needs.
    public func planes(_ input: [Int]) throws -> (channels: Int, height: Int, width: Int) {
        guard input.count == 3 else { throw fail("\(spec.type) needs a (C, H, W) input, got \(input) (after a flatten?)") }
        return (input[0], input[1], input[2])
    }

    /// A pooling layer's `kernel`, `stride` (= kernel) and `padding` (0), with PyTorch's rule that
    /// padding is at most half the kernel (every window then holds an input element).
    public func poolingWindow() throws -> WindowGeometry {
        let k = try int("kernel", min: 1)
        let window = WindowGeometry(kernel: k, stride: try int("stride", default: k, min: 1), padding: try int("padding", default: 0, min: 0))
        guard window.padding * 2 <= window.kernel else {
            throw fail("padding \(window.padding) must be at most half the kernel \(window.kernel) (as in PyTorch)")
        }
        return window
    }

    /// The error for a sliding window larger than its padded (C, H, W) input.
    public func windowTooLarge(_ window: WindowGeometry, input: [Int]) -> ModelError {
        fail("kernel \(window.kernel) is larger than its padded input \(input[1] + 2 * window.padding)x\(input[2] + 2 * window.padding) (input \(input))")
    }

    /// Counts `shapes` of new parameters against the model's limit before they are allocated.
    public mutating func addParameters(_ shapes: [[Int]]) throws {
        for shape in shapes {
            let count = ModelLimits.product(shape, limit: ModelLimits.maxParameters)
            let (total, overflow) = (count ?? 0).addingReportingOverflow(parameters)
            guard count != nil, !overflow, total <= ModelLimits.maxParameters else {
                throw fail("weights \(shape) take the model past \(ModelLimits.maxParameters) parameters")
            }
            parameters = total
        }
    }
}

import Foundation

extension LayerKind {
    public var kind: String { Self.type }
}

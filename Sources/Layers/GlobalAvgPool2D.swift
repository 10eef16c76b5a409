import Tensors

/// Global average pooling, PyTorch's `AdaptiveAvgPool2d(1)`: each (H, W) plane becomes its mean,
/// output (C, 1, 1). Linear, so its backward under every rule is its transpose: each output's
/// gradient divided by H*W, spread over its whole plane. It keeps no forward state.
public final class GlobalAvgPool2D: Layer {
    public let channels: Int, height: Int, width: Int

    public init(shape: [Int]) {
        precondition(shape.count == 3)
        (channels, height, width) = (shape[0], shape[1], shape[2])
    }

    public var inputShape: [Int] { [channels, height, width] }
    public var outputShape: [Int] { [channels, 1, 1] }

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let n = x.shape[0], plane = height * width
        precondition(Array(x.shape.dropFirst()) == inputShape, "globalavgpool expects \(inputShape), got \(x.shape)")
        let scale = 1 / Float(plane)
        return Tensor(uninitialized: [n, channels, 1, 1]) { op in
            x.data.withUnsafeBufferPointer { xp in
                let (xb, ob) = (xp.baseAddress!, op.baseAddress!)
                parallelRanges(n * channels, minimum: 64) { planes in
                    for p in planes {
                        let src = xb + p * plane
                        var sum: Float = 0
                        for i in 0..<plane { sum += src[i] }
                        ob[p] = sum * scale
                    }
                }
            }
        }
    }

    public func backward(_ dy: Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) -> Tensor {
        let n = dy.shape[0], plane = height * width
        precondition(Array(dy.shape.dropFirst()) == outputShape, "globalavgpool backward expects \(outputShape), got \(dy.shape)")
        let scale = 1 / Float(plane)
        return Tensor(uninitialized: [n] + inputShape) { xp in
            dy.data.withUnsafeBufferPointer { dp in
                let (db, xb) = (dp.baseAddress!, xp.baseAddress!)
                parallelRanges(n * channels, minimum: 64) { planes in
                    for p in planes { (xb + p * plane).update(repeating: db[p] * scale, count: plane) }
                }
            }
        }
    }

    /// Every output sees its whole input plane, wherever the window above sits.
    public func inputSpan(rows: ClosedRange<Int>, cols: ClosedRange<Int>) -> (rows: ClosedRange<Int>, cols: ClosedRange<Int>) {
        (0...(height - 1), 0...(width - 1))
    }

    /// Its receptive window is the whole plane, so the restricted layer is a copy of it.
    public func cropped(toOutput output: (height: Int, width: Int)) -> (any Layer)? {
        precondition(output == (1, 1), "globalavgpool has a 1x1 output, asked for a \(output.height)x\(output.width) window")
        return GlobalAvgPool2D(shape: inputShape)
    }
}

extension GlobalAvgPool2D: LayerKind {
    public static let type = "globalavgpool"
    public static let keys: [String] = []

    public static func build(_ spec: LayerSpec, input: [Int], context: inout LayerBuildContext) throws -> GlobalAvgPool2D {
        _ = try context.planes(input)
        return GlobalAvgPool2D(shape: input)
    }

    public var summary: String { "mean of each \(height)x\(width) plane" }
}

import Tensors

/// Rectified linear unit, `y = max(x, 0)`. Its backward is where the `BackwardRule`s differ.
public final class ReLU: Layer {
    public let kind = "relu"
    public let inputShape: [Int]
    private var savedOutput = Tensor(zeros: [0])

    public init(shape: [Int]) { inputShape = shape }
    public var outputShape: [Int] { inputShape }

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        // A select rather than a branch, so the loop vectorizes; NaN maps to 0 like `> 0` did.
        let y = Tensor(uninitialized: x.shape) { out in
            x.data.withUnsafeBufferPointer { p in
                for i in 0..<p.count { out[i] = p[i] > 0 ? p[i] : 0 }
            }
        }
        savedOutput = y
        return y
    }

    public func backward(_ dy: Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) -> Tensor {
        // The deconvnet rule ignores the forward pass, so it needs no saved output.
        if rule == .deconvnet {
            var dx = dy
            dx.data.withUnsafeMutableBufferPointer { d in for i in 0..<d.count { d[i] = d[i] > 0 ? d[i] : 0 } }
            return dx
        }
        precondition(dy.shape == savedOutput.shape, "relu backward expects \(savedOutput.shape), got \(dy.shape)")
        var dx = dy
        savedOutput.data.withUnsafeBufferPointer { y in
            dx.data.withUnsafeMutableBufferPointer { d in
                switch rule {
                case .gradient:
                    for i in 0..<d.count { d[i] = y[i] > 0 ? d[i] : 0 }
                case .deconvnet:
                    break  // handled above
                case .guided:
                    for i in 0..<d.count { d[i] = (y[i] > 0 && d[i] > 0) ? d[i] : 0 }
                }
            }
        }
        return dx
    }
}

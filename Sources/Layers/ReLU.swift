import Tensors

/// Rectified linear unit, `y = max(x, 0)`. Its backward is where the `BackwardRule`s differ.
public final class ReLU: Layer {
    public let kind = "relu"
    public let inputShape: [Int]
    private var savedOutput = Tensor(zeros: [0])

    public init(shape: [Int]) { inputShape = shape }
    public var outputShape: [Int] { inputShape }

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let y = Self.rectified(x)
        savedOutput = y
        return y
    }

    /// Writes a fresh tensor rather than copying `dy` and masking it in place: `dy` is still
    /// referenced by the caller, so an in-place edit would first copy it (measured: 13 ms of a
    /// 128-image step at conv1's ReLU).
    public func backward(_ dy: Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) -> Tensor {
        // The deconvnet rule rectifies the signal going down, the forward's own map: it ignores
        // the forward pass, so it needs no saved output.
        if rule == .deconvnet { return Self.rectified(dy) }
        precondition(dy.shape == savedOutput.shape, "relu backward expects \(savedOutput.shape), got \(dy.shape)")
        let guided = rule == .guided
        return Tensor(uninitialized: dy.shape) { dx in
            savedOutput.data.withUnsafeBufferPointer { yp in
            dy.data.withUnsafeBufferPointer { dp in
                let (y, d, out) = (yp.baseAddress!, dp.baseAddress!, dx.baseAddress!)
                if guided {
                    parallelRanges(dp.count) { range in for i in range { out[i] = (y[i] > 0 && d[i] > 0) ? d[i] : 0 } }
                } else {
                    parallelRanges(dp.count) { range in for i in range { out[i] = y[i] > 0 ? d[i] : 0 } }
                }
            } }
        }
    }

    /// `max(v, 0)` of every value, into a fresh tensor. A select rather than a branch, so the loop
    /// vectorizes; NaN maps to 0.
    private static func rectified(_ t: Tensor) -> Tensor {
        Tensor(uninitialized: t.shape) { out in
            t.data.withUnsafeBufferPointer { p in
                let (src, dst) = (p.baseAddress!, out.baseAddress!)
                parallelRanges(p.count) { range in for i in range { dst[i] = src[i] > 0 ? src[i] : 0 } }
            }
        }
    }
}

import Tensors

/// Rectified linear unit, `y = max(x, 0)`. Its backward is where the `BackwardRule`s differ.
public final class ReLU: Layer {
    public let inputShape: [Int]
    private var savedOutput = Tensor(zeros: [0])
    /// The last forward's output, which its gradient backward masks by.
    public var output: Tensor { savedOutput }

    public init(shape: [Int]) { inputShape = shape }
    public var outputShape: [Int] { inputShape }

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        var y = x
        forward(inPlace: &y, mode: mode)
        return y
    }

    /// Rectifies `x` where it is; the output kept for `backward` shares its storage.
    public func forward(inPlace x: inout Tensor, mode: ForwardMode) {
        // Released first, so an unshared `x` is rectified where it is.
        savedOutput = .nothingKept
        Self.rectify(&x)
        if mode.keepsBackwardState { savedOutput = x }
    }

    /// The forward of an input its producer already rectified (`Conv2D.forward(_:mode:rectified:)`):
    /// only keeps it for `backward`, where `forward(inPlace:)` would make a second pass over it.
    public func forward(alreadyRectified y: Tensor, mode: ForwardMode) {
        savedOutput = mode.keepsBackwardState ? y : .nothingKept
    }

    public func backward(inPlace dy: inout Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) {
        if rule == .deconvnet { Self.rectify(&dy); return }
        precondition(dy.shape == savedOutput.shape, "relu backward expects \(savedOutput.shape), got \(dy.shape)")
        let guided = rule == .guided
        savedOutput.data.withUnsafeBufferPointer { yp in
        dy.data.withUnsafeMutableBufferPointer { dp in
            let (y, d) = (yp.baseAddress!, dp.baseAddress!)
            if guided {
                parallelRanges(dp.count) { range in for i in range { d[i] = (y[i] > 0 && d[i] > 0) ? d[i] : 0 } }
            } else {
                parallelRanges(dp.count) { range in for i in range { d[i] = y[i] > 0 ? d[i] : 0 } }
            }
        } }
    }

    public func backward(_ dy: Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) -> Tensor {
        var dx = dy
        backward(inPlace: &dx, rule: rule, accumulateParameterGradients: accumulateParameterGradients)
        return dx
    }

    /// `max(v, 0)` of every value, in place, on all cores. Forward and the deconvnet rule share
    /// it: the deconvnet rectifies the signal going down with the forward's own map.
    private static func rectify(_ t: inout Tensor) {
        t.data.withUnsafeMutableBufferPointer { p in
            let v = p.baseAddress!
            parallelRanges(p.count) { range in Tensors.rectify(v + range.lowerBound, count: range.count) }
        }
    }
}

extension ReLU: LayerKind {
    public static let type = "relu"
    public static let keys: [String] = []
    public static func build(_ spec: LayerSpec, input: [Int], context: inout LayerBuildContext) throws -> ReLU { ReLU(shape: input) }
    public var blockRole: BlockRole { .member }
    /// He et al.: a ReLU halves the variance it passes on, so the layer before it starts with twice the variance.
    public var initializationVarianceGain: Float? { 2 }
}

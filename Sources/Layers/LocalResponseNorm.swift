import Foundation
import Tensors

/// Local response normalization across channels, PyTorch's `LocalResponseNorm` (Krizhevsky et
/// al.; Zeiler & Fergus's networks use it):
///
///     b_c = a_c / D_c^beta,  D_c = k + alpha / size * sum_{c' = c - size/2}^{c + (size-1)/2} a_{c'}^2
///
/// the sum clipped to the channels (PyTorch pads size/2 channels before and (size-1)/2 after with
/// zeros and average-pools with divisor `size`). It is not linear: its backward under every rule,
/// the deconvnet's too (as autograd-based tools such as Captum do), is its true gradient
///
///     dx_j = dy_j D_j^-beta - 2 alpha beta / size * a_j * sum_{c : j in window(c)} dy_c a_c D_c^(-beta-1)
///
/// which reads the forward's input: a projection through it needs that image's forward
/// (`deconvnetNeedsForwardState`), so it has no `ReceptiveCrop` window.
public final class LocalResponseNorm: Layer {
    public let channels: Int, height: Int, width: Int
    public let size: Int, alpha: Float, beta: Float, k: Float

    /// Saved by the last forward for `backward`, all (N, C, H, W): its input a, D, and D^-beta.
    private var savedInput = Tensor(zeros: [0])
    private var savedBase = Tensor(zeros: [0])
    private var savedScale = Tensor(zeros: [0])

    public init(shape: [Int], size: Int, alpha: Float, beta: Float, k: Float) {
        precondition(shape.count == 3 && size >= 1)
        (channels, height, width) = (shape[0], shape[1], shape[2])
        (self.size, self.alpha, self.beta, self.k) = (size, alpha, beta, k)
    }

    public var inputShape: [Int] { [channels, height, width] }
    public var outputShape: [Int] { inputShape }

    /// The channels whose squares normalize channel `c`.
    @inline(__always)
    private func window(of c: Int) -> ClosedRange<Int> { max(0, c - size / 2)...min(channels - 1, c + (size - 1) / 2) }
    /// The channels whose windows hold channel `j`: the transpose of `window(of:)`.
    @inline(__always)
    private func normalized(by j: Int) -> ClosedRange<Int> { max(0, j - (size - 1) / 2)...min(channels - 1, j + size / 2) }


    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let n = x.shape[0], plane = height * width, c = channels
        precondition(Array(x.shape.dropFirst()) == inputShape, "lrn expects \(inputShape), got \(x.shape)")
        // Locals, not properties: stores through the buffers could alias this object for all the
        // optimizer knows, which made it reload them per element and kept the loop scalar.
        let (coefficient, k, beta) = (alpha / Float(size), k, beta)
        var base = Tensor(uninitialized: x.shape) { _ in }    // every plane is written below
        var scale = Tensor(uninitialized: x.shape) { _ in }
        let y = Tensor(uninitialized: x.shape) { yp in
            x.data.withUnsafeBufferPointer { xp in
            base.data.withUnsafeMutableBufferPointer { bp in
            scale.data.withUnsafeMutableBufferPointer { sp in
                let (xb, bb, sb, yb) = (xp.baseAddress!, bp.baseAddress!, sp.baseAddress!, yp.baseAddress!)
                // One (image, channel) plane per task: the planes of one image are read by
                // `size` tasks each, all of them written by one.
                parallelFor(n * c) { p in
                    let image = xb + (p / c) * c * plane, d = bb + p * plane
                    d.update(repeating: 0, count: plane)
                    for other in window(of: p % c) {
                        let a = image + other * plane
                        for i in 0..<plane { d[i] += a[i] * a[i] }
                    }
                    let a = xb + p * plane, s = sb + p * plane, out = yb + p * plane
                    for i in 0..<plane { d[i] = k + coefficient * d[i] }
                    if beta == 0.75 {
                        // PyTorch's default: D^-0.75 as two square roots, eight lanes at a time, where
                        // `pow` is a call per element (the scalar loop did not vectorize either).
                        var i = 0
                        while i + 8 <= plane {
                            let r = UnsafeRawPointer(d + i).loadUnaligned(as: SIMD8<Float>.self).squareRoot()
                            UnsafeMutableRawPointer(s + i).storeBytes(of: 1 / (r * r.squareRoot()), as: SIMD8<Float>.self)
                            i += 8
                        }
                        while i < plane { let r = d[i].squareRoot(); s[i] = 1 / (r * r.squareRoot()); i += 1 }
                    } else {
                        for i in 0..<plane { s[i] = pow(d[i], -beta) }
                    }
                    for i in 0..<plane { out[i] = a[i] * s[i] }
                }
            } } }
        }
        (savedInput, savedBase, savedScale) = mode.keepsBackwardState ? (x, base, scale) : (.nothingKept, .nothingKept, .nothingKept)
        return y
    }

    public func backward(_ dy: Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) -> Tensor {
        let n = dy.shape[0], plane = height * width, c = channels
        precondition(dy.shape == savedInput.shape && Array(dy.shape.dropFirst()) == inputShape,
                     "lrn backward needs the forward of its batch: got \(dy.shape), forward \(savedInput.shape)")
        let coefficient = 2 * alpha * beta / Float(size)
        // t_c = dy_c a_c D_c^(-beta-1), (N, C, H, W), then each dx_j sums the t of the channels it normalizes.
        var t = Tensor(uninitialized: dy.shape) { _ in }
        dy.data.withUnsafeBufferPointer { dp in
        savedInput.data.withUnsafeBufferPointer { ap in
        savedBase.data.withUnsafeBufferPointer { bp in
        savedScale.data.withUnsafeBufferPointer { sp in
        t.data.withUnsafeMutableBufferPointer { tp in
            let (db, ab, bb, sb, tb) = (dp.baseAddress!, ap.baseAddress!, bp.baseAddress!, sp.baseAddress!, tp.baseAddress!)
            parallelRanges(dp.count, minimum: 1 << 14) { range in
                for i in range { tb[i] = db[i] * ab[i] * sb[i] / bb[i] }
            }
        } } } } }
        return Tensor(uninitialized: dy.shape) { dx in
            dy.data.withUnsafeBufferPointer { dp in
            savedInput.data.withUnsafeBufferPointer { ap in
            savedScale.data.withUnsafeBufferPointer { sp in
            t.data.withUnsafeBufferPointer { tp in
                let (db, ab, sb, tb, xb) = (dp.baseAddress!, ap.baseAddress!, sp.baseAddress!, tp.baseAddress!, dx.baseAddress!)
                parallelFor(n * c) { p in
                    let image = tb + (p / c) * c * plane, out = xb + p * plane
                    // The sum over the channels that channel j normalizes, gathered in `out` first.
                    out.update(repeating: 0, count: plane)
                    for other in normalized(by: p % c) {
                        let tc = image + other * plane
                        for i in 0..<plane { out[i] += tc[i] }
                    }
                    let (d, a, s) = (db + p * plane, ab + p * plane, sb + p * plane)
                    for i in 0..<plane { out[i] = d[i] * s[i] - coefficient * a[i] * out[i] }
                }
            } } } }
        }
    }

    public var deconvnetNeedsForwardState: Bool { true }
}

extension LocalResponseNorm: LayerKind {
    public static let type = "lrn"
    public static let keys = ["size", "alpha", "beta", "k"]

    public static func build(_ spec: LayerSpec, input: [Int], context: inout LayerBuildContext) throws -> LocalResponseNorm {
        _ = try context.planes(input)
        let size = try context.int("size", default: 5, min: 1)
        // Bounds that keep D^-beta finite and positive: k > 0 so D > 0 on all-zero inputs.
        let alpha = try context.float("alpha", default: 1e-4, in: 0...1e6)
        let beta = try context.float("beta", default: 0.75, in: 0...16)
        let k = try context.float("k", default: 1, in: Float.leastNormalMagnitude...1e6)
        return LocalResponseNorm(shape: input, size: size, alpha: alpha, beta: beta, k: k)
    }

    public var blockRole: BlockRole { .member }
    public var summary: String { "size \(size), alpha \(alpha), beta \(beta), k \(k)" }
}

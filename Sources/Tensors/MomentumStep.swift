/// The SGD-with-momentum update of one parameter tensor, fused with the sums of squares that the
/// per-layer learning statistics need (`metrics.jsonl` `layers`): measuring them in the same pass
/// over memory as the update costs a few multiply-adds per element and no extra load, where a
/// separate pass would read the weights, gradients and momentum a second time.
public enum MomentumStep {
    /// Sums of squares over one tensor, taken during `apply`.
    public struct Squares: Sendable, Equatable {
        /// Sum of grad^2 (the loss gradient, without weight decay).
        public var gradient: Double = 0
        /// Sum of w^2 of the weights before the step.
        public var weight: Double = 0
        /// Sum of (lr * v)^2: the step taken, after momentum and weight decay.
        public var update: Double = 0
        public init() {}
        public static func + (a: Squares, b: Squares) -> Squares {
            var s = a
            s.gradient += b.gradient; s.weight += b.weight; s.update += b.update
            return s
        }
    }

    /// PyTorch's SGD: `g' = g + wd * w;  v = mu * v + g';  w -= lr * v`, over `count` elements.
    /// Sums run in eight Float lanes per 64-element chunk and are added to Double per chunk, so a
    /// layer of a million weights keeps about seven significant digits.
    @inlinable
    public static func apply(weights w: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                             momentum v: UnsafeMutablePointer<Float>, count: Int,
                             learningRate lr: Float, momentum mu: Float, weightDecay wd: Float) -> Squares {
        var squares = Squares()
        var i = 0
        while i + 8 <= count {
            var gs = SIMD8<Float>(), ws = SIMD8<Float>(), us = SIMD8<Float>()
            let chunkEnd = min(count, i + 64) & ~7
            while i < chunkEnd {
                let wi = SIMD8<Float>.load(UnsafePointer(w + i)), gi = SIMD8<Float>.load(g + i)
                // The same operations in the same order as the scalar tail (no fused multiply-add):
                // the weights do not depend on the vector width.
                let vi = mu * SIMD8<Float>.load(UnsafePointer(v + i)) + (gi + wd * wi)
                let step = lr * vi
                (v + i).store(vi)
                (w + i).store(wi - step)
                gs = gs.plusProduct(gi, gi); ws = ws.plusProduct(wi, wi); us = us.plusProduct(step, step)
                i += 8
            }
            squares.gradient += Double(gs.sum()); squares.weight += Double(ws.sum()); squares.update += Double(us.sum())
        }
        while i < count {
            let wi = w[i], gi = g[i]
            let vi = mu * v[i] + (gi + wd * wi)
            let step = lr * vi
            v[i] = vi
            w[i] = wi - step
            squares.gradient += Double(gi * gi); squares.weight += Double(wi * wi); squares.update += Double(step * step)
            i += 1
        }
        return squares
    }
}

/// A plane's first maximum in row-major order, where it is, and the plane's sum: what the
/// monitor's top-k pass keeps of every feature map.
///
/// Eight lanes at a time: running maxima and sums in SIMD8, then a scan for the first element
/// equal to the maximum. `value` is read back from that element, so it has the bits the scalar
/// definition (`v > best`, first wins) gives, -0.0 against 0.0 included. The sum adds eight
/// partial sums, so its last bits differ from a left-to-right sum. A plane with a NaN takes the
/// scalar definition, where NaN never wins unless it comes first. (Measured: the scalar loop was
/// 4% of a monitor snapshot.)
public struct PlanePeak: Sendable {
    public let value: Float, at: Int, sum: Float

    public init(_ plane: UnsafePointer<Float>, count: Int) {
        precondition(count > 0, "an empty plane has no peak")
        let whole = count & ~7
        var maxima = SIMD8<Float>(repeating: -.infinity), sums = SIMD8<Float>.zero
        var j = 0
        while j < whole {
            let v = SIMD8.load(plane + j)
            maxima.replace(with: v, where: v .> maxima)  // a compare and a blend; `pointwiseMax` is a call per vector
            sums += v
            j += 8
        }
        var best = maxima[0], sum = sums[0]
        for lane in 1..<8 {
            best = Swift.max(best, maxima[lane])
            sum += sums[lane]
        }
        while j < count {
            best = Swift.max(best, plane[j])
            sum += plane[j]
            j += 1
        }
        guard !sum.isNaN else { self.init(scalar: plane, count: count); return }
        var at = 0
        while !(plane[at] == best) { at += 1 }
        self.init(value: plane[at], at: at, sum: sum)
    }

    /// The definition, element by element.
    public init(scalar plane: UnsafePointer<Float>, count: Int) {
        var best = plane[0], at = 0, sum: Float = 0
        for j in 0..<count {
            let v = plane[j]
            sum += v
            if v > best { best = v; at = j }
        }
        self.init(value: best, at: at, sum: sum)
    }

    private init(value: Float, at: Int, sum: Float) { (self.value, self.at, self.sum) = (value, at, sum) }
}

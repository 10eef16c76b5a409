/// A plane's maximum by the monitor's tie rule (`NearTies`: the first element in row-major order
/// within the tolerance of the maximum), where it is, and the plane's sum: what the monitor's
/// top-k pass keeps of every feature map. `value` is that element's own value (the activation the
/// projection is seeded with), at most the tolerance below the maximum.
///
/// Eight lanes at a time: running maxima, minima and sums in SIMD8, then a scan for the first
/// element at or above the threshold. `value` is read back from that element, so it has the bits
/// the scalar definition gives, -0.0 against 0.0 included. The sum adds eight partial sums, so
/// its last bits differ from a left-to-right sum. A plane with a NaN takes the scalar definition,
/// where NaN never wins unless it comes first. (Measured: the scalar loop was 4% of a monitor snapshot.)
public struct PlanePeak: Sendable {
    public let value: Float, at: Int, sum: Float

    public init(_ plane: UnsafePointer<Float>, count: Int) {
        precondition(count > 0, "an empty plane has no peak")
        let whole = count & ~7
        var maxima = SIMD8<Float>(repeating: -.infinity), minima = SIMD8<Float>(repeating: .infinity), sums = SIMD8<Float>.zero
        var j = 0
        while j < whole {
            let v = SIMD8.load(plane + j)
            maxima.replace(with: v, where: v .> maxima)  // a compare and a blend; `pointwiseMax` is a call per vector
            minima.replace(with: v, where: v .< minima)
            sums += v
            j += 8
        }
        var best = maxima[0], low = minima[0], sum = sums[0]
        for lane in 1..<8 {
            best = Swift.max(best, maxima[lane])
            low = Swift.min(low, minima[lane])
            sum += sums[lane]
        }
        while j < count {
            best = Swift.max(best, plane[j])
            low = Swift.min(low, plane[j])
            sum += plane[j]
            j += 1
        }
        guard !sum.isNaN else { self.init(scalar: plane, count: count); return }
        let threshold = best - NearTies.margin(magnitude: Swift.max(best, -low))
        var at = 0
        while !(plane[at] >= threshold) { at += 1 }
        self.init(value: plane[at], at: at, sum: sum)
    }

    /// The definition, element by element: the strict first maximum, then the first element
    /// within the margin of it.
    public init(scalar plane: UnsafePointer<Float>, count: Int) {
        var best = plane[0], at = 0, sum: Float = 0, magnitude: Float = 0
        for j in 0..<count {
            let v = plane[j]
            sum += v
            if v > best { best = v; at = j }
            if Swift.abs(v) > magnitude { magnitude = Swift.abs(v) }
        }
        let margin = NearTies.margin(magnitude: magnitude)
        if margin > 0 && !best.isNaN {
            at = (0..<count).first { plane[$0] >= best - margin }!
        }
        self.init(value: plane[at], at: at, sum: sum)
    }

    private init(value: Float, at: Int, sum: Float) { (self.value, self.at, self.sum) = (value, at, sum) }
}

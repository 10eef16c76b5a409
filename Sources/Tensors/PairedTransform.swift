/// An 8 x 8 Toom-Cook input transform (Bᵀ of F(4, 5)) applied through its structure instead of
/// as a dense matrix. The interpolation points come in pairs ±a, so Bᵀ's rows 1-6 come in pairs
/// (1, 2), (3, 4), (5, 6) whose even-column coefficients are equal and odd-column ones opposite:
/// with E = the even part and O = the odd part of a pair's first row applied to the input,
/// the pair is E + O and E - O. Row 0 uses only the even columns, row 7 only the odd ones.
/// That is 32 multiply-adds and adds per output vector where the dense form does 64 (the input
/// transform was 12% of a training step's samples, all in the dense kernel's FMAs).
///
/// The coefficients are read from the matrix at hand; `init` returns nil for a matrix without
/// this exact pattern (zeros included), which then goes through the dense `transform8`.
struct PairedTransform8: Sendable {
    /// Row 0 at columns 0, 2, 4, 6 and row 7 at columns 1, 3, 5, 7.
    let first: SIMD4<Float>, last: SIMD4<Float>
    /// Per pair p (rows 2p + 1, 2p + 2): even coefficients at columns 2, 4, 6 and odd at 1, 3, 5
    /// of its first row, in `even[p]` and `odd[p]`.
    let even: [SIMD4<Float>], odd: [SIMD4<Float>]
    /// The same coefficients by output row of the transpose (four per row, see `applyTransposed`),
    /// flat, so that kernel broadcasts them from memory: hoisted into 26 vectors they spilled, and
    /// the spills cost more than the loop at 32 or 64 lanes.
    let transposedRows: [Float]

    init?(_ k: [Float]) {
        guard k.count == 64 else { return nil }
        func at(_ r: Int, _ c: Int) -> Float { k[r * 8 + c] }
        for c in stride(from: 1, to: 8, by: 2) where at(0, c) != 0 { return nil }
        for c in stride(from: 0, to: 8, by: 2) where at(7, c) != 0 { return nil }
        var even: [SIMD4<Float>] = [], odd: [SIMD4<Float>] = []
        for p in 0..<3 {
            let a = 2 * p + 1, b = a + 1
            guard at(a, 0) == 0, at(a, 7) == 0, at(b, 0) == 0, at(b, 7) == 0 else { return nil }
            for c in [2, 4, 6] where at(b, c) != at(a, c) { return nil }
            for c in [1, 3, 5] where at(b, c) != -at(a, c) { return nil }
            even.append(SIMD4(at(a, 2), at(a, 4), at(a, 6), 0))
            odd.append(SIMD4(at(a, 1), at(a, 3), at(a, 5), 0))
        }
        first = SIMD4(at(0, 0), at(0, 2), at(0, 4), at(0, 6))
        last = SIMD4(at(7, 1), at(7, 3), at(7, 5), at(7, 7))
        (self.even, self.odd) = (even, odd)
        // Row 0: first[0]; rows 2, 4, 6: first[i] and the pairs' even coefficients; rows 1, 3, 5: the
        // pairs' odd coefficients and last[i]; row 7: last[3].
        var rows = [Float](repeating: 0, count: 32)
        rows[0] = first[0]
        for i in 0..<3 {
            let odd4: [Float] = [odd[0][i], odd[1][i], odd[2][i], last[i]]
            let even4: [Float] = [first[i + 1], even[0][i], even[1][i], even[2][i]]
            rows.replaceSubrange((8 * i + 4)..<(8 * i + 8), with: odd4)
            rows.replaceSubrange((8 * i + 8)..<(8 * i + 12), with: even4)
        }
        rows[28] = last[3]
        transposedRows = rows
    }

    /// out_o (+)= Σ_j K[o][j] in_j for the eight inputs `inputStride` apart and the eight outputs
    /// `outputStride` apart, each `lanes` floats.
    @inline(__always)
    func apply(input: UnsafePointer<Float>, inputStride: Int, output: UnsafeMutablePointer<Float>, outputStride: Int,
               lanes: Int, accumulate: Bool) {
        typealias V = SIMD8<Float>
        let f = (V(repeating: first[0]), V(repeating: first[1]), V(repeating: first[2]), V(repeating: first[3]))
        let l = (V(repeating: last[0]), V(repeating: last[1]), V(repeating: last[2]), V(repeating: last[3]))
        let e0 = (V(repeating: even[0][0]), V(repeating: even[0][1]), V(repeating: even[0][2]))
        let o0 = (V(repeating: odd[0][0]), V(repeating: odd[0][1]), V(repeating: odd[0][2]))
        let e1 = (V(repeating: even[1][0]), V(repeating: even[1][1]), V(repeating: even[1][2]))
        let o1 = (V(repeating: odd[1][0]), V(repeating: odd[1][1]), V(repeating: odd[1][2]))
        let e2 = (V(repeating: even[2][0]), V(repeating: even[2][1]), V(repeating: even[2][2]))
        let o2 = (V(repeating: odd[2][0]), V(repeating: odd[2][1]), V(repeating: odd[2][2]))
        @inline(__always) func put(_ row: Int, _ c: Int, _ v: V) { (output + row * outputStride + c).store(v, adding: accumulate) }
        var c = 0
        while c + 8 <= lanes {
            let d0 = V.load(input + c), d1 = V.load(input + inputStride + c), d2 = V.load(input + 2 * inputStride + c)
            let d3 = V.load(input + 3 * inputStride + c), d4 = V.load(input + 4 * inputStride + c)
            let d5 = V.load(input + 5 * inputStride + c), d6 = V.load(input + 6 * inputStride + c), d7 = V.load(input + 7 * inputStride + c)
            put(0, c, (f.0 * d0).plusProduct(f.1, d2).plusProduct(f.2, d4).plusProduct(f.3, d6))
            let ea = (e0.0 * d2).plusProduct(e0.1, d4).plusProduct(e0.2, d6), oa = (o0.0 * d1).plusProduct(o0.1, d3).plusProduct(o0.2, d5)
            put(1, c, ea + oa); put(2, c, ea - oa)
            let eb = (e1.0 * d2).plusProduct(e1.1, d4).plusProduct(e1.2, d6), ob = (o1.0 * d1).plusProduct(o1.1, d3).plusProduct(o1.2, d5)
            put(3, c, eb + ob); put(4, c, eb - ob)
            let ec = (e2.0 * d2).plusProduct(e2.1, d4).plusProduct(e2.2, d6), oc = (o2.0 * d1).plusProduct(o2.1, d3).plusProduct(o2.2, d5)
            put(5, c, ec + oc); put(6, c, ec - oc)
            put(7, c, (l.0 * d1).plusProduct(l.1, d3).plusProduct(l.2, d5).plusProduct(l.3, d7))
            c += 8
        }
        // Lanes past the last whole vector, one at a time in the same order.
        while c < lanes {
            var d = SIMD8<Float>.zero
            for j in 0..<8 { d[j] = input[j * inputStride + c] }
            @inline(__always) func three(_ k: SIMD4<Float>, _ a: Float, _ b: Float, _ cc: Float) -> Float {
                (k[0] * a).plusProduct(k[1], b).plusProduct(k[2], cc)
            }
            var out = SIMD8<Float>.zero
            out[0] = (first[0] * d[0]).plusProduct(first[1], d[2]).plusProduct(first[2], d[4]).plusProduct(first[3], d[6])
            for p in 0..<3 {
                let e = three(even[p], d[2], d[4], d[6]), o = three(odd[p], d[1], d[3], d[5])
                out[2 * p + 1] = e + o
                out[2 * p + 2] = e - o
            }
            out[7] = (last[0] * d[1]).plusProduct(last[1], d[3]).plusProduct(last[2], d[5]).plusProduct(last[3], d[7])
            storeLane(out, rows: 8, output, outputStride, c, accumulate)
            c += 1
        }
    }

    /// The transpose B = (Bᵀ)ᵀ, the backward's input-gradient transform, through the same structure:
    /// out_o (+)= Σ_j Bᵀ[j][o] in_j. Input 0 reaches the even outputs through row 0 and input 7 the
    /// odd ones through row 7; a pair's inputs enter as s = d₂ₚ₊₁ + d₂ₚ₊₂ (its even columns) and
    /// t = d₂ₚ₊₁ - d₂ₚ₊₂ (its odd ones). 32 operations per output vector where the dense kernel does 64.
    @inline(__always)
    func applyTransposed(input: UnsafePointer<Float>, inputStride: Int, output: UnsafeMutablePointer<Float>, outputStride: Int,
                         lanes: Int, accumulate: Bool) {
        typealias V = SIMD8<Float>
        @inline(__always) func put(_ row: Int, _ c: Int, _ v: V) { (output + row * outputStride + c).store(v, adding: accumulate) }
        var c = 0
        transposedRows.withUnsafeBufferPointer { kp in
            let k = kp.baseAddress!
            while c + 8 <= lanes {
                let d0 = V.load(input + c), d1 = V.load(input + inputStride + c), d2 = V.load(input + 2 * inputStride + c)
                let d3 = V.load(input + 3 * inputStride + c), d4 = V.load(input + 4 * inputStride + c)
                let d5 = V.load(input + 5 * inputStride + c), d6 = V.load(input + 6 * inputStride + c), d7 = V.load(input + 7 * inputStride + c)
                let s0 = d1 + d2, t0 = d1 - d2, s1 = d3 + d4, t1 = d3 - d4, s2 = d5 + d6, t2 = d5 - d6
                put(0, c, V(repeating: k[0]) * d0)
                for odd in stride(from: 1, to: 7, by: 2) {
                    let o = k + 4 * odd, e = o + 4
                    put(odd, c, (V(repeating: o[0]) * t0).plusProduct(o[1], t1).plusProduct(o[2], t2).plusProduct(o[3], d7))
                    put(odd + 1, c, (V(repeating: e[0]) * d0).plusProduct(e[1], s0).plusProduct(e[2], s1).plusProduct(e[3], s2))
                }
                put(7, c, V(repeating: k[28]) * d7)
                c += 8
            }
        }
        // Lanes past the last whole vector, one at a time in the same order.
        while c < lanes {
            var d = SIMD8<Float>.zero
            for j in 0..<8 { d[j] = input[j * inputStride + c] }
            let s = SIMD4(d[1] + d[2], d[3] + d[4], d[5] + d[6], 0), t = SIMD4(d[1] - d[2], d[3] - d[4], d[5] - d[6], 0)
            var out = SIMD8<Float>.zero
            out[0] = first[0] * d[0]
            for i in 0..<3 {
                out[2 * i + 2] = (first[i + 1] * d[0]).plusProduct(even[0][i], s[0]).plusProduct(even[1][i], s[1]).plusProduct(even[2][i], s[2])
                out[2 * i + 1] = (odd[0][i] * t[0]).plusProduct(odd[1][i], t[1]).plusProduct(odd[2][i], t[2]).plusProduct(last[i], d[7])
            }
            out[7] = last[3] * d[7]
            storeLane(out, rows: 8, output, outputStride, c, accumulate)
            c += 1
        }
    }
}

/// F(4, 5)'s 4 x 8 output transform Aᵀ through its structure, the column-wise counterpart of
/// `PairedTransform8`: columns 1-6 evaluate at ±a in pairs, so row i weighs a pair's two inputs
/// equally when i is even and oppositely when i is odd. With s = d₂ₚ₊₁ + d₂ₚ₊₂ and t = d₂ₚ₊₁ - d₂ₚ₊₂,
/// even rows combine the three s and odd rows the three t; column 0 (the point 0) enters row 0 only,
/// column 7 (infinity) the last row only. 20 operations per output vector where the dense 4 x 8
/// kernel does 32 FMAs; the output transform was the larger of conv2's two after Bᵀ was paired.
///
/// Coefficients are read from the matrix; `init` returns nil for any other pattern.
struct PairedColumns4x8: Sendable {
    /// Row i's coefficient of pair p's first column, as (row 0, row 1, row 2, row 3) per pair.
    let pairs: [SIMD4<Float>]
    /// Row 0's coefficient of column 0 and row 3's of column 7.
    let pointZero: Float, infinity: Float

    init?(_ k: [Float], rows: Int, cols: Int) {
        guard rows == 4, cols == 8, k.count == 64 else { return nil }
        func at(_ r: Int, _ c: Int) -> Float { k[r * 8 + c] }
        for r in 1..<4 where at(r, 0) != 0 { return nil }
        for r in 0..<3 where at(r, 7) != 0 { return nil }
        var pairs: [SIMD4<Float>] = []
        for p in 0..<3 {
            let a = 2 * p + 1, b = a + 1
            for r in 0..<4 where at(r, b) != (r % 2 == 0 ? at(r, a) : -at(r, a)) { return nil }
            pairs.append(SIMD4(at(0, a), at(1, a), at(2, a), at(3, a)))
        }
        self.pairs = pairs
        (pointZero, infinity) = (at(0, 0), at(3, 7))
    }

    /// The coefficients as vectors, for both kernels: the points 0 and infinity, then per pair its
    /// four rows.
    private var broadcasts: (SIMD8<Float>, SIMD8<Float>, (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>),
                             (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>), (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)) {
        @inline(__always) get {
            typealias V = SIMD8<Float>
            func vectors(_ k: SIMD4<Float>) -> (V, V, V, V) { (V(repeating: k[0]), V(repeating: k[1]), V(repeating: k[2]), V(repeating: k[3])) }
            return (V(repeating: pointZero), V(repeating: infinity), vectors(pairs[0]), vectors(pairs[1]), vectors(pairs[2]))
        }
    }

    /// out_o (+)= Σ_j K[o][j] in_j for the eight inputs `inputStride` apart and the four outputs
    /// `outputStride` apart, each `lanes` floats.
    @inline(__always)
    func apply(input: UnsafePointer<Float>, inputStride: Int, output: UnsafeMutablePointer<Float>, outputStride: Int,
               lanes: Int, accumulate: Bool) {
        typealias V = SIMD8<Float>
        let (z, w, p0, p1, p2) = broadcasts
        @inline(__always) func put(_ row: Int, _ c: Int, _ v: V) { (output + row * outputStride + c).store(v, adding: accumulate) }
        var c = 0
        while c + 8 <= lanes {
            let d0 = V.load(input + c), d1 = V.load(input + inputStride + c), d2 = V.load(input + 2 * inputStride + c)
            let d3 = V.load(input + 3 * inputStride + c), d4 = V.load(input + 4 * inputStride + c)
            let d5 = V.load(input + 5 * inputStride + c), d6 = V.load(input + 6 * inputStride + c), d7 = V.load(input + 7 * inputStride + c)
            let s0 = d1 + d2, t0 = d1 - d2, s1 = d3 + d4, t1 = d3 - d4, s2 = d5 + d6, t2 = d5 - d6
            put(0, c, (z * d0).plusProduct(p0.0, s0).plusProduct(p1.0, s1).plusProduct(p2.0, s2))
            put(1, c, (p0.1 * t0).plusProduct(p1.1, t1).plusProduct(p2.1, t2))
            put(2, c, (p0.2 * s0).plusProduct(p1.2, s1).plusProduct(p2.2, s2))
            put(3, c, (p0.3 * t0).plusProduct(p1.3, t1).plusProduct(p2.3, t2).plusProduct(w, d7))
            c += 8
        }
        // Lanes past the last whole vector, one at a time in the same order.
        while c < lanes {
            var d = SIMD8<Float>.zero
            for j in 0..<8 { d[j] = input[j * inputStride + c] }
            let s = SIMD4(d[1] + d[2], d[3] + d[4], d[5] + d[6], 0), t = SIMD4(d[1] - d[2], d[3] - d[4], d[5] - d[6], 0)
            var out = SIMD8<Float>.zero
            out[0] = (pointZero * d[0]).plusProduct(pairs[0][0], s[0]).plusProduct(pairs[1][0], s[1]).plusProduct(pairs[2][0], s[2])
            out[1] = (pairs[0][1] * t[0]).plusProduct(pairs[1][1], t[1]).plusProduct(pairs[2][1], t[2])
            out[2] = (pairs[0][2] * s[0]).plusProduct(pairs[1][2], s[1]).plusProduct(pairs[2][2], s[2])
            out[3] = (pairs[0][3] * t[0]).plusProduct(pairs[1][3], t[1]).plusProduct(pairs[2][3], t[2]).plusProduct(infinity, d[7])
            storeLane(out, rows: 4, output, outputStride, c, accumulate)
            c += 1
        }
    }

    /// The transpose A = (Aᵀ)ᵀ (8 x 4), the backward's output-gradient transform, through the same
    /// structure: out_o (+)= Σ_j Aᵀ[j][o] in_j. A pair's two outputs are E + O and E - O, with E its
    /// coefficients on inputs 0 and 2 and O on inputs 1 and 3; output 0 takes input 0 only and output
    /// 7 input 3 only. 20 operations per output vector where the dense kernel does 32.
    @inline(__always)
    func applyTransposed(input: UnsafePointer<Float>, inputStride: Int, output: UnsafeMutablePointer<Float>, outputStride: Int,
                         lanes: Int, accumulate: Bool) {
        typealias V = SIMD8<Float>
        let (z, w, p0, p1, p2) = broadcasts
        @inline(__always) func put(_ row: Int, _ c: Int, _ v: V) { (output + row * outputStride + c).store(v, adding: accumulate) }
        var c = 0
        while c + 8 <= lanes {
            let d0 = V.load(input + c), d1 = V.load(input + inputStride + c)
            let d2 = V.load(input + 2 * inputStride + c), d3 = V.load(input + 3 * inputStride + c)
            put(0, c, z * d0)
            let ea = (p0.0 * d0).plusProduct(p0.2, d2), oa = (p0.1 * d1).plusProduct(p0.3, d3)
            put(1, c, ea + oa); put(2, c, ea - oa)
            let eb = (p1.0 * d0).plusProduct(p1.2, d2), ob = (p1.1 * d1).plusProduct(p1.3, d3)
            put(3, c, eb + ob); put(4, c, eb - ob)
            let ec = (p2.0 * d0).plusProduct(p2.2, d2), oc = (p2.1 * d1).plusProduct(p2.3, d3)
            put(5, c, ec + oc); put(6, c, ec - oc)
            put(7, c, w * d3)
            c += 8
        }
        // Lanes past the last whole vector, one at a time in the same order.
        while c < lanes {
            let d = SIMD4(input[c], input[inputStride + c], input[2 * inputStride + c], input[3 * inputStride + c])
            var out = SIMD8<Float>.zero
            out[0] = pointZero * d[0]
            for p in 0..<3 {
                let k = pairs[p]
                let even = (k[0] * d[0]).plusProduct(k[2], d[2]), odd = (k[1] * d[1]).plusProduct(k[3], d[3])
                out[2 * p + 1] = even + odd
                out[2 * p + 2] = even - odd
            }
            out[7] = infinity * d[3]
            storeLane(out, rows: 8, output, outputStride, c, accumulate)
            c += 1
        }
    }
}

/// The first `rows` lanes of `out` to lane `c` of as many output rows, `outputStride` apart, written
/// or added: the kernels' one-lane tail.
@inline(__always)
private func storeLane(_ out: SIMD8<Float>, rows: Int, _ output: UnsafeMutablePointer<Float>, _ outputStride: Int,
                       _ c: Int, _ accumulate: Bool) {
    for j in 0..<rows {
        let p = output + j * outputStride + c
        p.pointee = accumulate ? p.pointee + out[j] : out[j]
    }
}

import Foundation
import Tensors

/// Frequency content of small 2-D kernels, for the aliasing diagnostic.
public enum Spectrum {
    /// `energyAboveNyquistReference` for one stride.
    public static func energyAboveNyquist(_ filter: [Float], channels: Int, kernel: Int, stride s: Int, size: Int = 32) -> Double {
        energiesAboveNyquist(filter[...], channels: channels, kernel: kernel, strides: [s], size: size)[0]
    }

    /// `energyAboveNyquistReference` for each of `strides` from one spectrum (the diagnostics ask
    /// for the conv's stride and the block's), as 1 - in-band / total: the total energy by
    /// Parseval's theorem (n^2 times the filter's sum of squares, for the n x n zero-padded DFT),
    /// the in-band energy (|f| at most 1/(2s) on both axes) by a separable DFT over the widest
    /// band's frequencies only, with cached tables and the inner loops over frequencies so they
    /// vectorize. Stride 2's band is 17 x 17 of the 32 x 32 grid: 3.5 times fewer products than
    /// the whole DFT. Equal to the reference to rounding (`SpectrumTests`: within 1e-12).
    public static func energiesAboveNyquist(_ filter: ArraySlice<Float>, channels: Int, kernel: Int, strides: [Int], size: Int = 32) -> [Double] {
        guard let widest = strides.filter({ $0 > 1 }).min() else { return strides.map { _ in 0 } }
        let n = max(size, kernel)
        let limits = strides.map { $0 > 1 ? 1.0 / (2.0 * Double($0)) : .infinity }
        let table = BandTable.shared(n: n, taps: kernel, band: .atMost(1.0 / (2.0 * Double(widest))))
        let band = table.count, absFreq = table.frequencies.map(\.magnitude)   // (band): |f| of each in-band frequency
        var squares = 0.0
        for v in filter { squares += Double(v) * Double(v) }
        let total = Double(n * n) * squares
        var inBand = [Double](repeating: 0, count: strides.count)
        var rowRe = [Double](repeating: 0, count: kernel * band), rowIm = rowRe   // (y, band u)
        var colRe = [Double](repeating: 0, count: band), colIm = colRe            // (band u) for one band v
        let start = filter.startIndex
        rowRe.withUnsafeMutableBufferPointer { rr in rowIm.withUnsafeMutableBufferPointer { ri in
        colRe.withUnsafeMutableBufferPointer { cr in colIm.withUnsafeMutableBufferPointer { ci in
        table.cos.withUnsafeBufferPointer { tc in table.sin.withUnsafeBufferPointer { ts in
            for c in 0..<channels {
                let base = start + c * kernel * kernel
                // Along x: row y's transform at every in-band u.
                for y in 0..<kernel {
                    let re = rr.baseAddress! + y * band, im = ri.baseAddress! + y * band
                    for j in 0..<band { re[j] = 0; im[j] = 0 }
                    for x in 0..<kernel {
                        let v = Double(filter[base + y * kernel + x])
                        let cx = tc.baseAddress! + x * band, sx = ts.baseAddress! + x * band
                        for j in 0..<band { re[j] += v * cx[j]; im[j] += v * sx[j] }
                    }
                }
                // Along y, one in-band v at a time, then each stride's in-band energy.
                for jv in 0..<band {
                    for j in 0..<band { cr[j] = 0; ci[j] = 0 }
                    for y in 0..<kernel {
                        let c1 = tc[y * band + jv], s1 = ts[y * band + jv]
                        let re = rr.baseAddress! + y * band, im = ri.baseAddress! + y * band
                        for j in 0..<band {
                            cr[j] += re[j] * c1 - im[j] * s1
                            ci[j] += re[j] * s1 + im[j] * c1
                        }
                    }
                    let fv = absFreq[jv]
                    for j in 0..<band {
                        let e = cr[j] * cr[j] + ci[j] * ci[j], fu = absFreq[j]
                        for i in 0..<limits.count where fu <= limits[i] && fv <= limits[i] { inBand[i] += e }
                    }
                }
            }
        } } } } } }
        return zip(strides, inBand).map { s, low in s > 1 && total > 0 ? Swift.min(1, Swift.max(0, total - low) / total) : 0 }
    }

    /// `highFrequencyShareReference` as 1 - low / total: the total energy by Parseval's theorem (H W
    /// times the sum of squares of the mean-removed image), the low band (|f| < 1/4 cycle per
    /// pixel on both axes) by a separable DFT over its own frequencies only, with cached twiddles
    /// and the inner loops over frequencies so they vectorize. The low band is about a quarter of
    /// the grid (13 x 13 of 28 x 28): 3.4 times fewer products than the whole DFT (the
    /// diagnostics' projection spectra went from 14 to 4 ms of CPU per zf-fmnist snapshot). Equal
    /// to the reference to rounding (`SpectrumTests`: within 1e-12 on images with and without
    /// high frequencies).
    public static func highFrequencyShare(_ image: ArraySlice<Float>, channels: Int, height: Int, width: Int) -> Double {
        let bx = BandTable.shared(n: width, taps: width, band: .belowQuarter), by = BandTable.shared(n: height, taps: height, band: .belowQuarter)
        let (lowU, lowV) = (bx.count, by.count)
        var total = 0.0, low = 0.0
        let start = image.startIndex
        let plane = height * width
        var rowRe = [Double](repeating: 0, count: height * max(1, lowU)), rowIm = rowRe   // (y, low u)
        var colRe = [Double](repeating: 0, count: max(1, lowU)), colIm = colRe             // (low u) for one low v
        var centered = [Double](repeating: 0, count: width)
        rowRe.withUnsafeMutableBufferPointer { rr in rowIm.withUnsafeMutableBufferPointer { ri in
        colRe.withUnsafeMutableBufferPointer { cr in colIm.withUnsafeMutableBufferPointer { ci in
        centered.withUnsafeMutableBufferPointer { p in
        bx.cos.withUnsafeBufferPointer { xc in bx.sin.withUnsafeBufferPointer { xs in
        by.cos.withUnsafeBufferPointer { yc in by.sin.withUnsafeBufferPointer { ys in
            for c in 0..<channels {
                let base = start + c * plane
                var mean = 0.0
                for i in 0..<plane { mean += Double(image[base + i]) }
                mean /= Double(plane)
                var squares = 0.0
                for y in 0..<height {
                    for x in 0..<width { let v = Double(image[base + y * width + x]) - mean; p[x] = v; squares += v * v }
                    let re = rr.baseAddress! + y * lowU, im = ri.baseAddress! + y * lowU
                    for j in 0..<lowU { re[j] = 0; im[j] = 0 }
                    for x in 0..<width {
                        let px = p[x]
                        let cx = xc.baseAddress! + x * lowU, sx = xs.baseAddress! + x * lowU
                        for j in 0..<lowU { re[j] += px * cx[j]; im[j] += px * sx[j] }
                    }
                }
                total += Double(plane) * squares
                for jv in 0..<lowV {
                    for j in 0..<lowU { cr[j] = 0; ci[j] = 0 }
                    for y in 0..<height {
                        let c1 = yc[y * lowV + jv], s1 = ys[y * lowV + jv]
                        let re = rr.baseAddress! + y * lowU, im = ri.baseAddress! + y * lowU
                        for j in 0..<lowU {
                            cr[j] += re[j] * c1 - im[j] * s1
                            ci[j] += re[j] * s1 + im[j] * c1
                        }
                    }
                    for j in 0..<lowU { low += cr[j] * cr[j] + ci[j] * ci[j] }
                }
            }
        } } } } } } } } }
        return total > 0 ? Swift.min(1, Swift.max(0, total - low) / total) : 0
    }

    /// Share of a filter's spectral energy (summed over its input channels) at frequencies a
    /// sampling stride `s` cannot represent: |f_y| or |f_x| above the Nyquist limit 1/(2s)
    /// cycles per pixel. Such energy folds back ("aliases") when the layer's output is taken
    /// every s pixels. The DFT is zero-padded to `size` points per axis for a fine frequency grid.
    ///
    /// `filter` is (C, k, k). White noise gives about 1 - 1/s^2; a smooth blob gives near 0.
    ///
    /// The plain loops over the whole grid: the oracle of `energiesAboveNyquist` (equal to rounding), kept for the tests.
    public static func energyAboveNyquistReference(_ filter: [Float], channels: Int, kernel: Int, stride s: Int, size: Int = 32) -> Double {
        guard s > 1 else { return 0 }  // stride 1 keeps every frequency a k x k filter can hold
        let n = max(size, kernel)
        let limit = 1.0 / (2.0 * Double(s))
        // Separable DFT: first along x for each row, then along y.
        var cosTable = [Double](repeating: 0, count: n * kernel), sinTable = cosTable
        for u in 0..<n { for t in 0..<kernel {
            let angle = -2 * Double.pi * Double(u * t) / Double(n)
            cosTable[u * kernel + t] = cos(angle); sinTable[u * kernel + t] = sin(angle)
        } }
        func freq(_ u: Int) -> Double { Double(u <= n / 2 ? u : u - n) / Double(n) }
        var total = 0.0, above = 0.0
        var rowRe = [Double](repeating: 0, count: kernel * n), rowIm = rowRe
        for c in 0..<channels {
            let base = c * kernel * kernel
            for y in 0..<kernel { for u in 0..<n {
                var re = 0.0, im = 0.0
                for x in 0..<kernel {
                    let v = Double(filter[base + y * kernel + x])
                    re += v * cosTable[u * kernel + x]; im += v * sinTable[u * kernel + x]
                }
                rowRe[y * n + u] = re; rowIm[y * n + u] = im
            } }
            for v in 0..<n { for u in 0..<n {
                var re = 0.0, im = 0.0
                for y in 0..<kernel {
                    let cr = cosTable[v * kernel + y], ci = sinTable[v * kernel + y]
                    re += rowRe[y * n + u] * cr - rowIm[y * n + u] * ci
                    im += rowRe[y * n + u] * ci + rowIm[y * n + u] * cr
                }
                let e = re * re + im * im
                total += e
                if abs(freq(u)) > limit || abs(freq(v)) > limit { above += e }
            } }
        }
        return total > 0 ? above / total : 0
    }

    /// How much of a filter's energy stays at frequencies a sampling stride `s` represents
    /// (|f_y| and |f_x| at most 1/(2s) cycles per pixel), relative to white noise of the same size:
    /// 1 for a random (white) filter on average, above 1 for a smooth filter, near 0 for a filter
    /// whose pattern the sampling folds back (a checkerboard under stride 2 keeps about 1% of
    /// noise's share). The white-noise share is the fraction of the zero-padded DFT grid inside
    /// the band, since white noise's expected power is flat over that grid.
    ///
    /// The ratio, unlike the share above Nyquist, does not call every random filter aliased: under
    /// stride 8 a white 11x11 filter already has 98% of its energy above Nyquist.
    /// `filter` is (C, k, k). Stride 1 keeps every frequency: 1 by definition.
    public static func lowBandRatio(_ filter: ArraySlice<Float>, channels: Int, kernel: Int, stride s: Int, size: Int = 32) -> Double {
        guard s > 1 else { return 1 }
        return lowBandRatio(energyAbove: energyAboveNyquist(Array(filter), channels: channels, kernel: kernel, stride: s, size: size),
                            of: filter, kernel: kernel, stride: s, size: size)
    }

    public static func lowBandRatio(_ filter: [Float], channels: Int, kernel: Int, stride s: Int, size: Int = 32) -> Double {
        lowBandRatio(filter[...], channels: channels, kernel: kernel, stride: s, size: size)
    }

    /// The same ratio from the filter's share of energy above the sampling's Nyquist frequency,
    /// `above` (`energyAboveNyquist` at stride `s`), for a caller that has it already.
    public static func lowBandRatio(energyAbove above: Double, of filter: ArraySlice<Float>, kernel: Int, stride s: Int, size: Int = 32) -> Double {
        guard s > 1 else { return 1 }
        let n = max(size, kernel)
        let limit = 1.0 / (2.0 * Double(s))
        func freq(_ u: Int) -> Double { Double(u <= n / 2 ? u : u - n) / Double(n) }
        let inBand = (0..<n).filter { abs(freq($0)) <= limit + 1e-12 }.count
        let noiseShare = Double(inBand * inBand) / Double(n * n)
        var total = 0.0
        for v in filter { total += Double(v) * Double(v) }
        guard total > 0 else { return 1 }   // an all-zero filter has nothing to fold
        return (1 - above) / noiseShare
    }

    /// Share of an image's (C, H, W) energy at high frequencies (|f| >= 1/4 cycle per pixel on
    /// either axis), after removing each channel's mean: the checkerboard and stripe artifacts
    /// that uneven kernel overlap leaves in a projection. Separable DFT with precomputed twiddles.
    ///
    /// The plain loops over the whole grid: the oracle of `highFrequencyShare` (equal to rounding), kept for the tests.
    public static func highFrequencyShareReference(_ image: ArraySlice<Float>, channels: Int, height: Int, width: Int) -> Double {
        let tx = Twiddles(width), ty = Twiddles(height)
        var total = 0.0, high = 0.0
        let start = image.startIndex
        var rowRe = [Double](repeating: 0, count: height * width), rowIm = rowRe
        func isHigh(_ u: Int, _ n: Int) -> Bool { Double(min(u, n - u)) / Double(n) >= 0.25 }
        for c in 0..<channels {
            let base = start + c * height * width
            var mean = 0.0
            for i in 0..<(height * width) { mean += Double(image[base + i]) }
            mean /= Double(height * width)
            for y in 0..<height { for u in 0..<width {
                var re = 0.0, im = 0.0
                for x in 0..<width {
                    let p = Double(image[base + y * width + x]) - mean
                    re += p * tx.cos[u * width + x]; im += p * tx.sin[u * width + x]
                }
                rowRe[y * width + u] = re; rowIm[y * width + u] = im
            } }
            for v in 0..<height { for u in 0..<width {
                var re = 0.0, im = 0.0
                for y in 0..<height {
                    let cr = ty.cos[v * height + y], ci = ty.sin[v * height + y]
                    re += rowRe[y * width + u] * cr - rowIm[y * width + u] * ci
                    im += rowRe[y * width + u] * ci + rowIm[y * width + u] * cr
                }
                let e = re * re + im * im
                total += e
                if isHigh(u, width) || isHigh(v, height) { high += e }
            } }
        }
        return total > 0 ? high / total : 0
    }
}

/// cos and sin of -2 pi u x / n for all (u, x), row-major by u (the table is symmetric): the
/// references' table.
struct Twiddles: Sendable {
    let cos: [Double], sin: [Double]

    init(_ n: Int) {
        var c = [Double](repeating: 0, count: n * n), s = c
        for u in 0..<n { for x in 0..<n {
            let a = -2 * Double.pi * Double((u * x) % n) / Double(n)
            c[u * n + x] = Foundation.cos(a); s[u * n + x] = Foundation.sin(a)
        } }
        self.cos = c; self.sin = s
    }
}

/// One band of an n-point DFT: its frequencies u, and cos and sin of -2 pi u t / n for those u
/// and t < taps, stored (t, band u) so that row t holds every in-band frequency. Computed once
/// per process (a 28-point table is hundreds of cos/sin calls; recomputed per projection they
/// were 40% of the diagnostics' time).
struct BandTable: Sendable {
    enum Band: Hashable, Sendable {
        /// |f| < 1/4 cycle per pixel: the projections' low band.
        case belowQuarter
        /// |f| at most the limit: what a sampling stride represents.
        case atMost(Double)
    }
    /// The band's frequencies in cycles per pixel, signed (u / n, or (u - n) / n past n / 2).
    let frequencies: [Double]
    let cos: [Double], sin: [Double]
    var count: Int { frequencies.count }

    nonisolated(unsafe) private static var cache: [Key: BandTable] = [:]
    private static let lock = NSLock()
    private struct Key: Hashable { let n: Int, taps: Int, band: Band }

    static func shared(n: Int, taps: Int, band: Band) -> BandTable {
        lock.withLock {
            let key = Key(n: n, taps: taps, band: band)
            if let table = cache[key] { return table }
            let table = BandTable(n: n, taps: taps, band: band)
            cache[key] = table
            return table
        }
    }

    private init(n: Int, taps: Int, band: Band) {
        let kept = (0..<n).filter { u in
            switch band {
            case .belowQuarter: return Double(Swift.min(u, n - u)) / Double(n) < 0.25
            case .atMost(let limit): return abs(Double(u <= n / 2 ? u : u - n) / Double(n)) <= limit
            }
        }
        var c = [Double](repeating: 0, count: taps * kept.count), s = c
        for t in 0..<taps { for (j, u) in kept.enumerated() {
            let angle = -2 * Double.pi * Double((u * t) % n) / Double(n)
            c[t * kept.count + j] = Foundation.cos(angle); s[t * kept.count + j] = Foundation.sin(angle)
        } }
        (frequencies, self.cos, self.sin) = (kept.map { Double($0 <= n / 2 ? $0 : $0 - n) / Double(n) }, c, s)
    }
}

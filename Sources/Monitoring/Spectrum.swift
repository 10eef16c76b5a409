import Foundation
import Tensors

/// Frequency content of small 2-D kernels, for the aliasing diagnostic.
public enum Spectrum {
    /// Share of a filter's spectral energy (summed over its input channels) at frequencies a
    /// sampling stride `s` cannot represent: |f_y| or |f_x| above the Nyquist limit 1/(2s)
    /// cycles per pixel. Such energy folds back ("aliases") when the layer's output is taken
    /// every s pixels. The DFT is zero-padded to `size` points per axis for a fine frequency grid.
    ///
    /// `filter` is (C, k, k). White noise gives about 1 - 1/s^2; a smooth blob gives near 0.
    public static func energyAboveNyquist(_ filter: [Float], channels: Int, kernel: Int, stride s: Int, size: Int = 32) -> Double {
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
    public static func lowBandRatio(_ filter: [Float], channels: Int, kernel: Int, stride s: Int, size: Int = 32) -> Double {
        guard s > 1 else { return 1 }
        let n = max(size, kernel)
        let limit = 1.0 / (2.0 * Double(s))
        func freq(_ u: Int) -> Double { Double(u <= n / 2 ? u : u - n) / Double(n) }
        let inBand = (0..<n).filter { abs(freq($0)) <= limit + 1e-12 }.count
        let noiseShare = Double(inBand * inBand) / Double(n * n)
        let above = energyAboveNyquist(filter, channels: channels, kernel: kernel, stride: s, size: size)
        var total = 0.0
        for v in filter { total += Double(v) * Double(v) }
        guard total > 0 else { return 1 }   // an all-zero filter has nothing to fold
        return (1 - above) / noiseShare
    }

    /// Share of an image's (C, H, W) energy at high frequencies (|f| >= 1/4 cycle per pixel on
    /// either axis), after removing each channel's mean: the checkerboard and stripe artifacts
    /// that uneven kernel overlap leaves in a projection. Separable DFT with precomputed twiddles.
    public static func highFrequencyShare(_ image: ArraySlice<Float>, channels: Int, height: Int, width: Int) -> Double {
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

/// cos and sin of -2 pi u x / n for all (u, x), row-major by u.
struct Twiddles {
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

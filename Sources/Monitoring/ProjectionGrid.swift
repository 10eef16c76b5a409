import Foundation
import Tensors

/// Grid artifacts in the projections of the layer above a strided conv (Zeiler & Fergus, Fig. 6:
/// AlexNet's stride-4 first layer leaves a grid in the layer-2 projections).
public enum ProjectionGrid {
    /// Zero-padded DFT size per axis: fine enough to put neighbours between the harmonics of 1/s.
    static let size = 64

    /// Mean spectral energy of `projections` (N, C, H, W), each with its channel means removed, at
    /// the sampling frequency 1/s and its harmonics (a/s, b/s) (not both 0), over the mean energy
    /// at their neighbours (offsets of 2 and 3 bins of a 64-point grid on each axis). About 1 when
    /// the projections carry no period-s pattern; the grid of a stride-s transposed conv with
    /// uneven overlap lifts it (measured: 2.2-2.5 for alexnet-fmnist's 11x11/4 conv1, 1.3-1.5 for
    /// 7x7/2, 1.1-1.25 for zf-fmnist's stride-1 conv1; docs/diagnostics.md). All-zero projections
    /// (maps that never fired) are skipped; nil when none is left or s < 2.
    public static func ratio(_ projections: Tensor, period s: Int) -> Double? {
        guard s >= 2, projections.shape.count == 5 else { return nil }
        let (c, h, w) = (projections.shape[2], projections.shape[3], projections.shape[4])
        let count = projections.shape[0] * projections.shape[1], n = size
        let plane = h * w, image = c * plane
        var peaks: [(Int, Int)] = [], neighbours: [(Int, Int)] = []
        for a in 0..<s { for b in 0..<s where a != 0 || b != 0 {
            let u = a * n / s, v = b * n / s
            peaks.append((u, v))
            for du in [-3, -2, 2, 3] { for dv in [-3, -2, 2, 3] { neighbours.append(((u + du + n) % n, (v + dv + n) % n)) } }
        } }
        // Twiddles for the rows (y) and columns (x) at every grid frequency.
        var cy = [Double](repeating: 0, count: n * h), sy = cy, cx = [Double](repeating: 0, count: n * w), sx = cx
        for u in 0..<n {
            for y in 0..<h { let a = -2 * Double.pi * Double(u * y) / Double(n); cy[u * h + y] = cos(a); sy[u * h + y] = sin(a) }
            for x in 0..<w { let a = -2 * Double.pi * Double(u * x) / Double(n); cx[u * w + x] = cos(a); sx[u * w + x] = sin(a) }
        }
        let vs = Array(Set((peaks + neighbours).map(\.1))).sorted()
        var peakEnergy = 0.0, neighbourEnergy = 0.0, used = 0
        var centred = [Double](repeating: 0, count: plane)
        for i in 0..<count {
            let start = i * image
            var any = false
            for j in 0..<image where projections.data[start + j] != 0 { any = true; break }
            guard any else { continue }
            used += 1
            for ch in 0..<c {
                let base = start + ch * plane
                var mean = 0.0
                for j in 0..<plane { mean += Double(projections.data[base + j]) }
                mean /= Double(plane)
                for j in 0..<plane { centred[j] = Double(projections.data[base + j]) - mean }
                // Row transforms at the needed column frequencies v: R[y][v].
                var rowRe = [Int: [Double]](), rowIm = [Int: [Double]]()
                for v in vs {
                    var re = [Double](repeating: 0, count: h), im = re
                    for y in 0..<h { for x in 0..<w {
                        let p = centred[y * w + x]
                        re[y] += p * cx[v * w + x]; im[y] += p * sx[v * w + x]
                    } }
                    rowRe[v] = re; rowIm[v] = im
                }
                func energy(_ u: Int, _ v: Int) -> Double {
                    let rr = rowRe[v]!, ri = rowIm[v]!
                    var re = 0.0, im = 0.0
                    for y in 0..<h {
                        let cr = cy[u * h + y], ci = sy[u * h + y]
                        re += rr[y] * cr - ri[y] * ci; im += rr[y] * ci + ri[y] * cr
                    }
                    return re * re + im * im
                }
                for (u, v) in peaks { peakEnergy += energy(u, v) }
                for (u, v) in neighbours { neighbourEnergy += energy(u, v) }
            }
        }
        guard used > 0, neighbourEnergy > 0 else { return nil }
        return (peakEnergy / Double(peaks.count)) / (neighbourEnergy / Double(neighbours.count))
    }
}

import Foundation
import Tensors

/// How much of the occlusion sensitivity falls outside the object (the `shortcut` diagnosis).
public struct ShortcutMeasurement: Codable, Sendable, Equatable {
    /// Mean over the occluded probes of the per-probe share.
    public var score: Double
    /// Per occluded probe with a measurable drop: sum over square positions of (drop of the correct
    /// class's probability) x (share of the square's pixels outside the object), over the sum of drops.
    public var perImage: [Double]
    public var images: Int
}

public enum Shortcut {
    /// The object mask of one (C, H, W) image with pixels in [0, 1]: the background is the most
    /// common value on the image's border (quantized to 1/32); a pixel belongs to something when
    /// any channel differs from it by more than 0.1; the object is the largest 4-connected group of
    /// such pixels together with every group at least a tenth its size (a garment's straps). A
    /// small separate blob (a marker, a watermark) is not the object. Returns (H, W) booleans.
    public static func objectMask(_ image: ArraySlice<Float>, channels c: Int, height h: Int, width w: Int) -> [Bool] {
        let start = image.startIndex, plane = h * w
        func px(_ ch: Int, _ y: Int, _ x: Int) -> Float { image[start + ch * plane + y * w + x] }
        var border: [[Int]: Int] = [:]
        for y in 0..<h { for x in 0..<w where y == 0 || x == 0 || y == h - 1 || x == w - 1 {
            border[(0..<c).map { Int((px($0, y, x) * 32).rounded()) }, default: 0] += 1
        } }
        let background = border.max { $0.value < $1.value || ($0.value == $1.value && $0.key.lexicographicallyPrecedes($1.key)) }!.key.map { Float($0) / 32 }
        var something = [Bool](repeating: false, count: plane)
        for y in 0..<h { for x in 0..<w {
            something[y * w + x] = (0..<c).contains { abs(px($0, y, x) - background[$0]) > 0.1 }
        } }
        // Connected components (4-neighbour flood fill).
        var label = [Int](repeating: -1, count: plane), sizes: [Int] = []
        for seed in 0..<plane where something[seed] && label[seed] < 0 {
            let id = sizes.count
            var stack = [seed], size = 0
            label[seed] = id
            while let p = stack.popLast() {
                size += 1
                let y = p / w, x = p % w
                for (ny, nx) in [(y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)] where ny >= 0 && ny < h && nx >= 0 && nx < w {
                    let q = ny * w + nx
                    if something[q] && label[q] < 0 { label[q] = id; stack.append(q) }
                }
            }
            sizes.append(size)
        }
        let largest = sizes.max() ?? 0
        return label.map { $0 >= 0 && sizes[$0] * 10 >= largest }
    }

    /// `pixels` (N, C, H, W) in [0, 1] are the probe images the maps index; `size` and `stride` the
    /// occluding square's, as the maps were made. Probes whose occlusion never lowers the correct
    /// class's probability by more than 0.05 say nothing and are left out; nil when none is left.
    public static func measure(maps: [OcclusionMap], pixels: Tensor, size: Int, stride: Int) -> ShortcutMeasurement? {
        guard pixels.shape.count == 4, size > 0, stride > 0 else { return nil }
        let (c, h, w) = (pixels.shape[1], pixels.shape[2], pixels.shape[3])
        let imageSize = c * h * w
        var shares: [Double] = []
        for m in maps where m.image < pixels.shape[0] {
            let img = pixels.data[(m.image * imageSize)..<((m.image + 1) * imageSize)]
            let object = objectMask(img, channels: c, height: h, width: w)
            var weighted = 0.0, total = 0.0, largest = 0.0
            for r in 0..<m.rows { for q in 0..<m.cols {
                let drop = max(0, Double(m.cleanProbability - m.correctProbability[r * m.cols + q]))
                guard drop > 0 else { continue }
                let y0 = r * stride, x0 = q * stride
                var outside = 0, count = 0
                for y in y0..<min(h, y0 + size) { for x in x0..<min(w, x0 + size) { count += 1; if !object[y * w + x] { outside += 1 } } }
                guard count > 0 else { continue }
                weighted += drop * Double(outside) / Double(count); total += drop; largest = max(largest, drop)
            } }
            if largest > 0.05 { shares.append(weighted / total) }
        }
        guard !shares.isEmpty else { return nil }
        return ShortcutMeasurement(score: shares.reduce(0, +) / Double(shares.count), perImage: shares, images: shares.count)
    }
}

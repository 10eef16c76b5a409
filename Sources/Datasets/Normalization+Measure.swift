import Layers
import Tensors

extension Normalization {
    /// Per-channel mean and population standard deviation of a whole image set (N, C, H, W)
    /// (or any shape ending in C, H, W), accumulated in Double.
    ///
    /// A channel with no variance gets std 1, so `apply` centres it instead of dividing by zero.
    public static func measure(_ images: Tensor) -> Normalization {
        precondition(images.rank >= 3, "measure needs images shaped (N, C, H, W), got \(images.shape)")
        let shape = images.shape
        return measure(channels: shape[shape.count - 3], plane: shape[shape.count - 2] * shape[shape.count - 1],
                       samples: shape.dropLast(3).reduce(1, *), chunks: [images])
    }

    /// The same statistics for a data set, read 1,024 samples at a time so the whole set is
    /// never held as floats (same summation order as `measure(_: Tensor)`, so the same result).
    public static func measure(_ dataset: Dataset) -> Normalization {
        let chunks = stride(from: 0, to: dataset.count, by: 1024).lazy.map { dataset.samples($0..<min(dataset.count, $0 + 1024)) }
        return measure(channels: dataset.shape[1], plane: dataset.shape[2] * dataset.shape[3], samples: dataset.count, chunks: chunks)
    }

    private static func measure<Chunks: Sequence<Tensor>>(channels: Int, plane: Int, samples: Int, chunks: Chunks) -> Normalization {
        let perChannel = Double(samples * plane)
        guard perChannel > 0 else {
            return Normalization(mean: [Float](repeating: 0, count: channels), std: [Float](repeating: 1, count: channels))
        }
        var sums = [Double](repeating: 0, count: channels)
        var squares = [Double](repeating: 0, count: channels)
        // Two passes (mean, then squared deviations) to avoid cancellation in sum(x^2) - n*mean^2.
        for chunk in chunks {
            chunk.data.withUnsafeBufferPointer { data in
                for n in 0..<(chunk.count / (channels * plane)) {
                    for c in 0..<channels {
                        sums[c] += planeSum(data, start: (n * channels + c) * plane, count: plane) { Double($0) }
                    }
                }
            }
        }
        for c in 0..<channels { sums[c] /= perChannel }
        for chunk in chunks {
            chunk.data.withUnsafeBufferPointer { data in
                for n in 0..<(chunk.count / (channels * plane)) {
                    for c in 0..<channels {
                        let mean = sums[c]
                        squares[c] += planeSum(data, start: (n * channels + c) * plane, count: plane) {
                            let d = Double($0) - mean
                            return d * d
                        }
                    }
                }
            }
        }
        let std = squares.map { variance -> Float in
            let value = (variance / perChannel).squareRoot()
            return value > 1e-12 ? Float(value) : 1
        }
        return Normalization(mean: sums.map { Float($0) }, std: std)
    }

    /// `(x - mean) / std` per channel, in place, for images shaped (..., C, H, W).
    public func apply(to images: inout Tensor) {
        let shape = images.shape
        precondition(shape.count >= 3, "normalization needs images shaped (N, C, H, W), got \(shape)")
        let channels = shape[shape.count - 3]
        precondition(mean.count == channels && std.count == channels,
                     "normalization has \(mean.count) means and \(std.count) stds for \(channels) channels")
        let plane = shape[shape.count - 2] * shape[shape.count - 1]
        let samples = shape.dropLast(3).reduce(1, *)
        images.data.withUnsafeMutableBufferPointer { data in
            guard let base = data.baseAddress else { return }
            for n in 0..<samples {
                for c in 0..<channels {
                    let m = mean[c], s = std[c]
                    let start = base + (n * channels + c) * plane
                    for i in 0..<plane { start[i] = (start[i] - m) / s }
                }
            }
        }
    }
}

/// Sum over one channel plane with four independent accumulators (keeps the adds pipelined).
@inline(__always)
private func planeSum(_ data: UnsafeBufferPointer<Float>, start: Int, count: Int, _ term: (Float) -> Double) -> Double {
    guard let base = data.baseAddress else { return 0 }
    let p = base + start
    var a = 0.0, b = 0.0, c = 0.0, d = 0.0
    var i = 0
    while i + 4 <= count {
        a += term(p[i]); b += term(p[i + 1]); c += term(p[i + 2]); d += term(p[i + 3])
        i += 4
    }
    while i < count { a += term(p[i]); i += 1 }
    return (a + b) + (c + d)
}

extension Dataset {
    /// `(x - mean) / std` per channel.
    public func normalized(by normalization: Normalization) -> Dataset {
        var values = images
        normalization.apply(to: &values)
        return Dataset(name: name, images: values, labels: labels, classNames: classNames)
    }
}

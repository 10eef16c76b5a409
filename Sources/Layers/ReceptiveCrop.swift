import Tensors

/// Layers `0...top` of a network restricted to the receptive field of one output position of
/// layer `top`: the same layer types on windows of their planes, unpadded, sharing the network's
/// weights. A deconvnet projection of one activation is zero outside these windows, so running
/// the same backward on them gives the same projection over planes of a few hundred values:
/// conv2's seed in zf-fmnist goes down through windows of 64x3x3, 32x7x7, 32x15x15 and 1x19x19
/// instead of planes of 64x14x14, 32x14x14, 32x28x28 and 1x28x28.
///
/// A window has the same size wherever it sits. Where it reaches past its plane, into padding,
/// its outside part stands for values the full network never has: the padding of the layer that
/// reads that plane. `deconvnet` zeroes them after every layer, so they reach no layer below,
/// and the caller keeps only the in-image part of the bottom window. (A conv's transposed filters
/// write into its padding; without the zeroing, a conv right below passed them on into the
/// image: up to 28% of a projection's peak on networks with two convs in a row.)
public struct ReceptiveCrop {
    /// Layers `0...top`, each restricted to its window.
    public let layers: [any Layer]
    /// Input window (height, width) of each layer; the entry after the last is the top layer's
    /// output window, (1, 1).
    public let extents: [(height: Int, width: Int)]
    /// The full network's layers `0...top`, whose geometry places the windows.
    private let full: [any Layer]
    /// The full network's input plane (height, width) of each layer: what a window may hold.
    private let planes: [(height: Int, width: Int)]

    init(layers: [any Layer], extents: [(height: Int, width: Int)], full: [any Layer]) {
        (self.layers, self.extents, self.full) = (layers, extents, full)
        planes = full.map { ($0.inputShape[1], $0.inputShape[2]) }
    }

    /// Where each layer's input window starts in its full input plane, (row, column), unclipped,
    /// for output position (y, x) of the top layer; the entry after the last is (y, x) itself.
    public func origins(y: Int, x: Int) -> [(row: Int, col: Int)] {
        var result = [(row: Int, col: Int)](repeating: (y, x), count: layers.count + 1)
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            let above = result[i + 1]
            let span = full[i].inputSpan(rows: above.row...above.row, cols: above.col...above.col)
            result[i] = (span.rows.lowerBound, span.cols.lowerBound)
        }
        return result
    }

    /// The deconvnet backward of the restricted layers, top to bottom, for a batch of seeds at
    /// output positions whose `origins` (one array per seed) place the windows. It needs no
    /// forward: with this rule the only forward state any layer uses is the pooling switches,
    /// installed in the windows with `MaxPool2D.restore` (ReLU rectifies the signal itself; conv
    /// is linear). After each layer, the part of its input window outside its input plane is zeroed.
    public func deconvnet(_ seed: Tensor, origins: [[(row: Int, col: Int)]]) -> Tensor {
        precondition(origins.count == seed.shape[0], "one origin list per seed")
        var d = seed
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            layers[i].backward(inPlace: &d, rule: .deconvnet, accumulateParameterGradients: false)
            zeroOutsidePlane(&d, layer: i, origins: origins)
        }
        return d
    }

    /// Zeroes the positions of `d`, (n, C, window height, window width) at layer `layer`'s input,
    /// that lie outside that layer's input plane.
    private func zeroOutsidePlane(_ d: inout Tensor, layer: Int, origins: [[(row: Int, col: Int)]]) {
        let (eh, ew) = extents[layer], (h, w) = planes[layer]
        let channels = d.shape[1]
        for (j, sample) in origins.enumerated() {
            let o = sample[layer]
            let rows = max(0, -o.row)..<max(0, min(eh, h - o.row)), cols = max(0, -o.col)..<max(0, min(ew, w - o.col))
            guard rows.count < eh || cols.count < ew else { continue }   // the window lies inside its plane
            d.data.withUnsafeMutableBufferPointer { p in
                for ch in 0..<channels {
                    let plane = p.baseAddress! + (j * channels + ch) * eh * ew
                    for r in 0..<eh {
                        let row = plane + r * ew
                        guard rows.contains(r) else { row.update(repeating: 0, count: ew); continue }
                        if cols.lowerBound > 0 { row.update(repeating: 0, count: cols.lowerBound) }
                        if cols.upperBound < ew { (row + cols.upperBound).update(repeating: 0, count: ew - cols.upperBound) }
                    }
                }
            }
        }
    }
}

extension Network {
    /// Layers `0...top` restricted to one output position's receptive field; nil if one of them
    /// has no restricted form (flatten and linear, which cannot come before a conv block).
    public func receptiveCrop(top: Int) -> ReceptiveCrop? {
        var restricted: [any Layer] = []
        var extents = [(height: 1, width: 1)]
        for i in stride(from: top, through: 0, by: -1) {
            guard let layer = layers[i].cropped(toOutput: extents.last!), layer.inputShape.count == 3 else { return nil }
            restricted.append(layer)
            extents.append((layer.inputShape[1], layer.inputShape[2]))
        }
        return ReceptiveCrop(layers: restricted.reversed(), extents: extents.reversed(), full: Array(layers[0...top]))
    }
}

extension WindowGeometry {
    /// The same window without padding, over the input that `output` of its positions see.
    func unpadded(forOutput output: (height: Int, width: Int)) -> (geometry: WindowGeometry, height: Int, width: Int) {
        (WindowGeometry(kernel: kernel, stride: stride, padding: 0), (output.height - 1) * stride + kernel, (output.width - 1) * stride + kernel)
    }
}

extension Conv2D {
    /// Plain im2col + GEMM: the Winograd and direct engines pay off on whole planes, not windows.
    public func cropped(toOutput output: (height: Int, width: Int)) -> (any Layer)? {
        let (geometry, h, w) = shape.window.unpadded(forOutput: output)
        guard let window = ConvShape(channels: shape.channels, height: h, width: w, window: geometry) else { return nil }
        return Conv2D(name: name, shape: window, outChannels: outChannels, sharing: weight, bias)
    }
}

extension MaxPool2D {
    public func cropped(toOutput output: (height: Int, width: Int)) -> (any Layer)? {
        let (geometry, h, w) = self.geometry.unpadded(forOutput: output)
        return MaxPool2D(inputShape: [channels, h, w], window: geometry)
    }

    /// One image's switches of this layer (`recorded`: (C, outH, outW) positions in the input
    /// planes) as switches of `crop`, this layer restricted to a window whose output starts at
    /// `output` in this layer's output planes and whose input starts at `input` in its input
    /// planes: (C, crop's outH, outW) positions in the window's input planes, or -1 where the
    /// window's output position lies outside this layer's planes (its value is dropped) or where
    /// the recorded switch routes nowhere (-1, or any position past the plane: a 16-bit -1 reads
    /// 65,535, which `RecordedSwitches` keeps past every 16-bit plane).
    public func cropSwitches(_ recorded: UnsafePointer<Int32>, to crop: MaxPool2D, output: (row: Int, col: Int),
                             input: (row: Int, col: Int), into result: UnsafeMutablePointer<Int32>) {
        cropSwitches(recorded, crop, output, input, result)
    }

    /// The same for switches kept as 16-bit positions (planes of at most 65,536 values).
    public func cropSwitches(_ recorded: UnsafePointer<UInt16>, to crop: MaxPool2D, output: (row: Int, col: Int),
                             input: (row: Int, col: Int), into result: UnsafeMutablePointer<Int32>) {
        cropSwitches(recorded, crop, output, input, result)
    }

    @inline(__always)
    private func cropSwitches<Position: FixedWidthInteger>(_ recorded: UnsafePointer<Position>, _ crop: MaxPool2D, _ output: (row: Int, col: Int),
                                                           _ input: (row: Int, col: Int), _ result: UnsafeMutablePointer<Int32>) {
        // Locals, not properties: stores through `result` could alias this object for all the
        // optimizer knows, which made it reload every property after every store.
        let (h, w, outH, outW) = (height, width, outHeight, outWidth)
        let (windowH, windowW, windowOutH, windowOutW) = (crop.height, crop.width, crop.outHeight, crop.outWidth)
        // The window's output columns inside this layer's planes.
        let first = min(windowOutW, max(0, -output.col)), end = max(first, min(windowOutW, outW - output.col))
        // A table from each position of the input plane to its place in the window (-1 outside):
        // one load per switch, where computing it took a division (or the k - 1 row steps that
        // replace one) per switch. Its last entry, -1, takes every switch that routes nowhere.
        let positions = UInt(h * w)
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: h * w + 1) { buffer in
            let table = buffer.baseAddress!
            table.update(repeating: -1, count: h * w + 1)
            for wy in max(0, -input.row)..<max(0, min(windowH, h - input.row)) {
                for wx in max(0, -input.col)..<max(0, min(windowW, w - input.col)) {
                    table[(input.row + wy) * w + input.col + wx] = Int32(truncatingIfNeeded: wy * windowW + wx)
                }
            }
            var r = result
            for c in 0..<channels {
                for cy in 0..<windowOutH {
                    defer { r += windowOutW }
                    let oy = output.row + cy
                    guard oy >= 0 && oy < outH else { r.update(repeating: -1, count: windowOutW); continue }
                    let plane = recorded + (c * outH + oy) * outW + output.col
                    for cx in 0..<first { r[cx] = -1 }
                    for cx in first..<end { r[cx] = table[Int(Swift.min(UInt(truncatingIfNeeded: Int(plane[cx])), positions))] }
                    for cx in end..<windowOutW { r[cx] = -1 }
                }
            }
        }
    }
}

extension ReLU {
    public func cropped(toOutput output: (height: Int, width: Int)) -> (any Layer)? {
        guard inputShape.count == 3 else { return nil }
        return ReLU(shape: [inputShape[0], output.height, output.width])
    }
}

extension Dropout {
    public func cropped(toOutput output: (height: Int, width: Int)) -> (any Layer)? {
        guard inputShape.count == 3 else { return nil }
        return Dropout(shape: [inputShape[0], output.height, output.width], rate: rate)
    }
}

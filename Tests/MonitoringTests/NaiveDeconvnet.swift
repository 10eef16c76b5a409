// The test oracle for the monitor's projections (issue 18): Zeiler & Fergus's deconvnet written
// from the paper's three steps (unpool with the switches, rectify, filter with the transposed
// filters) over whole images, with naive loops in Double. The other kinds a block may hold go
// down by their transposes (batch norm's scale, average pooling), or, for LRN, by its true
// gradient at the image's own forward, derived here by the chain rule from PyTorch's recipe.
//
// It shares no code with the path it checks: its own forward on whole planes, its own switches
// (the first maximum in row-major order of the window by the documented tie rule; padding never
// wins), its own top-k, and its own whole-plane unpooling and transposed convolution. No
// receptive-field crop, no sparse gradient, no Winograd or direct kernels, no recorded or
// translated switches, no Tensors kernels. Only the layer list (the model JSON), the weight
// values and the tie rule's one number (`NearTies.relativeTolerance`) come from the code under test.

import Foundation
import Tensors
import Layers

/// One image's activations, (C, H, W) in row-major order.
struct NaivePlanes {
    var c: Int, h: Int, w: Int
    var v: [Double]

    init(c: Int, h: Int, w: Int, v: [Double]? = nil) {
        (self.c, self.h, self.w) = (c, h, w)
        self.v = v ?? [Double](repeating: 0, count: c * h * w)
    }

    subscript(ch: Int, y: Int, x: Int) -> Double {
        get { v[(ch * h + y) * w + x] }
        set { v[(ch * h + y) * w + x] = newValue }
    }
}

struct NaiveDeconvnet {
    enum Op {
        /// weight (out, in, k, k), bias (out)
        case conv(weight: [Double], bias: [Double], out: Int, kernel: Int, stride: Int, padding: Int)
        case relu
        case maxpool(kernel: Int, stride: Int, padding: Int)
        /// Batch normalization at inference: y = scale * x + shift per channel.
        case affine(scale: [Double], shift: [Double])
        /// Dropout at inference.
        case identity
        /// Average pooling, zero padding counted: every window divided by kernel².
        case avgpool(kernel: Int, stride: Int, padding: Int)
        /// Each plane's mean, (C, 1, 1).
        case globalavgpool
        /// b_c = a_c / (k + alpha / size * sum of a_c'^2 over c' = c - size/2 ... c + (size-1)/2)^beta.
        case lrn(size: Int, alpha: Double, beta: Double, k: Double)
    }

    /// A conv block as the contract defines it: a conv and the layers of the block kinds that
    /// directly follow it; monitored at the last of them.
    struct Block { var name: String; var conv: Int; var output: Int }

    /// One image's forward: every layer's output and, per max-pooling layer, the switches.
    struct Trace {
        /// The image the forward started from (an LRN's gradient at layer 0 reads it).
        var image: NaivePlanes
        var outputs: [NaivePlanes]
        /// Per layer: (C, outH, outW) flat in-plane positions of the window maxima (empty for other layers).
        var switches: [[Int]]
        /// Per layer: (C, outH, outW) whether the window's winner could go either way in float32
        /// arithmetic (an element sits near the margin's edge; see `ambiguousBand`).
        var ambiguous: [[Bool]]
    }

    /// A chosen activation of the oracle's own top-k.
    struct Top: Equatable { var image: Int; var y: Int; var x: Int; var value: Double }

    let ops: [Op]
    let names: [String?]
    let blocks: [Block]
    let input: (c: Int, h: Int, w: Int)
    /// The tie rule under test (docs/report-data.md): the maximum of a window or map is taken at
    /// the first element in row-major order that is at most `tieTolerance` times the plane's
    /// largest magnitude below the largest value.
    var tieTolerance = Double(NearTies.relativeTolerance)
    /// A window holding an element whose distance below the maximum is between these multiples of
    /// the margin could go either way in float32 arithmetic (whose rounding stays under 0.15 of
    /// the margin). `OracleReport` then also tries the oracle with the margin just outside the band
    /// on either side (`withMargin`).
    static let ambiguousBand = 0.8...1.25

    /// The same oracle with the tie margin scaled by `factor`.
    func withMargin(_ factor: Double) -> NaiveDeconvnet {
        var copy = self
        copy.tieTolerance *= factor
        return copy
    }

    /// `layers`: the model JSON's layers in order; `tensors`: each layer's snapshot tensors by
    /// name (weight, bias, running_mean, running_var), flattened, keyed by layer index. Stops at
    /// the first flatten.
    init(input: [Int], layers: [LayerSpec], tensors: [Int: [String: [Float]]]) {
        self.input = (input[0], input[1], input[2])
        var ops: [Op] = [], names: [String?] = []
        for (i, l) in layers.enumerated() {
            let t = (tensors[i] ?? [:]).mapValues { $0.map(Double.init) }
            switch l.type {
            case "conv":
                ops.append(.conv(weight: t["weight"]!, bias: t["bias"]!, out: l.outChannels!,
                                 kernel: l.kernel!, stride: l.stride ?? 1, padding: l.padding ?? 0))
            case "batchnorm":
                let eps = l.values["eps"]?.number ?? 1e-5
                let scale = zip(t["weight"]!, t["running_var"]!).map { $0 / ($1 + eps).squareRoot() }
                ops.append(.affine(scale: scale, shift: (0..<scale.count).map { t["bias"]![$0] - scale[$0] * t["running_mean"]![$0] }))
            case "relu": ops.append(.relu)
            case "maxpool": ops.append(.maxpool(kernel: l.kernel!, stride: l.stride ?? l.kernel!, padding: l.padding ?? 0))
            case "dropout": ops.append(.identity)
            case "avgpool": ops.append(.avgpool(kernel: l.kernel!, stride: l.stride ?? l.kernel!, padding: l.padding ?? 0))
            case "globalavgpool": ops.append(.globalavgpool)
            case "lrn":
                ops.append(.lrn(size: l.int("size") ?? 5, alpha: l.values["alpha"]?.number ?? 1e-4,
                                beta: l.values["beta"]?.number ?? 0.75, k: l.values["k"]?.number ?? 1))
            default: break
            }
            if l.type == "flatten" || l.type == "linear" { break }
            names.append(l.name)
        }
        self.ops = ops
        self.names = names
        var blocks: [Block] = []
        let blockKinds: Set<String> = ["relu", "maxpool", "batchnorm", "lrn", "avgpool"]
        for (i, l) in layers.prefix(ops.count).enumerated() where l.type == "conv" {
            var end = i
            while end + 1 < ops.count, blockKinds.contains(layers[end + 1].type) { end += 1 }
            blocks.append(Block(name: l.name!, conv: i, output: end))
        }
        self.blocks = blocks
    }

    // MARK: forward

    func forward(_ image: NaivePlanes) -> Trace {
        var trace = Trace(image: image, outputs: [], switches: [], ambiguous: [])
        var x = image
        for op in ops {
            var switches: [Int] = [], ambiguous: [Bool] = []
            switch op {
            case let .conv(weight, bias, out, k, s, p):
                let oh = (x.h + 2 * p - k) / s + 1, ow = (x.w + 2 * p - k) / s + 1
                var y = NaivePlanes(c: out, h: oh, w: ow)
                for o in 0..<out { for oy in 0..<oh { for ox in 0..<ow {
                    var sum = bias[o]
                    for i in 0..<x.c { for ky in 0..<k { for kx in 0..<k {
                        let iy = oy * s - p + ky, ix = ox * s - p + kx
                        guard iy >= 0, iy < x.h, ix >= 0, ix < x.w else { continue }   // zero padding
                        sum += weight[((o * x.c + i) * k + ky) * k + kx] * x[i, iy, ix]
                    } } }
                    y[o, oy, ox] = sum
                } } }
                x = y
            case .relu:
                x.v = x.v.map { max($0, 0) }
            case let .affine(scale, shift):
                for i in 0..<x.v.count { let c = i / (x.h * x.w); x.v[i] = scale[c] * x.v[i] + shift[c] }
            case let .maxpool(k, s, p):
                let oh = (x.h + 2 * p - k) / s + 1, ow = (x.w + 2 * p - k) / s + 1
                var y = NaivePlanes(c: x.c, h: oh, w: ow)
                for ch in 0..<x.c {
                    let margin = tieTolerance * (0..<(x.h * x.w)).map { abs(x.v[ch * x.h * x.w + $0]) }.max()!
                    for oy in 0..<oh { for ox in 0..<ow {
                        // The window's in-plane elements in row-major order: padding never wins.
                        var window: [(value: Double, at: Int)] = []
                        for ky in 0..<k { for kx in 0..<k {
                            let iy = oy * s - p + ky, ix = ox * s - p + kx
                            guard iy >= 0, iy < x.h, ix >= 0, ix < x.w else { continue }
                            window.append((x[ch, iy, ix], iy * x.w + ix))
                        } }
                        let best = window.map(\.value).max()!
                        y[ch, oy, ox] = best
                        switches.append(window.first { $0.value >= best - margin }!.at)
                        ambiguous.append(window.contains { margin > 0 && Self.ambiguousBand.contains((best - $0.value) / margin) })
                    } }
                }
                x = y
            case .identity:
                break
            case let .avgpool(k, s, p):
                let oh = (x.h + 2 * p - k) / s + 1, ow = (x.w + 2 * p - k) / s + 1
                var y = NaivePlanes(c: x.c, h: oh, w: ow)
                for ch in 0..<x.c { for oy in 0..<oh { for ox in 0..<ow {
                    var sum = 0.0
                    for ky in 0..<k { for kx in 0..<k {
                        let iy = oy * s - p + ky, ix = ox * s - p + kx
                        guard iy >= 0, iy < x.h, ix >= 0, ix < x.w else { continue }   // padding adds 0 but counts
                        sum += x[ch, iy, ix]
                    } }
                    y[ch, oy, ox] = sum / Double(k * k)
                } } }
                x = y
            case .globalavgpool:
                var y = NaivePlanes(c: x.c, h: 1, w: 1)
                for ch in 0..<x.c { y.v[ch] = (0..<(x.h * x.w)).reduce(0.0) { $0 + x.v[ch * x.h * x.w + $1] } / Double(x.h * x.w) }
                x = y
            case let .lrn(size, alpha, beta, k):
                x = Self.lrn(x, size: size, alpha: alpha, beta: beta, k: k).output
            }
            trace.outputs.append(x)
            trace.switches.append(switches)
            trace.ambiguous.append(ambiguous)
        }
        return trace
    }

    // MARK: top-k

    /// Each map's k strongest probes: a probe's value is its map's maximum by the tie rule (the
    /// first position within the margin of the maximum, and the value there), ranked by value,
    /// then by the lower probe index.
    func topK(block: Block, traces: [Trace], k: Int) -> [[Top]] {
        let c = traces[0].outputs[block.output].c
        return (0..<c).map { ch in
            let perImage: [Top] = traces.enumerated().map { image, trace in
                let map = trace.outputs[block.output], plane = map.h * map.w
                let values = (0..<plane).map { map.v[ch * plane + $0] }
                let best = values.max()!, margin = tieTolerance * values.map(abs).max()!
                let at = values.firstIndex { $0 >= best - margin }!
                return Top(image: image, y: at / map.w, x: at % map.w, value: values[at])
            }
            return Array(perImage.sorted { $0.value > $1.value || ($0.value == $1.value && $0.image < $1.image) }.prefix(k))
        }
    }

    // MARK: deconvnet

    /// The projection to pixels of one activation of `block`'s output (all others zero), seeded
    /// with `value`: unpool with this image's switches, rectify, transposed filters, down to the
    /// input. `ambiguous` is set when a non-zero value went through a window whose winner is a near tie.
    ///
    /// `magnitude`, for projections that pass an LRN: the same passes from the LRN down with every
    /// term taken by its absolute value (|weights|, and each term of LRN's gradient on its own). At
    /// an LRN's maximum its true gradient cancels to nearly zero, and float32 can only give it to
    /// about 1e-7 of these terms, so projections through an LRN are compared relative to this scale.
    func project(block: Block, channel: Int, y: Int, x: Int, value: Double, trace: Trace)
        -> (pixels: NaivePlanes, ambiguous: Bool, magnitude: NaivePlanes?) {
        let top = trace.outputs[block.output]
        var d = NaivePlanes(c: top.c, h: top.h, w: top.w)
        d[channel, y, x] = value
        var ambiguous = false, magnitude: NaivePlanes? = nil
        for i in stride(from: block.output, through: 0, by: -1) {
            if magnitude == nil, case .lrn = ops[i] { magnitude = NaivePlanes(c: d.c, h: d.h, w: d.w, v: d.v.map(abs)) }
            if let m = magnitude { magnitude = step(i, m, trace: trace, absolute: true, ambiguous: &ambiguous) }
            d = step(i, d, trace: trace, absolute: false, ambiguous: &ambiguous)
        }
        return (d, ambiguous, magnitude)
    }

    /// Layer `i`'s deconvnet backward of `d`, or with `absolute` its terms' magnitudes.
    private func step(_ i: Int, _ d: NaivePlanes, trace: Trace, absolute: Bool, ambiguous: inout Bool) -> NaivePlanes {
        var d = d
        let below = i == 0 ? NaivePlanes(c: input.c, h: input.h, w: input.w) : trace.outputs[i - 1]
        let size: (Double) -> Double = absolute ? { abs($0) } : { $0 }
        switch ops[i] {
        case let .conv(weight, _, out, k, s, p):
            // Filtering with the transposed filters: every output position sends its value back
            // through the filter taps to the input positions it was computed from.
            var dx = NaivePlanes(c: below.c, h: below.h, w: below.w)
            for o in 0..<out { for oy in 0..<d.h { for ox in 0..<d.w {
                let g = d[o, oy, ox]
                guard g != 0 else { continue }
                for ci in 0..<below.c { for ky in 0..<k { for kx in 0..<k {
                    let iy = oy * s - p + ky, ix = ox * s - p + kx
                    guard iy >= 0, iy < below.h, ix >= 0, ix < below.w else { continue }
                    dx[ci, iy, ix] += size(weight[((o * below.c + ci) * k + ky) * k + kx]) * g
                } } }
            } } }
            d = dx
        case .relu:
            d.v = d.v.map { max($0, 0) }   // the deconvnet rectifies the signal going down
        case let .affine(scale, _):
            for i in 0..<d.v.count { d.v[i] *= size(scale[i / (d.h * d.w)]) }   // the transpose of a per-channel scale
        case .maxpool:
            var dx = NaivePlanes(c: below.c, h: below.h, w: below.w)
            for ch in 0..<d.c { for oy in 0..<d.h { for ox in 0..<d.w {
                let index = (ch * d.h + oy) * d.w + ox, g = d.v[index]
                guard g != 0 else { continue }
                if trace.ambiguous[i][index] && !absolute { ambiguous = true }
                dx.v[ch * below.h * below.w + trace.switches[i][index]] += g
            } } }
            d = dx
        case .identity:
            break
        case let .avgpool(k, s, p):
            // The transpose: each output's value / k² to every in-plane position of its window.
            var dx = NaivePlanes(c: below.c, h: below.h, w: below.w)
            for ch in 0..<d.c { for oy in 0..<d.h { for ox in 0..<d.w {
                let g = d[ch, oy, ox] / Double(k * k)
                for ky in 0..<k { for kx in 0..<k {
                    let iy = oy * s - p + ky, ix = ox * s - p + kx
                    guard iy >= 0, iy < below.h, ix >= 0, ix < below.w else { continue }
                    dx[ch, iy, ix] += g
                } }
            } } }
            d = dx
        case .globalavgpool:
            var dx = NaivePlanes(c: below.c, h: below.h, w: below.w)
            for i in 0..<dx.v.count { dx.v[i] = d.v[i / (below.h * below.w)] / Double(below.h * below.w) }
            d = dx
        case let .lrn(window, alpha, beta, k):
            // The true gradient at this image's own input to the layer (the forward's `below`,
            // or the image at layer 0): dx_j = sum_c dy_c db_c/da_j from the chain rule.
            let a = i == 0 ? trace.image : below
            let denominators = Self.lrn(a, size: window, alpha: alpha, beta: beta, k: k).denominators
            var dx = NaivePlanes(c: a.c, h: a.h, w: a.w)
            for y in 0..<a.h { for x in 0..<a.w {
                for c in 0..<a.c {
                    let D = denominators[c, y, x], g = d[c, y, x]
                    guard g != 0 else { continue }
                    // db_c/da_c' = [c == c'] D^-beta - beta a_c D^(-beta-1) alpha / size * 2 a_c' for c' in window(c).
                    dx[c, y, x] += g * pow(D, -beta)
                    for other in max(0, c - window / 2)...min(a.c - 1, c + (window - 1) / 2) {
                        let term = g * beta * a[c, y, x] * pow(D, -beta - 1) * alpha / Double(window) * 2 * a[other, y, x]
                        dx[other, y, x] += absolute ? abs(term) : -term
                    }
                }
            } }
            d = dx
        }
        return d
    }

    /// PyTorch's LocalResponseNorm of `a` by its recipe: the squares padded with size/2 zero channels
    /// before and (size-1)/2 after, averaged over each run of `size` channels; with D = k + alpha *
    /// that average, the output a / D^beta. Returns the output and D.
    static func lrn(_ a: NaivePlanes, size: Int, alpha: Double, beta: Double, k: Double) -> (output: NaivePlanes, denominators: NaivePlanes) {
        var out = a, denominators = a
        for y in 0..<a.h { for x in 0..<a.w {
            let padded = [Double](repeating: 0, count: size / 2) + (0..<a.c).map { a[$0, y, x] * a[$0, y, x] }
                + [Double](repeating: 0, count: (size - 1) / 2)
            for c in 0..<a.c {
                let D = k + alpha * padded[c..<(c + size)].reduce(0, +) / Double(size)
                denominators[c, y, x] = D
                out[c, y, x] = a[c, y, x] / pow(D, beta)
            }
        } }
        return (out, denominators)
    }
}

// The test oracle for the monitor's projections (issue 18): Zeiler & Fergus's deconvnet written
// from the paper's three steps (unpool with the switches, rectify, filter with the transposed
// filters) over whole images, with naive loops in Double.
//
// It shares no code with the path it checks: its own forward on whole planes, its own switches
// (the first maximum in row-major order of the window by the documented tie rule; padding never
// wins), its own top-k, and its own whole-plane unpooling and transposed convolution. No
// receptive-field crop, no sparse gradient, no Winograd or direct kernels, no recorded or
// translated switches, no Tensors kernels. Only the layer list (the model JSON), the weight
// values and the tie rule's one number (`NearTies.relativeTolerance`) come from the code under test.

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
    }

    /// A conv block as the contract defines it: a conv and the layers of the block kinds that
    /// directly follow it; monitored at the last of them.
    struct Block { var name: String; var conv: Int; var output: Int }

    /// One image's forward: every layer's output and, per max-pooling layer, the switches.
    struct Trace {
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
        var trace = Trace(outputs: [], switches: [], ambiguous: [])
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
    func project(block: Block, channel: Int, y: Int, x: Int, value: Double, trace: Trace) -> (pixels: NaivePlanes, ambiguous: Bool) {
        let top = trace.outputs[block.output]
        var d = NaivePlanes(c: top.c, h: top.h, w: top.w)
        d[channel, y, x] = value
        var ambiguous = false
        for i in stride(from: block.output, through: 0, by: -1) {
            let below = i == 0 ? NaivePlanes(c: input.c, h: input.h, w: input.w) : trace.outputs[i - 1]
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
                        dx[ci, iy, ix] += weight[((o * below.c + ci) * k + ky) * k + kx] * g
                    } } }
                } } }
                d = dx
            case .relu:
                d.v = d.v.map { max($0, 0) }   // the deconvnet rectifies the signal going down
            case let .affine(scale, _):
                for i in 0..<d.v.count { d.v[i] *= scale[i / (d.h * d.w)] }   // the transpose of a per-channel scale
            case .maxpool:
                var dx = NaivePlanes(c: below.c, h: below.h, w: below.w)
                for ch in 0..<d.c { for oy in 0..<d.h { for ox in 0..<d.w {
                    let index = (ch * d.h + oy) * d.w + ox, g = d.v[index]
                    guard g != 0 else { continue }
                    if trace.ambiguous[i][index] { ambiguous = true }
                    dx.v[ch * below.h * below.w + trace.switches[i][index]] += g
                } } }
                d = dx
            case .identity:
                break
            }
        }
        return (d, ambiguous)
    }
}

import Tensors

/// Max pooling with PyTorch semantics: the input is padded with -inf, the output is
/// `floor((H + 2p - k) / s) + 1`, and ties go to the first maximum in row-major window order.
///
/// The forward pass records the *switches*, the flat in-plane position (y*W + x) of each
/// window's maximum. Backward routes each value to its switch and adds where overlapping windows
/// share one: the exact transpose of the forward selection, and the deconvnet's unpooling.
public final class MaxPool2D: Layer {
    public let channels: Int, height: Int, width: Int
    public let geometry: WindowGeometry
    public let outHeight: Int, outWidth: Int
    /// (N, C, outH, outW) positions of the maxima within their (H, W) plane.
    public private(set) var switches: [Int32] = []
    private var savedBatch = 0

    public init?(inputShape: [Int], window: WindowGeometry) {
        // At most half the kernel of padding, as in PyTorch: every window then holds an input element.
        guard inputShape.count == 3, window.padding * 2 <= window.kernel,
              let oh = window.outputLength(inputShape[1]), let ow = window.outputLength(inputShape[2]) else { return nil }
        channels = inputShape[0]; height = inputShape[1]; width = inputShape[2]
        geometry = window; outHeight = oh; outWidth = ow
    }

    public var inputShape: [Int] { [channels, height, width] }
    public var outputShape: [Int] { [channels, outHeight, outWidth] }
    public var window: WindowGeometry? { geometry }

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let n = x.shape[0]
        precondition(Array(x.shape.dropFirst()) == inputShape, "maxpool expects \(inputShape), got \(x.shape)")
        savedBatch = n
        let planes = n * channels, h = height, w = width, oh = outHeight, ow = outWidth
        var out = Tensor(uninitialized: [n, channels, oh, ow]) { _ in }  // every window writes its output
        let fast = StrideTwoPoolPlane(height: h, width: w, geometry: geometry)
        if mode == .evaluation, let kernel = fast {
            // No backward follows: the maxima alone (a backward after this forward stops at the precondition in `unpool`).
            switches = []
            x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                let (xb, ob) = (xp.baseAddress!, op.baseAddress!)
                Self.forEachRun(of: planes, scratchFloats: kernel.scratchFloats, scratchInts: kernel.scratchInts, prepare: kernel.prepare) { p, floats, _ in
                    kernel.poolMaxima(xb + p * h * w, into: ob + p * oh * ow, scratch: floats)
                }
            } }
            return out
        }
        // Not zeroed: every window writes its switch.
        let count = planes * oh * ow
        if switches.count != count { switches = [Int32](unsafeUninitializedCapacity: count) { _, initialized in initialized = count } }
        x.data.withUnsafeBufferPointer { xp in
        out.data.withUnsafeMutableBufferPointer { op in
        switches.withUnsafeMutableBufferPointer { sp in
            let (xb, ob, sb) = (xp.baseAddress!, op.baseAddress!, sp.baseAddress!)
            if let kernel = fast {
                Self.pool(planes, kernel, xb, ob, sb)
            } else {
                Self.pool(planes, MaxPoolPlane(height: h, width: w, outHeight: oh, outWidth: ow, geometry: geometry), xb, ob, sb)
            }
        } } }
        return out
    }

    /// Pools one image's (C, H, W) planes into its (C, outH, outW) maxima as an `.evaluation`
    /// forward does, on the calling thread (for `Conv2D.evaluationForward`, which calls it from its
    /// own parallel loop); nil where no vector kernel fits the window.
    public func evaluationPooling() -> ((_ image: UnsafePointer<Float>, _ into: UnsafeMutablePointer<Float>) -> Void)? {
        guard let kernel = StrideTwoPoolPlane(height: height, width: width, geometry: geometry) else { return nil }
        let (channels, plane, outPlane) = (channels, height * width, outHeight * outWidth)
        return { image, into in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: kernel.scratchFloats) { scratch in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: max(1, kernel.scratchInts)) { scratchArg in
                kernel.prepare(scratch: scratch.baseAddress!, scratchArg: scratchArg.baseAddress!)
                for c in 0..<channels { kernel.poolMaxima(image + c * plane, into: into + c * outPlane, scratch: scratch.baseAddress!) }
            } }
        }
    }

    /// What an `.evaluation` forward of `batch` samples leaves: no switches.
    func forgetSwitches(batch: Int) {
        switches = []
        savedBatch = batch
    }

    /// `body(plane, floats, ints)` for each of `planes` on all cores, each worker taking a contiguous
    /// run of planes (so reads stream through memory) with its own kernel scratch, prepared once.
    private static func forEachRun(of planes: Int, scratchFloats: Int, scratchInts: Int,
                                   prepare: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>) -> Void,
                                   _ body: (Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>) -> Void) {
        let workers = min(planes, 64)
        parallelFor(workers) { worker in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: scratchFloats) { scratch in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: max(1, scratchInts)) { scratchArg in
                let (floats, ints) = (scratch.baseAddress!, scratchArg.baseAddress!)
                prepare(floats, ints)
                for p in (worker * planes / workers)..<((worker + 1) * planes / workers) { body(p, floats, ints) }
            } }
        }
    }

    /// `planes` (H, W) planes of `x` into (outH, outW) planes of `out` and `switches`, on all cores.
    private static func pool<Kernel: PlanePooling>(_ planes: Int, _ kernel: Kernel, _ x: UnsafePointer<Float>,
                                                   _ out: UnsafeMutablePointer<Float>, _ switches: UnsafeMutablePointer<Int32>) {
        let (plane, outPlane) = (kernel.height * kernel.width, kernel.outHeight * kernel.outWidth)
        forEachRun(of: planes, scratchFloats: kernel.scratchFloats, scratchInts: kernel.scratchInts,
                   prepare: { kernel.prepare(scratch: $0, scratchArg: $1) }) { p, floats, ints in
            kernel.pool(x + p * plane, into: out + p * outPlane, switches: switches + p * outPlane, scratch: floats, scratchArg: ints)
        }
    }

    /// The switches of a forward of `x` into `y` (any mode) by the monitor's tie rule (`NearTies`):
    /// in each window the first element within the tolerance of the maximum instead of the strict
    /// first maximum, so values equal in exact arithmetic but a few ulps apart in float32 route a
    /// projection as an exact engine would. (N, C, outH, outW), for the planes in `planes` (image
    /// * C + channel; all when nil), -1 (routing nowhere) in the others: the monitor's top-k pass
    /// decides the few planes a projection can read, and nothing else. Install them with
    /// `restore(switches:batch:)`. Training keeps the strict rule (its gradients do not care).
    public func tieSwitches(input x: Tensor, output y: Tensor, planes chosen: [Int]? = nil) -> [Int32] {
        let n = x.shape.first ?? 0
        precondition(x.shape == [n] + inputShape && y.shape == [n] + outputShape, "maxpool tieSwitches needs a forward's input and output")
        let all = n * channels
        let planes = chosen ?? Array(0..<all)
        precondition(planes.allSatisfy { (0..<all).contains($0) }, "maxpool tieSwitches: a plane outside the batch")
        let (h, w, oh, ow, window) = (height, width, outHeight, outWidth, geometry)
        let outPlane = oh * ow
        return [Int32](unsafeUninitializedCapacity: all * outPlane) { buffer, initialized in
            let sb = buffer.baseAddress!
            if chosen != nil { sb.update(repeating: -1, count: all * outPlane) }
            x.data.withUnsafeBufferPointer { xp in
            y.data.withUnsafeBufferPointer { yp in
            planes.withUnsafeBufferPointer { pp in
                let (xb, yb, pb) = (xp.baseAddress!, yp.baseAddress!, pp.baseAddress!)
                if let kernel = StrideTwoPoolPlane(height: h, width: w, geometry: window) {
                    // One vector pass per plane for the windows `poolMaxima` vectorizes (the presets' 3/2/1).
                    parallelRanges(planes.count, minimum: 16) { range in
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: kernel.scratchFloats) { scratch in
                        withUnsafeTemporaryAllocation(of: Int32.self, capacity: kernel.scratchInts) { scratchArg in
                            kernel.prepare(scratch: scratch.baseAddress!, scratchArg: scratchArg.baseAddress!)
                            for q in range {
                                let p = pb[q]
                                kernel.tieSwitches(xb + p * h * w, maxima: yb + p * outPlane, switches: sb + p * outPlane,
                                                   scratch: scratch.baseAddress!, scratchArg: scratchArg.baseAddress!)
                            }
                        } }
                    }
                    return
                }
                // Any other window: the strict switches, then the scalar rule re-decides them.
                let kernel = MaxPoolPlane(height: h, width: w, outHeight: oh, outWidth: ow, geometry: window)
                parallelRanges(planes.count, minimum: 16) { range in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: kernel.scratchFloats + outPlane) { scratch in
                    withUnsafeTemporaryAllocation(of: Int32.self, capacity: max(1, kernel.scratchInts)) { scratchArg in
                        let (floats, ints) = (scratch.baseAddress!, scratchArg.baseAddress!)
                        kernel.prepare(scratch: floats, scratchArg: ints)
                        for q in range {
                            let p = pb[q], switches = sb + p * outPlane, maxima = floats + kernel.scratchFloats
                            kernel.pool(xb + p * h * w, into: maxima, switches: switches, scratch: floats, scratchArg: ints)
                            NearTies.settle(xb + p * h * w, height: h, width: w, geometry: window, maxima: maxima,
                                            outHeight: oh, outWidth: ow, switches: switches)
                        }
                    } }
                }
            } } }
            initialized = all * outPlane
        }
    }

    /// Installs switches for `batch` samples, (batch, C, outH, outW), so a deconvnet can unpool
    /// without running the forward: recorded by an earlier forward, or translated into a window
    /// (`cropSwitches`), where -1 routes a value nowhere.
    public func restore(switches recorded: [Int32], batch: Int) {
        precondition(recorded.count == batch * channels * outHeight * outWidth, "maxpool restore: \(recorded.count) switches for batch \(batch)")
        switches = recorded
        savedBatch = batch
    }

    public func backward(_ dy: Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) -> Tensor {
        unpool(dy, gate: nil)
    }

    /// The backward of a ReLU and this layer after it, for the plain gradient: `relu` is the ReLU's
    /// output (this layer's input, never negative). A value goes to its switch only where `relu`
    /// is positive there, which is the ReLU's mask applied to the sum, since every value reaching
    /// one position is masked alike; the ReLU's own pass is saved (`Network.backward` pairs them).
    public func backward(_ dy: Tensor, gatedBy relu: Tensor) -> Tensor {
        precondition(relu.shape == [savedBatch] + inputShape, "maxpool gate \(relu.shape) is not the input \([savedBatch] + inputShape)")
        return unpool(dy, gate: relu)
    }

    private func unpool(_ dy: Tensor, gate: Tensor?) -> Tensor {
        let n = savedBatch
        precondition(dy.shape == [n] + outputShape, "maxpool backward expects \([n] + outputShape), got \(dy.shape)")
        precondition(switches.count == dy.count, "maxpool backward without its forward's switches (an .evaluation forward keeps none)")
        let plane = height * width, outPlane = outHeight * outWidth
        // Each plane is zeroed and then scattered into by one thread: planes are disjoint.
        let dx = Tensor(uninitialized: [n] + inputShape) { xp in
            dy.data.withUnsafeBufferPointer { dp in
            switches.withUnsafeBufferPointer { sp in
            (gate ?? dy).data.withUnsafeBufferPointer { gp in
                let (db, sb, xb, gb) = (dp.baseAddress!, sp.baseAddress!, xp.baseAddress!, gp.baseAddress!)
                parallelRanges(n * channels, minimum: 64) { planes in
                    for pl in planes {
                        let d = db + pl * outPlane, s = sb + pl * outPlane, dst = xb + pl * plane
                        dst.update(repeating: 0, count: plane)
                        if gate != nil {
                            // Gated by bits, not by a branch on the data (which mispredicted): a ReLU
                            // output is +0 or positive, so it is positive exactly when its bits are not 0.
                            let g = UnsafeRawPointer(gb + pl * plane).assumingMemoryBound(to: UInt32.self)
                            for i in 0..<outPlane {
                                let t = Int(s[i]), keep = 0 &- min(g[t], 1)
                                dst[t] += Float(bitPattern: d[i].bitPattern & keep)
                            }
                        } else {
                            // A negative switch (a `ReceptiveCrop` window's position outside the plane) routes nowhere.
                            for i in 0..<outPlane where s[i] >= 0 { dst[Int(s[i])] += d[i] }
                        }
                    }
                }
            } } }
        }
        return dx
    }
}

extension MaxPool2D: LayerKind {
    public static let type = "maxpool"
    public static let keys = ["kernel", "stride", "padding"]

    public static func build(_ spec: LayerSpec, input: [Int], context: inout LayerBuildContext) throws -> MaxPool2D {
        _ = try context.planes(input)
        let window = try context.poolingWindow()
        guard let pool = MaxPool2D(inputShape: input, window: window) else { throw context.windowTooLarge(window, input: input) }
        return pool
    }

    public var blockRole: BlockRole { .member }
    public var summary: String { "\(geometry.kernel)x\(geometry.kernel), stride \(geometry.stride), padding \(geometry.padding)" }
}

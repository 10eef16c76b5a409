import Tensors

/// Average pooling with PyTorch's `AvgPool2d` semantics and `count_include_pad=True`: the input
/// is padded with zeros, every window divides by kernel², and the output is
/// `floor((H + 2p - k) / s) + 1`.
///
/// A linear map, so its backward under every rule is its exact transpose: each output's
/// gradient, divided by kernel², goes to the in-plane positions of its window (what fell on the
/// padding is dropped). It keeps no forward state.
public final class AvgPool2D: Layer {
    public let channels: Int, height: Int, width: Int
    public let geometry: WindowGeometry
    public let outHeight: Int, outWidth: Int

    public init?(inputShape: [Int], window: WindowGeometry) {
        // At most half the kernel of padding, as in PyTorch.
        guard inputShape.count == 3, window.padding * 2 <= window.kernel,
              let oh = window.outputLength(inputShape[1]), let ow = window.outputLength(inputShape[2]) else { return nil }
        channels = inputShape[0]; height = inputShape[1]; width = inputShape[2]
        geometry = window; outHeight = oh; outWidth = ow
    }

    public var inputShape: [Int] { [channels, height, width] }
    public var outputShape: [Int] { [channels, outHeight, outWidth] }
    public var window: WindowGeometry? { geometry }

    /// The in-plane input range `lo..<hi` that output `o` reads along an axis of `length` elements.
    @inline(__always)
    private func taps(_ o: Int, length: Int) -> Range<Int> {
        let start = o * geometry.stride - geometry.padding
        return max(0, start)..<min(length, start + geometry.kernel)
    }

    public func forward(_ x: Tensor, mode: ForwardMode) -> Tensor {
        let n = x.shape[0]
        precondition(Array(x.shape.dropFirst()) == inputShape, "avgpool expects \(inputShape), got \(x.shape)")
        let (h, w, oh, ow) = (height, width, outHeight, outWidth)
        let scale = 1 / Float(geometry.kernel * geometry.kernel)
        return Tensor(uninitialized: [n] + outputShape) { op in   // every window writes its output
            x.data.withUnsafeBufferPointer { xp in
                let (xb, ob) = (xp.baseAddress!, op.baseAddress!)
                parallelRanges(n * channels, minimum: 16) { planes in
                    for p in planes {
                        let src = xb + p * h * w, dst = ob + p * oh * ow
                        for oy in 0..<oh {
                            let rows = taps(oy, length: h)
                            for ox in 0..<ow {
                                let cols = taps(ox, length: w)
                                var sum: Float = 0
                                for y in rows { for x in cols { sum += src[y * w + x] } }
                                dst[oy * ow + ox] = sum * scale
                            }
                        }
                    }
                }
            }
        }
    }

    public func backward(_ dy: Tensor, rule: BackwardRule, accumulateParameterGradients: Bool) -> Tensor {
        let n = dy.shape[0]
        precondition(Array(dy.shape.dropFirst()) == outputShape, "avgpool backward expects \(outputShape), got \(dy.shape)")
        let (h, w, oh, ow) = (height, width, outHeight, outWidth)
        let scale = 1 / Float(geometry.kernel * geometry.kernel)
        // Each plane is zeroed and then scattered into by one thread: planes are disjoint.
        return Tensor(uninitialized: [n] + inputShape) { xp in
            dy.data.withUnsafeBufferPointer { dp in
                let (db, xb) = (dp.baseAddress!, xp.baseAddress!)
                parallelRanges(n * channels, minimum: 16) { planes in
                    for p in planes {
                        let src = db + p * oh * ow, dst = xb + p * h * w
                        dst.update(repeating: 0, count: h * w)
                        for oy in 0..<oh {
                            let rows = taps(oy, length: h)
                            for ox in 0..<ow {
                                let g = src[oy * ow + ox] * scale
                                guard g != 0 else { continue }
                                let cols = taps(ox, length: w)
                                for y in rows { for x in cols { dst[y * w + x] += g } }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The same pooling without padding over the input window `output` of its positions see:
    /// window positions on the padding stand for zeros, which `ReceptiveCrop` zeroes after each
    /// layer, and the divisor stays kernel², so the window's backward is the full layer's.
    public func cropped(toOutput output: (height: Int, width: Int)) -> (any Layer)? {
        let (geometry, h, w) = self.geometry.unpadded(forOutput: output)
        return AvgPool2D(inputShape: [channels, h, w], window: geometry)
    }
}

extension AvgPool2D: LayerKind {
    public static let type = "avgpool"
    public static let keys = ["kernel", "stride", "padding"]

    public static func build(_ spec: LayerSpec, input: [Int], context: inout LayerBuildContext) throws -> AvgPool2D {
        _ = try context.planes(input)
        let window = try context.poolingWindow()
        guard let pool = AvgPool2D(inputShape: input, window: window) else { throw context.windowTooLarge(window, input: input) }
        return pool
    }

    public var blockRole: BlockRole { .member }
    public var summary: String { "\(geometry.kernel)x\(geometry.kernel), stride \(geometry.stride), padding \(geometry.padding), zero padding counted" }
}

/// Geometry of a 2-D sliding window (convolution or pooling) over one (C, H, W) input.
///
/// Output size follows PyTorch: `floor((H + 2p - k) / s) + 1`.
public struct WindowGeometry: Equatable, Hashable, Sendable, Codable {
    public var kernel: Int
    public var stride: Int
    public var padding: Int

    public init(kernel: Int, stride: Int, padding: Int) {
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    /// Output length along one axis, or nil when the kernel does not fit in the padded input.
    public func outputLength(_ input: Int) -> Int? {
        let padded = input + 2 * padding
        guard kernel >= 1, stride >= 1, padding >= 0, padded >= kernel else { return nil }
        return (padded - kernel) / stride + 1
    }

    /// Kernel offsets (0..<kernel) that meet no input element at any output position along an axis
    /// of `input` elements: they only ever multiply padding. All of them when the kernel does not fit.
    ///
    /// Offset `d` at output `i` reads input `i * stride + d - padding`; the first output whose read
    /// is not left of the input is `i0 = max(0, ceil((padding - d) / stride))`, and the offset meets
    /// the input if that output exists and its read is not right of it.
    public func offsetsSeeingOnlyPadding(_ input: Int) -> [Int] {
        guard let outputs = outputLength(input) else { return Array(0..<kernel) }
        return (0..<kernel).filter { d in
            let first = max(0, (padding - d + stride - 1) / stride)
            return !(first < outputs && first * stride + d - padding <= input - 1)
        }
    }

    /// Input interval `[lo, hi]` (unclipped, may reach into padding) seen by outputs `[lo, hi]`.
    public func inputSpan(of outputSpan: ClosedRange<Int>) -> ClosedRange<Int> {
        (outputSpan.lowerBound * stride - padding)...(outputSpan.upperBound * stride - padding + kernel - 1)
    }
}

/// The im2col layout of one convolution: input (C, H, W) -> columns (C*k*k, outH*outW).
public struct ConvShape: Equatable, Sendable {
    public let channels: Int, height: Int, width: Int
    public let window: WindowGeometry
    public let outHeight: Int, outWidth: Int

    public init?(channels: Int, height: Int, width: Int, window: WindowGeometry) {
        guard let oh = window.outputLength(height), let ow = window.outputLength(width) else { return nil }
        self.channels = channels; self.height = height; self.width = width
        self.window = window; self.outHeight = oh; self.outWidth = ow
    }

    /// Rows of the column matrix: one per (channel, ky, kx).
    public var patchSize: Int { channels * window.kernel * window.kernel }
    /// Columns of the column matrix for one image: one per output position.
    public var outputPositions: Int { outHeight * outWidth }
    public var inputSize: Int { channels * height * width }
}

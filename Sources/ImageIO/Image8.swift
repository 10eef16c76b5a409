/// An 8-bit image in memory: `channels` is 1 (gray) or 3 (RGB), `pixels` is row-major with
/// interleaved channels, so pixel (x, y) channel c is `pixels[(y * width + x) * channels + c]`.
public struct Image8: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)x\(height)")
        precondition(channels == 1 || channels == 3, "channels must be 1 (gray) or 3 (RGB), got \(channels)")
        precondition(pixels.count == width * height * channels,
                     "\(width)x\(height)x\(channels) image needs \(width * height * channels) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// A black image.
    public init(width: Int, height: Int, channels: Int) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [UInt8](repeating: 0, count: max(0, width) * max(0, height) * channels))
    }

    public subscript(x: Int, y: Int, channel: Int) -> UInt8 {
        get { pixels[(y * width + x) * channels + channel] }
        set { pixels[(y * width + x) * channels + channel] = newValue }
    }
}

/// A failed PNG read or write: one line naming the file (or `<memory>`) and, when libpng
/// reported one, its message.
public struct ImageIOError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file path, or `<memory>` for `encode`/`decode`.
    public var source: String
    /// What went wrong, without the source prefix.
    public var reason: String

    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }
}

import CPNG
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// PNG reading and writing through libpng's simplified API (no setjmp needed from Swift).
///
/// Decoding yields gray (1 channel) when the PNG has no colour and RGB (3 channels) otherwise;
/// an alpha channel is composited onto black. 16-bit files are reduced to 8 bits by libpng.
public enum PNGCodec {
    /// Largest decoded image accepted (width * height * channels bytes): 256 MiB.
    public static let maxDecodedBytes = 1 << 28

    static let memorySource = "<memory>"
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    // MARK: encoding

    /// The PNG file bytes for `image`.
    public static func encode(_ image: Image8) throws -> [UInt8] {
        try encode(image, source: memorySource)
    }

    /// Writes `image` as a PNG atomically: the data goes to a temporary file in the same
    /// directory which is then renamed over `path`, so readers never see a partial file.
    public static func write(_ image: Image8, to path: String) throws {
        let bytes = try encode(image, source: path)
        try writeFileAtomically(bytes, to: path)
    }

    static func encode(_ image: Image8, source: String) throws -> [UInt8] {
        guard image.channels == 1 || image.channels == 3 else {
            throw ImageIOError(source: source, reason: "cannot encode an image with \(image.channels) channels (need 1 or 3)")
        }
        guard image.width > 0, image.height > 0, image.width <= Int(Int32.max), image.height <= Int(Int32.max) else {
            throw ImageIOError(source: source, reason: "cannot encode an image of size \(image.width)x\(image.height)")
        }
        let needed = try checkedSize(width: image.width, height: image.height, channels: image.channels, source: source)
        guard image.pixels.count == needed else {
            throw ImageIOError(source: source, reason: "\(image.width)x\(image.height)x\(image.channels) image needs \(needed) bytes, has \(image.pixels.count)")
        }

        var png = png_image()
        png.version = dsc_png_image_version()
        png.width = png_uint_32(image.width)
        png.height = png_uint_32(image.height)
        png.format = image.channels == 1 ? dsc_png_format_gray() : dsc_png_format_rgb()
        defer { png_image_free(&png) }

        var capacity = dsc_png_image_png_size_max(&png)
        // Two attempts at most: the bound is an upper bound, but libpng reports the real size if not.
        for _ in 0..<2 {
            var output = [UInt8](repeating: 0, count: Int(capacity))
            var size = png_alloc_size_t(capacity)
            let ok = output.withUnsafeMutableBytes { out in
                image.pixels.withUnsafeBytes { pixels in
                    png_image_write_to_memory(&png, out.baseAddress, &size, 0, pixels.baseAddress, 0, nil)
                }
            }
            if ok != 0 {
                output.removeSubrange(Int(size)...)
                return output
            }
            if png.warning_or_error & 0x03 > 1 || size <= capacity {
                throw ImageIOError(source: source, reason: "cannot encode PNG" + libpngSuffix(png))
            }
            capacity = size
            png_image_free(&png)
            png.warning_or_error = 0
        }
        throw ImageIOError(source: source, reason: "cannot encode PNG: output size keeps growing")
    }

    // MARK: decoding

    /// Reads and decodes the PNG file at `path`.
    public static func read(from path: String) throws -> Image8 {
        // PNG data larger than the decoded limit plus generous overhead cannot be a valid image for us.
        let bytes = try readFile(path, limit: maxDecodedBytes + (1 << 24))
        return try decode(bytes, source: path)
    }

    /// Decodes PNG file bytes.
    public static func decode(_ bytes: [UInt8]) throws -> Image8 {
        try decode(bytes, source: memorySource)
    }

    static func decode(_ bytes: [UInt8], source: String) throws -> Image8 {
        if bytes.isEmpty {
            throw ImageIOError(source: source, reason: "empty file, not a PNG")
        }
        let prefix = Array(bytes.prefix(signature.count))
        let hasSignature = prefix == Array(signature.prefix(prefix.count))

        var png = png_image()
        png.version = dsc_png_image_version()
        defer { png_image_free(&png) }

        // libpng keeps a pointer to the memory between begin and finish: both happen in this closure.
        return try bytes.withUnsafeBytes { raw -> Image8 in
            guard png_image_begin_read_from_memory(&png, raw.baseAddress, raw.count) != 0 else {
                if !hasSignature {
                    throw ImageIOError(source: source, reason: "not a PNG file" + libpngSuffix(png))
                }
                if bytes.count < signature.count {
                    throw ImageIOError(source: source, reason: "truncated PNG: only \(bytes.count) bytes" + libpngSuffix(png))
                }
                throw ImageIOError(source: source, reason: "invalid PNG header" + libpngSuffix(png))
            }
            let color = png.format & png_uint_32(PNG_FORMAT_FLAG_COLOR) != 0
            let channels = color ? 3 : 1
            let width = Int(png.width), height = Int(png.height)
            let count = try checkedSize(width: width, height: height, channels: channels, source: source)
            png.format = color ? dsc_png_format_rgb() : dsc_png_format_gray()

            var pixels = [UInt8](repeating: 0, count: count)
            var black = png_color(red: 0, green: 0, blue: 0)
            let ok = pixels.withUnsafeMutableBytes { out in
                png_image_finish_read(&png, &black, out.baseAddress, 0, nil)
            }
            guard ok != 0 else {
                throw ImageIOError(source: source, reason: "corrupt or truncated PNG data" + libpngSuffix(png))
            }
            return Image8(width: width, height: height, channels: channels, pixels: pixels)
        }
    }

    // MARK: helpers

    /// width * height * channels, refusing overflow and anything above `maxDecodedBytes`.
    static func checkedSize(width: Int, height: Int, channels: Int, source: String) throws -> Int {
        let (area, o1) = width.multipliedReportingOverflow(by: height)
        let (total, o2) = area.multipliedReportingOverflow(by: channels)
        guard !o1, !o2, total <= maxDecodedBytes else {
            throw ImageIOError(source: source, reason: "image too large: \(width)x\(height)x\(channels) exceeds the \(maxDecodedBytes)-byte limit")
        }
        return total
    }

    static func libpngSuffix(_ png: png_image) -> String {
        var message = png.message
        let text = withUnsafeBytes(of: &message) { raw -> String in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        return text.isEmpty ? "" : " (libpng: \(text))"
    }
}

// MARK: POSIX file helpers (errno-based messages)

func posixMessage(_ code: Int32) -> String {
    String(cString: strerror(code))
}

func readFile(_ path: String, limit: Int) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else {
        throw ImageIOError(source: path, reason: "cannot open: \(posixMessage(errno))")
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
        throw ImageIOError(source: path, reason: "cannot stat: \(posixMessage(errno))")
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
        throw ImageIOError(source: path, reason: "not a regular file")
    }
    guard Int(info.st_size) <= limit else {
        throw ImageIOError(source: path, reason: "file too large (\(info.st_size) bytes, limit \(limit))")
    }
    var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
    var filled = 0
    while filled < bytes.count {
        let n = bytes.withUnsafeMutableBytes { buffer in
            Glibc_read(fd, buffer.baseAddress! + filled, buffer.count - filled)
        }
        if n < 0 {
            if errno == EINTR { continue }
            throw ImageIOError(source: path, reason: "read failed: \(posixMessage(errno))")
        }
        if n == 0 { break } // file shrank while reading
        filled += n
    }
    if filled < bytes.count { bytes.removeSubrange(filled...) }
    return bytes
}

func writeFileAtomically(_ bytes: [UInt8], to path: String) throws {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { String(path[..<$0]) } ?? "."
    let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
    guard !base.isEmpty else {
        throw ImageIOError(source: path, reason: "not a file name")
    }
    let temp = (directory.isEmpty ? "" : directory + "/") + ".\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard fd >= 0 else {
        throw ImageIOError(source: path, reason: "cannot create \(temp): \(posixMessage(errno))")
    }
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { buffer in
            Glibc_write(fd, buffer.baseAddress! + written, buffer.count - written)
        }
        if n < 0 {
            if errno == EINTR { continue }
            let message = posixMessage(errno)
            close(fd)
            unlink(temp)
            throw ImageIOError(source: path, reason: "write failed: \(message)")
        }
        written += n
    }
    if close(fd) != 0 {
        let message = posixMessage(errno)
        unlink(temp)
        throw ImageIOError(source: path, reason: "write failed: \(message)")
    }
    if rename(temp, path) != 0 {
        let message = posixMessage(errno)
        unlink(temp)
        throw ImageIOError(source: path, reason: "cannot rename temporary file into place: \(message)")
    }
}

// `read`/`write` are shadowed by PNGCodec's static methods inside the enum; name the libc ones explicitly.
@inline(__always) private func Glibc_read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}

@inline(__always) private func Glibc_write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}

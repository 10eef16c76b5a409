/// Images from an IDX file (magic 0x00000803): `count` images of `rows` x `columns` unsigned bytes,
/// row-major, image after image.
public struct IDXImages: Sendable, Equatable {
    public var count: Int
    public var rows: Int
    public var columns: Int
    public var pixels: [UInt8]

    public init(count: Int, rows: Int, columns: Int, pixels: [UInt8]) {
        precondition(pixels.count == count * rows * columns, "\(count)x\(rows)x\(columns) images need \(count * rows * columns) bytes")
        self.count = count
        self.rows = rows
        self.columns = columns
        self.pixels = pixels
    }
}

/// Reader for the IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed (detected by the
/// magic bytes 1f 8b, so the file name does not matter).
///
/// The header is validated before any payload memory is reserved: the element count must stay within
/// `maxPayloadBytes`, and memory grows only as decompressed data actually arrives, never past the
/// header's claim, so neither a lying header nor a gzip bomb can make it allocate without bound.
/// The payload length must equal the header's claim exactly.
public enum IDXReader {
    /// Largest payload accepted (2 GiB).
    public static let maxPayloadBytes = 1 << 31

    /// Reads an unsigned-byte image file (magic 0x00000803: count, rows, columns). With `limit`,
    /// only the first `limit` images are read (decompressed) and the rest of the file is left
    /// unread, so its length is not checked.
    public static func readImages(at path: String, limit: Int? = nil) throws -> IDXImages {
        let (dims, payload) = try read(path: path, magic: 0x0000_0803, what: "images", limit: limit) { dims in
            "\(dims[0]) images of \(dims[1])x\(dims[2])"
        }
        return IDXImages(count: dims[0], rows: dims[1], columns: dims[2], pixels: payload)
    }

    /// Reads an unsigned-byte label file (magic 0x00000801: count); with `limit`, only the first `limit` labels.
    public static func readLabels(at path: String, limit: Int? = nil) throws -> [UInt8] {
        try read(path: path, magic: 0x0000_0801, what: "labels", limit: limit) { dims in "\(dims[0]) labels" }.payload
    }

    /// `dims` in the result are the header's, except that the first is cut to `limit`.
    private static func read(path: String, magic expected: UInt32, what: String, limit: Int? = nil,
                             describe: ([Int]) -> String) throws -> (dims: [Int], payload: [UInt8]) {
        let source = try ByteSource(path: path)
        func fail(_ reason: String) -> DatasetError { .invalidFile(path: path, reason: reason) }
        let hex = { (value: UInt32) in "0x" + String(repeating: "0", count: 8 - String(value, radix: 16).count) + String(value, radix: 16) }
        let kind = source.isGzip ? "gzip-compressed IDX" : "IDX"

        // Magic: two zero bytes, the element type (0x08 = unsigned byte), the number of dimensions.
        var header = [UInt8](repeating: 0, count: 4)
        let got = try header.withUnsafeMutableBytes { try source.read(into: $0) }
        guard got == 4 else {
            throw fail(got == 0 ? "empty file, expected \(kind) \(what)" : "too short for an IDX header (\(got) bytes)")
        }
        let magic = header.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard magic == expected else {
            throw fail("wrong magic number \(hex(magic)), expected \(hex(expected)) (IDX unsigned-byte \(what))")
        }
        let rank = Int(header[3])
        var dimBytes = [UInt8](repeating: 0, count: 4 * rank)
        let gotDims = try dimBytes.withUnsafeMutableBytes { try source.read(into: $0) }
        guard gotDims == dimBytes.count else {
            throw fail("truncated: the IDX header is cut short (\(4 + gotDims) of \(4 + dimBytes.count) bytes)")
        }
        var dims = (0..<rank).map { i in dimBytes[(4 * i)..<(4 * i + 4)].reduce(0) { $0 << 8 | Int($1) } }

        // Size claimed by the header, bounded before anything is allocated.
        var claimed = 1
        for dim in dims {
            let (product, overflow) = claimed.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= maxPayloadBytes else {
                throw fail("header says \(describe(dims)), more than the \(maxPayloadBytes)-byte limit")
            }
            claimed = product
        }
        // The first `limit` items only: a whole prefix of the payload, the rest stays unread.
        let partial = limit.map { rank > 0 && $0 >= 0 && $0 < dims[0] } ?? false
        if partial, let limit {
            claimed = dims[0] == 0 ? 0 : claimed / dims[0] * limit
            dims[0] = limit
        }

        // Payload: memory grows with the data that actually arrives, never beyond `claimed`.
        var payload = [UInt8]()
        payload.reserveCapacity(min(claimed, 1 << 26))
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var truncated = false
        while payload.count < claimed {
            let want = min(chunk.count, claimed - payload.count)
            let n = try chunk.withUnsafeMutableBytes { buffer in
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
            }
            payload.append(contentsOf: chunk[0..<n])
            if n < want { truncated = true; break }
        }
        if truncated {
            let cut = source.gzipTruncated ? " (the gzip stream itself is cut short)" : ""
            throw fail("truncated: header says \(describe(dims)), payload has \(payload.count) bytes\(cut)")
        }
        if partial { return (dims, payload) }
        // Exactly the claimed size: one more byte means the file is longer than its header says.
        var extra: UInt8 = 0
        if try withUnsafeMutableBytes(of: &extra, { try source.read(into: $0) }) > 0 {
            throw fail("header says \(describe(dims)) (\(claimed) bytes), but the payload is longer")
        }
        if source.gzipTruncated {
            throw fail("truncated gzip data: the compressed stream ends early")
        }
        return (dims, payload)
    }
}

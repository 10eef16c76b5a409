import CZlib
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A sequential reader over a file, raw or gzip-compressed (detected by the magic bytes 1f 8b).
/// `read(into:)` fills as much of the buffer as it can and returns 0 only at the end of the data.
final class ByteSource {
    let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var input: [UInt8]
    private var inputStart = 0, inputEnd = 0
    private var stream = z_stream()
    private(set) var isGzip = false
    /// True once all data was read and a gzip stream was cut short (no end-of-stream marker).
    var gzipTruncated: Bool { isGzip && fileEnded && inputStart == inputEnd && !streamEnded && sawEndOfData }
    private var sawEndOfData = false
    private var streamEnded = false
    private var fileEnded = false

    private static let chunkSize = 1 << 18

    init(path: String) throws {
        self.path = path
        guard let file = fopen(path, "rb") else {
            let code = errno
            if code == ENOENT { throw DatasetError.missingFile(path: path) }
            throw DatasetError.invalidFile(path: path, reason: "cannot open: \(String(cString: strerror(code)))")
        }
        self.file = file
        input = [UInt8](repeating: 0, count: Self.chunkSize)
        do {
            try refill()
        } catch {
            fclose(file)
            throw error
        }
        if inputEnd - inputStart >= 2, input[0] == 0x1F, input[1] == 0x8B {
            guard dsc_inflate_init_gzip(&stream) == Z_OK else {
                fclose(file)
                throw DatasetError.invalidFile(path: path, reason: "zlib inflateInit2 failed")
            }
            isGzip = true
        }
    }

    deinit {
        if isGzip { inflateEnd(&stream) }
        fclose(file)
    }

    /// Reads the next chunk of the file into `input`, marking `fileEnded` at end of file.
    private func refill() throws {
        inputStart = 0
        inputEnd = input.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        if inputEnd < input.count {
            if ferror(file) != 0 {
                throw DatasetError.invalidFile(path: path, reason: "read failed: \(String(cString: strerror(errno)))")
            }
            fileEnded = true
        }
    }

    /// Fills `buffer` from the start; returns the number of bytes stored (less than its size only at end of data).
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        var filled = 0
        while filled < buffer.count {
            if inputStart == inputEnd {
                if fileEnded { sawEndOfData = true; break }
                try refill()
                continue
            }
            if !isGzip {
                let n = min(buffer.count - filled, inputEnd - inputStart)
                input.withUnsafeBytes { src in
                    (base + filled).copyMemory(from: src.baseAddress! + inputStart, byteCount: n)
                }
                inputStart += n
                filled += n
                continue
            }
            if streamEnded {
                // Concatenated gzip members form one stream, as gzip(1) reads them; like gzip(1),
                // ignore anything after the last member that is not another member.
                guard input[inputStart] == 0x1F else {
                    inputStart = inputEnd
                    fileEnded = true
                    break
                }
                inflateReset(&stream)
                streamEnded = false
            }
            let available = inputEnd - inputStart
            let room = buffer.count - filled
            let status: Int32 = input.withUnsafeMutableBytes { src in
                stream.next_in = src.baseAddress!.assumingMemoryBound(to: Bytef.self) + inputStart
                stream.avail_in = uInt(available)
                stream.next_out = (base + filled).assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(min(room, Int(UInt32.max)))
                return inflate(&stream, Z_NO_FLUSH)
            }
            let consumed = available - Int(stream.avail_in)
            let produced = min(room, Int(UInt32.max)) - Int(stream.avail_out)
            stream.next_in = nil
            stream.next_out = nil
            inputStart += consumed
            filled += produced
            switch status {
            case Z_OK:
                break
            case Z_STREAM_END:
                streamEnded = true
            case Z_BUF_ERROR:
                // No progress possible: more input is needed (handled by the loop) or output is full.
                if consumed == 0 && produced == 0 && inputStart < inputEnd {
                    throw corrupt("inflate made no progress")
                }
            default:
                throw corrupt(stream.msg.map { String(cString: $0) } ?? "zlib error \(status)")
            }
        }
        return filled
    }

    private func corrupt(_ message: String) -> DatasetError {
        .invalidFile(path: path, reason: "corrupt gzip data (zlib: \(message))")
    }
}

import Tensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reader for the CIFAR-10 binary batches (`data_batch_1.bin`..`data_batch_5.bin`, `test_batch.bin`):
/// records of 1 label byte followed by 3072 pixel bytes, a 32x32 red plane, then green, then blue.
///
/// The file size is checked (a multiple of the record size, within `maxFileBytes`) before any memory
/// is reserved; every label must be below 10.
public enum CIFAR10Reader {
    public static let side = 32
    public static let channels = 3
    public static let pixelBytes = 3 * 32 * 32
    public static let recordBytes = 1 + pixelBytes
    /// Largest batch file accepted (2 GiB).
    public static let maxFileBytes = 1 << 31

    public static let trainFiles = (1...5).map { "data_batch_\($0).bin" }
    public static let testFile = "test_batch.bin"
    public static let metaFile = "batches.meta.txt"
    public static let standardClassNames = ["airplane", "automobile", "bird", "cat", "deer",
                                            "dog", "frog", "horse", "ship", "truck"]

    /// Labels and channel-major pixels (count * 3072 bytes) of one or more batch files, in order.
    public static func readBatches(at paths: [String]) throws -> (labels: [Int], pixels: [UInt8]) {
        var sizes = [Int]()
        for path in paths {
            guard let info = FileInfo(path) else { throw DatasetError.missingFile(path: path) }
            let size = Int(info.size)
            guard size <= maxFileBytes else {
                throw DatasetError.invalidFile(path: path, reason: "\(size) bytes is larger than the \(maxFileBytes)-byte limit for a CIFAR-10 batch")
            }
            guard size > 0 else {
                throw DatasetError.invalidFile(path: path, reason: "empty file; not a CIFAR-10 batch")
            }
            guard size % recordBytes == 0 else {
                throw DatasetError.invalidFile(path: path, reason: "truncated or not a CIFAR-10 batch (\(size) bytes is not a multiple of \(recordBytes))")
            }
            sizes.append(size)
        }
        let total = sizes.reduce(0) { $0 + $1 / recordBytes }
        var labels = [Int]()
        labels.reserveCapacity(total)
        var pixels = [UInt8](repeating: 0, count: total * pixelBytes)
        var record = [UInt8](repeating: 0, count: recordBytes)
        var index = 0
        for (path, size) in zip(paths, sizes) {
            let source = try ByteSource(path: path)
            guard !source.isGzip else {
                throw DatasetError.invalidFile(path: path, reason: "gzip-compressed; CIFAR-10 batches must be the raw .bin files")
            }
            for r in 0..<(size / recordBytes) {
                let got = try record.withUnsafeMutableBytes { try source.read(into: $0) }
                guard got == recordBytes else {
                    throw DatasetError.invalidFile(path: path, reason: "record \(r) is cut short (file changed while reading?)")
                }
                guard record[0] <= 9 else {
                    throw DatasetError.invalidFile(path: path, reason: "record \(r) has label \(record[0]), not in 0...9")
                }
                labels.append(Int(record[0]))
                pixels.withUnsafeMutableBufferPointer { out in
                    record.withUnsafeBufferPointer { src in
                        _ = UnsafeMutableBufferPointer(rebasing: out[(index * pixelBytes)..<((index + 1) * pixelBytes)])
                            .initialize(from: UnsafeBufferPointer(rebasing: src[1...]))
                    }
                }
                index += 1
            }
        }
        return (labels, pixels)
    }

    /// Class names from `batches.meta.txt` (one per line, empty lines skipped), or nil if the file is absent.
    public static func readClassNames(at path: String) throws -> [String]? {
        guard isRegularFile(path) else { return nil }
        let source = try ByteSource(path: path)
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            bytes += chunk[0..<n]
            guard bytes.count <= 1 << 20 else {
                throw DatasetError.invalidFile(path: path, reason: "larger than 1 MiB; not a CIFAR-10 class list")
            }
        }
        let names = String(decoding: bytes, as: UTF8.self)
            .split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map { String($0).trimmingSpaces() }
            .filter { !$0.isEmpty }
        guard names.count >= 10 else {
            throw DatasetError.invalidFile(path: path, reason: "lists \(names.count) class names, CIFAR-10 needs 10")
        }
        return Array(names.prefix(10))
    }

    /// Both splits from a directory holding the six batch files (and optionally `batches.meta.txt`).
    public static func load(directory: String) throws -> DatasetPair {
        guard isDirectory(directory) else { throw DatasetError.missingDirectory(path: directory) }
        let join = { (name: String) in directory.hasSuffix("/") ? directory + name : directory + "/" + name }
        for name in trainFiles + [testFile] where !isRegularFile(join(name)) {
            throw DatasetError.missingFile(path: join(name))
        }
        let classNames = try readClassNames(at: join(metaFile)) ?? standardClassNames
        let train = try readBatches(at: trainFiles.map(join))
        let test = try readBatches(at: [join(testFile)])
        func dataset(_ part: (labels: [Int], pixels: [UInt8]), _ split: String) -> Dataset {
            Dataset(name: "cifar10/\(split)", pixels: part.pixels, shape: [part.labels.count, channels, side, side],
                    labels: part.labels, classNames: classNames)
        }
        return DatasetPair(train: dataset(train, "train"), test: dataset(test, "test"))
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}

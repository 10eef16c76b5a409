import Tensors

/// A labelled image set of N samples shaped (C, H, W), pixels in [0, 1].
///
/// The readers keep the files' 8-bit pixels and scale them to floats only for the samples a
/// batch needs: Fashion-MNIST's 60,000 training images take 47 MB as bytes instead of 188 MB as
/// float32. `images` materializes the whole set as floats, for small sets (probes, tests).
public struct Dataset: Sendable {
    public var name: String
    public var labels: [Int]
    public var classNames: [String]
    /// (N, C, H, W).
    public let shape: [Int]
    private let storage: Storage

    /// Bytes `b` stand for `b / 255`; floats are the values themselves.
    private enum Storage: Sendable {
        case bytes([UInt8])
        case floats([Float])
    }

    /// From float pixels, (N, C, H, W).
    public init(name: String, images: Tensor, labels: [Int], classNames: [String]) {
        precondition(images.rank == 4, "dataset images must be (N, C, H, W), got \(images.shape)")
        precondition(images.shape[0] == labels.count, "\(images.shape[0]) images but \(labels.count) labels")
        self.init(name: name, shape: images.shape, storage: .floats(images.data), labels: labels, classNames: classNames)
    }

    /// From 8-bit pixels, (N, C, H, W) in C order; a byte `b` is the pixel value `b / 255`.
    public init(name: String, pixels: [UInt8], shape: [Int], labels: [Int], classNames: [String]) {
        precondition(shape.count == 4 && shape.allSatisfy { $0 >= 0 }, "dataset shape must be (N, C, H, W), got \(shape)")
        precondition(shape.reduce(1, *) == pixels.count, "shape \(shape) does not hold \(pixels.count) pixels")
        precondition(shape[0] == labels.count, "\(shape[0]) images but \(labels.count) labels")
        self.init(name: name, shape: shape, storage: .bytes(pixels), labels: labels, classNames: classNames)
    }

    private init(name: String, shape: [Int], storage: Storage, labels: [Int], classNames: [String]) {
        self.name = name
        self.shape = shape
        self.storage = storage
        self.labels = labels
        self.classNames = classNames
    }

    /// Number of samples.
    public var count: Int { labels.count }

    /// Shape of one sample, [C, H, W].
    public var inputShape: [Int] { Array(shape.dropFirst()) }

    /// Values per sample.
    public var sampleSize: Int { inputShape.reduce(1, *) }

    /// The whole set as floats in [0, 1], (N, C, H, W). Allocates 4 bytes per value for byte
    /// storage: meant for small sets; training reads batches with `copySamples`.
    /// All samples as floats. Float storage is handed out as it is (copy-on-write), not copied:
    /// the monitor's probe set, read back from probes.h5, is 3.2 MB that need not be made twice.
    public var images: Tensor {
        if case .floats(let floats) = storage { return Tensor(shape: shape, data: floats) }
        return samples(0..<count)
    }

    /// Samples `range` as floats, (range.count, C, H, W).
    public func samples(_ range: Range<Int>) -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "samples \(range) out of range 0..<\(count)")
        if range.isEmpty { return Tensor(zeros: [0] + inputShape) }
        return Tensor(uninitialized: [range.count] + inputShape) { out in
            copySamples(range, into: out.baseAddress!)
        }
    }

    /// Writes the samples at `indices`, in that order, as floats into `out` (indices.count, C, H, W).
    public func copySamples<Indices: Collection<Int>>(_ indices: Indices, into out: UnsafeMutablePointer<Float>) {
        let per = sampleSize
        switch storage {
        case .bytes(let bytes):
            bytes.withUnsafeBufferPointer { src in
                for (row, index) in indices.enumerated() {
                    checkIndex(index)
                    let from = src.baseAddress! + index * per, to = out + row * per
                    for i in 0..<per { to[i] = Float(from[i]) / 255 }
                }
            }
        case .floats(let floats):
            floats.withUnsafeBufferPointer { src in
                for (row, index) in indices.enumerated() {
                    checkIndex(index)
                    (out + row * per).update(from: src.baseAddress! + index * per, count: per)
                }
            }
        }
    }

    @inline(__always)
    private func checkIndex(_ index: Int) {
        precondition(index >= 0 && index < count, "index \(index) out of range 0..<\(count)")
    }

    /// The first `n` samples (all of them if `n >= count`).
    public func prefix(_ n: Int) -> Dataset {
        precondition(n >= 0, "prefix of negative length \(n)")
        let k = min(n, count)
        if k == count { return self }
        return subset(indices: Array(0..<k))
    }

    /// The samples at `indices`, in that order (repeats allowed), in the same storage.
    public func subset(indices: [Int]) -> Dataset {
        let per = sampleSize
        indices.forEach(checkIndex)
        func gather<T>(_ values: [T]) -> [T] {
            var picked = [T]()
            picked.reserveCapacity(indices.count * per)
            for index in indices { picked.append(contentsOf: values[(index * per)..<((index + 1) * per)]) }
            return picked
        }
        let stored: Storage
        switch storage {
        case .bytes(let bytes): stored = .bytes(gather(bytes))
        case .floats(let floats): stored = .floats(gather(floats))
        }
        return Dataset(name: name, shape: [indices.count] + inputShape, storage: stored,
                       labels: indices.map { labels[$0] }, classNames: classNames)
    }
}

/// The train and test splits of one data set.
public struct DatasetPair: Sendable {
    public var train: Dataset
    public var test: Dataset

    public init(train: Dataset, test: Dataset) {
        self.train = train
        self.test = test
    }
}

/// The built-in data sets (`--data` values): IDX (MNIST-style), CIFAR-10 binary batches, and an
/// ImageFolder-style tree of PNGs.
public enum DatasetKind: String, CaseIterable, Sendable {
    case fashionMNIST = "fashion-mnist"
    case mnist
    case cifar10
    case folder

    /// Human-readable name used in messages.
    public var displayName: String {
        switch self {
        case .fashionMNIST: return "Fashion-MNIST"
        case .mnist: return "MNIST"
        case .cifar10: return "CIFAR-10"
        case .folder: return "Image folder"
        }
    }

    /// Where Debian installs the data, or nil when Debian does not package it (then --data-dir is required).
    public var defaultDirectory: String? {
        switch self {
        case .fashionMNIST: return "/usr/share/datasets/fashion-mnist"
        case .mnist, .cifar10, .folder: return nil
        }
    }

    /// The Debian package that installs `defaultDirectory`.
    public var debianPackage: String? {
        switch self {
        case .fashionMNIST: return "dataset-fashion-mnist"
        case .mnist, .cifar10, .folder: return nil
        }
    }

    /// The fixed class names of the IDX kinds and CIFAR-10's standard names; a folder data set's
    /// names come from its folders (empty here).
    public var classNames: [String] {
        switch self {
        case .fashionMNIST:
            return ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
        case .mnist:
            return (0..<10).map(String.init)
        case .cifar10:
            return CIFAR10Reader.standardClassNames
        case .folder:
            return []
        }
    }
}

/// A data set that cannot be found or read. `description` is one line.
public enum DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The Debian default directory lacks the data.
    case notInstalled(kind: DatasetKind, directory: String)
    /// The kind has no default location (not packaged by Debian) and no directory was given.
    case directoryRequired(kind: DatasetKind)
    /// A user-given data directory does not exist or is not a directory.
    case missingDirectory(path: String)
    /// A user-given data directory lacks one of the IDX files (named without `.gz`).
    case missingDataFile(directory: String, name: String)
    /// A file that does not exist.
    case missingFile(path: String)
    /// A file that exists but is not valid.
    case invalidFile(path: String, reason: String)
    /// Files that are valid one by one but do not fit together.
    case inconsistent(String)

    public var description: String {
        switch self {
        case let .notInstalled(kind, directory):
            let install = kind.debianPackage.map { "install it with `apt-get install \($0)` (or pass --data-dir DIR)" }
                ?? "pass --data-dir DIR"
            return "\(kind.displayName) not found in \(directory): \(install)"
        case .directoryRequired(.cifar10):
            // `apt-cache search cifar` finds no Debian package (checked on Debian with Swift 6.3).
            return "CIFAR-10 is not packaged by Debian (apt-cache search cifar finds nothing): download the binary version, put data_batch_1.bin..data_batch_5.bin and test_batch.bin (and optionally batches.meta.txt) in a directory and pass --data-dir DIR"
        case .directoryRequired(.folder):
            return "--data folder needs --data-dir DIR holding train/<class>/*.png and test/<class>/*.png"
        case let .directoryRequired(kind):
            let files = DatasetLoader.fileNames.map { $0 + ".gz" }.joined(separator: ", ")
            return "\(kind.displayName) is not packaged by Debian: put \(files) (gzip-compressed or not) in a directory and pass --data-dir DIR"
        case let .missingDirectory(path):
            return "data directory \(path) does not exist"
        case let .missingDataFile(directory, name):
            return "\(directory): missing \(name).gz (or uncompressed \(name))"
        case let .missingFile(path):
            return "\(path): no such file"
        case let .invalidFile(path, reason):
            return "\(path): \(reason)"
        case let .inconsistent(message):
            return message
        }
    }
}

/// Loads the built-in data sets.
public enum DatasetLoader {
    /// The four IDX files of an MNIST-style directory, each accepted with or without `.gz`.
    public static let fileNames = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]

    /// Loads both splits of `kind` from `directory`, or from the kind's Debian location when nil.
    public static func load(_ kind: DatasetKind, directory: String?) throws -> DatasetPair {
        let usingDefault = directory == nil
        guard let directory = directory ?? kind.defaultDirectory else {
            throw DatasetError.directoryRequired(kind: kind)
        }
        switch kind {
        case .cifar10: return try CIFAR10Reader.load(directory: directory)
        case .folder: return try ImageFolderReader.load(directory: directory)
        case .fashionMNIST, .mnist: break
        }
        if !usingDefault && !isDirectory(directory) {
            throw DatasetError.missingDirectory(path: directory)
        }
        var paths = [String]()
        for name in fileNames {
            guard let path = locate(name, in: directory) else {
                if usingDefault { throw DatasetError.notInstalled(kind: kind, directory: directory) }
                throw DatasetError.missingDataFile(directory: directory, name: name)
            }
            paths.append(path)
        }
        let train = try loadIDX(imagesPath: paths[0], labelsPath: paths[1], name: "\(kind.rawValue)/train", classNames: kind.classNames)
        let test = try loadIDX(imagesPath: paths[2], labelsPath: paths[3], name: "\(kind.rawValue)/test", classNames: kind.classNames)
        guard train.inputShape == test.inputShape else {
            throw DatasetError.inconsistent("\(kind.displayName) in \(directory): train images are \(train.inputShape) but test images are \(test.inputShape)")
        }
        return DatasetPair(train: train, test: test)
    }

    /// The test split of `kind` alone, only its first `limit` images when given: what the monitor
    /// needs for its probe set. For the IDX kinds that reads (and decompresses) just the two test
    /// files up to `limit` items: for Fashion-MNIST's first 1,024 test images, 0.8 MB of the 55 MB
    /// that `load` decompresses. CIFAR-10 and image folders are loaded whole (a folder's channel
    /// count depends on its train images too) and cut.
    public static func loadTest(_ kind: DatasetKind, directory: String?, limit: Int? = nil) throws -> Dataset {
        guard kind == .fashionMNIST || kind == .mnist else {
            let test = try load(kind, directory: directory).test
            return limit.map { test.prefix($0) } ?? test
        }
        let usingDefault = directory == nil
        guard let directory = directory ?? kind.defaultDirectory else { throw DatasetError.directoryRequired(kind: kind) }
        if !usingDefault && !isDirectory(directory) { throw DatasetError.missingDirectory(path: directory) }
        var paths = [String]()
        for name in fileNames[2...] {
            guard let path = locate(name, in: directory) else {
                if usingDefault { throw DatasetError.notInstalled(kind: kind, directory: directory) }
                throw DatasetError.missingDataFile(directory: directory, name: name)
            }
            paths.append(path)
        }
        return try loadIDX(imagesPath: paths[0], labelsPath: paths[1], name: "\(kind.rawValue)/test", classNames: kind.classNames, limit: limit)
    }

    /// One split from an image file and a label file (raw or gzip IDX); pixels become floats in [0, 1]
    /// in a (N, 1, rows, columns) tensor, and every label must be below `classNames.count`.
    public static func loadIDX(imagesPath: String, labelsPath: String, name: String, classNames: [String], limit: Int? = nil) throws -> Dataset {
        let images = try IDXReader.readImages(at: imagesPath, limit: limit)
        // An empty split would train on nothing and fail much later with a confusing message.
        guard images.count > 0, images.rows > 0, images.columns > 0 else {
            throw DatasetError.invalidFile(path: imagesPath, reason: "header says \(images.count) images of \(images.rows)x\(images.columns); a data set needs at least one image of at least 1x1")
        }
        let rawLabels = try IDXReader.readLabels(at: labelsPath, limit: limit)
        guard images.count == rawLabels.count else {
            throw DatasetError.inconsistent("\(name): \(imagesPath) has \(images.count) images but \(labelsPath) has \(rawLabels.count) labels")
        }
        if let bad = rawLabels.firstIndex(where: { Int($0) >= classNames.count }) {
            throw DatasetError.invalidFile(path: labelsPath, reason: "label \(rawLabels[bad]) at index \(bad) is not below the class count \(classNames.count)")
        }
        return Dataset(name: name, pixels: images.pixels, shape: [images.count, 1, images.rows, images.columns],
                       labels: rawLabels.map { Int($0) }, classNames: classNames)
    }

    /// `directory/name.gz` if present, else `directory/name`, else nil.
    static func locate(_ name: String, in directory: String) -> String? {
        let base = directory.hasSuffix("/") ? directory + name : directory + "/" + name
        for candidate in [base + ".gz", base] where isRegularFile(candidate) { return candidate }
        return nil
    }
}

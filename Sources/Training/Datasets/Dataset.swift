import Tensors

/// A labelled image set: `images` is (N, C, H, W) float32 with pixels scaled to [0, 1].
public struct Dataset: Sendable {
    public var name: String
    public var images: Tensor
    public var labels: [Int]
    public var classNames: [String]

    public init(name: String, images: Tensor, labels: [Int], classNames: [String]) {
        precondition(images.rank == 4, "dataset images must be (N, C, H, W), got \(images.shape)")
        precondition(images.shape[0] == labels.count, "\(images.shape[0]) images but \(labels.count) labels")
        self.name = name
        self.images = images
        self.labels = labels
        self.classNames = classNames
    }

    /// Number of samples.
    public var count: Int { labels.count }

    /// Shape of one sample, [C, H, W].
    public var inputShape: [Int] { Array(images.shape.dropFirst()) }

    /// The first `n` samples (all of them if `n >= count`).
    public func prefix(_ n: Int) -> Dataset {
        precondition(n >= 0, "prefix of negative length \(n)")
        let k = min(n, count)
        if k == count { return self }
        return Dataset(name: name, images: images.slice(0..<k), labels: Array(labels[0..<k]), classNames: classNames)
    }

    /// The samples at `indices`, in that order (repeats allowed).
    public func subset(indices: [Int]) -> Dataset {
        let per = inputShape.reduce(1, *)
        var data = [Float](repeating: 0, count: indices.count * per)
        var picked = [Int]()
        picked.reserveCapacity(indices.count)
        images.data.withUnsafeBufferPointer { source in
            data.withUnsafeMutableBufferPointer { target in
                for (row, index) in indices.enumerated() {
                    precondition(index >= 0 && index < count, "index \(index) out of range 0..<\(count)")
                    let from = UnsafeBufferPointer(rebasing: source[(index * per)..<((index + 1) * per)])
                    _ = UnsafeMutableBufferPointer(rebasing: target[(row * per)..<((row + 1) * per)]).initialize(from: from)
                    picked.append(labels[index])
                }
            }
        }
        return Dataset(name: name, images: Tensor(shape: [indices.count] + inputShape, data: data),
                       labels: picked, classNames: classNames)
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

    /// One split from an image file and a label file (raw or gzip IDX); pixels become floats in [0, 1]
    /// in a (N, 1, rows, columns) tensor, and every label must be below `classNames.count`.
    public static func loadIDX(imagesPath: String, labelsPath: String, name: String, classNames: [String]) throws -> Dataset {
        let images = try IDXReader.readImages(at: imagesPath)
        // An empty split would train on nothing and fail much later with a confusing message.
        guard images.count > 0, images.rows > 0, images.columns > 0 else {
            throw DatasetError.invalidFile(path: imagesPath, reason: "header says \(images.count) images of \(images.rows)x\(images.columns); a data set needs at least one image of at least 1x1")
        }
        let rawLabels = try IDXReader.readLabels(at: labelsPath)
        guard images.count == rawLabels.count else {
            throw DatasetError.inconsistent("\(name): \(imagesPath) has \(images.count) images but \(labelsPath) has \(rawLabels.count) labels")
        }
        if let bad = rawLabels.firstIndex(where: { Int($0) >= classNames.count }) {
            throw DatasetError.invalidFile(path: labelsPath, reason: "label \(rawLabels[bad]) at index \(bad) is not below the class count \(classNames.count)")
        }
        let tensor = Tensor(shape: [images.count, 1, images.rows, images.columns], data: unitFloats(images.pixels))
        return Dataset(name: name, images: tensor, labels: rawLabels.map { Int($0) }, classNames: classNames)
    }

    /// `byte / 255` for every byte: one tight loop over raw buffers, no per-element allocation.
    static func unitFloats(_ bytes: [UInt8]) -> [Float] {
        [Float](unsafeUninitializedCapacity: bytes.count) { out, initialized in
            bytes.withUnsafeBufferPointer { input in
                guard let src = input.baseAddress, let dst = out.baseAddress else { return }
                for i in 0..<input.count { dst[i] = Float(src[i]) / 255 }
            }
            initialized = bytes.count
        }
    }

    /// `directory/name.gz` if present, else `directory/name`, else nil.
    static func locate(_ name: String, in directory: String) -> String? {
        let base = directory.hasSuffix("/") ? directory + name : directory + "/" + name
        for candidate in [base + ".gz", base] where isRegularFile(candidate) { return candidate }
        return nil
    }
}

import Foundation
import Layers
import Tensors
import Training
import Datasets
import Runs
import XCTest

/// IDX fixtures written in a temporary directory, gzip-compressed with gzip(1) (an independent encoder).
final class DatasetsIDXTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "datasets-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: fixture helpers

    static func be32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    static func imageFile(count: UInt32, rows: UInt32, columns: UInt32, pixels: [UInt8]) -> [UInt8] {
        be32(0x0000_0803) + be32(count) + be32(rows) + be32(columns) + pixels
    }

    static func labelFile(_ labels: [UInt8], count: UInt32? = nil) -> [UInt8] {
        be32(0x0000_0801) + be32(count ?? UInt32(labels.count)) + labels
    }

    /// Pixels 0, 7, 14, ... (mod 256) for `count` images of rows x columns, so every byte value is distinct-ish.
    static func pixels(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(($0 * 7 + $0 / 256) & 0xFF) } }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = directory + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    /// gzip(1) of `bytes` (as a separate member each call).
    func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let input = write("gzip-input-\(UUID().uuidString)", bytes)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-n", "-f", input]
        do { try process.run() } catch { throw XCTSkip("gzip(1) not available: \(error)") }
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let output = try [UInt8](Data(contentsOf: URL(fileURLWithPath: input + ".gz")))
        try FileManager.default.removeItem(atPath: input + ".gz")
        return output
    }

    // MARK: round trips

    func testRawRoundTrip() throws {
        let pixels = Self.pixels(3 * 2 * 4)
        let imagesPath = write("images", Self.imageFile(count: 3, rows: 2, columns: 4, pixels: pixels))
        let labelsPath = write("labels", Self.labelFile([9, 0, 4]))
        let images = try IDXReader.readImages(at: imagesPath)
        XCTAssertEqual(images, IDXImages(count: 3, rows: 2, columns: 4, pixels: pixels))
        XCTAssertEqual(try IDXReader.readLabels(at: labelsPath), [9, 0, 4])

        let dataset = try DatasetLoader.loadIDX(imagesPath: imagesPath, labelsPath: labelsPath, name: "fixture",
                                                classNames: DatasetKind.mnist.classNames)
        XCTAssertEqual(dataset.images.shape, [3, 1, 2, 4])
        XCTAssertEqual(dataset.inputShape, [1, 2, 4])
        XCTAssertEqual(dataset.count, 3)
        XCTAssertEqual(dataset.labels, [9, 0, 4])
        XCTAssertEqual(dataset.images.data, pixels.map { Float($0) / 255 })
        XCTAssertEqual(dataset.images.data.min(), 0)
    }

    func testFullByteRangeMapsOntoUnitInterval() throws {
        let pixels = (0...255).map { UInt8($0) }
        let imagesPath = write("images", Self.imageFile(count: 1, rows: 16, columns: 16, pixels: pixels))
        let labelsPath = write("labels", Self.labelFile([3]))
        let dataset = try DatasetLoader.loadIDX(imagesPath: imagesPath, labelsPath: labelsPath, name: "range", classNames: DatasetKind.mnist.classNames)
        XCTAssertEqual(dataset.images.data.first, 0)
        XCTAssertEqual(dataset.images.data.last, 1)
        XCTAssertEqual(dataset.images.data[128], Float(128) / 255)
    }

    func testGzipRoundTripIncludingMultipleMembers() throws {
        let pixels = Self.pixels(5 * 28 * 28)
        let raw = Self.imageFile(count: 5, rows: 28, columns: 28, pixels: pixels)
        let compressed = try gzip(raw)
        XCTAssertEqual(Array(compressed.prefix(2)), [0x1F, 0x8B])
        let path = write("images.gz", compressed)
        XCTAssertEqual(try IDXReader.readImages(at: path).pixels, pixels)

        // gzip(1) reads concatenated members as one stream; so must we.
        let split = 1000
        let twoMembers = try gzip(Array(raw[..<split])) + gzip(Array(raw[split...]))
        let multi = write("multi.gz", twoMembers)
        XCTAssertEqual(try IDXReader.readImages(at: multi).pixels, pixels)

        // Detection is by content, not by name.
        let misnamed = write("labels-without-suffix", try gzip(Self.labelFile([1, 2, 3])))
        XCTAssertEqual(try IDXReader.readLabels(at: misnamed), [1, 2, 3])
    }

    func testLoaderReadsMixedGzipAndRawDirectory() throws {
        let train = Self.pixels(4 * 3 * 3), test = Self.pixels(2 * 3 * 3).reversed()
        write("train-images-idx3-ubyte.gz", try gzip(Self.imageFile(count: 4, rows: 3, columns: 3, pixels: train)))
        write("train-labels-idx1-ubyte", Self.labelFile([0, 1, 2, 9]))
        write("t10k-images-idx3-ubyte", Self.imageFile(count: 2, rows: 3, columns: 3, pixels: Array(test)))
        write("t10k-labels-idx1-ubyte.gz", try gzip(Self.labelFile([8, 7])))
        let pair = try DatasetLoader.load(.fashionMNIST, directory: directory)
        XCTAssertEqual(pair.train.count, 4)
        XCTAssertEqual(pair.test.count, 2)
        XCTAssertEqual(pair.train.labels, [0, 1, 2, 9])
        XCTAssertEqual(pair.test.labels, [8, 7])
        XCTAssertEqual(pair.test.images.data, test.map { Float($0) / 255 })
        XCTAssertEqual(pair.train.classNames, ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"])
        XCTAssertEqual(pair.train.name, "fashion-mnist/train")
        XCTAssertEqual(pair.test.name, "fashion-mnist/test")

        let mnist = try DatasetLoader.load(.mnist, directory: directory + "/")
        XCTAssertEqual(mnist.train.classNames, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"])
    }

    /// The monitor's loader reads only the test files, and with a limit only that many items of
    /// them: a train file that would fail to load and a test file cut short after the limit do not matter.
    func testTestSplitAloneAndItsFirstImages() throws {
        let test = Self.pixels(5 * 3 * 3)
        write("train-images-idx3-ubyte", [0, 0, 8, 3])   // a header cut short: `load` refuses it
        write("train-labels-idx1-ubyte", Self.labelFile([0]))
        let file = Self.imageFile(count: 5, rows: 3, columns: 3, pixels: test)
        write("t10k-images-idx3-ubyte.gz", try gzip(Array(file[..<(file.count - 9)])))   // the fifth image is missing
        write("t10k-labels-idx1-ubyte", Self.labelFile([4, 3, 2, 1, 0]))
        XCTAssertThrowsError(try DatasetLoader.load(.fashionMNIST, directory: directory))
        let first = try DatasetLoader.loadTest(.fashionMNIST, directory: directory, limit: 3)
        XCTAssertEqual(first.name, "fashion-mnist/test")
        XCTAssertEqual(first.shape, [3, 1, 3, 3])
        XCTAssertEqual(first.labels, [4, 3, 2])
        XCTAssertEqual(first.images.data, test[..<27].map { Float($0) / 255 })
        XCTAssertEqual(first.classNames, DatasetKind.fashionMNIST.classNames)
        // Without a limit, or with one past the end, the whole file is read and checked.
        XCTAssertThrowsError(try DatasetLoader.loadTest(.fashionMNIST, directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
        XCTAssertThrowsError(try DatasetLoader.loadTest(.fashionMNIST, directory: directory, limit: 9))
        XCTAssertEqual(try DatasetLoader.loadTest(.fashionMNIST, directory: directory, limit: 4).labels, [4, 3, 2, 1])
    }

    // MARK: bad files

    func testTruncatedRawFile() {
        let path = write("short", Self.imageFile(count: 3, rows: 28, columns: 28, pixels: Self.pixels(1000)))
        expectError({ try IDXReader.readImages(at: path) },
                    equals: "\(path): truncated: header says 3 images of 28x28, payload has 1000 bytes")
        let labels = write("short-labels", Self.labelFile([1, 2], count: 5))
        expectError({ try IDXReader.readLabels(at: labels) },
                    equals: "\(labels): truncated: header says 5 labels, payload has 2 bytes")
        let header = write("cut-header", Array(Self.imageFile(count: 3, rows: 28, columns: 28, pixels: []).prefix(9)))
        expectError({ try IDXReader.readImages(at: header) }, contains: ["\(header): truncated: the IDX header is cut short"])
    }

    func testTruncatedGzipFiles() throws {
        // A complete gzip stream whose payload is short.
        let shortPayload = write("short.gz", try gzip(Self.imageFile(count: 3, rows: 28, columns: 28, pixels: Self.pixels(1000))))
        expectError({ try IDXReader.readImages(at: shortPayload) },
                    equals: "\(shortPayload): truncated: header says 3 images of 28x28, payload has 1000 bytes")
        // A gzip stream cut in the middle (a partial download).
        var state: UInt64 = 42
        let noisy = (0..<(3 * 28 * 28)).map { _ -> UInt8 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        let compressed = try gzip(Self.imageFile(count: 3, rows: 28, columns: 28, pixels: noisy))
        let cut = write("cut.gz", Array(compressed.prefix(compressed.count / 2)))
        expectError({ try IDXReader.readImages(at: cut) },
                    contains: ["\(cut): truncated: header says 3 images of 28x28, payload has ", "gzip stream itself is cut short"])
        // All data present but the 8-byte gzip trailer (CRC, size) missing.
        let noTrailer = write("notrailer.gz", Array(compressed.dropLast(8)))
        expectError({ try IDXReader.readImages(at: noTrailer) }, contains: ["\(noTrailer): ", "truncated"])
        // Corrupt compressed data.
        var corrupt = compressed
        for i in 20..<60 { corrupt[i] ^= 0x5A }
        let bad = write("corrupt.gz", corrupt)
        expectError({ try IDXReader.readImages(at: bad) }, contains: ["\(bad): "])
    }

    func testWrongMagic() {
        let labels = write("labels", Self.labelFile([1, 2, 3]))
        expectError({ try IDXReader.readImages(at: labels) },
                    equals: "\(labels): wrong magic number 0x00000801, expected 0x00000803 (IDX unsigned-byte images)")
        let text = write("text", Array("not an idx file at all".utf8))
        expectError({ try IDXReader.readLabels(at: text) }, contains: ["\(text): wrong magic number 0x6e6f7420"])
        let empty = write("empty", [])
        expectError({ try IDXReader.readImages(at: empty) }, contains: ["\(empty): empty file"])
    }

    func testHugeHeaderIsRefusedBeforeAllocating() {
        // IDX counts are 32-bit, so 10^12 images cannot be written; the largest claims are ~3.4e12 and 1e15 bytes.
        let maxCount = write("max", Self.imageFile(count: UInt32.max, rows: 28, columns: 28, pixels: Self.pixels(100)))
        expectError({ try IDXReader.readImages(at: maxCount) },
                    equals: "\(maxCount): header says 4294967295 images of 28x28, more than the 2147483648-byte limit")
        let huge = write("huge", Self.imageFile(count: 1_000_000_000, rows: 1000, columns: 1000, pixels: []))
        expectError({ try IDXReader.readImages(at: huge) }, contains: ["header says 1000000000 images of 1000x1000, more than"])
        let hugeLabels = write("huge-labels", Self.labelFile([1], count: UInt32.max))
        expectError({ try IDXReader.readLabels(at: hugeLabels) }, contains: ["header says 4294967295 labels, more than"])
        // Within the limit but with almost no payload: a fast truncation error, memory follows the data.
        let start = Date()
        let big = write("big", Self.imageFile(count: 2_000_000, rows: 28, columns: 28, pixels: Self.pixels(10)))
        expectError({ try IDXReader.readImages(at: big) },
                    equals: "\(big): truncated: header says 2000000 images of 28x28, payload has 10 bytes")
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
    }

    func testGzipBombIsCutAtTheClaimedSize() throws {
        // 2 images of 28x28 claimed, 32 MB of zeros delivered (compresses to ~32 KB).
        var raw = Self.imageFile(count: 2, rows: 28, columns: 28, pixels: [])
        raw += [UInt8](repeating: 0, count: 32 << 20)
        let path = write("bomb.gz", try gzip(raw))
        expectError({ try IDXReader.readImages(at: path) },
                    equals: "\(path): header says 2 images of 28x28 (1568 bytes), but the payload is longer")
        let rawPath = write("long", Self.labelFile([1, 2, 3], count: 2))
        expectError({ try IDXReader.readLabels(at: rawPath) }, contains: ["header says 2 labels (2 bytes), but the payload is longer"])
    }

    func testCountMismatchAndBadLabels() {
        let images = write("images", Self.imageFile(count: 3, rows: 2, columns: 2, pixels: Self.pixels(12)))
        let labels = write("labels", Self.labelFile([1, 2]))
        expectError({ try DatasetLoader.loadIDX(imagesPath: images, labelsPath: labels, name: "fixture", classNames: DatasetKind.mnist.classNames) },
                    equals: "fixture: \(images) has 3 images but \(labels) has 2 labels")
        let badLabels = write("bad-labels", Self.labelFile([1, 10, 2]))
        expectError({ try DatasetLoader.loadIDX(imagesPath: images, labelsPath: badLabels, name: "fixture", classNames: DatasetKind.mnist.classNames) },
                    equals: "\(badLabels): label 10 at index 1 is not below the class count 10")
    }

    func testEmptySplitsAreRefusedWithTheFileName() {
        // Before this check a header of 0 images trained on nothing and failed at the metrics
        // ("Unable to encode Double.-nan"); 0x0 images reached the model check without the file name.
        let labels = write("no-labels", Self.labelFile([]))
        for (name, count, side) in [("none", UInt32(0), UInt32(28)), ("flat", 2, 0)] {
            let images = write(name, Self.imageFile(count: count, rows: side, columns: side, pixels: []))
            expectError({ try DatasetLoader.loadIDX(imagesPath: images, labelsPath: labels, name: "fixture", classNames: DatasetKind.mnist.classNames) },
                        contains: ["\(images): header says \(count) images of \(side)x\(side)", "at least one image"])
        }
    }

    func testMissingFilesAndDirectories() throws {
        let absent = directory + "/absent-images"
        expectError({ try IDXReader.readImages(at: absent) }, equals: "\(absent): no such file")

        let noDir = directory + "/nowhere"
        expectError({ try DatasetLoader.load(.fashionMNIST, directory: noDir) }, equals: "data directory \(noDir) does not exist")

        write("train-images-idx3-ubyte", Self.imageFile(count: 1, rows: 1, columns: 1, pixels: [0]))
        write("train-labels-idx1-ubyte.gz", try gzip(Self.labelFile([0])))
        write("t10k-images-idx3-ubyte", Self.imageFile(count: 1, rows: 1, columns: 1, pixels: [0]))
        expectError({ try DatasetLoader.load(.fashionMNIST, directory: directory) },
                    equals: "\(directory): missing t10k-labels-idx1-ubyte.gz (or uncompressed t10k-labels-idx1-ubyte)")

        // MNIST has no Debian package, hence no default directory.
        XCTAssertNil(DatasetKind.mnist.defaultDirectory)
        expectError({ try DatasetLoader.load(.mnist, directory: nil) },
                    contains: ["MNIST is not packaged by Debian", "--data-dir DIR", "train-images-idx3-ubyte.gz"])

        // The default-directory message (the directory itself cannot be removed in a test).
        XCTAssertEqual(DatasetError.notInstalled(kind: .fashionMNIST, directory: "/usr/share/datasets/fashion-mnist").description,
                       "Fashion-MNIST not found in /usr/share/datasets/fashion-mnist: install it with `apt-get install dataset-fashion-mnist` (or pass --data-dir DIR)")
        XCTAssertEqual(DatasetKind.allCases.map(\.rawValue), ["fashion-mnist", "mnist", "cifar10", "folder"])
    }
}

final class DatasetsSubsetTests: XCTestCase {
    func makeDataset() -> Dataset {
        // 4 samples of (2, 1, 2): sample k holds k*10 + 0..3.
        let data = (0..<4).flatMap { k in (0..<4).map { Float(k * 10 + $0) } }
        return Dataset(name: "toy", images: Tensor(shape: [4, 2, 1, 2], data: data), labels: [3, 1, 4, 1], classNames: ["a", "b", "c", "d", "e"])
    }

    func testPrefixAndSubset() {
        let dataset = makeDataset()
        XCTAssertEqual(dataset.inputShape, [2, 1, 2])
        let head = dataset.prefix(2)
        XCTAssertEqual(head.count, 2)
        XCTAssertEqual(head.images.shape, [2, 2, 1, 2])
        XCTAssertEqual(head.images.data, [0, 1, 2, 3, 10, 11, 12, 13])
        XCTAssertEqual(head.labels, [3, 1])
        XCTAssertEqual(dataset.prefix(99).count, 4)
        XCTAssertEqual(dataset.prefix(0).images.shape, [0, 2, 1, 2])

        let picked = dataset.subset(indices: [3, 0, 3])
        XCTAssertEqual(picked.labels, [1, 3, 1])
        XCTAssertEqual(picked.images.shape, [3, 2, 1, 2])
        XCTAssertEqual(picked.images.data, [30, 31, 32, 33, 0, 1, 2, 3, 30, 31, 32, 33])
        XCTAssertEqual(picked.classNames, dataset.classNames)
        XCTAssertEqual(dataset.subset(indices: []).count, 0)
    }
}

final class DatasetsNormalizationTests: XCTestCase {
    func testMeasureAndApplyOnAHandComputableTensor() {
        // 2 samples, 2 channels, 1x2 pixels. Channel 0: 0, 1, 2, 3 -> mean 1.5, population variance 1.25.
        // Channel 1: all 5 -> mean 5, no variance -> std 1 (so apply centres it).
        var images = Tensor(shape: [2, 2, 1, 2], data: [0, 1, 5, 5, 2, 3, 5, 5])
        let norm = Normalization.measure(images)
        XCTAssertEqual(norm.mean, [1.5, 5])
        XCTAssertEqual(norm.std[0], Float(1.25.squareRoot()), accuracy: 1e-7)
        XCTAssertEqual(norm.std[1], 1)
        norm.apply(to: &images)
        let s = Float(1.25.squareRoot())
        let expected: [Float] = [-1.5 / s, -0.5 / s, 0, 0, 0.5 / s, 1.5 / s, 0, 0]
        for (got, want) in zip(images.data, expected) { XCTAssertEqual(got, want, accuracy: 1e-6) }
        // Normalized data measures as mean 0, std 1.
        let again = Normalization.measure(images)
        XCTAssertEqual(again.mean[0], 0, accuracy: 1e-6)
        XCTAssertEqual(again.std[0], 1, accuracy: 1e-6)
    }

    func testMeasureIsPopulationStdAndRoundTripsThroughJSON() throws {
        let images = Tensor(shape: [1, 1, 2, 2], data: [1, 3, 5, 7])  // mean 4, population variance 5
        let norm = Normalization.measure(images)
        XCTAssertEqual(norm.mean, [4])
        XCTAssertEqual(norm.std[0], Float(5.0.squareRoot()), accuracy: 1e-7)
        let decoded = try JSONDecoder().decode(Normalization.self, from: JSONEncoder().encode(norm))
        XCTAssertEqual(decoded, norm)
    }
}

/// The real Debian data (`apt-get install dataset-fashion-mnist`); skipped when absent.
final class DatasetsFashionMNISTTests: XCTestCase {
    func testLoadsDebianFashionMNIST() throws {
        guard let directory = DatasetKind.fashionMNIST.defaultDirectory,
              FileManager.default.fileExists(atPath: directory) else {
            throw XCTSkip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
        }
        let start = Date()
        let pair = try DatasetLoader.load(.fashionMNIST, directory: nil)
        let loadSeconds = Date().timeIntervalSince(start)
        XCTAssertEqual(pair.train.count, 60000)
        XCTAssertEqual(pair.test.count, 10000)
        XCTAssertEqual(pair.train.images.shape, [60000, 1, 28, 28])
        XCTAssertEqual(pair.test.images.shape, [10000, 1, 28, 28])
        // Fashion-MNIST is balanced: 6000 / 1000 per class.
        var trainCounts = [Int](repeating: 0, count: 10), testCounts = [Int](repeating: 0, count: 10)
        for label in pair.train.labels { trainCounts[label] += 1 }
        for label in pair.test.labels { testCounts[label] += 1 }
        XCTAssertEqual(trainCounts, [Int](repeating: 6000, count: 10))
        XCTAssertEqual(testCounts, [Int](repeating: 1000, count: 10))
        XCTAssertEqual(pair.test.images.data.min(), 0)
        XCTAssertEqual(pair.test.images.data.max(), 1)

        let measureStart = Date()
        let norm = Normalization.measure(pair.train.images)
        let measureSeconds = Date().timeIntervalSince(measureStart)
        XCTAssertEqual(norm.mean.count, 1)
        XCTAssertEqual(norm.mean[0], 0.2860406, accuracy: 1e-5)
        XCTAssertEqual(norm.std[0], 0.3530242, accuracy: 1e-5)
        print(String(format: "Fashion-MNIST: load %.3f s, measure %.3f s, mean %.7f std %.7f",
                     loadSeconds, measureSeconds, norm.mean[0], norm.std[0]))
    }
}

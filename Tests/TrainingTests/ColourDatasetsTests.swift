import Foundation
import ImageIO
import Tensors
import Training
import Datasets
import Runs
import XCTest

/// Shared temp-dir and error helpers for the CIFAR-10 and image-folder reader tests.
class DatasetFixtureCase: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "colour-datasets-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Element (n, c, y, x) of an (N, C, H, W) tensor.
func pixel(_ t: Tensor, _ n: Int, _ c: Int, _ y: Int, _ x: Int) -> Float {
    t.data[((n * t.shape[1] + c) * t.shape[2] + y) * t.shape[3] + x]
}

/// CIFAR-10 binary batches written byte by byte in the published record layout.
final class CIFAR10ReaderTests: DatasetFixtureCase {
    /// Record `r` of the fixture: label `label`, channel c pixel i = (r * 31 + c * 7 + i) mod 256.
    static func record(_ r: Int, label: UInt8) -> [UInt8] {
        [label] + (0..<3).flatMap { c in (0..<1024).map { i in UInt8((r * 31 + c * 7 + i) & 0xFF) } }
    }

    func writeBatch(_ name: String, records: [(Int, UInt8)]) {
        let bytes = records.flatMap { Self.record($0.0, label: $0.1) }
        XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(bytes)))
    }

    /// Six batch files: records 0-1 in batch 1, 2 in batch 2, batches 3-5 one each, test 2 records.
    func writeAll() {
        writeBatch("data_batch_1.bin", records: [(0, 3), (1, 9)])
        writeBatch("data_batch_2.bin", records: [(2, 0)])
        writeBatch("data_batch_3.bin", records: [(3, 1)])
        writeBatch("data_batch_4.bin", records: [(4, 2)])
        writeBatch("data_batch_5.bin", records: [(5, 8)])
        writeBatch("test_batch.bin", records: [(6, 5), (7, 4)])
    }

    func testReadsRecordsPixelsLabelsAndMetaNames() throws {
        writeAll()
        let names = ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        try ("\n" + names.joined(separator: "\n") + "\n\n").write(toFile: directory + "/batches.meta.txt", atomically: true, encoding: .utf8)
        let pair = try DatasetLoader.load(.cifar10, directory: directory)
        XCTAssertEqual(pair.train.images.shape, [6, 3, 32, 32])
        XCTAssertEqual(pair.test.images.shape, [2, 3, 32, 32])
        XCTAssertEqual(pair.train.labels, [3, 9, 0, 1, 2, 8])
        XCTAssertEqual(pair.test.labels, [5, 4])
        XCTAssertEqual(pair.train.classNames, names)
        XCTAssertEqual(pair.test.classNames, names)
        // Exact pixels: image n, channel c, row y, column x = byte (r * 31 + c * 7 + y * 32 + x) mod 256 / 255.
        for (dataset, records) in [(pair.train, [0, 1, 2, 3, 4, 5]), (pair.test, [6, 7])] {
            for (n, r) in records.enumerated() {
                for (c, y, x) in [(0, 0, 0), (1, 5, 17), (2, 31, 31), (2, 8, 3)] {
                    let expected = Float((r * 31 + c * 7 + y * 32 + x) & 0xFF) / 255
                    XCTAssertEqual(pixel(dataset.images, n, c, y, x), expected, "record \(r) c\(c) y\(y) x\(x)")
                }
            }
        }
    }

    func testStandardNamesWithoutMeta() throws {
        writeAll()
        let pair = try DatasetLoader.load(.cifar10, directory: directory)
        XCTAssertEqual(pair.train.classNames, ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"])
    }

    func testErrors() throws {
        expectError({ try DatasetLoader.load(.cifar10, directory: nil) },
                    contains: ["CIFAR-10 is not packaged by Debian", "apt-cache search cifar", "--data-dir DIR"])
        expectError({ try DatasetLoader.load(.cifar10, directory: directory + "/nope") },
                    equals: "data directory \(directory)/nope does not exist")
        writeBatch("data_batch_1.bin", records: [(0, 1)])
        expectError({ try DatasetLoader.load(.cifar10, directory: directory) },
                    equals: "\(directory)/data_batch_2.bin: no such file")
        writeAll()
        // Truncated: one record minus one byte.
        let cut = Data(Self.record(9, label: 1) + Self.record(10, label: 2).dropLast())
        XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/data_batch_3.bin", contents: cut))
        expectError({ try DatasetLoader.load(.cifar10, directory: directory) },
                    equals: "\(directory)/data_batch_3.bin: truncated or not a CIFAR-10 batch (6145 bytes is not a multiple of 3073)")
        XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/data_batch_3.bin", contents: Data()))
        expectError({ try DatasetLoader.load(.cifar10, directory: directory) },
                    equals: "\(directory)/data_batch_3.bin: empty file; not a CIFAR-10 batch")
        writeAll()
        writeBatch("test_batch.bin", records: [(0, 1), (1, 10)])
        expectError({ try DatasetLoader.load(.cifar10, directory: directory) },
                    equals: "\(directory)/test_batch.bin: record 1 has label 10, not in 0...9")
        writeAll()
        try "a\nb\n".write(toFile: directory + "/batches.meta.txt", atomically: true, encoding: .utf8)
        expectError({ try DatasetLoader.load(.cifar10, directory: directory) },
                    equals: "\(directory)/batches.meta.txt: lists 2 class names, CIFAR-10 needs 10")
    }
}

/// Image-folder trees written with PNGCodec.write.
final class ImageFolderReaderTests: DatasetFixtureCase {
    /// Writes `image` to `directory/split/cls/name`.
    func put(_ split: String, _ cls: String, _ name: String, _ image: Image8) throws {
        let dir = "\(directory)/\(split)/\(cls)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try PNGCodec.write(image, to: dir + "/" + name)
    }

    /// A w x h image whose pixel (x, y, c) = seed + 10 * y + 3 * x + 50 * c.
    static func image(_ seed: Int, channels: Int, width: Int = 4, height: Int = 3) -> Image8 {
        var img = Image8(width: width, height: height, channels: channels)
        for y in 0..<height { for x in 0..<width { for c in 0..<channels { img[x, y, c] = UInt8((seed + 10 * y + 3 * x + 50 * c) & 0xFF) } } }
        return img
    }

    func testGrayTree() throws {
        // Written out of order: the reader sorts classes and files.
        try put("train", "zebra", "b.png", Self.image(2, channels: 1))
        try put("train", "zebra", "a.png", Self.image(1, channels: 1))
        try put("train", "ant", "x.png", Self.image(3, channels: 1))
        try put("test", "ant", "t.png", Self.image(4, channels: 1))
        try put("test", "zebra", "t.png", Self.image(5, channels: 1))
        XCTAssertTrue(FileManager.default.createFile(atPath: "\(directory)/train/ant/notes.txt", contents: Data("ignored".utf8)))
        let pair = try DatasetLoader.load(.folder, directory: directory)
        XCTAssertEqual(pair.train.classNames, ["ant", "zebra"])
        XCTAssertEqual(pair.train.images.shape, [3, 1, 3, 4])
        XCTAssertEqual(pair.train.labels, [0, 1, 1])
        XCTAssertEqual(pair.test.labels, [0, 1])
        for (dataset, seeds) in [(pair.train, [3, 1, 2]), (pair.test, [4, 5])] {
            for (n, seed) in seeds.enumerated() {
                for y in 0..<3 { for x in 0..<4 {
                    XCTAssertEqual(pixel(dataset.images, n, 0, y, x), Float(seed + 10 * y + 3 * x) / 255)
                } }
            }
        }
    }

    func testRGBTreeReplicatesGray() throws {
        try put("train", "red", "1.png", Self.image(10, channels: 3))
        try put("train", "red", "2.png", Self.image(20, channels: 3))
        try put("train", "gray", "1.png", Self.image(30, channels: 1))
        try put("test", "gray", "1.png", Self.image(40, channels: 1))
        try put("test", "red", "1.png", Self.image(50, channels: 3))
        let pair = try DatasetLoader.load(.folder, directory: directory)
        XCTAssertEqual(pair.train.classNames, ["gray", "red"])
        XCTAssertEqual(pair.train.images.shape, [3, 3, 3, 4])
        XCTAssertEqual(pair.test.images.shape, [2, 3, 3, 4])
        XCTAssertEqual(pair.train.labels, [0, 1, 1])
        for (dataset, items) in [(pair.train, [(30, 1), (10, 3), (20, 3)]), (pair.test, [(40, 1), (50, 3)])] {
            for (n, (seed, channels)) in items.enumerated() {
                for c in 0..<3 { for y in 0..<3 { for x in 0..<4 {
                    let source = channels == 1 ? 0 : c
                    XCTAssertEqual(pixel(dataset.images, n, c, y, x), Float(seed + 10 * y + 3 * x + 50 * source) / 255, "n\(n) c\(c)")
                } } }
            }
        }
    }

    func testErrors() throws {
        expectError({ try DatasetLoader.load(.folder, directory: nil) }, contains: ["--data folder needs --data-dir DIR"])
        expectError({ try DatasetLoader.load(.folder, directory: directory + "/missing") },
                    equals: "data directory \(directory)/missing does not exist")
        expectError({ try DatasetLoader.load(.folder, directory: directory) },
                    contains: ["\(directory)/train: missing", "train/<class>/*.png"])
        try FileManager.default.createDirectory(atPath: directory + "/train", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/test", withIntermediateDirectories: true)
        expectError({ try DatasetLoader.load(.folder, directory: directory) },
                    equals: "\(directory)/train: has no class folders (expected train/<class>/*.png)")

        try put("train", "a", "1.png", Self.image(1, channels: 1))
        try put("train", "b", "1.png", Self.image(2, channels: 1))
        try put("test", "a", "1.png", Self.image(3, channels: 1))
        expectError({ try DatasetLoader.load(.folder, directory: directory) },
                    equals: "\(directory)/test: class folders differ from train/ (lacks b)")
        try FileManager.default.createDirectory(atPath: directory + "/test/b", withIntermediateDirectories: true)
        expectError({ try DatasetLoader.load(.folder, directory: directory) },
                    equals: "\(directory)/test/b: class folder has no .png images")

        try put("test", "b", "odd.png", Self.image(4, channels: 3, width: 5, height: 3))
        expectError({ try DatasetLoader.load(.folder, directory: directory) },
                    equals: "\(directory)/test/b/odd.png: image is 5x3 but \(directory)/train/a/1.png is 4x3; all images must have one size")

        XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/test/b/odd.png", contents: Data("not a png".utf8)))
        expectError({ try DatasetLoader.load(.folder, directory: directory) }, contains: ["\(directory)/test/b/odd.png: "])
    }
}

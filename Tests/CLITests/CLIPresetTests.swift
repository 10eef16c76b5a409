import Foundation
import Snapshots
import XCTest

/// Presets follow the data: built for the data set's (C, H, W) and class count; a model JSON keeps
/// its own input and is told how to fix it; an input too small for a preset names the layer.
final class CLIPresetTests: XCTestCase {
    /// `classes` folders of `side` x `side` RGB PNGs, `perClass` training and 2 test images each;
    /// class c is brightest in channel c % 3, with a pattern that varies per image.
    static func writeFolder(at root: String, side: Int, classes: Int, perClass: Int) throws {
        for (split, count) in [("train", perClass), ("test", 2)] {
            for label in 0..<classes {
                let dir = "\(root)/\(split)/class\(label)"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for i in 0..<count {
                    var rgb = [UInt8](repeating: 20, count: side * side * 3)
                    for p in 0..<(side * side) where (p + i) % 5 < 2 { rgb[p * 3 + label % 3] = 220 }
                    try Data(StoredPNG.encode(width: side, height: side, rgb: rgb)).write(to: URL(fileURLWithPath: String(format: "%@/%02d.png", dir, i)))
                }
            }
        }
    }

    /// The CIFAR-10 binary layout: `data_batch_1.bin`..`data_batch_5.bin` and `test_batch.bin`, each
    /// `records` records of 1 label byte + 3072 pixel bytes (red, green, blue 32x32 planes).
    static func writeCIFAR10(at dir: String, records: Int) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (fileIndex, name) in ((1...5).map { "data_batch_\($0).bin" } + ["test_batch.bin"]).enumerated() {
            var bytes = [UInt8]()
            for r in 0..<records {
                let label = (fileIndex * records + r) % 10
                bytes.append(UInt8(label))
                bytes += (0..<3072).map { UInt8(($0 * (label + 1) + r * 7) % 256) }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/\(name)"))
        }
    }

    func testTheDefaultPresetTrainsOnA3x32x32FolderAndOnCIFAR10Files() throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }

        try Self.writeFolder(at: dir + "/rgb32", side: 32, classes: 2, perClass: 6)
        let folder = try CLI.run(["train", "--data", "folder", "--data-dir", "rgb32", "--epochs", "1", "--batch-size", "4",
                                  "--train-limit", "8", "--snapshot-epochs", "1", "--run", "folder", "--no-monitor"], in: dir)
        XCTAssertEqual(folder.status, 0, folder.stderr)
        XCTAssertTrue(folder.stdout.hasPrefix("model zf-fmnist built for input [3, 32, 32] and 2 classes\n"), folder.stdout)
        let built = try Snapshot.read(from: dir + "/Checkpoints/folder/epoch-0001.h5")
        XCTAssertEqual(built.weights["conv1"]?.weight.shape, [32, 3, 5, 5], "conv1 takes the data's 3 channels")
        XCTAssertEqual(built.weights["fc3"]?.weight.shape, [256, 64 * 8 * 8], "fc3 takes conv2's 64x8x8 block output")
        XCTAssertEqual(built.weights["fc4"]?.weight.shape, [2, 256], "one output per class")
        let run = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/Checkpoints/folder/run.json"))) as! [String: Any]
        let architecture = run["architecture"] as! [String: Any]
        XCTAssertEqual(architecture["input"] as? [Int], [3, 32, 32])
        XCTAssertEqual(architecture["classes"] as? Int, 2)
        XCTAssertEqual(((architecture["normalization"] as? [String: Any])?["mean"] as? [Double])?.count, 3,
                       "measured per channel on the training split")

        // CIFAR-10's binary batches, with the monitor on (a few probes): the report is written too.
        try Self.writeCIFAR10(at: dir + "/cifar", records: 4)
        let cifar = try CLI.run(["train", "--data", "cifar10", "--data-dir", "cifar", "--epochs", "1", "--batch-size", "8",
                                 "--train-limit", "16", "--snapshot-epochs", "1", "--run", "cifar", "--probes", "2", "--top", "1",
                                 "--occlusion-images", "0"], in: dir)
        XCTAssertEqual(cifar.status, 0, cifar.stderr)
        XCTAssertTrue(cifar.stdout.hasPrefix("model zf-fmnist built for input [3, 32, 32] and 10 classes\n"), cifar.stdout)
        XCTAssertTrue(cifar.stdout.contains("16 training images, 4 test images"), cifar.stdout)
        XCTAssertEqual(try Snapshot.read(from: dir + "/Checkpoints/cifar/epoch-0001.h5").weights["fc4"]?.weight.shape, [10, 256])
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/Reports/cifar/index.html"))

        // A model JSON keeps its own input: the error says which key to set, to what.
        try CLIColourFolderTests.tinyModel.write(toFile: dir + "/tiny.json", atomically: true, encoding: .utf8)
        assertOneLineError(try CLI.run(["train", "--model", "tiny.json", "--data", "folder", "--data-dir", "rgb32", "--run", "json"], in: dir),
                           contains: "the data set's images are [3, 32, 32] but tiny.json expects input [3, 12, 12]; set \"input\": [3, 32, 32] in tiny.json")
    }

    func testAnInputTooSmallForAPresetNamesTheLayerThatFails() throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writeFolder(at: dir + "/tiny", side: 4, classes: 2, perClass: 2)
        // zf-fmnist: conv1 (5x5, padding 2) still sees pixels with every weight, but after the
        // stride-2 pooling conv2's 5x5 kernel slides over a 2x2 map.
        assertOneLineError(try CLI.run(["train", "--data", "folder", "--data-dir", "tiny", "--run", "zf", "--no-monitor"], in: dir),
                           contains: "model zf-fmnist cannot be built for input [3, 4, 4] and 2 classes: layer 3 (conv2): its input is only 2x2 there")
        let zf = try CLI.run(["train", "--data", "folder", "--data-dir", "tiny", "--run", "zf", "--no-monitor"], in: dir)
        XCTAssertTrue(zf.stderr.contains("would only ever see padding") && zf.stderr.contains("zf-fmnist needs images of at least 5x5"), zf.stderr)
        // alexnet-fmnist: the 11x11 stride-4 conv1 already fails on the 4x4 image.
        assertOneLineError(try CLI.run(["train", "--model", "alexnet-fmnist", "--data", "folder", "--data-dir", "tiny", "--run", "alex", "--no-monitor"], in: dir),
                           contains: "layer 0 (conv1): its input is only 4x4 there, too small for its 11x11 kernel (stride 4, padding 5)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/Checkpoints/zf"), "nothing is written")
    }
}

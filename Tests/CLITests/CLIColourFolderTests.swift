import Foundation
import XCTest

/// Minimal PNG writer for the CLI tests (which link no project module): 8-bit RGB, stored
/// (uncompressed) deflate blocks, so the decoder under test (libpng) reads bytes we wrote independently.
enum StoredPNG {
    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    static func chunk(_ tag: String, _ body: [UInt8]) -> [UInt8] {
        let typed = Array(tag.utf8) + body
        return be32(UInt32(body.count)) + typed + be32(crc32(typed))
    }

    /// `rgb` is row-major interleaved, width * height * 3 bytes.
    static func encode(width: Int, height: Int, rgb: [UInt8]) -> [UInt8] {
        var raw = [UInt8]()
        for y in 0..<height { raw.append(0); raw += rgb[(y * width * 3)..<((y + 1) * width * 3)] }
        var zlib: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65535, raw.count - offset)
            zlib.append(offset + n == raw.count ? 1 : 0)
            zlib += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            zlib += raw[offset..<(offset + n)]
            offset += n
        } while offset < raw.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in raw { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        zlib += be32((b << 16) | a)
        let header = be32(UInt32(width)) + be32(UInt32(height)) + [8, 2, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", zlib) + chunk("IEND", [])
    }
}

/// A colour image-folder data set end to end: train, monitor, report, RGB projections.
final class CLIColourFolderTests: XCTestCase {
    /// A conv block and a classifier for the 12x12 RGB shapes of `writeDataSet`: trains in seconds.
    static let tinyModel = shapesModel()

    /// The conv block of `tinyModel`, then, with `hidden`, a hidden layer of that width before the
    /// classifier: the tests that need big snapshots set it (each unit adds 288 weights).
    static func shapesModel(hidden: Int? = nil) -> String {
        let hiddenLayers = hidden.map { """
              {"type": "linear", "name": "fc1", "out_features": \($0)},
              {"type": "relu"},

            """ } ?? ""
        return """
        {"input": [3, 12, 12], "classes": 3, "layers": [
          {"type": "conv", "name": "conv1", "out_channels": 8, "kernel": 3, "stride": 1, "padding": 1},
          {"type": "relu"},
          {"type": "maxpool", "kernel": 2, "stride": 2, "padding": 0},
          {"type": "flatten"},
        \(hiddenLayers)  {"type": "linear", "name": "fc2", "out_features": 3}]}
        """
    }

    /// 3 classes of 12x12 images, each its own colour and shape (square, horizontal bar, vertical bar),
    /// placed at a few offsets; 15 train and 5 test images per class.
    static func writeDataSet(at root: String) throws {
        let colours: [(UInt8, UInt8, UInt8)] = [(230, 40, 40), (40, 200, 40), (50, 60, 250)]
        let names = ["red-square", "green-hbar", "blue-vbar"]
        for (split, count) in [("train", 15), ("test", 5)] {
            for (label, name) in names.enumerated() {
                let dir = "\(root)/\(split)/\(name)"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for i in 0..<count {
                    var rgb = [UInt8](repeating: 10, count: 12 * 12 * 3)
                    let dx = i % 4, dy = (i / 4) % 4
                    for y in 0..<12 { for x in 0..<12 {
                        let inside: Bool
                        switch label {
                        case 0: inside = (2 + dy..<7 + dy).contains(y) && (2 + dx..<7 + dx).contains(x)
                        case 1: inside = (4 + dy..<6 + dy).contains(y) && (1 + dx..<9 + dx).contains(x)
                        default: inside = (1 + dy..<9 + dy).contains(y) && (4 + dx..<6 + dx).contains(x)
                        }
                        if inside {
                            let p = (y * 12 + x) * 3
                            rgb[p] = colours[label].0; rgb[p + 1] = colours[label].1; rgb[p + 2] = colours[label].2
                        }
                    } }
                    let png = StoredPNG.encode(width: 12, height: 12, rgb: rgb)
                    XCTAssertTrue(FileManager.default.createFile(atPath: String(format: "%@/%03d.png", dir, i), contents: Data(png)))
                }
            }
        }
    }

    func testRGBFolderTrainsAndProjectsInColour() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/h5ls") else {
            throw XCTSkip("h5ls (Debian hdf5-tools, installed by make test) is missing")
        }
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writeDataSet(at: dir + "/shapes")
        let model = Self.tinyModel
        try model.write(toFile: dir + "/tiny.json", atomically: true, encoding: .utf8)
        let train = try CLI.run(["train", "--model", "tiny.json", "--data", "folder", "--data-dir", "shapes", "--epochs", "1",
                                 "--batch-size", "8", "--run", "rgb", "--probes", "16", "--top", "3", "--occlusion-images", "2"], in: dir)
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stdout.contains("epoch 1/1"), train.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/Reports/rgb/index.html"))

        // Normalization was measured per channel on the train split: three means and stds.
        let run = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/Checkpoints/rgb/run.json"))) as! [String: Any]
        XCTAssertEqual(run["data"] as? String, "folder")
        let normalization = (run["architecture"] as? [String: Any])?["normalization"] as? [String: Any]
        let means = normalization?["mean"] as? [Double] ?? [], stds = normalization?["std"] as? [Double] ?? []
        XCTAssertEqual(means.count, 3, "\(String(describing: normalization))")
        XCTAssertEqual(stds.count, 3)
        XCTAssertEqual(Set(means.map { ($0 * 1e4).rounded() }).count, 3, "the three channels differ: \(means)")

        let ls = try CLI.runProgram("/usr/bin/h5ls", ["-r", "\(dir)/Reports/rgb/data/epoch-0001.h5"])
        XCTAssertEqual(ls.status, 0)
        XCTAssertTrue(ls.stdout.contains("/conv1/projections       Dataset {8, 3, 3, 12, 12}"), ls.stdout)

        let plisting = try CLI.runProgram("/usr/bin/h5ls", ["-r", "\(dir)/Reports/rgb/data/probes.h5"]).stdout
        XCTAssertTrue(plisting.contains("{15, 3, 12, 12}"), "15 test images, RGB: \(plisting)")

        // Too many classes for the model: a one-line error before training.
        let small = model.replacingOccurrences(of: "\"classes\": 3", with: "\"classes\": 2")
            .replacingOccurrences(of: "\"out_features\": 3", with: "\"out_features\": 2")
        try small.write(toFile: dir + "/two.json", atomically: true, encoding: .utf8)
        assertOneLineError(try CLI.run(["train", "--model", "two.json", "--data", "folder", "--data-dir", "shapes", "--run", "two"], in: dir),
                           contains: "the data set has 3 classes but the model has 2 outputs")
        assertOneLineError(try CLI.run(["train", "--data", "folder", "--run", "x"], in: dir), contains: "--data folder needs --data-dir DIR")
    }
}

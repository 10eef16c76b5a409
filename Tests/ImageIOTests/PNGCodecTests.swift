import Foundation
import XCTest
import ImageIO

final class PNGCodecTests: XCTestCase {
    var directory: String = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "pngcodec-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func patterned(width: Int, height: Int, channels: Int) -> Image8 {
        var pixels = [UInt8]()
        for i in 0..<(width * height * channels) { pixels.append(UInt8((i * 37 + i / 7) & 0xFF)) }
        return Image8(width: width, height: height, channels: channels, pixels: pixels)
    }

    private func expectError(_ body: () throws -> Image8, contains fragments: [String],
                             file: StaticString = #filePath, line: UInt = #line) {
        do {
            let image = try body()
            XCTFail("expected an error, decoded \(image.width)x\(image.height)", file: file, line: line)
        } catch let error as ImageIOError {
            let text = error.description
            XCTAssertFalse(text.contains("\n"), "error is not one line: \(text)", file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(text.contains(fragment), "'\(text)' lacks '\(fragment)'", file: file, line: line)
            }
        } catch {
            XCTFail("unexpected error type \(type(of: error)): \(error)", file: file, line: line)
        }
    }

    // MARK: round trips

    func testGrayRoundTripInMemory() throws {
        let image = patterned(width: 37, height: 23, channels: 1)
        let bytes = try PNGCodec.encode(image)
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(bytes[25], 0, "IHDR colour type should be gray")
        let decoded = try PNGCodec.decode(bytes)
        XCTAssertEqual(decoded, image)
    }

    func testRGBRoundTripThroughFile() throws {
        let image = patterned(width: 19, height: 31, channels: 3)
        let path = directory + "/rgb.png"
        try PNGCodec.write(image, to: path)
        let decoded = try PNGCodec.read(from: path)
        XCTAssertEqual(decoded.channels, 3)
        XCTAssertEqual(decoded, image)
    }

    func testAtomicWriteReplacesAndLeavesNoTemporaryFiles() throws {
        let path = directory + "/out.png"
        try PNGCodec.write(patterned(width: 4, height: 4, channels: 1), to: path)
        let second = patterned(width: 5, height: 3, channels: 3)
        try PNGCodec.write(second, to: path)
        XCTAssertEqual(try PNGCodec.read(from: path), second)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["out.png"])
    }

    func testWriteIntoMissingDirectoryNamesThePath() {
        let path = directory + "/no/such/dir/x.png"
        XCTAssertThrowsError(try PNGCodec.write(patterned(width: 2, height: 2, channels: 1), to: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(path + ": "), "\(error)")
        }
    }

    func testEncodeRejectsInconsistentImage() {
        var image = patterned(width: 3, height: 3, channels: 1)
        image.pixels.removeLast()
        XCTAssertThrowsError(try PNGCodec.encode(image)) { error in
            XCTAssertTrue("\(error)".contains("needs 9 bytes, has 8"), "\(error)")
        }
        image = Image8(width: 0, height: 0, channels: 1, pixels: [])
        XCTAssertThrowsError(try PNGCodec.encode(image))
    }

    // MARK: bad input gives clear errors, never a crash

    func testTruncatedFile() throws {
        let bytes = try PNGCodec.encode(patterned(width: 64, height: 64, channels: 3))
        let path = directory + "/truncated.png"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes.prefix(bytes.count / 2)))
        expectError({ try PNGCodec.read(from: path) }, contains: [path + ": ", "truncated", "libpng:"])
        // Cut inside the signature and inside the header too.
        expectError({ try PNGCodec.decode(Array(bytes.prefix(5))) }, contains: ["<memory>: "])
        expectError({ try PNGCodec.decode(Array(bytes.prefix(20))) }, contains: ["<memory>: "])
    }

    func testEmptyFile() {
        let path = directory + "/empty.png"
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        expectError({ try PNGCodec.read(from: path) }, contains: [path + ": empty file"])
    }

    func testRandomBytes() {
        var generator = SystemRandomNumberGenerator()
        for length in [1, 7, 8, 100, 5000] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            expectError({ try PNGCodec.decode(bytes) }, contains: ["<memory>: ", "not a PNG"])
        }
        let path = directory + "/noise.png"
        _ = FileManager.default.createFile(atPath: path, contents: Data("hello, not a png".utf8))
        expectError({ try PNGCodec.read(from: path) }, contains: [path + ": not a PNG file (libpng: "])
    }

    func testRandomBytesAfterValidSignature() {
        // Garbage that gets past the signature check must still fail cleanly.
        for seed in 0..<20 {
            var bytes = pngSignature
            var state = UInt64(seed) &* 6364136223846793005 &+ 1442695040888963407
            for _ in 0..<200 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                bytes.append(UInt8(truncatingIfNeeded: state >> 56))
            }
            expectError({ try PNGCodec.decode(bytes) }, contains: ["<memory>: ", "libpng:"])
        }
    }

    func testMissingFile() {
        let path = directory + "/absent.png"
        expectError({ try PNGCodec.read(from: path) }, contains: [path + ": cannot open: No such file or directory"])
    }

    func testHugeDimensionsRefusedBeforeAllocating() {
        // A valid signature and IHDR claiming 100000 x 100000 RGB (3e10 bytes), then a token IDAT.
        var png = pngSignature
        func chunk(_ type: String, _ data: [UInt8]) {
            let body = Array(type.utf8) + data
            png += bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
        }
        chunk("IHDR", bigEndian(100_000) + bigEndian(100_000) + [8, 2, 0, 0, 0])
        chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])
        chunk("IEND", [])
        expectError({ try PNGCodec.decode(png) }, contains: ["image too large: 100000x100000x3", "268435456"])
    }

    // MARK: independent check: a PNG written by hand in Python

    func testDecodesPNGsWrittenByPython() throws {
        let script = """
        import struct, sys, zlib
        def chunk(t, d):
            return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
        def png(path, w, h, ctype, rows):
            raw = b''.join(b'\\x00' + bytes(r) for r in rows)
            data = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, ctype, 0, 0, 0))
            data += chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')
            open(path, 'wb').write(data)
        d = sys.argv[1]
        png(d + '/gray.png', 3, 2, 0, [[0, 128, 255], [1, 2, 3]])
        png(d + '/rgb.png', 2, 2, 2, [[255, 0, 0, 0, 255, 0], [0, 0, 255, 10, 20, 30]])
        png(d + '/rgba.png', 2, 1, 6, [[200, 100, 50, 255, 90, 80, 70, 0]])
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, directory]
        do { try process.run() } catch { throw XCTSkip("python3 not available: \(error)") }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw XCTSkip("python3 failed (status \(process.terminationStatus))") }

        XCTAssertEqual(try PNGCodec.read(from: directory + "/gray.png"),
                       Image8(width: 3, height: 2, channels: 1, pixels: [0, 128, 255, 1, 2, 3]))
        XCTAssertEqual(try PNGCodec.read(from: directory + "/rgb.png"),
                       Image8(width: 2, height: 2, channels: 3, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]))
        // Alpha is dropped by compositing onto black: opaque pixels unchanged, transparent ones black.
        XCTAssertEqual(try PNGCodec.read(from: directory + "/rgba.png"),
                       Image8(width: 2, height: 1, channels: 3, pixels: [200, 100, 50, 0, 0, 0]))
    }
}

private func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
}

private func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
    }
    return ~crc
}

private let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

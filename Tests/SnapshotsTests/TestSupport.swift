import Foundation
import TestSupport
import Snapshots
import Tensors
import XCTest

/// A fresh directory per test, removed afterwards.
func makeTemporaryDirectory(_ testCase: XCTestCase) throws -> String {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("SnapshotsTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
}

/// Deterministic PRNG (SplitMix64) so failures reproduce.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random floats that stress a bit-exact round trip: ordinary values, both zeros, subnormals,
/// huge and tiny exponents, infinities, NaNs with payloads, and arbitrary bit patterns.
func awkwardFloats(_ count: Int, _ rng: inout SplitMix64) -> [Float] {
    let fixed: [Float] = [0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude,
                          .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity,
                          Float(bitPattern: 0x7FC0_1234), Float(bitPattern: 0xFF80_0001), 1, -1, .pi]
    return (0..<count).map { index in
        if index < fixed.count { return fixed[index] }
        let bits = UInt32(truncatingIfNeeded: rng.next())
        switch index % 4 {
        case 0: return Float(bitPattern: bits)                              // anything, incl. NaNs
        case 1: return Float(bitPattern: bits & 0x807F_FFFF)                // subnormal (or ±0)
        case 2: return Float(bitPattern: (bits & 0x8000_0000) | 0x7E80_0000 | (bits & 0x7F_FFFF)) // huge exponent
        default: return Float(Int32(truncatingIfNeeded: bits)) / 1e9        // ordinary
        }
    }
}

func randomTensor(_ shape: [Int], _ rng: inout SplitMix64) -> Tensor {
    Tensor(shape: shape, data: awkwardFloats(shape.reduce(1, *), &rng))
}

func bits(_ tensor: Tensor) -> [UInt32] { tensor.data.map(\.bitPattern) }

/// Asserts two snapshots are identical bit for bit (`==` would fail on NaN and ignore -0).
func assertBitIdentical(_ a: Snapshot, _ b: Snapshot, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.epoch, b.epoch, file: file, line: line)
    XCTAssertEqual(a.step, b.step, file: file, line: line)
    XCTAssertEqual(a.architecture, b.architecture, file: file, line: line)
    XCTAssertEqual(a.trainerState, b.trainerState, file: file, line: line)
    for (groupA, groupB, label) in [(a.weights, b.weights, "weights"), (a.optimizer, b.optimizer, "optimizer")] {
        XCTAssertEqual(Set(groupA.keys), Set(groupB.keys), label, file: file, line: line)
        for (name, parameters) in groupA {
            guard let other = groupB[name] else { continue }
            XCTAssertEqual(parameters.weight.shape, other.weight.shape, "\(label)/\(name)", file: file, line: line)
            XCTAssertEqual(parameters.bias.shape, other.bias.shape, "\(label)/\(name)", file: file, line: line)
            XCTAssertEqual(bits(parameters.weight), bits(other.weight), "\(label)/\(name)/weight", file: file, line: line)
            XCTAssertEqual(bits(parameters.bias), bits(other.bias), "\(label)/\(name)/bias", file: file, line: line)
        }
    }
}

let sampleArchitecture = """
    {"input": [1, 28, 28], "classes": 10, "note": "ünïcödé ✓", \
    "layers": [{"type": "conv", "name": "conv1", "out_channels": 4, "kernel": 3}]}
    """

/// A small two-layer snapshot with awkward values and momentum buffers.
func sampleSnapshot(seed: UInt64 = 1, trainerState: TrainerState? = nil) -> Snapshot {
    var rng = SplitMix64(state: seed)
    let weights = [
        "conv1": LayerParameters(weight: randomTensor([4, 1, 3, 3], &rng), bias: randomTensor([4], &rng)),
        "fc2": LayerParameters(weight: randomTensor([10, 36], &rng), bias: randomTensor([10], &rng)),
    ]
    let optimizer = weights.mapValues {
        LayerParameters(weight: randomTensor($0.weight.shape, &rng), bias: randomTensor($0.bias.shape, &rng))
    }
    return Snapshot(epoch: 3, step: 1407, architecture: sampleArchitecture, weights: weights,
                    optimizer: optimizer, trainerState: trainerState)
}

/// Runs an inline Python script with h5py, skipping the test if h5py is not installed
/// (the Makefile's test step installs it). Fails the test if the script fails.
func runH5py(_ script: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let probe = try runProcess("/usr/bin/env", ["python3", "-c", "import h5py, numpy"])
    if probe.status != 0 {
        throw XCTSkip("h5py is not importable by python3 (pip install h5py): \(probe.stderr.suffix(200))")
    }
    let result = try runProcess("/usr/bin/env", ["python3", "-c", script] + arguments)
    XCTAssertEqual(result.status, 0, "python failed:\n\(result.stderr)", file: file, line: line)
    return result.stdout
}

/// Asserts `body` throws a `FileError` (an HDF5 failure or a bad snapshot) whose one-line description starts
/// with `path` and contains `fragment`.
func assertFails(_ path: String, containing fragment: String, file: StaticString = #filePath, line: UInt = #line,
                 _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected an error containing \"\(fragment)\"", file: file, line: line)
    } catch {
        guard error is FileError else {
            return XCTFail("unexpected error type \(type(of: error)): \(error)", file: file, line: line)
        }
        let text = String(describing: error)
        XCTAssertTrue(text.hasPrefix(path + ": "), "\(text) does not start with the path \(path)", file: file, line: line)
        XCTAssertTrue(text.contains(fragment), "\(text) does not contain \"\(fragment)\"", file: file, line: line)
        XCTAssertFalse(text.contains("\n"), "not one line: \(text)", file: file, line: line)
    }
}

import Foundation
import Tensors
import XCTest
@testable import Snapshots

/// The pipe format between the snapshot reader child and its parent (`Snapshot.readGuarded`):
/// a snapshot comes back bit for bit, an error comes back as the same one-line error, and a
/// stream cut anywhere or corrupted is refused without trapping or allocating what it claims.
final class SnapshotWireTests: XCTestCase {
    private func encode(_ result: Result<Snapshot, FileError>) -> [UInt8] {
        var bytes: [UInt8] = []
        SnapshotWire.encode(result) { bytes.append(contentsOf: $0) }
        return bytes
    }

    private func sample() -> Snapshot {
        var rng = SplitMix64(state: 19)
        func tensor(_ shape: [Int]) -> Tensor { Tensor(shape: shape, data: awkwardFloats(shape.reduce(1, *), &rng)) }
        return Snapshot(
            epoch: 7, step: 1234, architecture: #"{"input": [1, 8, 8], "name": "ünïcode"}"#,
            weights: ["conv1": LayerParameters(weight: tensor([3, 1, 5, 5]), bias: tensor([3])),
                      "fc": LayerParameters(weight: tensor([10, 48]), bias: tensor([10])),
                      "scalar": LayerParameters(weight: tensor([]), bias: tensor([0]))],
            optimizer: ["conv1": LayerParameters(weight: tensor([3, 1, 5, 5]), bias: tensor([3]))],
            trainerState: TrainerState(rngState: [1, 2, .max], partial: true))
    }

    func testSnapshotRoundTripsBitForBit() throws {
        for original in [sample(), Snapshot(epoch: 0, step: 0, architecture: "", weights: [:])] {
            let back = try SnapshotWire.decode(encode(.success(original))).get()
            XCTAssertEqual(back.epoch, original.epoch)
            XCTAssertEqual(back.step, original.step)
            XCTAssertEqual(back.architecture, original.architecture)
            XCTAssertEqual(back.trainerState, original.trainerState)
            for (a, b) in [(original.weights, back.weights), (original.optimizer, back.optimizer)] {
                XCTAssertEqual(Set(a.keys), Set(b.keys))
                for (name, p) in a {
                    XCTAssertEqual(b[name]?.weight.shape, p.weight.shape, name)
                    XCTAssertEqual(b[name]?.weight.data.map(\.bitPattern), p.weight.data.map(\.bitPattern), name)
                    XCTAssertEqual(b[name]?.bias.data.map(\.bitPattern), p.bias.data.map(\.bitPattern), name)
                }
            }
        }
    }

    func testErrorRoundTripsAsTheSameLine() throws {
        let error = FileError(file: "runs/x/epoch-0003.h5", message: "not a deconvscope snapshot (no 'format' attribute)")
        XCTAssertThrowsError(try SnapshotWire.decode(encode(.failure(error))).get()) { thrown in
            XCTAssertEqual(String(describing: thrown), error.description)
        }
    }

    func testCutOrCorruptStreamsAreRefused() {
        let bytes = encode(.success(sample()))
        for length in 0..<bytes.count where length % 7 == 0 || length < 64 {
            XCTAssertThrowsError(try SnapshotWire.decode(Array(bytes.prefix(length))), "cut at \(length)")
        }
        XCTAssertThrowsError(try SnapshotWire.decode(bytes + [0]), "trailing byte")
        // Counts claiming far more than the stream holds: the architecture's length, the layer count,
        // the first layer name's length ("conv1"), its weight's rank and first dimension.
        let n = sample().architecture.utf8.count
        for offset in [21, 29 + n, 37 + n, 50 + n, 58 + n] {
            var huge = bytes
            huge.replaceSubrange(offset..<offset + 8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
            XCTAssertThrowsError(try SnapshotWire.decode(huge), "huge count at \(offset)")
        }
    }
}

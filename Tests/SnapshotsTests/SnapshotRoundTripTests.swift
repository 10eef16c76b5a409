import Foundation
import Snapshots
import Tensors
import XCTest

final class SnapshotRoundTripTests: XCTestCase {
    func testRoundTripIsBitExact() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = directory + "/epoch-0003.h5"
        let snapshot = sampleSnapshot()
        try snapshot.write(to: path)
        let loaded = try Snapshot.read(from: path)
        assertBitIdentical(snapshot, loaded)
        XCTAssertNil(loaded.trainerState)
        // The awkward values really were in there.
        let conv = try XCTUnwrap(loaded.weights["conv1"]).weight.data
        XCTAssertEqual(conv[1].bitPattern, (-0.0 as Float).bitPattern)
        XCTAssertEqual(conv[2], .leastNonzeroMagnitude)
        XCTAssertEqual(conv[9].bitPattern, 0x7FC0_1234)
    }

    func testTrainerStateRoundTrip() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = directory + "/epoch-0004.h5"
        for partial in [false, true] {
            let state = TrainerState(rngState: [0, 1, .max, 0x8000_0000_0000_0000, 0x0123_4567_89AB_CDEF], partial: partial)
            let snapshot = sampleSnapshot(seed: 7, trainerState: state)
            try snapshot.write(to: path)
            let loaded = try Snapshot.read(from: path)
            XCTAssertEqual(loaded.trainerState, state)
            assertBitIdentical(snapshot, loaded)
        }
    }

    func testEmptyRNGStateRoundTrips() throws {
        let path = try makeTemporaryDirectory(self) + "/s.h5"
        let snapshot = sampleSnapshot(trainerState: TrainerState(rngState: [], partial: true))
        try snapshot.write(to: path)
        XCTAssertEqual(try Snapshot.read(from: path).trainerState, TrainerState(rngState: [], partial: true))
    }

    func testTrainerStateAbsentWritesNoExtension() throws {
        let path = try makeTemporaryDirectory(self) + "/s.h5"
        try sampleSnapshot().write(to: path)
        let file = try HDF5File.open(path)
        defer { try? file.close() }
        XCTAssertFalse(try file.exists("/trainer"))
        XCTAssertFalse(try file.hasAttribute("partial"))
    }

    func testEmptyOptimizerAndZeroEpoch() throws {
        let path = try makeTemporaryDirectory(self) + "/epoch-0000.h5"
        var snapshot = sampleSnapshot()
        snapshot.optimizer = [:]
        snapshot.epoch = 0
        snapshot.step = 0
        try snapshot.write(to: path)
        let loaded = try Snapshot.read(from: path)
        XCTAssertEqual(loaded.optimizer.count, 0)
        XCTAssertEqual(loaded.epoch, 0)
        assertBitIdentical(snapshot, loaded)
        let file = try HDF5File.open(path)
        defer { try? file.close() }
        XCTAssertFalse(try file.exists("/optimizer"))
    }

    func testEquatableAfterRoundTripOfOrdinaryValues() throws {
        let path = try makeTemporaryDirectory(self) + "/s.h5"
        let weights = ["fc": LayerParameters(weight: Tensor(shape: [2, 3], data: [1, -2, 3.5, 0, 1e-3, -7]),
                                             bias: Tensor(shape: [2], data: [0.25, -0.25]))]
        let snapshot = Snapshot(epoch: 12, step: 99, architecture: "{}", weights: weights)
        try snapshot.write(to: path)
        XCTAssertEqual(try Snapshot.read(from: path), snapshot)
    }

    func testAtomicWriteOverwritesAndLeavesNoTemporaryFiles() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = directory + "/epoch-0001.h5"
        try sampleSnapshot(seed: 1).write(to: path)
        let second = sampleSnapshot(seed: 2)
        try second.write(to: path)
        assertBitIdentical(try Snapshot.read(from: path), second)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["epoch-0001.h5"])
    }

    func testFailedWriteRemovesTemporaryFileAndNamesPath() throws {
        let directory = try makeTemporaryDirectory(self)
        // The target is a non-empty directory, so the final rename must fail.
        let path = directory + "/epoch-0001.h5"
        try FileManager.default.createDirectory(atPath: path + "/keep", withIntermediateDirectories: true)
        assertFails(path, containing: "cannot replace") { try sampleSnapshot().write(to: path) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["epoch-0001.h5"])
    }

    func testWriteIntoMissingDirectoryFails() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = directory + "/missing/epoch-0001.h5"
        assertFails(path, containing: "cannot create file") { try sampleSnapshot().write(to: path) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }

    func testInvalidSnapshotsAreRefusedBeforeWriting() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = directory + "/s.h5"
        var badName = sampleSnapshot()
        badName.weights["a/b"] = badName.weights["conv1"]
        assertFails(path, containing: "invalid layer name") { try badName.write(to: path) }
        var orphan = sampleSnapshot()
        orphan.optimizer["ghost"] = orphan.optimizer["conv1"]
        assertFails(path, containing: "ghost") { try orphan.write(to: path) }
        var negative = sampleSnapshot()
        negative.epoch = -1
        assertFails(path, containing: "negative epoch") { try negative.write(to: path) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }
}

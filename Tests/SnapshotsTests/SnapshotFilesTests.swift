import Foundation
import Snapshots
import XCTest

final class SnapshotFilesTests: XCTestCase {
    func testFileNames() {
        XCTAssertEqual(SnapshotFiles.fileName(epoch: 0), "epoch-0000.h5")
        XCTAssertEqual(SnapshotFiles.fileName(epoch: 3), "epoch-0003.h5")
        XCTAssertEqual(SnapshotFiles.fileName(epoch: 9999), "epoch-9999.h5")
        XCTAssertEqual(SnapshotFiles.fileName(epoch: 12345), "epoch-12345.h5")
    }

    func testParsingAcceptsOnlyCanonicalNames() {
        for epoch in [0, 1, 10, 9999, 10000, 123456] {
            XCTAssertEqual(SnapshotFiles.epoch(fromFileName: SnapshotFiles.fileName(epoch: epoch)), epoch)
        }
        for name in ["epoch-3.h5", "epoch-00003.h5", ".epoch-0003.h5.tmp-123", "epoch-0003.h5.tmp-1", "epoch-0003.h5.bak",
                     "epoch-0003.hdf5", "epoch--001.h5", "epoch-+003.h5", "epoch-00a3.h5", "epoch-.h5", "Epoch-0003.h5",
                     "epoch-٠٠٠٣.h5", "epoch-99999999999999999999999.h5", "run.json", ""] {
            XCTAssertNil(SnapshotFiles.epoch(fromFileName: name), name)
        }
    }

    func testListingSortsByEpochAndIgnoresOtherFiles() throws {
        let directory = try makeTemporaryDirectory(self)
        for name in ["epoch-0010.h5", "epoch-0002.h5", ".epoch-0003.h5.tmp-99", "metrics.jsonl", "epoch-0001.h5",
                     "epoch-10000.h5", "epoch-3.h5"] {
            XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/" + name, contents: Data()))
        }
        let listed = try SnapshotFiles.list(in: directory)
        XCTAssertEqual(listed.map(\.epoch), [1, 2, 10, 10000])
        XCTAssertEqual(listed.map(\.path), ["epoch-0001.h5", "epoch-0002.h5", "epoch-0010.h5", "epoch-10000.h5"].map { directory + "/" + $0 })
        XCTAssertEqual(try SnapshotFiles.list(in: directory + "/").map(\.path), listed.map(\.path))
    }

    func testListingAnEmptyDirectory() throws {
        XCTAssertEqual(try SnapshotFiles.list(in: try makeTemporaryDirectory(self)).count, 0)
    }

    func testListingAMissingDirectoryFails() throws {
        let missing = try makeTemporaryDirectory(self) + "/nope"
        assertFails(missing, containing: "no such directory") { _ = try SnapshotFiles.list(in: missing) }
    }

    func testWrittenSnapshotsAreListed() throws {
        let directory = try makeTemporaryDirectory(self)
        for epoch in [5, 0, 1] {
            var snapshot = sampleSnapshot()
            snapshot.epoch = epoch
            try snapshot.write(to: directory + "/" + SnapshotFiles.fileName(epoch: epoch))
        }
        let listed = try SnapshotFiles.list(in: directory)
        XCTAssertEqual(listed.map(\.epoch), [0, 1, 5])
        XCTAssertEqual(try listed.map { try Snapshot.read(from: $0.path).epoch }, [0, 1, 5])
    }
}

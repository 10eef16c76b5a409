import Foundation
import Snapshots
import XCTest

/// A few hundred bytes of HDF5 header can claim a dataset of 2^31 elements. Reading one must fail
/// before memory is reserved for it: before this check, each file below made the reader allocate
/// (and fill with HDF5's fill value) 8 GiB.
final class HDF5ClaimedSizeTests: XCTestCase {
    /// An h5py file with one float32 dataset of `shape`, declared but never written, so the file stays small.
    private func unwrittenDataset(_ creation: String) throws -> String {
        let path = try makeTemporaryDirectory(self) + "/claims.h5"
        _ = try runH5py("""
            import sys, h5py
            with h5py.File(sys.argv[1], "w") as f:
                f.create_dataset("big", dtype="f4", \(creation))
                f.create_dataset("small", dtype="f4", shape=(3,), data=[1, 2, 3])
            """, [path])
        return path
    }

    func testContiguousDatasetLargerThanTheFileIsRefused() throws {
        let path = try unwrittenDataset("shape=(1 << 16, 1 << 15)")
        let file = try HDF5File.open(path)
        defer { try? file.close() }
        XCTAssertEqual(try file.datasetShape("big"), [1 << 16, 1 << 15], "the shape alone is readable")
        assertFails(path, containing: "dataset /big claims shape [65536, 32768] (8589934592 bytes), more than the") {
            _ = try file.readFloat32("big")
        }
        XCTAssertEqual(try file.readFloat32("small").values, [1, 2, 3], "honest datasets of the same file still read")
    }

    func testChunkedDatasetBeyondAnyCompressionRatioIsRefused() throws {
        let path = try unwrittenDataset("shape=(1 << 31,), chunks=(1 << 16,)")
        let file = try HDF5File.open(path)
        defer { try? file.close() }
        assertFails(path, containing: "more than the") { _ = try file.readFloat32("big") }
    }

    func testCompressedDatasetWithinDeflatesRatioStillReads() throws {
        // 4 MB of zeros compress to a few KB: a real ratio of several hundred must keep working.
        let path = try makeTemporaryDirectory(self) + "/zeros.h5"
        _ = try runH5py("""
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], "w") as f:
                f.create_dataset("zeros", data=np.zeros(1 << 20, dtype="f4"), chunks=(1 << 18,), compression="gzip", compression_opts=9)
            """, [path])
        let file = try HDF5File.open(path)
        defer { try? file.close() }
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber).intValue
        XCTAssertLessThan(size * 100, 4 << 20, "the test needs a file far smaller than its data")
        XCTAssertEqual(try file.readFloat32("zeros").values.count, 1 << 20)
    }
}

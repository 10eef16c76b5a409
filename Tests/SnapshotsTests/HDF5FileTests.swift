import Foundation
import Snapshots
import XCTest

final class HDF5FileTests: XCTestCase {
    var path = ""

    override func setUpWithError() throws {
        path = try makeTemporaryDirectory(self) + "/f.h5"
    }

    func testIntegerDatasetsRoundTripIncludingExtremesScalarsAndEmpty() throws {
        let file = try HDF5File.create(path)
        try file.writeInt64("/a/b/ints", shape: [2, 2], values: [.min, -1, 0, .max])
        try file.writeUInt64("/a/words", shape: [3], values: [0, 1, .max])
        try file.writeFloat32("/scalar", shape: [], values: [2.5])
        try file.writeFloat32("/empty", shape: [0, 4], values: [])
        try file.close()

        let read = try HDF5File.open(path)
        defer { try? read.close() }
        let ints = try read.readInt64("/a/b/ints")
        XCTAssertEqual(ints.shape, [2, 2])
        XCTAssertEqual(ints.values, [.min, -1, 0, .max])
        XCTAssertEqual(try read.readUInt64("a/words").values, [0, 1, .max])
        let scalar = try read.readFloat32("/scalar")
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.values, [2.5])
        XCTAssertEqual(try read.readFloat32("/empty").shape, [0, 4])
        XCTAssertEqual(try read.readFloat32("/empty").values, [])
        XCTAssertEqual(try read.datasetShape("/a/b/ints"), [2, 2])
    }

    func testTypeMismatchesNameTheDatasetAndType() throws {
        let file = try HDF5File.create(path)
        try file.writeUInt64("/u", shape: [1], values: [1])
        try file.writeFloat32("/f", shape: [1], values: [1])
        try file.close()
        let read = try HDF5File.open(path)
        assertFails(path, containing: "dataset /u is uint64, expected int64") { _ = try read.readInt64("/u") }
        assertFails(path, containing: "dataset /f is float32, expected uint64") { _ = try read.readUInt64("/f") }
        assertFails(path, containing: "dataset /missing is missing") { _ = try read.readFloat32("/missing") }
        assertFails(path, containing: "dataset /no/such/thing is missing") { _ = try read.readFloat32("/no/such/thing") }
        assertFails(path, containing: "/ is not a dataset") { _ = try read.readFloat32("/") }
    }

    func testGroupsChildrenAndExistence() throws {
        let file = try HDF5File.create(path)
        try file.createGroup("/x/y/z")
        try file.createGroup("/x/y")  // already there: no error
        try file.writeFloat32("/x/b", shape: [1], values: [0])
        try file.writeFloat32("/x/a", shape: [1], values: [0])
        assertFails(path, containing: "dataset /x/a already exists") { try file.writeFloat32("/x/a", shape: [1], values: [0]) }
        assertFails(path, containing: "shape [3] does not hold 2 values") { try file.writeFloat32("/x/c", shape: [3], values: [0, 0]) }
        try file.close()

        let read = try HDF5File.open(path)
        defer { try? read.close() }
        XCTAssertEqual(try read.children(of: "/"), ["x"])
        XCTAssertEqual(try read.children(of: "/x"), ["a", "b", "y"])
        XCTAssertEqual(try read.children(of: "/x/y/z"), [])
        XCTAssertEqual(try read.kind(of: "/x/y"), .group)
        XCTAssertEqual(try read.kind(of: "/x/a"), .dataset)
        XCTAssertNil(try read.kind(of: "/x/q/r"))
        XCTAssertTrue(try read.exists("/"))
        XCTAssertFalse(try read.exists("/nothing/here"))
        assertFails(path, containing: "/x/a is not a group") { _ = try read.children(of: "/x/a") }
    }

    func testAttributesOnRootAndObjects() throws {
        let file = try HDF5File.create(path)
        try file.writeFloat32("/d", shape: [1], values: [0])
        try file.setStringAttribute("note", "first")
        try file.setStringAttribute("note", "replaced — ünïcode")
        try file.setStringAttribute("empty", "")
        try file.setInt64Attribute("n", -5, on: "/d")
        assertFails(path, containing: "/missing does not exist") { try file.setInt64Attribute("n", 1, on: "/missing") }
        assertFails(path, containing: "NUL") { try file.setStringAttribute("bad", "a\u{0}b") }
        try file.close()

        let read = try HDF5File.open(path)
        defer { try? read.close() }
        XCTAssertEqual(try read.stringAttribute("note"), "replaced — ünïcode")
        XCTAssertEqual(try read.stringAttribute("empty"), "")
        XCTAssertEqual(try read.int64Attribute("n", on: "/d"), -5)
        XCTAssertNil(try read.int64Attribute("n"))
        XCTAssertNil(try read.stringAttribute("absent"))
        XCTAssertTrue(try read.hasAttribute("n", on: "/d"))
        assertFails(path, containing: "attribute 'note' is a string, expected int64") { _ = try read.int64Attribute("note") }
        assertFails(path, containing: "attribute 'n' on /d is int64, expected a string") { _ = try read.stringAttribute("n", on: "/d") }
    }

    func testClosedAndReadOnlyFilesRefuseWork() throws {
        let file = try HDF5File.create(path)
        try file.close()
        try file.close()  // second close is a no-op
        assertFails(path, containing: "file is already closed") { try file.createGroup("/g") }
        let read = try HDF5File.open(path)
        defer { try? read.close() }
        assertFails(path, containing: "file is open read-only") { try read.writeFloat32("/x", shape: [1], values: [1]) }
    }

    func testUnclosedFileIsReleasedByDeinit() throws {
        do {
            let file = try HDF5File.create(path)
            try file.writeFloat32("/x", shape: [1], values: [1])
        }
        // Nothing was written (no close), and the handle is gone: the file can be recreated.
        let again = try HDF5File.create(path)
        try again.writeFloat32("/y", shape: [1], values: [1])
        try again.close()
        let read = try HDF5File.open(path)
        defer { try? read.close() }
        XCTAssertEqual(try read.children(of: "/"), ["y"])
    }

    func testCreateInMissingDirectoryFails() {
        let bad = path + ".d/sub/f.h5"
        assertFails(bad, containing: "cannot create file (No such file or directory)") { _ = try HDF5File.create(bad) }
    }

    func testHugeDeclaredShapeIsRefusedBeforeAllocating() throws {
        _ = try runH5py("""
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], 'w') as f:
                f.create_dataset('huge', shape=(1 << 20, 1 << 20), dtype=np.float32)
                f.attrs['fixed'] = np.bytes_(b'fixed text')
                f.attrs['many'] = np.array([1, 2], dtype=np.int64)
                f.attrs['flt'] = 1.5
            """, [path])
        let read = try HDF5File.open(path)
        defer { try? read.close() }
        assertFails(path, containing: "dataset /huge is too large") { _ = try read.readFloat32("/huge") }
        XCTAssertEqual(try read.stringAttribute("fixed"), "fixed text")
        assertFails(path, containing: "attribute 'many' holds 2 values, expected one") { _ = try read.int64Attribute("many") }
        assertFails(path, containing: "attribute 'flt' is float64, expected int64") { _ = try read.int64Attribute("flt") }
    }
}

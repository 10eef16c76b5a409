import Foundation
import TestSupport
import Snapshots
import Tensors
import XCTest

/// Checks the file layout with tools that share no code with ours: h5dump (the HDF5 C
/// library's own tool) and h5py (which bundles a different HDF5 version).
final class SnapshotInteropTests: XCTestCase {
    static let h5dump = "/usr/bin/h5dump"

    func h5dump(_ arguments: [String]) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: Self.h5dump) else {
            throw XCTSkip("h5dump is not installed (apt-get install hdf5-tools)")
        }
        let result = try runProcess(Self.h5dump, arguments)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout
    }

    /// Collapses whitespace so assertions do not depend on h5dump's indentation.
    func squeezed(_ text: String) -> String {
        text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    func testH5dumpShowsContractAttributes() throws {
        let path = try makeTemporaryDirectory(self) + "/epoch-0003.h5"
        try sampleSnapshot(trainerState: TrainerState(rngState: [1, 2, 3, 4], partial: true)).write(to: path)
        let dump = squeezed(try h5dump(["-A", path]))
        let variableUTF8 = "DATATYPE H5T_STRING { STRSIZE H5T_VARIABLE; STRPAD H5T_STR_NULLTERM; CSET H5T_CSET_UTF8; CTYPE H5T_C_S1; } DATASPACE SCALAR"
        XCTAssertTrue(dump.contains("ATTRIBUTE \"format\" { \(variableUTF8) DATA { (0): \"deconvscope.snapshot\" } }"), dump)
        XCTAssertTrue(dump.contains("ATTRIBUTE \"architecture\" { \(variableUTF8)"), dump)
        XCTAssertTrue(dump.contains("\"layers\": [{\"type\": \"conv\""), dump)
        for (name, value) in [("format_version", 1), ("epoch", 3), ("step", 1407), ("partial", 1)] {
            XCTAssertTrue(dump.contains("ATTRIBUTE \"\(name)\" { DATATYPE H5T_STD_I64LE DATASPACE SCALAR DATA { (0): \(value) } }"),
                          "\(name) in \(dump)")
        }
    }

    func testH5dumpShowsContractDatasets() throws {
        let path = try makeTemporaryDirectory(self) + "/epoch-0003.h5"
        try sampleSnapshot(trainerState: TrainerState(rngState: [1, 2, 3, 4], partial: false)).write(to: path)
        let dump = squeezed(try h5dump(["-H", path]))
        XCTAssertTrue(dump.contains("GROUP \"weights\" { GROUP \"conv1\" { DATASET \"bias\" { DATATYPE H5T_IEEE_F32LE DATASPACE SIMPLE { ( 4 ) / ( 4 ) } } DATASET \"weight\" { DATATYPE H5T_IEEE_F32LE DATASPACE SIMPLE { ( 4, 1, 3, 3 ) / ( 4, 1, 3, 3 ) } } }"), dump)
        XCTAssertTrue(dump.contains("GROUP \"fc2\" { DATASET \"bias\" { DATATYPE H5T_IEEE_F32LE DATASPACE SIMPLE { ( 10 ) / ( 10 ) } } DATASET \"weight\" { DATATYPE H5T_IEEE_F32LE DATASPACE SIMPLE { ( 10, 36 ) / ( 10, 36 ) } }"), dump)
        XCTAssertTrue(dump.contains("GROUP \"optimizer\" { GROUP \"conv1\" {"), dump)
        XCTAssertTrue(dump.contains("GROUP \"trainer\" { DATASET \"rng_state\" { DATATYPE H5T_STD_U64LE DATASPACE SIMPLE { ( 4 ) / ( 4 ) } }"), dump)

        // Values, too: a small dataset printed by h5dump.
        let values = squeezed(try h5dump(["-d", "/trainer/rng_state", path]))
        XCTAssertTrue(values.contains("DATA { (0): 1, 2, 3, 4 }"), values)
    }

    func testFileWrittenByH5pyWithOnlyWeightsLoads() throws {
        let path = try makeTemporaryDirectory(self) + "/epoch-0007.h5"
        _ = try runH5py("""
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], 'w') as f:
                f.attrs['format'] = 'deconvscope.snapshot'
                f.attrs['format_version'] = 1
                f.attrs['epoch'] = 7
                f.attrs['step'] = 3283
                f.attrs['architecture'] = '{"input": [1, 28, 28], "note": "h5py ✓"}'
                f['weights/conv1/weight'] = (np.arange(32 * 25, dtype=np.float32) - 400).reshape(32, 1, 5, 5) / 8
                f['weights/conv1/bias'] = np.arange(32, dtype=np.float32) - 16.5
                f['weights/fc4/weight'] = np.full((10, 256), -0.0, dtype=np.float32)
                f['weights/fc4/bias'] = np.array([np.float32(1e-45)] * 10, dtype=np.float32)
            """, [path])
        let snapshot = try Snapshot.read(from: path)
        XCTAssertEqual(snapshot.epoch, 7)
        XCTAssertEqual(snapshot.step, 3283)
        XCTAssertEqual(snapshot.architecture, #"{"input": [1, 28, 28], "note": "h5py ✓"}"#)
        XCTAssertEqual(snapshot.optimizer.count, 0)
        XCTAssertNil(snapshot.trainerState)
        XCTAssertEqual(Set(snapshot.weights.keys), ["conv1", "fc4"])
        let conv = try XCTUnwrap(snapshot.weights["conv1"])
        XCTAssertEqual(conv.weight.shape, [32, 1, 5, 5])
        XCTAssertEqual(conv.weight.data, (0..<800).map { (Float($0) - 400) / 8 })
        XCTAssertEqual(conv.bias.data, (0..<32).map { Float($0) - 16.5 })
        let fc = try XCTUnwrap(snapshot.weights["fc4"])
        XCTAssertEqual(fc.weight.shape, [10, 256])
        XCTAssertTrue(fc.weight.data.allSatisfy { $0.bitPattern == 0x8000_0000 })
        XCTAssertEqual(fc.bias.data, [Float](repeating: .leastNonzeroMagnitude, count: 10))
    }

    func testH5pyFixedLengthStringsAndNarrowIntegersLoad() throws {
        let path = try makeTemporaryDirectory(self) + "/epoch-0001.h5"
        _ = try runH5py("""
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], 'w') as f:
                f.attrs['format'] = np.bytes_(b'deconvscope.snapshot')
                f.attrs['format_version'] = np.int32(1)
                f.attrs['epoch'] = np.uint8(1)
                f.attrs['step'] = np.int64(5)
                f.attrs['architecture'] = np.bytes_(b'{}')
                f['weights/fc/weight'] = np.ones((2, 3), dtype=np.float32)
                f['weights/fc/bias'] = np.ones(2, dtype=np.float32)
            """, [path])
        let snapshot = try Snapshot.read(from: path)
        XCTAssertEqual(snapshot.epoch, 1)
        XCTAssertEqual(snapshot.step, 5)
        XCTAssertEqual(snapshot.architecture, "{}")
    }

    func testH5pyReadsOurFileAsTheContractSays() throws {
        let path = try makeTemporaryDirectory(self) + "/epoch-0003.h5"
        let snapshot = sampleSnapshot(trainerState: TrainerState(rngState: [.max, 0, 42], partial: true))
        try snapshot.write(to: path)
        let output = try runH5py("""
            import sys, json, h5py, numpy as np
            out = {'attrs': {}, 'datasets': {}}
            with h5py.File(sys.argv[1], 'r') as f:
                for key, value in f.attrs.items():
                    out['attrs'][key] = [type(value).__name__, value if isinstance(value, str) else int(value)]
                def visit(name, obj):
                    if isinstance(obj, h5py.Dataset):
                        data = obj[()]
                        bits = data.view(np.uint32 if data.dtype == np.float32 else np.uint64)
                        out['datasets'][name] = [str(obj.dtype), list(obj.shape), [str(int(b)) for b in bits.ravel()]]
                f.visititems(visit)
            print(json.dumps(out))
            """, [path])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let attrs = try XCTUnwrap(json["attrs"] as? [String: [Any]])
        XCTAssertEqual(attrs["format"]?.first as? String, "str")
        XCTAssertEqual(attrs["format"]?.last as? String, Snapshot.format)
        XCTAssertEqual(attrs["architecture"]?.first as? String, "str")
        XCTAssertEqual(attrs["architecture"]?.last as? String, sampleArchitecture)
        for (name, value) in [("format_version", 1), ("epoch", 3), ("step", 1407), ("partial", 1)] {
            XCTAssertEqual(attrs[name]?.first as? String, "int64", name)
            XCTAssertEqual(attrs[name]?.last as? Int, value, name)
        }
        XCTAssertEqual(attrs.count, 6)

        let datasets = try XCTUnwrap(json["datasets"] as? [String: [Any]])
        var expected: [String: (dtype: String, shape: [Int], bits: [String])] = [:]
        for (group, layers) in [("weights", snapshot.weights), ("optimizer", snapshot.optimizer)] {
            for (layer, parameters) in layers {
                for (name, tensor) in [("weight", parameters.weight), ("bias", parameters.bias)] {
                    expected["\(group)/\(layer)/\(name)"] = ("float32", tensor.shape, bits(tensor).map { String($0) })
                }
            }
        }
        expected["trainer/rng_state"] = ("uint64", [3], snapshot.trainerState!.rngState.map { String($0) })
        XCTAssertEqual(Set(datasets.keys), Set(expected.keys))
        for (name, want) in expected {
            let got = try XCTUnwrap(datasets[name], name)
            XCTAssertEqual(got[0] as? String, want.dtype, name)
            XCTAssertEqual(got[1] as? [Int], want.shape, name)
            XCTAssertEqual(got[2] as? [String], want.bits, "\(name): values differ bit for bit")
        }
    }
}

import Foundation
import Layers
import Snapshots
import Tensors
import Training
import Datasets
import Runs
import XCTest

/// The contract's promise that a PyTorch `state_dict` maps over: h5py writes a snapshot from plain
/// numpy arrays in PyTorch layout (only /weights and the root attributes, as docs/snapshot-format.md's
/// export example does), and it must load and give the native snapshot's logits exactly.
final class PyTorchExportRoundTripTests: XCTestCase {
    static let script = """
    import sys, h5py, numpy as np
    native, out = sys.argv[1], sys.argv[2]
    with h5py.File(native, "r") as f:
        # Plain arrays, as torch's state_dict tensors .numpy() would give: (out, in, kh, kw) / (out, in).
        state = {f"{layer}.{kind}": np.array(f["weights"][layer][kind][()], dtype=np.float32)
                 for layer in f["weights"] for kind in ("weight", "bias")}
        architecture = f.attrs["architecture"]
        architecture = architecture.decode() if isinstance(architecture, bytes) else str(architecture)
    with h5py.File(out, "w") as g:
        g.attrs["format"] = "deconvscope.snapshot"
        g.attrs["format_version"] = np.int64(1)
        g.attrs["epoch"] = np.int64(3)
        g.attrs["step"] = np.int64(42)
        g.attrs["architecture"] = architecture
        for key, value in state.items():
            layer, kind = key.split(".")
            g.create_dataset(f"weights/{layer}/{kind}", data=np.ascontiguousarray(value))
    print(len(state))
    """

    func testH5pyWrittenPyTorchLayoutGivesTheSameLogits() throws {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import h5py, numpy"]
        probe.standardError = Pipe()
        try probe.run()
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { throw XCTSkip("h5py is not importable by python3 (make test installs it)") }

        let dir = NSTemporaryDirectory() + "pytorch-roundtrip-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // RGB input and a conv -> linear flatten, so channel order and (C, H, W) flattening both matter.
        let spec = ModelSpec(input: [3, 10, 10], classes: 4,
                             normalization: Normalization(mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3]),
                             layers: [.conv("conv1", 6, kernel: 3, stride: 1, padding: 1), .relu, .maxpool(kernel: 2, stride: 2),
                                      .conv("conv2", 5, kernel: 3, stride: 1, padding: 0), .relu, .flatten,
                                      .linear("fc3", 4)])
        let network = try Network(spec: spec)
        var rng = Xoshiro256(seed: 7)
        network.initialize(rng: &rng)
        let native = dir + "/native.h5", exported = dir + "/exported.h5"
        var snapshot = network.snapshot(epoch: 3, step: 42, trainerState: nil)
        // Non-zero biases, so a bias that is dropped or swapped shows.
        for name in snapshot.weights.keys.sorted() {
            var p = snapshot.weights[name]!
            p.bias = Tensor(shape: p.bias.shape, data: (0..<p.bias.count).map { Float($0 % 3) * 0.05 - 0.04 })
            snapshot.weights[name] = p
        }
        try snapshot.write(to: native)

        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", Self.script, native, exported]
        let err = Pipe(), out = Pipe()
        python.standardError = err
        python.standardOutput = out
        try python.run()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        python.waitUntilExit()
        XCTAssertEqual(python.terminationStatus, 0, errors)
        XCTAssertEqual(printed.trimmingCharacters(in: .whitespacesAndNewlines), "6", "3 layers x (weight, bias)")

        let reference = try Network.load(snapshot: try Snapshot.read(from: native), path: native)
        let loadedSnapshot = try Snapshot.read(from: exported)
        XCTAssertEqual(loadedSnapshot.epoch, 3)
        XCTAssertEqual(loadedSnapshot.step, 42)
        XCTAssertTrue(loadedSnapshot.optimizer.isEmpty, "no /optimizer group in the exported file")
        let loaded = try Network.load(snapshot: loadedSnapshot, path: exported)

        var pixels = Xoshiro256(seed: 11)
        let images = Tensor(shape: [5, 3, 10, 10], data: (0..<(5 * 300)).map { _ in Float(pixels.next() % 1000) / 1000 - 0.5 })
        let a = reference.forward(images, mode: .inference), b = loaded.forward(images, mode: .inference)
        XCTAssertEqual(a.shape, [5, 4])
        XCTAssertEqual(a.data.map(\.bitPattern), b.data.map(\.bitPattern), "logits differ: \(a.data) vs \(b.data)")
        XCTAssertGreaterThan(Set(a.data).count, 10, "logits are not degenerate")
    }
}

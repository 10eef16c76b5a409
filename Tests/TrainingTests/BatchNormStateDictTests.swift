import Foundation
import Layers
import Snapshots
import Tensors
import XCTest

/// A PyTorch-style `state_dict` of a net with BatchNorm, written by h5py from numpy arrays (with
/// `running_mean`, `running_var` and PyTorch's int64 `num_batches_tracked`), loads, and its logits
/// equal an independent numpy forward of the same arrays (BatchNorm2d in eval mode).
final class BatchNormStateDictTests: XCTestCase {
    static let script = """
    import sys, json, h5py, numpy as np
    out, architecture = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(5)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)
    state = {"conv1.weight": f32(4, 2, 3, 3) * 0.5, "conv1.bias": f32(4) * 0.1,
             "bn1.weight": (rng.random(4) + 0.5).astype(np.float32), "bn1.bias": f32(4) * 0.3,
             "bn1.running_mean": f32(4) * 0.4, "bn1.running_var": (rng.random(4) + 0.3).astype(np.float32),
             "fc.weight": f32(3, 4 * 5 * 5) * 0.2, "fc.bias": f32(3) * 0.1}
    x = rng.random((6, 2, 5, 5)).astype(np.float32)
    mean, std = np.array([0.5, 0.4], np.float32), np.array([0.25, 0.2], np.float32)
    # The reference forward in float64: normalize, conv 3x3 pad 1, BatchNorm2d(eps 1e-5) eval, ReLU, flatten, linear.
    z = (x.astype(np.float64) - mean[None, :, None, None]) / std[None, :, None, None]
    zp = np.pad(z, ((0, 0), (0, 0), (1, 1), (1, 1)))
    w = state["conv1.weight"].astype(np.float64)
    y = np.zeros((6, 4, 5, 5))
    for i in range(5):
        for j in range(5):
            y[:, :, i, j] = np.einsum("ncij,ocij->no", zp[:, :, i:i + 3, j:j + 3], w)
    y += state["conv1.bias"][None, :, None, None]
    y = (y - state["bn1.running_mean"][None, :, None, None]) / np.sqrt(state["bn1.running_var"][None, :, None, None] + 1e-5)
    y = y * state["bn1.weight"][None, :, None, None] + state["bn1.bias"][None, :, None, None]
    y = np.maximum(y, 0).reshape(6, -1)
    logits = y @ state["fc.weight"].T.astype(np.float64) + state["fc.bias"]
    with h5py.File(out, "w") as g:
        g.attrs["format"] = "deconvscope.snapshot"
        g.attrs["format_version"] = np.int64(1)
        g.attrs["epoch"] = np.int64(1)
        g.attrs["step"] = np.int64(10)
        g.attrs["architecture"] = architecture
        for key, value in state.items():
            layer, kind = key.split(".")
            g.create_dataset(f"weights/{layer}/{kind}", data=value)
        g.create_dataset("weights/bn1/num_batches_tracked", data=np.int64(10))
        g.create_dataset("reference/input", data=x)
        g.create_dataset("reference/logits", data=logits.astype(np.float32))
    """

    func testH5pyStateDictWithBatchNormGivesNumpysLogits() throws {
        let probe = try Process.run(URL(fileURLWithPath: "/usr/bin/env"), arguments: ["python3", "-c", "import h5py, numpy"])
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { throw XCTSkip("h5py is not importable by python3 (make test installs it)") }
        let spec = ModelSpec(input: [2, 5, 5], classes: 3, normalization: Normalization(mean: [0.5, 0.4], std: [0.25, 0.2]),
                             layers: [.conv("conv1", 4, kernel: 3, stride: 1, padding: 1), LayerSpec(type: "batchnorm", values: ["name": .string("bn1")]),
                                      .relu, .flatten, .linear("fc", 3)])
        let path = NSTemporaryDirectory() + "bn-state-dict-\(UUID().uuidString).h5"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let python = try Process.run(URL(fileURLWithPath: "/usr/bin/env"), arguments: ["python3", "-c", Self.script, path, spec.json()])
        python.waitUntilExit()
        XCTAssertEqual(python.terminationStatus, 0)

        let snapshot = try Snapshot.read(from: path)
        XCTAssertEqual(Set(snapshot.buffers["bn1"]?.keys ?? [:].keys), ["running_mean", "running_var"], "num_batches_tracked (int64) is not a buffer")
        let network = try Network.load(snapshot: snapshot, path: path)
        let file = try HDF5File.open(path)
        defer { try? file.close() }
        let input = try file.readFloat32("/reference/input"), expected = try file.readFloat32("/reference/logits").values
        var x = Tensor(shape: input.shape, data: input.values)
        spec.normalization!.apply(to: &x)
        let logits = network.forward(x, mode: .inference).data
        XCTAssertEqual(logits.count, expected.count)
        for (a, b) in zip(logits, expected) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b))) }

        // Written back by our writer and read again: the same tensors, buffers included, bit for bit.
        let copy = path + ".copy.h5"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try network.snapshot(epoch: 1, step: 10, trainerState: nil).write(to: copy)
        let again = try Snapshot.read(from: copy)
        XCTAssertEqual(again.buffers["bn1"], snapshot.buffers["bn1"])
        XCTAssertEqual(again.weights["bn1"], snapshot.weights["bn1"])
        XCTAssertEqual(try Network.load(snapshot: again, path: copy).forward(x, mode: .inference).data, logits)
    }
}

import Foundation
import Tensors
import ONNXFormat

extension Snapshot {
    /// A network exported from another framework as ONNX (`epoch-NNNN.onnx` in a run folder), as
    /// a snapshot: the graph's model JSON as `architecture` and its weights by layer and tensor
    /// name; `epoch` as the caller knows it (from the file name), step 0, no optimizer or trainer
    /// state. The ONNX parser is this project's own Swift code (fuzzed), so no child process guards it.
    public static func readONNX(from path: String, epoch: Int) throws -> Snapshot {
        let imported: ImportedModel
        do { imported = try ONNXImporter.read(path: path) } catch {
            throw SnapshotError(file: path, message: "\(error)".replacingOccurrences(of: "\(path): ", with: ""))
        }
        var weights: [String: LayerParameters] = [:], buffers: [String: [String: Tensor]] = [:]
        for (layer, tensors) in imported.parameters {
            guard let weight = tensors["weight"], let bias = tensors["bias"] else {
                throw SnapshotError(file: path, message: "layer \(layer) has no weight or no bias")
            }
            weights[layer] = LayerParameters(weight: weight, bias: bias)
            let rest = tensors.filter { $0.key != "weight" && $0.key != "bias" }
            if !rest.isEmpty { buffers[layer] = rest }
        }
        return Snapshot(epoch: epoch, step: 0, architecture: imported.architecture, weights: weights, buffers: buffers)
    }

    /// Either kind of snapshot file, by its extension: `.onnx` through the ONNX importer (epoch
    /// from its canonical name, else 0), anything else as HDF5 through `readGuarded`.
    /// `optimizerState` as for `read(from:optimizerState:)`.
    public static func readAnyFormat(from path: String, optimizerState: Bool = true) throws -> Snapshot {
        try beginReadAnyFormat(from: path, optimizerState: optimizerState).finish()
    }

    /// `readAnyFormat` in two steps, as `beginGuardedRead` (an ONNX file is read at once).
    public static func beginReadAnyFormat(from path: String, optimizerState: Bool = true) -> PendingSnapshotRead {
        guard path.hasSuffix(".onnx") else { return beginGuardedRead(from: path, optimizerState: optimizerState) }
        let name = URL(fileURLWithPath: path).lastPathComponent
        return PendingSnapshotRead(finished: Result { try readONNX(from: path, epoch: SnapshotFiles.epoch(fromFileName: name) ?? 0) })
    }

    /// The snapshot's tensors by layer and name (weight, bias and buffers): what an ONNX export needs.
    public var namedTensors: [String: [String: Tensor]] {
        var all = buffers
        for (layer, p) in weights {
            all[layer, default: [:]]["weight"] = p.weight
            all[layer, default: [:]]["bias"] = p.bias
        }
        return all
    }
}

import Foundation
import Tensors

/// Names of snapshot files in a run directory: `epoch-NNNN.h5`, epoch zero-padded to 4 digits.
///
/// One place for the naming rule so the trainer (writes), `--resume` (finds the latest) and
/// the monitor (lists) agree. Only the canonical spelling counts: `epoch-0003.h5` is epoch 3,
/// while `epoch-3.h5` or `epoch-00003.h5` are ignored, so one epoch never maps to two files.
public enum SnapshotFiles {
    /// `epoch-0003.h5`; epochs from 10000 on simply get more digits (`epoch-12345.h5`).
    public static func fileName(epoch: Int) -> String {
        precondition(epoch >= 0, "negative epoch \(epoch)")
        let digits = String(epoch)
        return "epoch-" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits + ".h5"
    }

    /// The epoch of a canonical snapshot file name (no directory), `epoch-NNNN.h5` or, for a
    /// network exported from another framework, `epoch-NNNN.onnx`; nil for any other name,
    /// including the temporary `.epoch-0003.h5.tmp-<pid>` files of an in-progress write.
    public static func epoch(fromFileName name: String) -> Int? {
        let suffix = name.hasSuffix(".onnx") ? ".onnx" : ".h5"
        guard name.hasPrefix("epoch-"), name.hasSuffix(suffix) else { return nil }
        let digits = name.dropFirst("epoch-".count).dropLast(suffix.count)
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let epoch = Int(digits), fileName(epoch: epoch).dropLast(".h5".count) + suffix == name else { return nil }
        return epoch
    }

    /// The snapshot files directly in `directory`, one per epoch, sorted by epoch; other files are
    /// ignored. Where an epoch has both an `.h5` and an `.onnx` file, the newer one (by
    /// modification time; the `.h5` on a tie) stands for it. Paths are `directory` joined with the file name.
    public static func list(in directory: String) throws -> [(epoch: Int, path: String)] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory)
            let reason = !exists ? "no such directory" : !isDirectory.boolValue ? "not a directory" : "cannot list directory"
            throw SnapshotError(file: directory, message: reason)
        }
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        func modified(_ path: String) -> Int64 { FileInfo(path)?.modified ?? .min }
        var newest: [Int: String] = [:]
        for name in names.sorted() {   // ".h5" sorts before ".onnx": a tie keeps the .h5
            guard let epoch = epoch(fromFileName: name) else { continue }
            let path = base + name
            if let other = newest[epoch], modified(other) >= modified(path) { continue }
            newest[epoch] = path
        }
        return newest.map { ($0.key, $0.value) }.sorted { $0.epoch < $1.epoch }
    }
}

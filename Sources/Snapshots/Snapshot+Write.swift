import Foundation
import Tensors

extension Snapshot {
    /// Writes the snapshot to `path` atomically, replacing any existing file.
    ///
    /// The monitor may read a run's snapshots while the trainer writes them, and a killed
    /// trainer must not leave a truncated `epoch-NNNN.h5` behind. So the file is written to
    /// `<dir>/.<name>.tmp-<pid>` (a dot file, ignored by ``SnapshotFiles/list(in:)``), fsynced,
    /// and renamed over `path` (atomic within a directory); the directory is then fsynced so the
    /// rename survives a crash. On any failure the temporary file is removed and the error,
    /// naming `path` (not the temporary), is thrown: e.g. "No space left on device".
    ///
    /// Two threads of one process writing the same `path` at once would share the temporary
    /// name; the trainer writes each snapshot from one place, so this is not guarded against.
    public func write(to path: String) throws {
        try validate(for: path)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let temporary = AtomicFile.temporaryPath(for: path)
        do {
            let file = try HDF5File.create(temporary)
            try fill(file)
            try file.close()  // writes and fsyncs
            FaultInjection.pauseBeforeSnapshotRename(epoch: epoch, temporary: temporary)
            guard rename(temporary, path) == 0 else {
                throw SnapshotError(file: path, message: "cannot replace the file (\(Self.systemError()))")
            }
        } catch {
            unlink(temporary)
            if let error = error as? HDF5Error { throw HDF5Error(file: path, message: error.message) }
            throw error
        }
        // Best effort: the new file is complete and in place; only its durability across a
        // power loss depends on this, and some file systems refuse fsync on directories.
        let descriptor = open(directory, O_RDONLY)
        if descriptor >= 0 {
            _ = fsync(descriptor)
            close(descriptor)
        }
    }

    /// Checks what the file format itself needs, so a snapshot that writes also reads back.
    private func validate(for path: String) throws {
        func problem(_ message: String) -> SnapshotError { SnapshotError(file: path, message: message) }
        guard epoch >= 0 else { throw problem("cannot write a snapshot with negative epoch \(epoch)") }
        guard step >= 0 else { throw problem("cannot write a snapshot with negative step \(step)") }
        for name in weights.keys where !Self.isValidLayerName(name) {
            throw problem("invalid layer name \"\(name)\" (must be non-empty, without '/')")
        }
        for (name, tensors) in buffers {
            guard weights[name] != nil else { throw problem("buffers for layer '\(name)', which has no weights") }
            for key in tensors.keys where key == "weight" || key == "bias" || !Self.isValidLayerName(key) {
                throw problem("invalid buffer name \"\(key)\" for layer '\(name)'")
            }
        }
        for (name, buffers) in optimizer {
            guard let parameters = weights[name] else {
                throw problem("optimizer state for layer '\(name)', which has no weights")
            }
            guard buffers.weight.shape == parameters.weight.shape, buffers.bias.shape == parameters.bias.shape else {
                throw problem("optimizer state for layer '\(name)' does not match its weight and bias shapes")
            }
        }
    }

    static func isValidLayerName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.utf8.contains(0)
    }

    private func fill(_ file: HDF5File) throws {
        try file.setStringAttribute("format", Self.format)
        try file.setInt64Attribute("format_version", Int64(Self.formatVersion))
        try file.setInt64Attribute("epoch", Int64(epoch))
        try file.setInt64Attribute("step", Int64(step))
        try file.setStringAttribute("architecture", architecture)
        try file.createGroup("/weights")
        try Self.writeLayers(weights, under: "/weights", to: file)
        for name in buffers.keys.sorted() {
            for (dataset, tensor) in buffers[name]!.sorted(by: { $0.key < $1.key }) {
                try file.writeFloat32("/weights/\(name)/\(dataset)", shape: tensor.shape, values: tensor.data)
            }
        }
        if !optimizer.isEmpty {
            try Self.writeLayers(optimizer, under: "/optimizer", to: file)
        }
        if let trainerState {
            try file.setInt64Attribute("partial", trainerState.partial ? 1 : 0)
            try file.writeUInt64("/trainer/rng_state", shape: [trainerState.rngState.count], values: trainerState.rngState)
        }
    }

    private static func writeLayers(_ layers: [String: LayerParameters], under group: String, to file: HDF5File) throws {
        for name in layers.keys.sorted() {
            let parameters = layers[name]!
            for (dataset, tensor) in [("weight", parameters.weight), ("bias", parameters.bias)] {
                try file.writeFloat32("\(group)/\(name)/\(dataset)", shape: tensor.shape, values: tensor.data)
            }
        }
    }

    static func systemError() -> String {
        String(cString: strerror(errno))
    }
}

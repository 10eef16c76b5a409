import Tensors

extension Snapshot {
    /// Reads and validates a snapshot.
    ///
    /// Checks, each failing with a one-line error naming the file: the file exists and is
    /// HDF5; `format` is ``format``; `format_version` is present and not newer than this build
    /// (a newer file gets a message saying so, instead of a confusing layout error later);
    /// `epoch`, `step` (non-negative) and `architecture` are present; every layer under
    /// `/weights` (and `/optimizer`, if present) has float32 `weight` and `bias` datasets;
    /// momentum buffers match their layer's shapes. Other float32 datasets of a `/weights` layer
    /// group are its buffers (`buffers`); other objects are ignored (PyTorch's int64
    /// `num_batches_tracked`, say). Shapes are not checked against the architecture: that needs the model.
    ///
    /// With `optimizerState` false the momentum buffers are not read (`optimizer` stays empty): a
    /// reader that only runs the network (the monitor) then moves half the bytes of a snapshot
    /// saved mid-training.
    public static func read(from path: String, optimizerState: Bool = true) throws -> Snapshot {
        let file = try HDF5File.open(path)
        defer { try? file.close() }
        func problem(_ message: String) -> SnapshotError { SnapshotError(file: path, message: message) }

        guard let format = try file.stringAttribute("format") else {
            throw problem("not a deconvscope snapshot (no 'format' attribute)")
        }
        guard format == Self.format else {
            throw problem("not a deconvscope snapshot (format is \"\(format)\", expected \"\(Self.format)\")")
        }
        guard let version = try file.int64Attribute("format_version") else {
            throw problem("missing attribute 'format_version'")
        }
        guard version <= Self.formatVersion else {
            throw problem("written by a newer deconvscope (format_version \(version), this build reads \(Self.formatVersion))")
        }
        guard version >= 1 else { throw problem("invalid format_version \(version)") }

        func count(_ name: String) throws -> Int {
            guard let value = try file.int64Attribute(name) else { throw problem("missing attribute '\(name)'") }
            guard value >= 0, let count = Int(exactly: value) else { throw problem("invalid \(name) \(value)") }
            return count
        }
        let epoch = try count("epoch")
        let step = try count("step")
        guard let architecture = try file.stringAttribute("architecture") else {
            throw problem("missing attribute 'architecture'")
        }

        guard try file.kind(of: "/weights") == .group else { throw problem("no /weights group") }
        let weights = try readLayers("/weights", from: file, problem)
        var buffers: [String: [String: Tensor]] = [:]
        for name in weights.keys {
            for dataset in try file.children(of: "/weights/\(name)") where dataset != "weight" && dataset != "bias" {
                let path = "/weights/\(name)/\(dataset)"
                guard try file.kind(of: path) == .dataset, try file.isFloat32(path) else { continue }
                let (shape, values) = try file.readFloat32(path)
                buffers[name, default: [:]][dataset] = Tensor(shape: shape, data: values)
            }
        }
        var optimizer: [String: LayerParameters] = [:]
        switch try file.kind(of: "/optimizer") {
        case nil: break
        case .group?: if optimizerState { optimizer = try readLayers("/optimizer", from: file, problem) }
        case _?: throw problem("/optimizer is not a group")
        }
        for (name, buffers) in optimizer {
            guard let parameters = weights[name] else {
                throw problem("/optimizer/\(name) has no matching /weights/\(name)")
            }
            guard buffers.weight.shape == parameters.weight.shape, buffers.bias.shape == parameters.bias.shape else {
                throw problem("/optimizer/\(name) shapes differ from /weights/\(name)")
            }
        }

        return Snapshot(epoch: epoch, step: step, architecture: architecture, weights: weights,
                        optimizer: optimizer, buffers: buffers, trainerState: try readTrainerState(from: file, problem))
    }

    private static func readLayers(_ group: String, from file: HDF5File,
                                   _ problem: (String) -> SnapshotError) throws -> [String: LayerParameters] {
        var layers: [String: LayerParameters] = [:]
        for name in try file.children(of: group) {
            let layer = "\(group)/\(name)"
            guard try file.kind(of: layer) == .group else { throw problem("\(layer) is not a group") }
            var tensors: [Tensor] = []
            for dataset in ["weight", "bias"] {
                guard try file.exists("\(layer)/\(dataset)") else {
                    throw problem("layer '\(name)' has no \(dataset) (\(layer)/\(dataset) is missing)")
                }
                let (shape, values) = try file.readFloat32("\(layer)/\(dataset)")
                tensors.append(Tensor(shape: shape, data: values))
            }
            layers[name] = LayerParameters(weight: tensors[0], bias: tensors[1])
        }
        return layers
    }

    private static func readTrainerState(from file: HDF5File,
                                         _ problem: (String) -> SnapshotError) throws -> TrainerState? {
        let hasState = try file.exists("/trainer/rng_state")
        let partial = try file.int64Attribute("partial")
        switch (hasState, partial) {
        case (false, nil):
            return nil
        case (true, let partial?):
            guard partial == 0 || partial == 1 else { throw problem("invalid attribute 'partial' \(partial) (expected 0 or 1)") }
            let (shape, words) = try file.readUInt64("/trainer/rng_state")
            guard shape.count == 1 else { throw problem("/trainer/rng_state has shape \(shape), expected (n,)") }
            return TrainerState(rngState: words, partial: partial == 1)
        case (true, nil):
            throw problem("/trainer/rng_state is present but attribute 'partial' is missing")
        case (false, _?):
            throw problem("attribute 'partial' is present but /trainer/rng_state is missing")
        }
    }
}

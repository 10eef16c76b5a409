import Tensors
import Layers

/// Errors that tie a snapshot to the network it should load into.
public struct SnapshotMismatch: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}

extension Network {
    /// Builds the network a snapshot describes (from its `architecture`) and loads its weights.
    public static func load(snapshot: Snapshot, path: String) throws -> Network {
        let spec = try ModelSpec.decode(json: snapshot.architecture, source: "\(path) (architecture attribute)")
        let network = try Network(spec: spec, source: "\(path) (architecture attribute)")
        try network.load(snapshot, path: path, momentumIsZero: true)
        return network
    }

    /// Copies weights (and momentum buffers, when present) in, checking every name and shape.
    /// Momentum the snapshot does not hold is set to zero, unless the caller knows it is already
    /// (`momentumIsZero`: a network just built, whose zero buffers need not be made again).
    public func load(_ snapshot: Snapshot, path: String, momentumIsZero: Bool = false) throws {
        for (name, weight, bias) in parameterLayers {
            guard let stored = snapshot.weights[name] else {
                throw SnapshotMismatch(path: path, message: "no /weights/\(name) for layer \(name) of the architecture")
            }
            for (param, tensor, field) in [(weight, stored.weight, "weight"), (bias, stored.bias, "bias")] {
                guard tensor.shape == param.value.shape else {
                    throw SnapshotMismatch(path: path, message: "/weights/\(name)/\(field) has shape \(tensor.shape), the architecture needs \(param.value.shape)")
                }
                param.value = tensor
                if !momentumIsZero && snapshot.optimizer[name] == nil { param.momentum = Tensor(zeros: tensor.shape) }
            }
            if let m = snapshot.optimizer[name] {
                guard m.weight.shape == weight.value.shape, m.bias.shape == bias.value.shape else {
                    throw SnapshotMismatch(path: path, message: "/optimizer/\(name) shapes \(m.weight.shape), \(m.bias.shape) do not match the weights")
                }
                weight.momentum = m.weight
                bias.momentum = m.bias
            }
        }
        for layer in layers where !layer.buffers.isEmpty {
            let name = layer.name ?? layer.kind
            for buffer in layer.buffers {
                guard let stored = snapshot.buffers[name]?[buffer.name] else {
                    throw SnapshotMismatch(path: path, message: "no /weights/\(name)/\(buffer.name) for layer \(name) of the architecture")
                }
                guard stored.shape == buffer.value.shape else {
                    throw SnapshotMismatch(path: path, message: "/weights/\(name)/\(buffer.name) has shape \(stored.shape), the architecture needs \(buffer.value.shape)")
                }
                buffer.value = stored
            }
        }
        let known = Set(parameterLayers.map(\.name))
        if let extra = snapshot.weights.keys.sorted().first(where: { !known.contains($0) }) {
            throw SnapshotMismatch(path: path, message: "/weights/\(extra) is not a layer of the architecture")
        }
        for (name, tensors) in snapshot.buffers.sorted(by: { $0.key < $1.key }) {
            let expected = Set(layers.first { $0.name == name }?.buffers.map(\.name) ?? [])
            if let extra = tensors.keys.sorted().first(where: { !expected.contains($0) }) {
                throw SnapshotMismatch(path: path, message: "/weights/\(name)/\(extra) is not a tensor of layer \(name)")
            }
        }
    }

    /// The snapshot of this network's current weights and momentum buffers.
    public func snapshot(epoch: Int, step: Int, trainerState: TrainerState?) -> Snapshot {
        var weights: [String: LayerParameters] = [:], optimizer: [String: LayerParameters] = [:]
        for (name, weight, bias) in parameterLayers {
            weights[name] = LayerParameters(weight: weight.value, bias: bias.value)
            optimizer[name] = LayerParameters(weight: weight.momentum, bias: bias.momentum)
        }
        var buffers: [String: [String: Tensor]] = [:]
        for layer in layers where !layer.buffers.isEmpty {
            buffers[layer.name ?? layer.kind] = Dictionary(uniqueKeysWithValues: layer.buffers.map { ($0.name, $0.value) })
        }
        return Snapshot(epoch: epoch, step: step, architecture: spec.json(), weights: weights,
                        optimizer: optimizer, buffers: buffers, trainerState: trainerState)
    }
}

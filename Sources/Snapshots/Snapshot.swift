import Tensors

/// A layer's trainable parameters (or their SGD momentum buffers), in PyTorch layouts:
/// conv weight (out_channels, in_channels, kh, kw), linear weight (out_features, in_features),
/// bias (out). Same layout as a PyTorch `state_dict`, so files map over directly.
public struct LayerParameters: Equatable, Sendable {
    public var weight: Tensor
    public var bias: Tensor

    public init(weight: Tensor, bias: Tensor) {
        self.weight = weight
        self.bias = bias
    }
}

/// What the trainer needs, beyond weights and momentum, to make `--resume` bit-identical to an
/// uninterrupted run.
///
/// This is a deconvscope extension to the snapshot contract, stored as the uint64 dataset
/// `/trainer/rng_state` (shape (n,)) and the int64 root attribute `partial` (0 or 1). Both are
/// written only when present; files from other tools lack them and read back as `nil`.
public struct TrainerState: Equatable, Sendable {
    /// The trainer's PRNG state words.
    public var rngState: [UInt64]
    /// True when written for an interrupted epoch (the epoch counter is then not yet complete).
    public var partial: Bool

    public init(rngState: [UInt64], partial: Bool) {
        self.rngState = rngState
        self.partial = partial
    }
}

/// One training checkpoint: the file `Checkpoints/<run>/epoch-NNNN.h5` of the public contract.
///
/// Layout (contract, "Snapshot file"): root attributes `format` and `architecture`
/// (variable-length UTF-8 strings), `format_version`, `epoch`, `step` (int64); float32 datasets
/// `/weights/<layer>/{weight,bias}` and optionally `/optimizer/<layer>/{weight,bias}`.
/// Plus the ``TrainerState`` extension. Reading accepts any file with that layout, such as one
/// written by h5py from a PyTorch `state_dict` with only `/weights` and the root attributes.
///
/// Checking parameter shapes against the architecture is the network loader's job; a snapshot
/// only checks what it can without knowing the model (see ``read(from:)``).
public struct Snapshot: Equatable, Sendable {
    /// The value of the root `format` attribute: tells a snapshot from any other HDF5 file.
    public static let format = "deconvscope.snapshot"
    /// The layout version this build writes and the newest it can read.
    public static let formatVersion = 1

    /// Completed epochs (0 = the initialization).
    public var epoch: Int
    /// SGD steps taken.
    public var step: Int
    /// The model JSON text (validated by the network loader, not here).
    public var architecture: String
    /// Layer name -> parameters.
    public var weights: [String: LayerParameters]
    /// Layer name -> SGD momentum buffers (same shapes as the weights); may be empty.
    public var optimizer: [String: LayerParameters]
    /// Layer name -> the layer's other float32 tensors under `/weights/<layer>/`, by dataset name:
    /// what a layer keeps but does not train (BatchNorm's `running_mean`, `running_var`).
    public var buffers: [String: [String: Tensor]]
    /// Resume state; nil in files written by other tools.
    public var trainerState: TrainerState?

    public init(epoch: Int, step: Int, architecture: String, weights: [String: LayerParameters],
                optimizer: [String: LayerParameters] = [:], buffers: [String: [String: Tensor]] = [:],
                trainerState: TrainerState? = nil) {
        self.epoch = epoch
        self.step = step
        self.architecture = architecture
        self.weights = weights
        self.optimizer = optimizer
        self.buffers = buffers
        self.trainerState = trainerState
    }
}

/// A snapshot that is valid HDF5 but not a usable deconvscope snapshot (wrong or newer format,
/// missing attribute or dataset, inconsistent contents). The same one-line error as an HDF5
/// failure: callers handle both alike, the name says which check found it.
public typealias SnapshotError = FileError

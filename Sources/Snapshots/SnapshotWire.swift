import Foundation
import Tensors

/// The binary form in which the snapshot reader child process hands its result to its parent
/// over a pipe (see ``Snapshot/readGuarded(from:)``): the file is read once, in the child, and
/// the parent only copies bytes. Private to one build of deconvscope (parent and child are the
/// same executable), so it has a magic number but no compatibility promise.
///
/// Layout, little-endian:
/// ```
/// "DSW1"
/// u8 1 = snapshot:  i64 epoch, i64 step, string architecture,
///                   layers weights, layers optimizer, buffers,
///                   u8 has trainer state [u8 partial, u64 n, n x u64 rng words]
/// u8 2 = error:     string file, string message          (a FileError from the reader)
/// string  = u64 byte count, UTF-8 bytes
/// layers  = u64 count, count x (string name, tensor weight, tensor bias)
/// buffers = u64 count, count x (string layer, string name, tensor)
/// tensor  = u64 rank, rank x u64 dims, product(dims) x f32
/// ```
enum SnapshotWire {
    static let magic: [UInt8] = Array("DSW1".utf8)
    static let snapshotTag: UInt8 = 1
    static let errorTag: UInt8 = 2

    /// Serializes `result` into `sink`, in pieces (a tensor's floats go out without a copy).
    static func encode(_ result: Result<Snapshot, FileError>, into sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var header = magic
        func flush() throws {
            try header.withUnsafeBytes { try sink($0) }
            header.removeAll(keepingCapacity: true)
        }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); header.append(contentsOf: s.utf8) }
        func tensor(_ t: Tensor) throws {
            u64(UInt64(t.shape.count))
            for d in t.shape { u64(UInt64(d)) }
            try flush()
            // Float's in-memory bytes are little-endian on every platform this builds for.
            try t.data.withUnsafeBytes { try sink($0) }
        }
        func layers(_ all: [String: LayerParameters]) throws {
            u64(UInt64(all.count))
            for (name, p) in all.sorted(by: { $0.key < $1.key }) {
                string(name)
                try tensor(p.weight)
                try tensor(p.bias)
            }
        }
        switch result {
        case .failure(let error):
            header.append(errorTag)
            string(error.file)
            string(error.message)
        case .success(let s):
            header.append(snapshotTag)
            u64(UInt64(bitPattern: Int64(s.epoch)))
            u64(UInt64(bitPattern: Int64(s.step)))
            string(s.architecture)
            try layers(s.weights)
            try layers(s.optimizer)
            let named = s.buffers.sorted(by: { $0.key < $1.key }).flatMap { layer, tensors in
                tensors.sorted(by: { $0.key < $1.key }).map { (layer, $0.key, $0.value) }
            }
            u64(UInt64(named.count))
            for (layer, name, value) in named {
                string(layer)
                string(name)
                try tensor(value)
            }
            if let state = s.trainerState {
                header.append(1)
                header.append(state.partial ? 1 : 0)
                u64(UInt64(state.rngState.count))
                for w in state.rngState { u64(w) }
            } else {
                header.append(0)
            }
        }
        try flush()
    }

    /// The stream did not have the layout above (a child that stopped half-way, or a bug).
    struct Malformed: Error {}

    /// Parses a complete stream. Every count is checked against the bytes left before anything
    /// is allocated, so even a corrupt stream cannot make the parent allocate more than it holds.
    static func decode(_ bytes: [UInt8]) throws -> Result<Snapshot, FileError> {
        try bytes.withUnsafeBytes { raw in
            var reader = Reader(raw: raw)
            guard try reader.bytes(4).elementsEqual(magic) else { throw Malformed() }
            let result: Result<Snapshot, FileError>
            switch try reader.u8() {
            case errorTag:
                let file = try reader.string()
                result = .failure(FileError(file: file, message: try reader.string()))
            case snapshotTag:
                let epoch = Int(Int64(bitPattern: try reader.u64()))
                let step = Int(Int64(bitPattern: try reader.u64()))
                let architecture = try reader.string()
                let weights = try reader.layers()
                let optimizer = try reader.layers()
                var buffers: [String: [String: Tensor]] = [:]
                for _ in 0..<(try reader.count(elementSize: 24)) {   // two strings and a tensor: at least 24 bytes
                    let layer = try reader.string()
                    buffers[layer, default: [:]][try reader.string()] = try reader.tensor()
                }
                var state: TrainerState? = nil
                switch try reader.u8() {
                case 0: break
                case 1:
                    let partial = try reader.u8() == 1
                    let count = try reader.count(elementSize: 8)
                    state = TrainerState(rngState: try (0..<count).map { _ in try reader.u64() }, partial: partial)
                default: throw Malformed()
                }
                result = .success(Snapshot(epoch: epoch, step: step, architecture: architecture, weights: weights,
                                           optimizer: optimizer, buffers: buffers, trainerState: state))
            default:
                throw Malformed()
            }
            guard reader.offset == raw.count else { throw Malformed() }
            return result
        }
    }

    private struct Reader {
        let raw: UnsafeRawBufferPointer
        var offset = 0

        mutating func bytes(_ n: Int) throws -> UnsafeRawBufferPointer {
            guard n >= 0, n <= raw.count - offset else { throw Malformed() }
            defer { offset += n }
            return UnsafeRawBufferPointer(rebasing: raw[offset..<offset + n])
        }

        mutating func u8() throws -> UInt8 { try bytes(1)[0] }

        mutating func u64() throws -> UInt64 {
            UInt64(littleEndian: try bytes(8).loadUnaligned(as: UInt64.self))
        }

        /// A count of elements that must fit in the rest of the stream.
        mutating func count(elementSize: Int) throws -> Int {
            let n = try u64()
            guard n <= UInt64((raw.count - offset) / max(1, elementSize)) else { throw Malformed() }
            return Int(n)
        }

        mutating func string() throws -> String {
            let n = try count(elementSize: 1)
            guard let s = String(bytes: try bytes(n), encoding: .utf8) else { throw Malformed() }
            return s
        }

        mutating func tensor() throws -> Tensor {
            let rank = try count(elementSize: 8)
            var shape: [Int] = []
            var elements = 1
            for _ in 0..<rank {
                let d = try u64()
                // Each dimension and the product must fit in what is left of the stream (as floats).
                guard d <= UInt64(raw.count / 4) else { throw Malformed() }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(d))
                guard !overflow, product <= (raw.count - offset) / 4 else { throw Malformed() }
                shape.append(Int(d))
                elements = product
            }
            let source = try bytes(elements * 4)
            let data = [Float](unsafeUninitializedCapacity: elements) { buffer, initialized in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
                initialized = elements
            }
            return Tensor(shape: shape, data: data)
        }

        mutating func layers() throws -> [String: LayerParameters] {
            let count = try count(elementSize: 8 + 2 * 12)   // smallest layer: empty name, two rank-0 tensors
            var layers: [String: LayerParameters] = [:]
            for _ in 0..<count {
                let name = try string()
                guard layers[name] == nil else { throw Malformed() }
                layers[name] = LayerParameters(weight: try tensor(), bias: try tensor())
            }
            return layers
        }
    }
}

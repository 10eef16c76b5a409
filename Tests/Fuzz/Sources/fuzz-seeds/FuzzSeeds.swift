import Foundation
import ImageIO
import Layers
import ONNXFormat
import Snapshots
import Tensors
import Datasets

// Writes small valid inputs for every fuzz target: `fuzz-seeds CORPUS_ROOT` fills
// CORPUS_ROOT/{idx,cifar,png,model-json,snapshot,onnx}/. Valid files get the fuzzer past the
// magic numbers and headers at once; `make fuzz` adds gzip copies of the IDX seeds.
@main
enum FuzzSeeds {
    static func main() throws {
        let root = CommandLine.arguments.count == 2 ? CommandLine.arguments[1] : "corpus"

        func save(_ bytes: [UInt8], _ target: String, _ name: String) throws {
            let directory = root + "/" + target
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + name))
        }

        func bigEndian(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }

        // IDX: 3 images of 4x5 and their labels (magic 0x00000803 / 0x00000801, big-endian sizes).
        try save([0, 0, 8, 3] + bigEndian(3) + bigEndian(4) + bigEndian(5) + (0..<60).map { UInt8($0 * 4) }, "idx", "images.idx")
        try save([0, 0, 8, 1] + bigEndian(3) + [0, 9, 4], "idx", "labels.idx")

        // CIFAR-10: two records (label byte + 3x32x32 planes) and a class list.
        let record = { (label: UInt8) in [label] + (0..<CIFAR10Reader.pixelBytes).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(label)) } }
        try save(record(3) + record(9), "cifar", "batch.bin")
        try save(Array(CIFAR10Reader.standardClassNames.joined(separator: "\n").utf8), "cifar", "batches.meta.txt")

        // PNG: gray and RGB, as the image-folder reader meets them.
        try save(PNGCodec.encode(Image8(width: 5, height: 3, channels: 1, pixels: (0..<15).map { UInt8($0 * 17) })), "png", "gray.png")
        try save(PNGCodec.encode(Image8(width: 3, height: 4, channels: 3, pixels: (0..<36).map { UInt8($0 * 7) })), "png", "rgb.png")

        // Model JSON: the presets and a tiny model (also the snapshot seeds' architecture).
        let tiny = ModelSpec(input: [1, 6, 6], classes: 2, normalization: Normalization(mean: [0.5], std: [0.25]), layers: [
            .conv("conv1", 2, kernel: 3, stride: 1, padding: 1), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
            .flatten, .dropout(0.5), .linear("fc1", 2),
        ])
        for preset in ModelPreset.allCases { try save(Array(preset.spec.json().utf8), "model-json", preset.rawValue + ".json") }
        try save(Array(tiny.json().utf8), "model-json", "tiny.json")

        // Snapshots of the tiny model: weights only, and with momentum and trainer state (a resumable one).
        let network = try Network(spec: tiny)
        var rng = Xoshiro256(seed: 1)
        network.initialize(rng: &rng)
        let scratch = NSTemporaryDirectory() + "deconvscope-fuzz-seeds-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var plain = network.snapshot(epoch: 0, step: 0, trainerState: nil)
        plain.optimizer = [:]
        let resumable = network.snapshot(epoch: 2, step: 10, trainerState: TrainerState(rngState: [1, 2, 3, 4], partial: false))
        for (name, snapshot) in [("weights.h5", plain), ("resumable.h5", resumable)] {
            try snapshot.write(to: scratch + "/" + name)
            try save(Array(try Data(contentsOf: URL(fileURLWithPath: scratch + "/" + name))), "snapshot", name)
        }
        // ONNX: the tiny model as the exporter writes it, and a chain with the other layer kinds
        // (batchnorm, avgpool, lrn, globalavgpool), so mutations start from every supported op.
        let tinyParameters = plain.weights.mapValues { ["weight": $0.weight, "bias": $0.bias] }
        try save(Array(try ONNXExporter.export(architecture: tiny.json(), parameters: tinyParameters, source: "seed")), "onnx", "tiny.onnx")
        let kinds = ContractModel(input: [2, 6, 6], classes: 2, normalization: ContractNormalization(mean: [0.5, 0.5], std: [0.25, 0.25]), layers: [
            ContractLayer(type: "conv", name: "conv1", outChannels: 3, kernel: 3, stride: 1, padding: 1),
            ContractLayer(type: "batchnorm", name: "bn1", eps: 1e-5), ContractLayer(type: "relu"),
            ContractLayer(type: "avgpool", kernel: 2, stride: 2, padding: 1), ContractLayer(type: "lrn", size: 3),
            ContractLayer(type: "maxpool", kernel: 2, stride: 1), ContractLayer(type: "globalavgpool"),
            ContractLayer(type: "flatten"), ContractLayer(type: "dropout", rate: 0.5), ContractLayer(type: "linear", name: "fc", outFeatures: 2),
        ])
        func filled(_ shape: [Int]) -> Tensor { Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { Float($0 % 5) * 0.25 + 0.5 }) }
        let kindParameters: [String: [String: Tensor]] = [
            "conv1": ["weight": filled([3, 2, 3, 3]), "bias": filled([3])],
            "bn1": ["weight": filled([3]), "bias": filled([3]), "running_mean": filled([3]), "running_var": filled([3])],
            "fc": ["weight": filled([2, 3]), "bias": filled([2])],
        ]
        try save(Array(try ONNXExporter.export(kinds, parameters: kindParameters, source: "seed")), "onnx", "kinds.onnx")
        print("fuzz seeds written under \(root)")
    }
}

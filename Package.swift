// swift-tools-version:5.9
import PackageDescription

// Data flows one way: Training -> Snapshots -> Monitoring -> Reporting.
// Each stage is a library target with one concern; `deconvscope` only wires them.
let package = Package(
    name: "deconvscope",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "deconvscope", targets: ["deconvscope"]),
        .executable(name: "deconvscope-bench", targets: ["deconvscope-bench"]),
        // The file parsers, for the libFuzzer targets in Tests/Fuzz (a package can only depend on
        // another package's products, and the fuzz targets live in their own package because
        // libFuzzer supplies `main`, which an executable of this package's default build cannot lack).
        .library(name: "DeconvscopeParsers", targets: ["Layers", "ImageIO", "Snapshots", "Datasets", "ONNXFormat"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/JohnSundell/Plot", from: "0.14.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // C libraries from Debian -dev packages; shim headers only, no Swift API of their own.
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // The numerical kernels are optimized in every configuration: the tests run a debug build,
        // and unoptimized SIMD code (the Winograd transforms) is 30-100x slower than scalar loops,
        // which took the suite from 4.5 to 13.5 minutes. The tests still check the shipped code.
        .target(name: "Tensors", dependencies: ["COpenBLAS", "CMalloc"], swiftSettings: [.unsafeFlags(["-O"])]),
        .target(name: "Layers", dependencies: ["Tensors"]),
        .target(name: "ImageIO", dependencies: ["CPNG"]),
        // Data sets (IDX, CIFAR-10, image folders) and the run folder (run.json, metrics.jsonl, snapshot
        // files): read by the trainer and the monitor alike, so the monitor does not depend on the trainer.
        .target(name: "Datasets", dependencies: ["Tensors", "Layers", "ImageIO", "CZlib"]),
        .target(name: "Snapshots", dependencies: ["CHDF5", "Tensors", "Layers", "ONNXFormat"]),
        .target(name: "Runs", dependencies: ["Layers", "Snapshots"]),
        .target(name: "Training", dependencies: ["Tensors", "Layers", "Snapshots", "Datasets", "Runs"]),
        .target(name: "Monitoring", dependencies: ["Tensors", "Layers", "Snapshots", "Datasets", "Runs"]),
        .target(name: "Reporting", dependencies: ["Monitoring", "Tensors", "Layers", "Snapshots", "Runs", "ImageIO",
                                                  .product(name: "Plot", package: "Plot")]),
        // ONNX: the Swift code protoc-gen-swift generated from onnx.proto (committed; README.md there says how to
        // regenerate it), and the import/export between ONNX graphs and the model JSON + named parameter tensors.
        .target(name: "ONNXProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["README.md", "onnx.proto", "regenerate.sh"]),
        .target(name: "ONNXFormat", dependencies: ["ONNXProto", "Tensors", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .executableTarget(name: "deconvscope", dependencies: [
            "Tensors", "Layers", "Datasets", "Runs", "Training", "Snapshots", "ONNXFormat", "Monitoring", "Reporting",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "deconvscope-bench", dependencies: [
            "Tensors", "Layers", "Datasets", "Runs", "Training", "Snapshots", "Monitoring", "Reporting", "COpenBLAS",
        ]),

        // Helpers several test targets share (running a program, a tiny trained run); tests only.
        .target(name: "TestSupport", dependencies: ["Training", "Datasets", "Runs", "Layers"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "LayersTests", dependencies: ["Layers", "Tensors"]),
        .testTarget(name: "ImageIOTests", dependencies: ["ImageIO"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Datasets", "Runs", "Layers", "Tensors", "ImageIO", "Snapshots"]),
        .testTarget(name: "SnapshotsTests", dependencies: ["Snapshots", "Layers", "Tensors", "TestSupport"]),
        // Optimized: the naive Double deconvnet oracle runs 10x slower unoptimized (ProjectionOracleTests).
        .testTarget(name: "MonitoringTests", dependencies: ["Monitoring", "Layers", "Tensors", "Snapshots", "Datasets", "Runs", "Training", "TestSupport"],
                    swiftSettings: [.unsafeFlags(["-O"])]),
        // The ONNX tests run the Network on imported weights against onnxruntime.
        .testTarget(name: "ONNXFormatTests", dependencies: [
            "ONNXFormat", "ONNXProto", "Tensors", "Layers", "Snapshots", "TestSupport", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .testTarget(name: "ReportingTests", dependencies: [
            "Reporting", "Monitoring", "Datasets", "Runs", "Training", "Tensors", "Layers", "ImageIO", "Snapshots", "TestSupport", .product(name: "Plot", package: "Plot"),
        ], exclude: ["Goldens"]),
        // The CLI tests run the built binary; they read its snapshots back with the Snapshots module (bit-exact checks).
        // DamagedSnapshots: regression files (snapshots that crash libhdf5), read through #filePath.
        .testTarget(name: "CLITests", dependencies: ["Snapshots"], exclude: ["DamagedSnapshots"]),
    ]
)

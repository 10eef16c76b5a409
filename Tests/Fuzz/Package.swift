// swift-tools-version:5.9
import PackageDescription

// libFuzzer targets for deconvscope's file parsers, one executable per parser (`make fuzz`).
// A package of their own because libFuzzer supplies `main`: they link only when built with
// `--sanitize=fuzzer`, so as targets of the main package they would break a plain `swift build`.
// It lives under Tests/ because the repository's top level is fixed and these are tests.
let parsers = Target.Dependency.product(name: "DeconvscopeParsers", package: "deconvscope")

let package = Package(
    name: "deconvscope-fuzz",
    dependencies: [.package(name: "deconvscope", path: "../..")],
    targets: [
        .target(name: "FuzzSupport"),
        .executableTarget(name: "fuzz-idx", dependencies: ["FuzzSupport", parsers]),
        .executableTarget(name: "fuzz-cifar", dependencies: ["FuzzSupport", parsers]),
        .executableTarget(name: "fuzz-png", dependencies: ["FuzzSupport", parsers]),
        .executableTarget(name: "fuzz-model-json", dependencies: ["FuzzSupport", parsers]),
        .executableTarget(name: "fuzz-snapshot", dependencies: ["FuzzSupport", parsers]),
        .executableTarget(name: "fuzz-onnx", dependencies: ["FuzzSupport", parsers]),
        // Writes the seed corpora (valid small files) with the package's own writers. Built
        // without the sanitizer (`--product fuzz-seeds`): libFuzzer's `main` would replace its own.
        .executableTarget(name: "fuzz-seeds", dependencies: [parsers]),
    ]
)

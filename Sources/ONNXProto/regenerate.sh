#!/usr/bin/env bash
# Regenerates onnx.pb.swift from onnx.proto (both in this folder). Run from the repository root:
#   Sources/ONNXProto/regenerate.sh [PATH/TO/protoc-gen-swift]
#
# onnx.proto is the schema shipped in the `onnx` wheel from PyPI (onnx 1.23.2:
#   cp "$(python3 -c 'import onnx, os; print(os.path.dirname(onnx.__file__))')/onnx.proto" Sources/ONNXProto/).
# protoc is Debian's protobuf-compiler (3.21); the plugin is protoc-gen-swift of apple/swift-protobuf 1.39.0,
# the version Package.swift resolves. Building the plugin takes ~10 minutes on 2 cores:
#   git clone https://github.com/apple/swift-protobuf /tmp/swift-protobuf && cd /tmp/swift-protobuf
#   git checkout 1.39.0 && swift build -c release --product protoc-gen-swift
set -euo pipefail
plugin=${1:-/tmp/swift-protobuf/.build/release/protoc-gen-swift}
cd "$(dirname "$0")"
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public --swift_out=. onnx.proto
echo "wrote $(pwd)/onnx.pb.swift"

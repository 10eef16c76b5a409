import ArgumentParser
import Foundation
import Layers
import Snapshots
import ONNXFormat

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a snapshot's network as ONNX, to open in Netron or run in onnxruntime.",
        discussion: """
        The ONNX file (opset \(ONNXExporter.opset), a dynamic batch axis, input "\(ONNXExporter.inputName)" NCHW float32, \
        output "\(ONNXExporter.outputName)") computes the same logits as the snapshot, and carries the input normalization \
        in its metadata (deconvscope.normalization), so `deconvscope monitor` reads it back as it was. Dropout is left \
        out (inference). Example: deconvscope export Checkpoints/demo/epoch-0003.h5 demo.onnx
        """)

    @Argument(help: ArgumentHelp("The snapshot to export.", valueName: "snapshot.h5"))
    var snapshot: String

    @Argument(help: ArgumentHelp("The ONNX file to write (replaced whole; a crash leaves the old file or none).", valueName: "out.onnx"))
    var output: String

    func validate() throws {
        guard output.hasSuffix(".onnx") else { throw ValidationError("the output file must end in .onnx, got \(output)") }
    }

    func run() throws {
        try reportingErrors {
            let snap = try Snapshot.readAnyFormat(from: snapshot)
            _ = try Network.load(snapshot: snap, path: snapshot)   // the weights fit the architecture
            let data = try ONNXExporter.export(architecture: snap.architecture, parameters: snap.namedTensors, source: snapshot)
            try AtomicFile.write(data, to: output)
            print("wrote \(output) (\(data.count) bytes, epoch \(snap.epoch))")
        }
    }
}

import ArgumentParser
import Foundation
import Layers
import Tensors
import Snapshots
import Training
import Datasets
import Runs

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a snapshot's epoch, step, architecture, every dataset's shape and min/mean/max, and the run's metrics so far.",
        discussion: "An .onnx file is read as the network deconvscope would monitor: the model JSON its graph maps to and its weights by layer (docs/onnx.md).")

    @Argument(help: ArgumentHelp("A snapshot file, e.g. Checkpoints/<run>/epoch-0005.h5, or an ONNX network (model.onnx).", valueName: "snapshot.h5|model.onnx"))
    var snapshot: String

    func run() throws {
        try reportingErrors {
            let snap = try Snapshot.readAnyFormat(from: snapshot)
            let network = try Network.load(snapshot: snap, path: snapshot)
            let onnx = snapshot.hasSuffix(".onnx")
            print("file          \(snapshot)")
            print("format        \(onnx ? "ONNX (imported as a chain of deconvscope layers)" : "\(Snapshot.format) v\(Snapshot.formatVersion)")")
            if onnx && network.spec.normalization == nil {
                print("normalization none in the file (metadata deconvscope.normalization): monitor measures it on the train split, or give --mean/--std")
            }
            print("epoch         \(snap.epoch)\(snap.trainerState?.partial == true ? " (partial: written for an interrupted epoch)" : "")")
            print("step          \(snap.step)")
            print("parameters    \(network.parameterCount)")
            print("architecture  \(snap.architecture)")
            print("")
            print("dataset                                   shape              min        mean       max")
            func row(_ path: String, _ t: Tensor) {
                let mean = t.data.reduce(0.0) { $0 + Double($1) } / Double(max(1, t.count))
                let shape = "(" + t.shape.map(String.init).joined(separator: ", ") + ")"
                print(String(format: "%@ %@ %10.5f %10.5f %10.5f",
                             path.padding(toLength: 41, withPad: " ", startingAt: 0),
                             shape.padding(toLength: 18, withPad: " ", startingAt: 0),
                             t.data.min() ?? 0, mean, t.data.max() ?? 0))
            }
            for (name, _, _) in network.parameterLayers {
                if let p = snap.weights[name] { row("/weights/\(name)/weight", p.weight); row("/weights/\(name)/bias", p.bias) }
                for (buffer, t) in (snap.buffers[name] ?? [:]).sorted(by: { $0.key < $1.key }) { row("/weights/\(name)/\(buffer)", t) }
            }
            for (name, _, _) in network.parameterLayers {
                if let p = snap.optimizer[name] { row("/optimizer/\(name)/weight", p.weight); row("/optimizer/\(name)/bias", p.bias) }
            }
            let metrics = RunDirectory(path: URL(fileURLWithPath: snapshot).deletingLastPathComponent().path).readMetrics()
            print("")
            if metrics.isEmpty {
                print("metrics       none (no metrics.jsonl beside the snapshot)")
            } else {
                print("epoch  train loss  train acc  test loss  test acc")
                for m in metrics {
                    print(String(format: "%5d  %10@  %9@  %9.4f  %8.4f", m.epoch,
                                 m.trainLoss.map { String(format: "%.4f", $0) } ?? "-",
                                 m.trainAccuracy.map { String(format: "%.4f", $0) } ?? "-", m.testLoss, m.testAccuracy))
                }
            }
        }
    }
}

import Foundation
import Tensors
import Layers
import Snapshots

/// `Reports/<run>/data/epoch-NNNN.h5`: one snapshot's monitor results (public contract), plus
/// what the report and the diagnostics need. Absent top-k slots (fewer probes than k) hold -1.
///
/// Per conv block `<layer>`:
///   top_images int64 (C, k), top_positions int64 (C, k, 2), top_activations float32 (C, k),
///   projections float32 (C, k, inC, H, W)              -- the contract's four datasets
///   top_boxes int64 (C, k, 4)                           -- receptive field (top, left, bottom, right), clipped
///   max_per_probe float32 (C, P), mean_activation float32 (C)
///   weight float32 (F, C, kh, kw), bias float32 (F)     -- the conv's parameters in this snapshot
/// Attributes on `<layer>`: sampling_stride, conv_stride, kernel (int64).
/// Root attributes: format "deconvscope.monitor", format_version 1, epoch, step, probes, top.
///
/// Group `/occlusion` (when occlusion ran; N images, an R x Q grid of square positions):
///   images, labels, features, clean_predicted int64 (N); feature_activation, correct_probability
///   float32 (N, R, Q); predicted int64 (N, R, Q); clean_activation, clean_probability float32 (N);
///   attributes size, stride (int64).
public enum MonitorDataFile {
    public static let format = "deconvscope.monitor"
    public static let formatVersion: Int64 = 1

    /// The analysis this process last wrote: `read` hands it back instead of reading that file
    /// again while the file on disk is still the one written (the findings and the report each
    /// read the data file the monitor has just written). `MonitorRunTests` checks that it equals
    /// what reading the file gives.
    private static let lastWritten = FileMemo<SnapshotAnalysis>()

    /// `write` on a thread of its own (the file's HDF5 image, its write and fsync: 4-9 ms per
    /// zf-fmnist snapshot), for a caller with other work meanwhile: from now on `read(from: path)`
    /// hands the analysis back as `write` leaves it, and `PendingWrite.finish()` waits for the file
    /// and rethrows what stopped it. Until then the file at `path` is the old one, or none.
    public static func beginWrite(_ analysis: SnapshotAnalysis, k: Int, to path: String) -> PendingWrite {
        lastWritten.rememberWhileWriting(asRead(analysis), at: path)
        return PendingWrite(task: BackgroundTask {
            do {
                try PhaseTimings.measure("data file write") { try write(analysis, k: k, to: path) }
            } catch {
                lastWritten.forget(path)
                throw error
            }
        })
    }

    /// A data file `beginWrite` is writing.
    public struct PendingWrite {
        fileprivate let task: BackgroundTask<Void>
        /// Waits until the file is written (renamed into place after an fsync); rethrows its error.
        public func finish() throws { try task.wait() }
    }

    /// Whether `path` is a data file that `beginWrite` has not finished writing.
    public static func isBeingWritten(_ path: String) -> Bool { lastWritten.isBeingWritten(path) }

    /// The analysis as `read` gives it back: the square's geometry is kept only with maps.
    static func asRead(_ analysis: SnapshotAnalysis) -> SnapshotAnalysis {
        var read = analysis
        if read.occlusion.isEmpty { (read.occlusionSize, read.occlusionStride) = (0, 0) }
        return read
    }

    public static func write(_ analysis: SnapshotAnalysis, k: Int, to path: String) throws {
        let temp = AtomicFile.temporaryPath(for: path)
        do {
            let file = try HDF5File.create(temp)
            try file.setStringAttribute("format", format)
            try file.setInt64Attribute("format_version", formatVersion)
            try file.setInt64Attribute("epoch", Int64(analysis.epoch))
            try file.setInt64Attribute("step", Int64(analysis.step))
            try file.setInt64Attribute("probes", Int64(analysis.probes))
            try file.setInt64Attribute("top", Int64(k))
            for layer in analysis.layers {
                let g = "/" + layer.name
                try file.createGroup(g)
                let c = layer.channels
                var images = [Int64](repeating: -1, count: c * k), positions = [Int64](repeating: -1, count: c * k * 2)
                var values = [Float](repeating: 0, count: c * k), boxes = [Int64](repeating: -1, count: c * k * 4)
                for ch in 0..<c {
                    for (j, a) in layer.top[ch].enumerated() {
                        let i = ch * k + j
                        images[i] = Int64(a.image); values[i] = a.value
                        positions[2 * i] = Int64(a.y); positions[2 * i + 1] = Int64(a.x)
                        let b = layer.boxes[ch][j]
                        boxes.replaceSubrange(4 * i..<4 * i + 4, with: [b.top, b.left, b.bottom, b.right].map(Int64.init))
                    }
                }
                try file.writeInt64(g + "/top_images", shape: [c, k], values: images)
                try file.writeInt64(g + "/top_positions", shape: [c, k, 2], values: positions)
                try file.writeFloat32(g + "/top_activations", shape: [c, k], values: values)
                try file.writeFloat32(g + "/projections", shape: layer.projections.shape, values: layer.projections.data)
                try file.writeInt64(g + "/top_boxes", shape: [c, k, 4], values: boxes)
                try file.writeFloat32(g + "/max_per_probe", shape: layer.maxPerProbe.shape, values: layer.maxPerProbe.data)
                try file.writeFloat32(g + "/mean_activation", shape: [c], values: layer.meanActivation)
                try file.writeFloat32(g + "/weight", shape: layer.weight.shape, values: layer.weight.data)
                try file.writeFloat32(g + "/bias", shape: layer.bias.shape, values: layer.bias.data)
                try file.setInt64Attribute("sampling_stride", Int64(layer.samplingStride), on: g)
                try file.setInt64Attribute("conv_stride", Int64(layer.convStride), on: g)
                try file.setInt64Attribute("kernel", Int64(layer.kernel), on: g)
                try file.setInt64Attribute("map_height", Int64(layer.mapShape[0]), on: g)
                try file.setInt64Attribute("map_width", Int64(layer.mapShape[1]), on: g)
            }
            try writeOcclusion(analysis, to: file)
            try file.close()
            guard rename(temp, path) == 0 else { throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno))) }
            lastWritten.remember(asRead(analysis), at: path)
        } catch {
            unlink(temp)
            throw error
        }
    }

    private static func writeOcclusion(_ analysis: SnapshotAnalysis, to file: HDF5File) throws {
        let maps = analysis.occlusion
        guard let first = maps.first else { return }
        let n = maps.count, grid = [first.rows, first.cols]
        try file.createGroup("/occlusion")
        try file.writeInt64("/occlusion/images", shape: [n], values: maps.map { Int64($0.image) })
        try file.writeInt64("/occlusion/labels", shape: [n], values: maps.map { Int64($0.label) })
        try file.writeInt64("/occlusion/features", shape: [n], values: maps.map { Int64($0.feature) })
        try file.writeFloat32("/occlusion/feature_activation", shape: [n] + grid, values: maps.flatMap(\.featureActivation))
        try file.writeFloat32("/occlusion/correct_probability", shape: [n] + grid, values: maps.flatMap(\.correctProbability))
        try file.writeInt64("/occlusion/predicted", shape: [n] + grid, values: maps.flatMap { $0.predicted.map(Int64.init) })
        try file.writeFloat32("/occlusion/clean_activation", shape: [n], values: maps.map(\.cleanActivation))
        try file.writeFloat32("/occlusion/clean_probability", shape: [n], values: maps.map(\.cleanProbability))
        try file.writeInt64("/occlusion/clean_predicted", shape: [n], values: maps.map { Int64($0.cleanPredicted) })
        try file.setInt64Attribute("size", Int64(analysis.occlusionSize), on: "/occlusion")
        try file.setInt64Attribute("stride", Int64(analysis.occlusionStride), on: "/occlusion")
    }

    private static func readOcclusion(_ file: HDF5File, into analysis: inout SnapshotAnalysis) throws {
        guard try file.exists("/occlusion") else { return }
        let images = try file.readInt64("/occlusion/images").values, labels = try file.readInt64("/occlusion/labels").values
        let features = try file.readInt64("/occlusion/features").values
        let act = try file.readFloat32("/occlusion/feature_activation"), prob = try file.readFloat32("/occlusion/correct_probability").values
        let pred = try file.readInt64("/occlusion/predicted").values
        let ca = try file.readFloat32("/occlusion/clean_activation").values, cp = try file.readFloat32("/occlusion/clean_probability").values
        let cpred = try file.readInt64("/occlusion/clean_predicted").values
        let rows = act.shape[1], cols = act.shape[2], cells = rows * cols
        analysis.occlusion = images.indices.map { i in
            OcclusionMap(image: Int(images[i]), label: Int(labels[i]), feature: Int(features[i]), rows: rows, cols: cols,
                         featureActivation: Array(act.values[(i * cells)..<((i + 1) * cells)]),
                         correctProbability: Array(prob[(i * cells)..<((i + 1) * cells)]),
                         predicted: pred[(i * cells)..<((i + 1) * cells)].map(Int.init),
                         cleanActivation: ca[i], cleanProbability: cp[i], cleanPredicted: Int(cpred[i]))
        }
        analysis.occlusionSize = Int(try file.int64Attribute("size", on: "/occlusion") ?? 0)
        analysis.occlusionStride = Int(try file.int64Attribute("stride", on: "/occlusion") ?? 0)
    }

    /// Reads a file written by `write`, layers in `order` (the network's block order).
    public static func read(from path: String, layers order: [String]) throws -> SnapshotAnalysis {
        if var written = lastWritten.value(at: path) {
            written.layers = order.compactMap { name in written.layers.first { $0.name == name } }
            return written
        }
        return try readFile(from: path, layers: order)
    }

    /// `read` from the file itself, always.
    static func readFile(from path: String, layers order: [String]) throws -> SnapshotAnalysis {
        let file = try HDF5File.open(path)
        defer { try? file.close() }
        guard try file.stringAttribute("format") == format else { throw HDF5Error(file: path, message: "not a deconvscope monitor data file") }
        guard let version = try file.int64Attribute("format_version"), version <= formatVersion else {
            throw HDF5Error(file: path, message: "monitor data format_version is newer than this build reads (\(formatVersion))")
        }
        func int(_ name: String, on g: String = "/") throws -> Int {
            guard let v = try file.int64Attribute(name, on: g) else { throw HDF5Error(file: path, message: "missing attribute \(name) on \(g)") }
            return Int(v)
        }
        let k = try int("top")
        var layers: [LayerAnalysis] = []
        for name in order where try file.exists("/" + name) {
            let g = "/" + name
            let images = try file.readInt64(g + "/top_images").values
            let positions = try file.readInt64(g + "/top_positions").values
            let values = try file.readFloat32(g + "/top_activations").values
            let boxes = try file.readInt64(g + "/top_boxes").values
            let c = images.count / max(1, k)
            var top: [[Activation]] = [], boxList: [[PixelBox]] = []
            for ch in 0..<c {
                var acts: [Activation] = [], bx: [PixelBox] = []
                for j in 0..<k {
                    let i = ch * k + j
                    guard images[i] >= 0 else { continue }
                    acts.append(Activation(image: Int(images[i]), y: Int(positions[2 * i]), x: Int(positions[2 * i + 1]), value: values[i]))
                    bx.append(PixelBox(top: Int(boxes[4 * i]), left: Int(boxes[4 * i + 1]), bottom: Int(boxes[4 * i + 2]), right: Int(boxes[4 * i + 3])))
                }
                top.append(acts); boxList.append(bx)
            }
            func tensor(_ d: String) throws -> Tensor { let r = try file.readFloat32(g + "/" + d); return Tensor(shape: r.shape, data: r.values) }
            layers.append(LayerAnalysis(
                name: name, mapShape: [try int("map_height", on: g), try int("map_width", on: g)], top: top, boxes: boxList,
                projections: try tensor("projections"), maxPerProbe: try tensor("max_per_probe"),
                meanActivation: try file.readFloat32(g + "/mean_activation").values,
                weight: try tensor("weight"), bias: try tensor("bias"),
                samplingStride: try int("sampling_stride", on: g), convStride: try int("conv_stride", on: g), kernel: try int("kernel", on: g)))
        }
        var analysis = SnapshotAnalysis(epoch: try int("epoch"), step: try int("step"), probes: try int("probes"), layers: layers)
        try readOcclusion(file, into: &analysis)
        return analysis
    }
}

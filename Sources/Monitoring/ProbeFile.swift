import Foundation
import Tensors
import Snapshots

/// `Reports/<run>/data/probes.h5`: the probe set every snapshot was replayed on, recorded once
/// per run so the report can cut patches and the run's epochs stay comparable.
///   /images float32 (P, C, H, W) raw pixels in [0, 1];  /labels int64 (P)
///   root attributes: format "deconvscope.probes", probes (int64), requested (int64: the --probes
///   asked for; `probes` is smaller when the test split is), source, class_names (JSON list),
///   dataset (the test split's name, e.g. "fashion-mnist/test"; absent in files of older versions)
///
/// The file is also the monitor's copy of the probe set: a later pass that asks for the same
/// `--probes` of the same data set reads the images from here instead of the data set.
public enum ProbeFile {
    public static let format = "deconvscope.probes"

    /// What a probe file was made for, read from its attributes alone.
    public struct Recorded: Equatable, Sendable {
        public var count: Int
        public var requested: Int
        /// Nil for files written before the attribute existed.
        public var dataset: String?
    }

    public static func write(_ probes: ProbeSet, requested: Int, source: String, dataset: String, to path: String) throws {
        let temp = AtomicFile.temporaryPath(for: path)
        do {
            let file = try HDF5File.create(temp)
            try file.setStringAttribute("format", format)
            try file.setInt64Attribute("probes", Int64(probes.count))
            try file.setInt64Attribute("requested", Int64(requested))
            try file.setStringAttribute("source", source)
            try file.setStringAttribute("dataset", dataset)
            let names = String(decoding: try JSONEncoder().encode(probes.classNames), as: UTF8.self)
            try file.setStringAttribute("class_names", names)
            try file.writeFloat32("/images", shape: probes.pixels.shape, values: probes.pixels.data)
            try file.writeInt64("/labels", shape: [probes.count], values: probes.labels.map(Int64.init))
            try file.close()
            guard rename(temp, path) == 0 else { throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno))) }
            recent.remember((probes.pixels, probes.labels, probes.classNames), at: path)
        } catch {
            unlink(temp)
            throw error
        }
    }

    /// The probe file this process last wrote or read, while it is still the file on disk: the
    /// monitor reads it for its probe images and the report for its patches (3 ms each).
    private static let recent = FileMemo<(pixels: Tensor, labels: [Int], classNames: [String])>()

    /// Raw pixels, labels and class names of a recorded probe set.
    public static func read(from path: String) throws -> (pixels: Tensor, labels: [Int], classNames: [String]) {
        if let known = recent.value(at: path) { return known }
        let before = FileStamp(path)
        let contents = try readFile(from: path)
        if FileStamp(path) == before { recent.remember(contents, at: path) }   // not replaced while read
        return contents
    }

    /// `read` from the file itself, always.
    static func readFile(from path: String) throws -> (pixels: Tensor, labels: [Int], classNames: [String]) {
        let file = try HDF5File.open(path)
        defer { try? file.close() }
        guard try file.stringAttribute("format") == format else { throw HDF5Error(file: path, message: "not a deconvscope probe file") }
        let images = try file.readFloat32("/images")
        let labels = try file.readInt64("/labels").values.map(Int.init)
        let namesJSON = try file.stringAttribute("class_names") ?? "[]"
        let names = (try? JSONDecoder().decode([String].self, from: Data(namesJSON.utf8))) ?? []
        return (Tensor(shape: images.shape, values: images.values), labels, names)
    }

    /// The recorded set's size, the `--probes` and the data set it was made for, or nil when there is none.
    public static func recorded(at path: String) -> Recorded? {
        guard FileManager.default.fileExists(atPath: path), let file = try? HDF5File.open(path) else { return nil }
        defer { try? file.close() }
        guard let count = (try? file.int64Attribute("probes")).flatMap({ $0 }),
              let requested = (try? file.int64Attribute("requested")).flatMap({ $0 }) else { return nil }
        return Recorded(count: Int(count), requested: Int(requested), dataset: (try? file.stringAttribute("dataset")).flatMap { $0 })
    }
}

extension Tensor {
    init(shape: [Int], values: [Float]) { self.init(shape: shape, data: values) }
}

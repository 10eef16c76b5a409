import Foundation
import ImageIO
import Monitoring
import Snapshots
import Tensors

/// `Reports/<run>/report-keys.json`: for every file the report writer wrote, a hash of its content
/// (a page's bytes; a sprite's size and pixels, so it is keyed before the costly PNG encoding) and
/// the inode, size and modification time the file had right after it was written.
struct ReportKeys: Codable, Equatable {
    struct Entry: Codable, Equatable {
        var key: String
        var inode: UInt64
        var size: Int64
        /// Nanoseconds since 1970.
        var mtime: Int64
        /// Sprites only: the image's size, which the pages' CSS depends on.
        var width: Int?
        var height: Int?
        /// A hash of everything the file was made from, for files that can be skipped without
        /// being made at all (a snapshot's epoch pages and Fig. 2 sprites).
        var inputs: String?
    }

    static let format = "deconvscope.report-keys"
    var format = ReportKeys.format
    var files: [String: Entry] = [:]
}

/// Writes the files of one report refresh, skipping each one whose content is what this writer
/// last wrote there. A file is skipped only if its key matches the recorded one *and* the file on
/// disk is still the one recorded (same inode, size and modification time), so a page deleted,
/// edited or replaced since is written again. Every write still goes through the atomic helpers
/// (temporary file, rename), and the keys file is replaced atomically after the files it
/// describes: a refresh killed midway leaves keys that either match a file or do not, and a file
/// that does not match is written again next time. Worst case: one extra write, never a stale file.
final class IncrementalReportFiles {
    static let fileName = "report-keys.json"

    let directory: String
    private let recorded: [String: ReportKeys.Entry]
    private var current: [String: ReportKeys.Entry] = [:]
    /// Files written (not skipped) by this refresh, in order.
    private(set) var written: [String] = []

    init(directory: String) {
        self.directory = directory
        let data = FileManager.default.contents(atPath: directory + "/" + Self.fileName)
        let keys = data.flatMap { try? JSONDecoder().decode(ReportKeys.self, from: $0) }
        recorded = keys?.format == ReportKeys.format ? keys!.files : [:]
    }

    private func path(_ name: String) -> String { directory + "/" + name }

    /// The entry for `name` from this refresh or the last one, if the file is still the one it describes.
    private func intact(_ name: String) -> ReportKeys.Entry? {
        guard let entry = current[name] ?? recorded[name], let disk = Self.identity(of: path(name)),
              disk.inode == entry.inode, disk.size == entry.size, disk.mtime == entry.mtime else { return nil }
        return entry
    }

    private static func identity(of path: String) -> (inode: UInt64, size: Int64, mtime: Int64)? {
        FileInfo(path).map { ($0.inode, $0.size, $0.modified) }
    }

    private func record(_ name: String, key: String, width: Int? = nil, height: Int? = nil, inputs: String?) throws {
        guard let disk = Self.identity(of: path(name)) else { throw ReportError("\(path(name)): written but cannot be found") }
        current[name] = ReportKeys.Entry(key: key, inode: disk.inode, size: disk.size, mtime: disk.mtime, width: width, height: height, inputs: inputs)
        written.append(name)
    }

    /// Keeps `name` as it is if it was made from `inputs` (see `ReportInputs`) and is still the
    /// file recorded; the caller then need not make it at all.
    func keep(_ name: String, inputs: String?) -> Bool {
        guard let inputs, var entry = intact(name), entry.inputs == inputs else { return false }
        entry.inputs = inputs
        current[name] = entry
        return true
    }

    /// An HTML page or stylesheet.
    func text(_ text: String, to name: String, inputs: String? = nil) throws {
        let data = Data(text.utf8)
        let key = ContentHash.of(data)
        if var entry = intact(name), entry.key == key { entry.inputs = inputs; current[name] = entry; return }
        try PhaseTimings.measure("HTML page write") { try AtomicFile.write(data, to: path(name)) }
        try record(name, key: key, inputs: inputs)
    }

    /// A PNG sprite, keyed by its pixels: encoded only when they changed.
    func sprite(_ image: Image8, to name: String, inputs: String? = nil) throws {
        let key = Self.key(image)
        if var entry = intact(name), entry.key == key { entry.inputs = inputs; current[name] = entry; return }
        try PhaseTimings.measure("PNG sprites encode+write") { try PNGCodec.write(image, to: path(name)) }
        try record(name, key: key, width: image.width, height: image.height, inputs: inputs)
    }

    /// A sprite still being filled, which pages written before its final `sprite(_:to:)` refer to:
    /// written only when the file on disk has another size, so those pages never meet a sprite
    /// of another geometry.
    func spriteGeometry(_ image: Image8, to name: String) throws {
        if let entry = intact(name), entry.width == image.width, entry.height == image.height { current[name] = entry; return }
        try PhaseTimings.measure("PNG sprites encode+write") { try PNGCodec.write(image, to: path(name)) }
        try record(name, key: Self.key(image), width: image.width, height: image.height, inputs: nil)
    }

    static func key(_ image: Image8) -> String {
        var hash = ContentHash()
        hash.add(image.width); hash.add(image.height); hash.add(image.channels)
        hash.add(image.pixels)
        return hash.hex
    }

    /// Records what this refresh wrote or kept (files it did not produce are dropped), if that changed.
    func finish() throws {
        guard current != recorded else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(ReportKeys(files: current)), to: path(Self.fileName))
    }
}

/// What a snapshot's epoch page and Fig. 2 sprite of one layer are made from, hashed: this
/// program (a rebuilt or upgraded deconvscope may render differently), the snapshot's data file and
/// the probe file (inode, size, modification and status-change times: a file written again or
/// renamed into place always differs), that epoch's findings, and the parts of the report they
/// show beside it (run name, thresholds, class names, the epoch list, the layers and their tile
/// geometry). When none of these changed, the page and sprite are not made at all: rendering a
/// zf-fmnist snapshot's two pages costs about 25 ms of CPU, on every refresh.
enum ReportInputs {
    private static func identity(_ path: String) -> [Int]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [Int(info.st_dev), Int(info.st_ino), Int(info.st_size), info.st_mtim.tv_sec, info.st_mtim.tv_nsec,
                info.st_ctim.tv_sec, info.st_ctim.tv_nsec]
    }

    /// Sorted keys: without them the encoder's key order differs from process to process.
    private static func json<T: Encodable>(_ value: T) -> Data? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try? encoder.encode(value)
    }

    /// The inputs shared by every epoch of one refresh, or nil when they cannot be pinned down.
    static func common(_ context: ReportContext) -> ContentHash? {
        guard let program = identity("/proc/self/exe"), let probes = identity(context.directory + "/data/probes.h5"),
              let thresholds = json(context.findings.thresholds) else { return nil }
        var hash = ContentHash()
        for v in program + probes { hash.add(v) }
        hash.add(thresholds)
        hash.add(context.findings.run)
        for name in context.classNames { hash.add(name) }
        for e in context.epochNumbers { hash.add(e) }
        for layer in context.layers {
            hash.add(layer.name); hash.add(layer.slug)
            for v in [layer.position, layer.cellHeight, layer.cellWidth, layer.scale] { hash.add(v) }
        }
        return hash
    }

    /// The inputs of `layer`'s page and sprite at `epoch`, or nil.
    static func epoch(_ common: ContentHash?, _ epoch: EpochFindings, dataFile: String, layer: String) -> String? {
        guard var hash = common, let data = identity(dataFile), let findings = json(epoch) else { return nil }
        for v in data { hash.add(v) }
        hash.add(findings)
        hash.add(layer)
        return hash.hex
    }
}

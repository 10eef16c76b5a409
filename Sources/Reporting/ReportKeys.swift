import Foundation
import ImageIO
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
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_ino), Int64(info.st_size), Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }

    private func record(_ name: String, key: String, width: Int? = nil, height: Int? = nil) throws {
        guard let disk = Self.identity(of: path(name)) else { throw ReportError("\(path(name)): written but cannot be found") }
        current[name] = ReportKeys.Entry(key: key, inode: disk.inode, size: disk.size, mtime: disk.mtime, width: width, height: height)
        written.append(name)
    }

    /// An HTML page or stylesheet.
    func text(_ text: String, to name: String) throws {
        let data = Data(text.utf8)
        let key = ContentHash.of(data)
        if let entry = intact(name), entry.key == key { current[name] = entry; return }
        try PhaseTimings.measure("HTML page write") { try AtomicFile.write(data, to: path(name)) }
        try record(name, key: key)
    }

    /// A PNG sprite, keyed by its pixels: encoded only when they changed.
    func sprite(_ image: Image8, to name: String) throws {
        let key = Self.key(image)
        if let entry = intact(name), entry.key == key { current[name] = entry; return }
        try PhaseTimings.measure("PNG sprites encode+write") { try PNGCodec.write(image, to: path(name)) }
        try record(name, key: key, width: image.width, height: image.height)
    }

    /// A sprite still being filled, which pages written before its final `sprite(_:to:)` refer to:
    /// written only when the file on disk has another size, so those pages never meet a sprite
    /// of another geometry.
    func spriteGeometry(_ image: Image8, to name: String) throws {
        if let entry = intact(name), entry.width == image.width, entry.height == image.height { current[name] = entry; return }
        try PhaseTimings.measure("PNG sprites encode+write") { try PNGCodec.write(image, to: path(name)) }
        try record(name, key: Self.key(image), width: image.width, height: image.height)
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

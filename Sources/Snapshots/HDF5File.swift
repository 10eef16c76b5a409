import CHDF5
import Foundation
import Tensors

/// A thin, safe wrapper over one open HDF5 file.
///
/// Why a wrapper: the C API reports failure through negative return codes and an error stack
/// printed to stderr, and leaks handles unless every id is closed on every path. Here every
/// call's result is checked and turned into an ``HDF5Error`` naming the file, every id opened
/// internally is closed before the method returns, and the file itself is closed by
/// ``close()`` or, as a fallback, by `deinit`.
///
/// A file from ``create(_:)`` is built in memory (HDF5's "core" driver, no backing store) and
/// written to disk by ``close()`` with plain POSIX writes and an fsync. Reason: when a disk
/// write fails inside HDF5 1.10 (disk full), `H5Fclose` fails and leaves a half-destroyed file
/// registered, which crashes the process later in HDF5's exit handler. Doing the I/O ourselves
/// turns "disk full" into an ordinary error. Cost: the file's size in memory, twice, briefly.
///
/// Object paths are absolute (`/weights/conv1/weight`); a path without a leading slash is taken
/// relative to the root. Datasets are stored C-order, contiguous, uncompressed, with explicit
/// little-endian types so the bytes on disk do not depend on the writer's CPU.
///
/// Not thread-safe: use one instance from one thread at a time (the HDF5 build itself is).
public final class HDF5File {
    /// The path as given to ``create(_:)`` or ``open(_:)``; used in every error message.
    public let path: String
    /// Whether the file was opened for writing.
    public let isWritable: Bool
    private var fileID: hid_t
    /// The destination of a writable file, opened (and truncated) by ``create(_:)`` so that
    /// "permission denied" or "no such directory" show up before any work is done.
    private var output: Int32

    /// Refuses datasets with more elements than this, before allocating anything, so a corrupt
    /// or hostile file cannot make the reader allocate unbounded memory (2^31 float32 = 8 GiB).
    public static let maximumElementCount = 1 << 31

    private init(path: String, fileID: hid_t, output: Int32) {
        self.path = path
        self.fileID = fileID
        self.output = output
        self.isWritable = output >= 0
    }

    deinit {
        if fileID >= 0 { _ = H5Fclose(fileID) }
        if output >= 0 { _ = posixClose(output) }
    }

    /// Creates (or truncates) the file at `path` for writing. Nothing but the empty file
    /// reaches the disk until ``close()``; without `close()` the file stays empty.
    public static func create(_ path: String) throws -> HDF5File {
        HDF5Library.silenceErrors()
        let output = posixOpen(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw HDF5Error(file: path, message: "cannot create file (\(systemError()))") }
        do {
            let fapl = try accessList(path, inMemory: true)
            defer { H5Pclose(fapl) }
            let id = H5Fcreate(path, dsc_h5f_acc_trunc(), dsc_h5p_default(), fapl)
            guard id >= 0 else { throw failure(path, "cannot create file") }
            return HDF5File(path: path, fileID: id, output: output)
        } catch {
            _ = posixClose(output)
            throw error
        }
    }

    /// Opens an existing HDF5 file read-only.
    ///
    /// Distinguishes the failures a user can act on: no such file, a directory, an empty file,
    /// and a file that exists but is not HDF5 (e.g. a truncated download or a PyTorch `.pt`).
    public static func open(_ path: String) throws -> HDF5File {
        HDF5Library.silenceErrors()
        guard let info = FileInfo(path) else { throw HDF5Error(file: path, message: "no such file") }
        if info.isDirectory { throw HDF5Error(file: path, message: "is a directory, not an HDF5 file") }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw HDF5Error(file: path, message: "cannot open file (permission denied)")
        }
        if info.size == 0 { throw HDF5Error(file: path, message: "not an HDF5 file (the file is empty)") }
        if dsc_h5f_is_hdf5(path) <= 0 { throw HDF5Error(file: path, message: "not an HDF5 file") }
        let fapl = try accessList(path, inMemory: false)
        defer { H5Pclose(fapl) }
        let id = H5Fopen(path, dsc_h5f_acc_rdonly(), fapl)
        guard id >= 0 else { throw failure(path, "cannot open file") }
        return HDF5File(path: path, fileID: id, output: -1)
    }

    /// Closes the file; later calls on this instance throw. Closing twice is a no-op.
    ///
    /// For a file from ``create(_:)`` this is where the contents are written and fsynced, so
    /// this is where "No space left on device" shows up: always call it after writing.
    public func close() throws {
        guard fileID >= 0 else { return }
        HDF5Library.silenceErrors()
        let id = fileID, output = output
        fileID = -1
        self.output = -1
        guard output >= 0 else {
            guard H5Fclose(id) >= 0 else { throw fail("cannot close file") }
            return
        }
        defer { _ = posixClose(output) }
        let image: [UInt8]
        do {
            image = try fileImage(id)
        } catch {
            _ = H5Fclose(id)
            throw error
        }
        guard H5Fclose(id) >= 0 else { throw fail("cannot close file") }
        try image.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = posixWrite(output, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { throw HDF5Error(file: path, message: "cannot write file (\(Self.systemError()))") }
                offset += written
            }
        }
        guard fsync(output) == 0 else { throw HDF5Error(file: path, message: "cannot sync file to disk (\(Self.systemError()))") }
    }

    /// The complete bytes of the in-memory file.
    private func fileImage(_ id: hid_t) throws -> [UInt8] {
        guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 else { throw fail("cannot finish the file") }
        let size = H5Fget_file_image(id, nil, 0)
        guard size >= 0 else { throw fail("cannot finish the file") }
        var failed = false
        let image = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            if H5Fget_file_image(id, buffer.baseAddress, size) != size {
                failed = true
                buffer.initialize(repeating: 0)
            }
            initialized = size
        }
        if failed { throw fail("cannot finish the file") }
        return image
    }

    // MARK: Groups and links

    /// Creates the group at `groupPath` and any missing parent groups; existing groups are kept.
    public func createGroup(_ groupPath: String) throws {
        let id = try openFile()
        if try kind(of: groupPath) == .group { return }
        let lcpl = try linkCreateList()
        defer { H5Pclose(lcpl) }
        let group = H5Gcreate2(id, groupPath, lcpl, dsc_h5p_default(), dsc_h5p_default())
        guard group >= 0 else { throw fail("cannot create group \(absolute(groupPath))") }
        try checkClose(H5Gclose(group), groupPath)
    }

    /// What kind of object lives at an absolute path inside the file.
    public enum ObjectKind: Sendable, Equatable {
        case group, dataset, other
    }

    /// The kind of object at `objectPath`, or nil if nothing is there (no error for missing
    /// intermediate groups, unlike `H5Lexists`).
    public func kind(of objectPath: String) throws -> ObjectKind? {
        let id = try openFile()
        let parts = components(objectPath)
        if parts.isEmpty { return .group }
        var prefix = ""
        for part in parts {
            prefix += "/" + part
            let found = H5Lexists(id, prefix, dsc_h5p_default())
            guard found >= 0 else { throw fail("cannot look up \(prefix)") }
            if found == 0 { return nil }
        }
        // A dangling soft or external link exists as a link but has no object behind it.
        let object = H5Oopen(id, prefix, dsc_h5p_default())
        guard object >= 0 else { return nil }
        defer { H5Oclose(object) }
        switch H5Iget_type(object) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        default: return .other
        }
    }

    /// Whether any object (group, dataset, named type) exists at `objectPath`.
    public func exists(_ objectPath: String) throws -> Bool {
        try kind(of: objectPath) != nil
    }

    /// Names of the links directly inside the group at `groupPath`, in name order.
    public func children(of groupPath: String) throws -> [String] {
        let id = try openFile()
        guard try kind(of: groupPath) == .group else {
            throw HDF5Error(file: path, message: "\(absolute(groupPath)) is not a group")
        }
        let group = H5Gopen2(id, groupPath.isEmpty ? "/" : groupPath, dsc_h5p_default())
        guard group >= 0 else { throw fail("cannot open group \(absolute(groupPath))") }
        defer { H5Gclose(group) }
        var info = H5G_info_t()
        guard H5Gget_info(group, &info) >= 0 else { throw fail("cannot list group \(absolute(groupPath))") }
        var names: [String] = []
        // The count comes from the file: a corrupt one must not reserve memory (the loop fails early instead).
        names.reserveCapacity(Int(min(info.nlinks, 1024)))
        for index in 0..<info.nlinks {
            let length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, dsc_h5p_default())
            guard length >= 0 else { throw fail("cannot list group \(absolute(groupPath))") }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            let got = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, dsc_h5p_default())
            guard got >= 0 else { throw fail("cannot list group \(absolute(groupPath))") }
            names.append(String(decoding: buffer.prefix(Int(got)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }

    // MARK: Internals shared by the extensions

    /// The file's size in bytes as HDF5 sees it; bounds what a read may allocate.
    func fileSize() throws -> Int {
        var size: hsize_t = 0
        guard H5Fget_filesize(try openFile(), &size) >= 0 else { throw fail("cannot read the file size") }
        return Int(clamping: size)
    }

    /// The open file id, or an error if ``close()`` already ran. Also silences HDF5's error
    /// printing for the calling thread (see ``HDF5Library/silenceErrors()``).
    func openFile() throws -> hid_t {
        HDF5Library.silenceErrors()
        guard fileID >= 0 else { throw HDF5Error(file: path, message: "file is already closed") }
        return fileID
    }

    func requireWritable() throws {
        guard isWritable else { throw HDF5Error(file: path, message: "file is open read-only") }
    }

    /// An error for the call that just failed, with HDF5's most useful detail appended.
    func fail(_ message: String) -> HDF5Error {
        Self.failure(path, message)
    }

    static func failure(_ path: String, _ message: String) -> HDF5Error {
        if let detail = HDF5Library.currentErrorDetail() {
            return HDF5Error(file: path, message: "\(message) (\(detail))")
        }
        return HDF5Error(file: path, message: message)
    }

    func checkClose(_ status: herr_t, _ objectPath: String) throws {
        guard status >= 0 else { throw fail("cannot finish writing \(absolute(objectPath))") }
    }

    /// A link-creation property list that creates missing parent groups, so writing
    /// `/weights/conv1/weight` needs no separate group calls.
    func linkCreateList() throws -> hid_t {
        let lcpl = H5Pcreate(dsc_h5p_link_create())
        guard lcpl >= 0 else { throw fail("cannot create a property list") }
        guard H5Pset_create_intermediate_group(lcpl, 1) >= 0 else {
            H5Pclose(lcpl)
            throw fail("cannot configure a property list")
        }
        return lcpl
    }

    /// File access with the "strong" close degree, so closing the file closes anything still
    /// open in it and the file is really closed (and its lock released) when ``close()``
    /// returns; in memory (1 MiB growth steps, no backing store) for files being written.
    private static func accessList(_ path: String, inMemory: Bool) throws -> hid_t {
        let fapl = H5Pcreate(dsc_h5p_file_access())
        guard fapl >= 0 else { throw failure(path, "cannot create a property list") }
        guard H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0,
              !inMemory || H5Pset_fapl_core(fapl, 1 << 20, false) >= 0 else {
            let error = failure(path, "cannot configure a property list")
            H5Pclose(fapl)
            throw error
        }
        return fapl
    }

    static func systemError() -> String {
        String(cString: strerror(errno))
    }

    func components(_ objectPath: String) -> [String] {
        objectPath.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    func absolute(_ objectPath: String) -> String {
        "/" + components(objectPath).joined(separator: "/")
    }
}

// File-scope wrappers: inside `HDF5File`, `open` and `close` would name its own methods.
private func posixOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
private func posixClose(_ descriptor: Int32) -> Int32 { close(descriptor) }
private func posixWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(descriptor, bytes, count) }

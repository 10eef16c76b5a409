/// A problem with one file, as one line naming the file and the problem.
///
/// The CLI prints errors as a single `error: ...` line, so the description must stand on its
/// own: which file, what went wrong, and, when the C library knows it (permission denied,
/// disk full), the operating system's reason. HDF5's own multi-line error stack is never
/// printed (see `HDF5Library.silenceErrors()`); its most useful line is folded in instead.
public struct FileError: Error, CustomStringConvertible, Sendable {
    /// The file path as the caller gave it.
    public var file: String
    /// What went wrong, without the file name.
    public var message: String

    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}

/// A failed HDF5 operation (cannot open, read or write the file).
public typealias HDF5Error = FileError

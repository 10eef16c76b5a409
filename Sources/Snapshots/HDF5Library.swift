import CHDF5

/// Process-wide HDF5 housekeeping.
enum HDF5Library {
    /// Turns off HDF5's automatic printing of its error stack.
    ///
    /// In a threadsafe HDF5 build the default error stack is per thread, so this runs before
    /// every public operation rather than once: snapshots may be written from any thread.
    static func silenceErrors() {
        dsc_h5_silence_errors()
    }

    /// The most telling line of the current HDF5 error stack, or nil when it is empty.
    ///
    /// Must run right after the failing call: the next HDF5 API call clears the stack.
    /// The operating system's message (`error message = '...'`, e.g. "No space left on
    /// device") wins over HDF5's innermost description, which tends to be jargon.
    static func currentErrorDetail() -> String? {
        final class Lines { var items: [String] = [] }
        let lines = Lines()
        let status = withExtendedLifetime(lines) {
            H5Ewalk2(dsc_h5e_default(), H5E_WALK_UPWARD, { _, entry, context in
                guard let entry, let context, let desc = entry.pointee.desc else { return 0 }
                let lines = Unmanaged<Lines>.fromOpaque(context).takeUnretainedValue()
                lines.items.append(String(cString: desc))
                return 0
            }, Unmanaged.passUnretained(lines).toOpaque())
        }
        guard status >= 0 else { return nil }
        for line in lines.items {
            if let range = line.range(of: "error message = '") {
                let rest = line[range.upperBound...]
                if let end = rest.firstIndex(of: "'") { return String(rest[..<end]) }
            }
        }
        return lines.items.first.map { String($0.prefix(200)) }
    }
}

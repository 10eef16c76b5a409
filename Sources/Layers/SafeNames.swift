/// Names that become folder names, HDF5 paths and report text (layer names, run names): ASCII
/// letters, digits, '_', '.' and '-' only.
///
/// Why not a regular expression: Foundation builds an ICU `NSRegularExpression` for every
/// `range(of:options: .regularExpression)` call, 0.4 ms each, and every network build checked its
/// layer names that way (1.7 ms on the path to a monitor process's first forward). This also
/// refuses a trailing newline, which ICU's `$` let through.
public enum SafeNames {
    /// `byte` is one of the allowed characters.
    @inline(__always)
    public static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// At least one character, all of them allowed.
    public static func isSafe(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy(isAllowed)
    }

    /// A run name: 1-100 allowed characters, the first a letter or digit, and no "..".
    public static func isSafeRunName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 100, isSafe(name) else { return false }
        return first != UInt8(ascii: "_") && first != UInt8(ascii: ".") && first != UInt8(ascii: "-") && !name.contains("..")
    }
}

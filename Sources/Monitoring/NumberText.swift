import Foundation

/// One number through a printf format, by the C library. `String(format:)` parses the format in
/// Foundation first: for the ~3,000 numbers of a report it cost 1.8% of a `monitor --force`
/// process's CPU (`perf record`), this a fraction of that. The text is the same (C's
/// formatting in the C locale, whatever locale the process runs in; `NumberTextTests`).
public enum NumberText {
    /// The C locale for numbers, so a decimal point is always "." (the report and findings.json
    /// are read by programs), as `String(format:)` without a locale writes it.
    private static let cNumeric = newlocale(LC_NUMERIC_MASK, "C", nil)

    public static func printf(_ format: String, _ value: Double) -> String {
        let previous = uselocale(cNumeric)
        defer { uselocale(previous) }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            let written = withVaList([value]) { vsnprintf(buffer.baseAddress!, 64, format, $0) }
            // Longer texts (%f of a huge number) take the general road.
            guard written >= 0 && written < 64 else { return String(format: format, value) }
            return String(cString: buffer.baseAddress!)
        }
    }
}

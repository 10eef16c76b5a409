/// Upper bounds on what a model JSON (or a snapshot's `architecture`) may ask for, checked by
/// `Network(spec:)` before any layer reserves memory.
///
/// Why: the spec comes from files, and a typo or a hostile file (`"out_channels": 1000000000`)
/// must be a one-line error, not a multi-gigabyte allocation or an arithmetic-overflow trap.
/// The bounds sit far above any model this CPU trainer can train (AlexNet has 61M parameters).
public enum ModelLimits {
    /// Largest value of any size field: input sizes, kernel, stride, padding, channels, features.
    public static let maxSize = 1 << 20
    /// Largest total number of weights and biases: 2^26 (67M, AlexNet's 61M fits); as float32 values,
    /// gradients and momentum that is 768 MiB, allocated as soon as the network is built.
    public static let maxParameters = 1 << 26
    /// Largest number of values one layer may output per image (2^28 float32 = 1 GiB).
    public static let maxActivations = 1 << 28

    /// The product of `factors`, or nil when it overflows or exceeds `limit` (factors are non-negative).
    static func product(_ factors: [Int], limit: Int) -> Int? {
        var total = 1
        for factor in factors {
            let (next, overflow) = total.multipliedReportingOverflow(by: factor)
            guard !overflow, next <= limit else { return nil }
            total = next
        }
        return total
    }
}

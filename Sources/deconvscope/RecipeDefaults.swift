/// The two options of Zeiler & Fergus's recipe that `train` applies unless told otherwise, and how a
/// value given on the command line becomes the one run.json stores (nil: off, or He's init).
///
/// Why they are defaults (README "Reading the diagnostics"; accuracy in docs/performance.md): with
/// He's init alone and lr 0.01, zf-fmnist ends 2 epochs on 10,000 Fashion-MNIST images with 10-14
/// dead and 9 dormant of conv2's 64 maps and a conv1 that barely left its random start (seeds 0-2);
/// with both options, no dead map, 0-2 dormant, and conv1 learns edge and bar detectors.
enum RecipeDefaults {
    /// The paper's radius for filter renormalization.
    static let maxFilterRMS: Float = 0.1
    /// The paper's initial std for the first conv layer (10^-2).
    static let firstConvInitStd: Float = 0.01

    /// `--max-filter-rms` as stored: the default when not given, nil (off) for 0.
    static func maxFilterRMS(given: Float?) -> Float? {
        offWhenZero(given ?? maxFilterRMS)
    }

    /// `--first-conv-init-std` as stored: the default when not given, nil (He's std) for 0.
    static func firstConvInitStd(given: Float?) -> Float? {
        offWhenZero(given ?? firstConvInitStd)
    }

    private static func offWhenZero(_ value: Float) -> Float? { value == 0 ? nil : value }
}

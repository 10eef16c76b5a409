/// `max(v, 0)` of `count` values in place: the one definition of the ReLU rule, shared by ReLU's
/// forward, its deconvnet backward and the convolutions that rectify their output as they write
/// it. A select rather than a branch, so the loop vectorizes; NaN maps to 0.
public func rectify(_ values: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { values[i] = values[i] > 0 ? values[i] : 0 }
}

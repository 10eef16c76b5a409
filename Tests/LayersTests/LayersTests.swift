import XCTest
import Tensors
import Layers

// Shared helpers for the Layers tests. Oracles are independent of the code under test: the naive
// kernels of Tensors, loops written here, hand arithmetic, and central differences.

func randomArray(_ count: Int, _ rng: inout Xoshiro256, scale: Float = 1) -> [Float] {
    (0..<count).map { _ in rng.nextGaussian() * scale }
}

func randomTensor(_ shape: [Int], _ rng: inout Xoshiro256, scale: Float = 1) -> Tensor {
    Tensor(shape: shape, data: randomArray(shape.reduce(1, *), &rng, scale: scale))
}

/// A uniformly random integer in 0..<bound.
func randomInt(_ bound: Int, _ rng: inout Xoshiro256) -> Int { Int(rng.next() % UInt64(bound)) }

/// Inner product accumulated in Double (written here, independent of `Tensor.dot`).
func inner(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.count == b.count, "inner product of \(a.shape) and \(b.shape)")
    var s = 0.0
    for i in 0..<a.count { s += Double(a.data[i]) * Double(b.data[i]) }
    return s
}

/// Elementwise |a - b| <= atol + rtol * max(|a|, |b|), shapes equal; reports the first offenders.
func assertClose(_ a: Tensor, _ b: Tensor, rtol: Float = 1e-4, atol: Float = 1e-4, _ message: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "shape mismatch \(message)", file: file, line: line)
    guard a.shape == b.shape else { return }
    var bad = 0
    for i in 0..<a.count {
        let tol = atol + rtol * max(abs(a.data[i]), abs(b.data[i]))
        if !(abs(a.data[i] - b.data[i]) <= tol) {
            if bad < 5 { XCTFail("\(message): element \(i): \(a.data[i]) vs \(b.data[i])", file: file, line: line) }
            bad += 1
        }
    }
    if bad > 5 { XCTFail("\(message): \(bad) elements differ in total", file: file, line: line) }
}

func assertRelClose(_ a: Double, _ b: Double, _ tol: Double, _ message: String = "",
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertLessThanOrEqual(abs(a - b), tol * max(1, abs(a), abs(b)), "\(message): \(a) vs \(b)", file: file, line: line)
}

/// A random conv layer (weights and bias Gaussian) built directly, outside any Network.
func makeConv(channels: Int, height: Int, width: Int, filters: Int, kernel: Int, stride: Int, padding: Int,
              rng: inout Xoshiro256, bias: Bool = true) -> Conv2D {
    let shape = ConvShape(channels: channels, height: height, width: width,
                          window: WindowGeometry(kernel: kernel, stride: stride, padding: padding))!
    let conv = Conv2D(name: "conv", shape: shape, outChannels: filters)
    conv.weight.value = randomTensor(conv.weight.value.shape, &rng, scale: 0.5)
    if bias { conv.bias.value = randomTensor(conv.bias.value.shape, &rng, scale: 0.5) }
    return conv
}

/// A validated network with He-normal weights and small random biases.
func makeNetwork(input: [Int], classes: Int, _ layers: [LayerSpec], seed: UInt64, biasScale: Float = 0.1) -> Network {
    let net = try! Network(spec: ModelSpec(input: input, classes: classes, normalization: nil, layers: layers))
    var rng = Xoshiro256(seed: seed)
    net.initialize(rng: &rng)
    for (_, _, bias) in net.parameterLayers {
        bias.value = randomTensor(bias.value.shape, &rng, scale: biasScale)
    }
    return net
}

// MARK: - Central differences

/// The outcome of a finite-difference check over the coordinates of one buffer.
struct GradientCheck {
    var checked = 0
    /// Of `checked`, coordinates compared by a one-sided difference (a kink on the other side).
    var oneSided = 0
    var skipped = 0
    var failures: [String] = []
}

/// Compares `analytic[i]` with `(L(v + eps e_i) - L(v - eps e_i)) / (v+ - v-)` for every element of
/// `target.value` (an input wrapped in a `Parameter`, or a real parameter).
///
/// - The denominator is the step actually stored in float32, and the loss is accumulated in Double,
///   so for the piecewise-linear layers here the difference quotient is exact up to float32 rounding
///   of the forward pass.
/// - `loss` also returns the *pattern* of the piecewise-linear function (ReLU signs, pooling switches).
///   If one side of the step changes it (a kink within eps), the one-sided difference on the other
///   side is used, which is just as exact inside one linear piece; if both sides do, the coordinate
///   is skipped and counted.
func centralDifferences(target: Parameter, analytic: [Float], eps: Float = 1e-2,
                        rtol: Double = 1e-2, atol: Double = 1e-3, label: String,
                        loss: () -> (value: Double, pattern: [Int32])) -> GradientCheck {
    precondition(analytic.count == target.value.count, "\(label): analytic gradient has the wrong size")
    var result = GradientCheck()
    let base = loss()
    for i in 0..<target.value.count {
        let v = target.value.data[i]
        let plus = v + eps, minus = v - eps
        target.value.data[i] = plus
        let lp = loss()
        target.value.data[i] = minus
        let lm = loss()
        target.value.data[i] = v
        let numeric: Double
        switch (lp.pattern == base.pattern, lm.pattern == base.pattern) {
        case (true, true): numeric = (lp.value - lm.value) / Double(plus - minus)
        case (true, false): numeric = (lp.value - base.value) / Double(plus - v); result.oneSided += 1
        case (false, true): numeric = (base.value - lm.value) / Double(v - minus); result.oneSided += 1
        case (false, false): result.skipped += 1; continue
        }
        result.checked += 1
        let a = Double(analytic[i])
        if !(abs(numeric - a) <= atol + rtol * max(abs(numeric), abs(a))) {
            result.failures.append("\(label)[\(i)]: analytic \(a), numeric \(numeric)")
        }
    }
    return result
}

func assertGradient(_ check: GradientCheck, maxSkipped: Int = 0, maxOneSided: Int = .max,
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertGreaterThan(check.checked, 0, "nothing was checked", file: file, line: line)
    XCTAssertLessThanOrEqual(check.oneSided, maxOneSided, "coordinates within eps of a kink", file: file, line: line)
    XCTAssertLessThanOrEqual(check.skipped, maxSkipped, "too many coordinates crossed a kink", file: file, line: line)
    for f in check.failures.prefix(5) { XCTFail(f, file: file, line: line) }
    if check.failures.count > 5 { XCTFail("\(check.failures.count) coordinates failed in total", file: file, line: line) }
}

/// The discrete state of a layer after a forward: switches for pooling, output signs for ReLU.
func pattern(of layer: any Layer, output: Tensor) -> [Int32] {
    if let pool = layer as? MaxPool2D { return pool.switches }
    if layer is ReLU { return output.data.map { $0 > 0 ? 1 : 0 } }
    return []
}

/// Gradient check of one layer for `L = sum(r * layer(x))` with a fixed random `r`: the input
/// gradient and every parameter gradient from `backward(r, rule: .gradient)`. The inputs are chosen
/// away from kinks, so no coordinate may need a one-sided difference or be skipped.
func checkLayerGradients(_ layer: any Layer, input x: Tensor, mode: ForwardMode = .inference, seed: UInt64,
                         eps: Float = 1e-2, label: String,
                         file: StaticString = #filePath, line: UInt = #line) {
    var rng = Xoshiro256(seed: seed)
    let y = layer.forward(x, mode: mode)
    let r = randomTensor(y.shape, &rng)
    for p in layer.parameters { p.gradient = Tensor(zeros: p.value.shape) }
    let dx = layer.backward(r, rule: .gradient, accumulateParameterGradients: true)
    XCTAssertEqual(dx.shape, x.shape, "\(label): input gradient shape", file: file, line: line)
    let input = Parameter(name: "input", value: x)
    let loss = { () -> (value: Double, pattern: [Int32]) in
        let out = layer.forward(input.value, mode: mode)
        return (inner(out, r), pattern(of: layer, output: out))
    }
    assertGradient(centralDifferences(target: input, analytic: dx.data, eps: eps, label: "\(label) d/dx", loss: loss),
                   maxOneSided: 0, file: file, line: line)
    for p in layer.parameters {
        let analytic = p.gradient.data
        assertGradient(centralDifferences(target: p, analytic: analytic, eps: eps, label: "\(label) d/d\(p.name)", loss: loss),
                       maxOneSided: 0, file: file, line: line)
    }
}

final class GradientCheckerSelfTests: XCTestCase {
    /// The checker must be able to fail: a gradient off by 10% or with one wrong entry is caught,
    /// and a kink crossing is reported as skipped rather than compared.
    func testCheckerDetectsWrongGradientsAndKinks() {
        // L(v) = sum(c_i * v_i): gradient c.
        let c: [Float] = [1, -2, 0.5, 3]
        let target = Parameter(name: "v", value: Tensor(shape: [4], data: [0.3, -1, 2, 0.7]))
        let linear = { () -> (value: Double, pattern: [Int32]) in
            (zip(c, target.value.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }, [])
        }
        XCTAssertTrue(centralDifferences(target: target, analytic: c, label: "exact", loss: linear).failures.isEmpty)
        XCTAssertEqual(centralDifferences(target: target, analytic: c.map { $0 * 1.1 }, label: "scaled", loss: linear).failures.count, 4)
        XCTAssertEqual(centralDifferences(target: target, analytic: [1, -2, 0.5, 2.9], label: "one off", loss: linear).failures.count, 1)
        // L(v) = sum(relu(v)) with v_0 within eps of the kink: compared one-sided, from above.
        let near = Parameter(name: "v", value: Tensor(shape: [2], data: [0.005, 1]))
        let relu = { () -> (value: Double, pattern: [Int32]) in
            (near.value.data.reduce(0.0) { $0 + Double(max($1, 0)) }, near.value.data.map { $0 > 0 ? 1 : 0 })
        }
        let oneSided = centralDifferences(target: near, analytic: [1, 1], label: "kink", loss: relu)
        XCTAssertEqual(oneSided.checked, 2)
        XCTAssertEqual(oneSided.oneSided, 1)
        XCTAssertEqual(oneSided.skipped, 0)
        XCTAssertTrue(oneSided.failures.isEmpty)
        // The central quotient there would be (0.015 - 0) / 0.02 = 0.75: the checker must not use it.
        XCTAssertEqual(centralDifferences(target: near, analytic: [0.75, 1], label: "kink", loss: relu).failures.count, 1)
        // Kinks within eps on both sides, relu(v) + relu(v - 0.008) at v = 0.004: skipped.
        let both = Parameter(name: "v", value: Tensor(shape: [1], data: [0.004]))
        let twoKinks = { () -> (value: Double, pattern: [Int32]) in
            let v = both.value.data[0]
            return (Double(max(v, 0) + max(v - 0.008, 0)), [v > 0 ? 1 : 0, v - 0.008 > 0 ? 1 : 0])
        }
        let skipped = centralDifferences(target: both, analytic: [1], label: "two kinks", loss: twoKinks)
        XCTAssertEqual(skipped.skipped, 1)
        XCTAssertEqual(skipped.checked, 0)
        // The values are restored after the check.
        XCTAssertEqual(near.value.data, [0.005, 1])
    }
}

/// The error of building a (C=`input`[0]) model whose layers are `layers` (JSON object texts)
/// followed by a flatten and a 10-way linear layer, or "" (and a failure) when it is accepted.
func modelRejection(input: [Int] = [4, 8, 8], _ layers: [String], file: StaticString = #filePath, line: UInt = #line) -> String {
    let json = #"{"input": \#(input), "classes": 10, "layers": ["# + (layers + [#"{"type": "flatten"}"#, #"{"type": "linear", "name": "fc", "out_features": 10}"#]).joined(separator: ", ") + "]}"
    do {
        _ = try Network(spec: try ModelSpec.decode(json: json, source: "m.json"), source: "m.json")
        XCTFail("accepted: \(json)", file: file, line: line)
        return ""
    } catch {
        return "\(error)"
    }
}

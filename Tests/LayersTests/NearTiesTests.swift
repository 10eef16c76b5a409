import XCTest
import Tensors
import Layers

/// The monitor's tie rule (`NearTies`): in a window or map, the first element in row-major order
/// within 1e-4 of the plane's largest magnitude below the maximum wins.
final class NearTiesTests: XCTestCase {
    /// Switches by the rule, written independently of MaxPool2D and NearTies: each window's in-plane
    /// positions in row-major order, and the first whose value reaches the maximum less the margin.
    private func ruleSwitches(_ x: Tensor, window g: WindowGeometry) -> [Int32] {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = g.outputLength(h)!, ow = g.outputLength(w)!
        var out: [Int32] = []
        for plane in 0..<(n * c) {
            let values = Array(x.data[(plane * h * w)..<((plane + 1) * h * w)])
            let margin = 1e-4 * values.map(abs).max()!
            for oy in 0..<oh { for ox in 0..<ow {
                var positions: [Int] = []
                for ky in 0..<g.kernel { for kx in 0..<g.kernel {
                    let iy = oy * g.stride - g.padding + ky, ix = ox * g.stride - g.padding + kx
                    if (0..<h).contains(iy) && (0..<w).contains(ix) { positions.append(iy * w + ix) }
                } }
                let best = positions.map { values[$0] }.max()!
                out.append(Int32(positions.first { values[$0] >= best - margin }!))
            } }
        }
        return out
    }

    func testHandMadeWindows() {
        // One 2x2 plane, one window over all of it: 1 - 5e-5 is within the margin (1e-4 of 1), 1 - 2e-4 is not.
        for (values, expected) in [([0.2, 1 - 5e-5, 0.3, 1.0], 1), ([0.2, 1 - 2e-4, 0.3, 1.0], 3), ([0, 0, 0, 0], 0)] as [([Float], Int32)] {
            let pool = MaxPool2D(inputShape: [1, 2, 2], window: WindowGeometry(kernel: 2, stride: 1, padding: 0))!
            let x = Tensor(shape: [1, 1, 2, 2], data: values)
            let y = pool.forward(x, mode: .evaluation)
            XCTAssertEqual(pool.tieSwitches(input: x, output: y), [expected], "\(values)")
            XCTAssertEqual(y.data, [values.max()!], "the pooled value stays the maximum")
        }
        // A map's peak: the first position within the margin, with its own value.
        let map: [Float] = [0.5, 2 - 1e-4, 2, -1]
        map.withUnsafeBufferPointer { p in
            let peak = PlanePeak(p.baseAddress!, count: 4)
            XCTAssertEqual(peak.at, 1)
            XCTAssertEqual(peak.value, 2 - 1e-4)
        }
    }

    /// Every pooling geometry of the contract's range, on planes of few distinct levels plus
    /// rounding-sized noise (near ties everywhere), against the rule written out.
    func testSettledSwitchesFollowTheRule() {
        var rng = Xoshiro256(seed: 4)
        for k in 2...3 { for s in 1...3 { for p in 0...(k / 2) { for (h, w) in [(7, 7), (8, 11), (13, 6), (9, 34)] {
            let window = WindowGeometry(kernel: k, stride: s, padding: p)
            guard let pool = MaxPool2D(inputShape: [3, h, w], window: window) else { continue }
            let x = Tensor(shape: [2, 3, h, w], data: (0..<(2 * 3 * h * w)).map { _ in
                let level = Float(Int(rng.nextUnitFloat() * 3))   // 0, 1 or 2: ties
                let noise = rng.nextUnitFloat() < 0.5 ? (rng.nextUnitFloat() - 0.5) * 4e-4 : 0   // some within the margin, some not
                return level == 0 ? 0 : level + noise
            })
            // Both forwards: the rule reads the maxima, which an `.evaluation` forward computes without switches.
            for mode in [ForwardMode.inference, .evaluation] {
                let y = pool.forward(x, mode: mode)
                XCTAssertEqual(pool.tieSwitches(input: x, output: y), ruleSwitches(x, window: window), "k \(k) s \(s) p \(p) \(h)x\(w) \(mode)")
            }
        } } } }
    }

    /// Deciding some planes only (the monitor's top-k pass) decides exactly those: the others route
    /// nowhere (-1).
    func testSomePlanesOnlyLeavesTheOthersRoutingNowhere() {
        var rng = Xoshiro256(seed: 5)
        for window in [WindowGeometry(kernel: 3, stride: 2, padding: 1), WindowGeometry(kernel: 3, stride: 1, padding: 1)] {
            let pool = MaxPool2D(inputShape: [3, 12, 19], window: window)!
            let x = Tensor(shape: [2, 3, 12, 19], data: (0..<(2 * 3 * 12 * 19)).map { _ in
                let level = Float(Int(rng.nextUnitFloat() * 3))   // ties, and near ties the rule decides
                return level == 0 ? 0 : level + (rng.nextUnitFloat() - 0.5) * 4e-4
            })
            let y = pool.forward(x, mode: .inference)
            let strict = pool.switches
            let some = pool.tieSwitches(input: x, output: y, planes: [1, 4])
            let rule = ruleSwitches(x, window: window), per = y.count / 6
            for plane in 0..<6 {
                let range = (plane * per)..<((plane + 1) * per)
                XCTAssertEqual(Array(some[range]), [1, 4].contains(plane) ? Array(rule[range]) : [Int32](repeating: -1, count: per), "\(window) plane \(plane)")
            }
            XCTAssertNotEqual(strict, rule, "the planes have ties the rule decides otherwise than the strict first maximum")
        }
    }

    /// The vector form (`StrideTwoPoolPlane.tieSwitches`, from the maxima alone) against the strict
    /// switches re-decided by the scalar rule (`NearTies.settle`) on planes with -inf, NaN, +inf,
    /// all-equal and near-tie windows, widths of 1 to 3 vectors.
    func testVectorFormEqualsTheScalarRule() {
        var rng = Xoshiro256(seed: 6)
        let specials: [Float] = [-.infinity, .nan, .infinity, 0, -0.0, 1, 1 - 5e-5, 1 + 5e-5, -2]
        for k in 2...3 { for p in 0...(k / 2) { for (h, w) in [(5, 5), (9, 17), (16, 34), (7, 50), (6, 6)] {
            let window = WindowGeometry(kernel: k, stride: 2, padding: p)
            guard let kernel = StrideTwoPoolPlane(height: h, width: w, geometry: window) else { continue }
            for trial in 0..<8 {
                // Trial 0 without +inf (a plane holding it has no finite margin: the strict switches
                // stand); trial 2 all zeros (margin 0 too); trial 3 all -inf and NaN.
                let pick = trial == 0 ? specials.filter { $0 != .infinity } : trial == 2 ? [0, -0.0] : trial == 3 ? [-.infinity, .nan] : specials
                let plane: [Float] = (0..<(h * w)).map { _ in
                    trial < 4 ? pick[Int(rng.nextUnitFloat() * Float(pick.count)) % pick.count]
                              : Float(Int(rng.nextUnitFloat() * 3)) + (rng.nextUnitFloat() < 0.3 ? (rng.nextUnitFloat() - 0.5) * 4e-4 : 0)
                }
                let count = kernel.outHeight * kernel.outWidth
                var maxima = [Float](repeating: 0, count: count), strict = [Int32](repeating: 0, count: count)
                var scratch = [Float](repeating: 0, count: kernel.scratchFloats), scratchArg = [Int32](repeating: 0, count: kernel.scratchInts)
                kernel.prepare(scratch: &scratch, scratchArg: &scratchArg)
                kernel.pool(plane, into: &maxima, switches: &strict, scratch: &scratch, scratchArg: &scratchArg)
                var scalar = strict, vector = [Int32](repeating: -7, count: count)
                NearTies.settle(plane, height: h, width: w, geometry: window, maxima: maxima,
                                outHeight: kernel.outHeight, outWidth: kernel.outWidth, switches: &scalar)
                kernel.prepare(scratch: &scratch, scratchArg: &scratchArg)
                kernel.tieSwitches(plane, maxima: maxima, switches: &vector, scratch: &scratch, scratchArg: &scratchArg)
                XCTAssertEqual(vector, scalar, "k \(k) p \(p) \(h)x\(w) trial \(trial)")
            }
        } } }
    }
}

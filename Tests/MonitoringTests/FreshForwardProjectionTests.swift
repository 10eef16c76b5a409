import XCTest
import Tensors
import Layers
@testable import Monitoring

/// The projection path for blocks with an LRN at or below them (`Replay.projectWithFreshForward`:
/// a fresh whole-network forward and backward per batch of items) against the `ReceptiveCrop`
/// path, forced on random networks without LRN, where both apply.
final class FreshForwardProjectionTests: XCTestCase {
    func testFreshForwardMatchesTheCropPath() throws {
        var rng = Xoshiro256(seed: 2121)
        var tried = 0, projections = 0, identical = 0, worst = 0.0
        while tried < 60 {
            guard let spec = ProjectionOracleTests.randomSpec(&rng), !spec.layers.contains(where: { $0.type == "lrn" }),
                  let net = try? ProjectionOracleTests.randomNetwork(spec, &rng) else { continue }
            tried += 1
            let probes = ProjectionOracleTests.randomProbes(spec, count: 10, &rng)
            var replay = Replay(network: net, probes: probes, k: 4)
            (replay.batchSize, replay.projectionBatchSize) = (3, 5)
            let crop = replay.analyze(epoch: 0, step: 0)
            replay.alwaysProjectWithFreshForward = true
            let fresh = replay.analyze(epoch: 0, step: 0)
            XCTAssertEqual(crop.layers.map(\.name), fresh.layers.map(\.name))
            for (a, b) in zip(crop.layers, fresh.layers) {
                XCTAssertEqual(a.top, b.top, "the top-k pass is the same")
                let size = a.projections.count / max(1, a.channels * a.k)
                for p in 0..<(a.channels * a.k) {
                    let range = (p * size)..<((p + 1) * size)
                    let peak = range.map { abs(Double(a.projections.data[$0])) }.max() ?? 0
                    let error = range.map { abs(Double(a.projections.data[$0]) - Double(b.projections.data[$0])) }.max() ?? 0
                    guard peak > 0 || error > 0 else { continue }
                    projections += 1
                    if error == 0 { identical += 1 }
                    let relative = peak > 0 ? error / peak : .infinity
                    worst = max(worst, relative)
                    XCTAssertLessThanOrEqual(relative, 1e-6, "\(a.name) projection \(p) of \(spec.layers.map(\.type))")
                }
            }
        }
        print("fresh forward vs crop: \(projections) projections over \(tried) networks, \(identical) bit-identical, worst \(worst) of the peak")
        XCTAssertGreaterThan(projections, 1000)
    }
}

import XCTest
import Tensors
@testable import Monitoring

/// The top-k pass's kept switches hand back exactly what was recorded, per probe and layer, kept
/// 16 bits wide for planes of fewer than 65,536 values and 32 bits wide above (positions past 65,535).
final class RecordedSwitchesTests: XCTestCase {
    func testKeptSwitchesComeBackAsRecordedInBothWidths() {
        // Layer 2: planes of 28 x 28 (narrow); layer 5: planes of 300 x 300 (wide, positions up to 89,999).
        let narrow = (layer: 2, perImage: 3 * 14 * 14, plane: 28 * 28)
        let wide = (layer: 5, perImage: 2 * 150 * 150, plane: 300 * 300)
        var rng = Xoshiro256(seed: 5)
        var recorded = RecordedSwitches(probes: 12, pools: [narrow, wide])
        var expected: [Int: [Int: [Int32]]] = [narrow.layer: [:], wide.layer: [:]]
        for first in stride(from: 0, to: 12, by: 4) {
            let batch = [narrow, wide].map { pool in
                (layer: pool.layer, switches: (0..<(4 * pool.perImage)).map { _ in Int32(rng.next() % UInt64(pool.plane)) })
            }
            let keep = [0, 2, 3].filter { _ in rng.nextUnitFloat() < 0.8 }
            recorded.record(images: keep, firstProbe: first, from: batch)
            for (layer, switches) in batch {
                let per = layer == narrow.layer ? narrow.perImage : wide.perImage
                for i in keep { expected[layer]![first + i] = Array(switches[(i * per)..<((i + 1) * per)]) }
            }
        }
        XCTAssertGreaterThan(recorded.count, 3)
        for (layer, probes) in expected {
            for (image, switches) in probes {
                let back: [Int32] = recorded.withSwitches(layer: layer, image: image) { kept in
                    switch kept {
                    case .narrow(let p): return (0..<switches.count).map { Int32(p[$0]) }
                    case .wide(let p): return Array(UnsafeBufferPointer(start: p, count: switches.count))
                    }
                }
                XCTAssertEqual(back, switches, "layer \(layer), probe \(image)")
            }
        }
        XCTAssertTrue(expected[wide.layer]!.values.contains { $0.contains { $0 > 65_535 } }, "the wide layer's test holds positions past 16 bits")
    }
}

import XCTest
import Datasets
import Runs
@testable import Training
import Tensors
import Layers

/// Data sets keep 8-bit pixels and convert only the samples a batch asks for.
final class DatasetStorageTests: XCTestCase {
    private func byteDataset(count: Int, shape: [Int] = [2, 3, 3]) -> (Dataset, [UInt8]) {
        let per = shape.reduce(1, *)
        let pixels = (0..<(count * per)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        return (Dataset(name: "bytes", pixels: pixels, shape: [count] + shape, labels: (0..<count).map { $0 % 3 }, classNames: ["a", "b", "c"]), pixels)
    }

    func testBytesReadBackAsUnitFloatsInAnyOrder() {
        let (dataset, pixels) = byteDataset(count: 5)
        XCTAssertEqual(dataset.images.shape, [5, 2, 3, 3])
        XCTAssertEqual(dataset.images.data, pixels.map { Float($0) / 255 })
        var batch = [Float](repeating: -1, count: 3 * 18)
        batch.withUnsafeMutableBufferPointer { dataset.copySamples([4, 0, 4], into: $0.baseAddress!) }
        let floats = pixels.map { Float($0) / 255 }
        XCTAssertEqual(batch, Array(floats[72..<90]) + Array(floats[0..<18]) + Array(floats[72..<90]))
        XCTAssertEqual(dataset.samples(1..<3).data, Array(floats[18..<54]))
        XCTAssertEqual(dataset.samples(2..<2).shape, [0, 2, 3, 3])
    }

    func testPrefixAndSubsetKeepValuesAndLabels() {
        let (dataset, _) = byteDataset(count: 6)
        let picked = dataset.subset(indices: [5, 1])
        XCTAssertEqual(picked.labels, [2, 1])
        XCTAssertEqual(picked.images.data, dataset.samples(5..<6).data + dataset.samples(1..<2).data)
        XCTAssertEqual(dataset.prefix(2).images, dataset.samples(0..<2))
        XCTAssertEqual(dataset.prefix(0).count, 0)
    }

    /// The chunked measurement over a data set (1,024 samples at a time) sums in the same order
    /// as the one-tensor measurement, so it is bit-identical, also across chunk boundaries.
    func testChunkedMeasureEqualsTheWholeTensorMeasure() {
        let (dataset, _) = byteDataset(count: 2_500)
        let chunked = Normalization.measure(dataset), whole = Normalization.measure(dataset.images)
        XCTAssertEqual(chunked.mean, whole.mean)
        XCTAssertEqual(chunked.std, whole.std)
        XCTAssertNotEqual(whole.std[0], 1, "the fixture has variance")
    }
}

import XCTest
import Foundation
import Tensors
@testable import Monitoring

/// The diagnostics' fast spectra against the plain loops over the whole DFT grid they replaced:
/// both take the total energy by Parseval's theorem and transform one band only, so they equal
/// the plain loops to rounding.
final class SpectrumTests: XCTestCase {
    private func random(_ count: Int, _ rng: inout Xoshiro256, sparse: Bool = false) -> [Float] {
        (0..<count).map { _ in
            let v = rng.nextGaussian()
            return sparse && rng.nextUnitFloat() < 0.7 ? 0 : v
        }
    }

    func testFilterSpectraEqualTheReferenceToRounding() {
        var rng = Xoshiro256(seed: 11)
        for (channels, kernel, size) in [(1, 5, 32), (32, 5, 32), (3, 11, 32), (2, 3, 8), (1, 40, 32)] {
            let filter = random(channels * kernel * kernel, &rng)
            let strides = [1, 2, 3, 4, 8]
            let fast = Spectrum.energiesAboveNyquist(filter[...], channels: channels, kernel: kernel, strides: strides, size: size)
            for (s, value) in zip(strides, fast) {
                let reference = Spectrum.energyAboveNyquistReference(filter, channels: channels, kernel: kernel, stride: s, size: size)
                XCTAssertEqual(value, reference, accuracy: 1e-12, "C \(channels), k \(kernel), n \(size), stride \(s)")
                XCTAssertEqual(Spectrum.energyAboveNyquist(filter, channels: channels, kernel: kernel, stride: s, size: size).bitPattern, value.bitPattern,
                               "one stride alone as among several")
            }
        }
        // Smooth blobs keep almost all their energy in band: the difference of nearly equal totals.
        for kernel in [5, 11] {
            let blob = (0..<(kernel * kernel)).map { i -> Float in
                let (y, x) = (Float(i / kernel) - Float(kernel - 1) / 2, Float(i % kernel) - Float(kernel - 1) / 2)
                return Float(Foundation.exp(Double(-(x * x + y * y) / Float(kernel))))
            }
            for s in [2, 4] {
                let fast = Spectrum.energyAboveNyquist(blob, channels: 1, kernel: kernel, stride: s)
                let reference = Spectrum.energyAboveNyquistReference(blob, channels: 1, kernel: kernel, stride: s)
                XCTAssertEqual(fast, reference, accuracy: 1e-12, "blob \(kernel), stride \(s)")
            }
        }
        XCTAssertEqual(Spectrum.energiesAboveNyquist([Float](repeating: 0, count: 25)[...], channels: 1, kernel: 5, strides: [2, 1]), [0, 0])
    }

    /// The projection spectra by Parseval and the low band only, against the whole DFT: equal to
    /// rounding, on sparse images (projections are mostly zero), dense noise (mostly high
    /// frequencies), smooth images (almost no high frequencies), constant and all-zero images.
    func testProjectionSpectraEqualTheReferenceToRounding() {
        var rng = Xoshiro256(seed: 12)
        for (channels, height, width) in [(1, 28, 28), (3, 32, 32), (1, 7, 12), (2, 1, 5), (1, 4, 4), (1, 64, 48)] {
            let plane = channels * height * width
            // Images side by side: the slices start at non-zero indices, as in the diagnostics.
            let smooth = (0..<plane).map { i -> Float in
                let y = Double((i / width) % height), x = Double(i % width)
                return Float(Foundation.sin(2 * Double.pi * x / Double(max(width, 8))) + Foundation.cos(2 * Double.pi * y / Double(max(height, 8))))
            }
            let images = random(2 * plane, &rng, sparse: true) + random(plane, &rng) + smooth + [Float](repeating: 0.375, count: plane) + [Float](repeating: 0, count: plane)
            for i in 0..<6 {
                let slice = images[(i * plane)..<((i + 1) * plane)]
                let fast = Spectrum.highFrequencyShare(slice, channels: channels, height: height, width: width)
                let reference = Spectrum.highFrequencyShareReference(slice, channels: channels, height: height, width: width)
                XCTAssertEqual(fast, reference, accuracy: 1e-12, "(\(channels), \(height), \(width)) image \(i)")
                XCTAssertTrue((0...1).contains(fast))
            }
        }
    }

    /// `FilterSpectra` (made beside the monitor's top-k pass, read by the diagnostics) gives each
    /// filter what `Spectrum` gives it, and tells weights apart by their bits.
    func testFilterSpectraAreEachFiltersSpectrumAndTellWeightsApart() {
        var rng = Xoshiro256(seed: 13)
        let weight = Tensor(shape: [6, 3, 5, 5], data: random(6 * 3 * 25, &rng))
        for stride in [1, 2, 4] {
            let spectra = FilterSpectra.of(weight: weight, kernel: 5, samplingStride: stride)
            XCTAssertEqual(spectra.count, 6)
            for o in 0..<6 {
                let filter = Array(weight.data[(o * 75)..<((o + 1) * 75)])
                let alias = Spectrum.energyAboveNyquistReference(filter, channels: 3, kernel: 5, stride: stride)
                XCTAssertEqual(spectra[o].alias, alias, accuracy: 1e-12, "stride \(stride), filter \(o)")
                XCTAssertEqual(spectra[o].lowBand.bitPattern, Spectrum.lowBandRatio(filter, channels: 3, kernel: 5, stride: stride).bitPattern)
            }
            let again = FilterSpectra.of(weight: weight, kernel: 5, samplingStride: stride)   // remembered
            XCTAssertEqual(again.map(\.alias), spectra.map(\.alias))
        }
        var other = weight
        other.data[0] += 1
        let changed = FilterSpectra.of(weight: other, kernel: 5, samplingStride: 2)
        XCTAssertNotEqual(changed[0].alias, FilterSpectra.of(weight: weight, kernel: 5, samplingStride: 2)[0].alias)
        XCTAssertEqual(changed[1].alias, FilterSpectra.of(weight: weight, kernel: 5, samplingStride: 2)[1].alias)
    }
}

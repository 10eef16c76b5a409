import Foundation
import Tensors
import Layers

/// Each filter's share of energy above its block's Nyquist frequency and its low-band ratio
/// (`Spectrum.energiesAboveNyquist`, `Spectrum.lowBandRatio`): what the diagnostics read of a conv
/// layer's weights alone. Remembered for the last few weights (by their bits, kernel and sampling
/// stride), so the monitor can compute them beside its top-k pass and its findings find them made
/// (7 ms of CPU per zf-fmnist snapshot off the serial tail).
public enum FilterSpectra {
    public typealias Filter = (alias: Double, lowBand: Double)

    /// `weight` (F, C, k, k), per filter in order.
    public static func of(weight: Tensor, kernel: Int, samplingStride: Int) -> [Filter] {
        if let known = memo.value(weight: weight, kernel: kernel, stride: samplingStride) { return known }
        let f = weight.shape.first ?? 0, per = weight.count / max(1, f), channels = weight.rank > 1 ? weight.shape[1] : 1
        let spectra: [Filter] = parallelMap(f) { o in
            let filter = weight.data[(o * per)..<((o + 1) * per)]
            let alias = Spectrum.energiesAboveNyquist(filter, channels: channels, kernel: kernel, strides: [samplingStride])[0]
            return (alias, Spectrum.lowBandRatio(energyAbove: alias, of: filter, kernel: kernel, stride: samplingStride))
        }
        memo.remember(spectra, weight: weight, kernel: kernel, stride: samplingStride)
        return spectra
    }

    /// Each conv block's filter spectra, made now for `FilterSpectra.of` to find.
    public static func prepare(for network: Network) {
        for block in network.convBlocks {
            guard let conv = network.layers[block.convIndex] as? Conv2D else { continue }
            _ = of(weight: conv.weight.value, kernel: conv.shape.window.kernel, samplingStride: network.samplingStride(of: block))
        }
    }

    private static let memo = Memo()

    private final class Memo: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [(weight: Tensor, kernel: Int, stride: Int, spectra: [Filter])] = []

        func value(weight: Tensor, kernel: Int, stride: Int) -> [Filter]? {
            lock.withLock {
                entries.first { $0.kernel == kernel && $0.stride == stride && Self.sameBits($0.weight, weight) }?.spectra
            }
        }

        func remember(_ spectra: [Filter], weight: Tensor, kernel: Int, stride: Int) {
            lock.withLock {
                entries.append((weight, kernel, stride, spectra))
                if entries.count > 8 { entries.removeFirst() }   // a network's conv layers, and a few to spare
            }
        }

        private static func sameBits(_ a: Tensor, _ b: Tensor) -> Bool {
            a.shape == b.shape && a.data.withUnsafeBufferPointer { x in b.data.withUnsafeBufferPointer { y in Tensors.sameBits(x, y) } }
        }
    }
}

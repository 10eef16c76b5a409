// What the top-k pass of `Replay` keeps of each forward batch.

/// Every probe's max-pooling switches from the top-k pass, per pooling layer one probe-wide
/// array, (P, C, outH, outW) elements.
///
/// The arrays are reserved for all P probes before the first batch and each batch's switches are
/// copied in (38 MB for zf-fmnist at P = 1024, a few milliseconds): kept as the layer hands them
/// over, one array per batch, they were allocated between the batch's activations and pinned the
/// heap around them once those were freed, so later batches could not reuse all of that memory
/// (measured at 256 images per batch: 41.8k -> 40.2k page faults per monitor process).
public struct RecordedSwitches {
    private var storage: [Int: [Int32]] = [:]
    /// Switches per image, (C, outH, outW) elements, by layer index.
    private(set) var perImage: [Int: Int] = [:]

    /// `pools`: the pooling layers the pass will run, by layer index, with their switches per image.
    init(probes: Int, pools: [(layer: Int, perImage: Int)]) {
        for pool in pools {
            var all = [Int32]()
            all.reserveCapacity(probes * pool.perImage)
            storage[pool.layer] = all
            perImage[pool.layer] = pool.perImage
        }
    }

    var layers: [Int] { Array(storage.keys) }

    /// The next batch's switches of `layer`, in probe order.
    mutating func append(_ switches: [Int32], layer: Int, perImage count: Int) {
        precondition(perImage[layer] ?? count == count, "pooling layer \(layer): \(count) switches per image, expected \(perImage[layer]!)")
        storage[layer, default: []].append(contentsOf: switches)
        perImage[layer] = count
    }

    /// The switches of probe `image` at pooling layer `layer`.
    func switches(layer: Int, image: Int) -> ArraySlice<Int32> {
        let per = perImage[layer]!, offset = image * per
        return storage[layer]![offset..<(offset + per)]
    }
}

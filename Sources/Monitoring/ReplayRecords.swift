// What the top-k pass of `Replay` keeps of each forward batch.

/// The max-pooling switches the projections need from the top-k pass, per pooling layer one
/// array of (C, outH, outW) blocks, one block per recorded probe.
///
/// Only probes that entered some top-k list when offered are recorded (the others can never be in
/// a final list): 497 of 1024 for the demo's trained zf-fmnist snapshot. The arrays are reserved for all P
/// probes before the first batch (address space only: pages nobody writes are never touched) and
/// each batch's recorded blocks are copied in: kept as the layer hands them over, one array per
/// batch, they were allocated between the batch's activations and pinned the heap around them once
/// those were freed, so later batches could not reuse all of that memory (measured at 256 images
/// per batch: 41.8k -> 40.2k page faults per monitor process).
public struct RecordedSwitches {
    private var storage: [Int: [Int32]] = [:]
    /// Switches per image, (C, outH, outW) elements, by layer index.
    private(set) var perImage: [Int: Int] = [:]
    /// Each recorded probe's block index, the same in every layer's array.
    private var slots: [Int: Int] = [:]

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
    /// How many probes have their switches recorded.
    var count: Int { slots.count }

    /// Keeps the switches of `images` (positions in a batch whose first probe is `firstProbe`)
    /// from every pooling layer's switches for that whole batch.
    mutating func record(images: [Int], firstProbe: Int, from batch: [(layer: Int, switches: [Int32])]) {
        for i in images {
            precondition(slots[firstProbe + i] == nil, "probe \(firstProbe + i) recorded twice")
            slots[firstProbe + i] = slots.count
        }
        for (layer, switches) in batch {
            guard let per = perImage[layer] else { preconditionFailure("pooling layer \(layer) was not announced") }
            precondition(images.allSatisfy { ($0 + 1) * per <= switches.count }, "pooling layer \(layer): too few switches for the batch")
            switches.withUnsafeBufferPointer { all in
                for i in images { storage[layer, default: []].append(contentsOf: all[(i * per)..<((i + 1) * per)]) }
            }
        }
    }

    /// The switches of probe `image` at pooling layer `layer`.
    func switches(layer: Int, image: Int) -> ArraySlice<Int32> {
        guard let slot = slots[image] else { preconditionFailure("probe \(image) entered no top-k list, so its switches were not kept") }
        let per = perImage[layer]!, offset = slot * per
        return storage[layer]![offset..<(offset + per)]
    }
}

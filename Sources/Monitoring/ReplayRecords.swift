// What the top-k pass of `Replay` keeps of each forward batch.
import Layers

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
    /// One pooling layer's kept switches: 16-bit positions where its input planes hold at most
    /// 65,536 values (every preset: half the memory, 2.3k fewer page faults per monitor process on
    /// the demo snapshot, all of them on the serial path between batches), 32-bit otherwise.
    private enum Column {
        case narrow([UInt16])
        case wide([Int32])
    }
    private var storage: [Int: Column] = [:]
    /// Switches per image, (C, outH, outW) elements, by layer index.
    private(set) var perImage: [Int: Int] = [:]
    /// Each recorded probe's block index, the same in every layer's array.
    private var slots: [Int: Int] = [:]

    /// `pools`: the pooling layers the pass will run, by layer index, with their switches per image
    /// and the size of their input planes (positions range over 0 ..< plane).
    init(probes: Int, pools: [(layer: Int, perImage: Int, plane: Int)]) {
        slots.reserveCapacity(probes)
        for pool in pools {
            if pool.plane <= 1 << 16 {
                var all = [UInt16]()
                all.reserveCapacity(probes * pool.perImage)
                storage[pool.layer] = .narrow(all)
            } else {
                var all = [Int32]()
                all.reserveCapacity(probes * pool.perImage)
                storage[pool.layer] = .wide(all)
            }
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
            guard let per = perImage[layer], let column = storage.removeValue(forKey: layer) else {
                preconditionFailure("pooling layer \(layer) was not announced")
            }
            precondition(images.allSatisfy { ($0 + 1) * per <= switches.count }, "pooling layer \(layer): too few switches for the batch")
            switches.withUnsafeBufferPointer { all in
                switch column {
                case .narrow(var kept):
                    for i in images { kept.append(contentsOf: all[(i * per)..<((i + 1) * per)].lazy.map { UInt16(truncatingIfNeeded: $0) }) }
                    storage[layer] = .narrow(kept)
                case .wide(var kept):
                    for i in images { kept.append(contentsOf: all[(i * per)..<((i + 1) * per)]) }
                    storage[layer] = .wide(kept)
                }
            }
        }
    }

    /// `body` with the switches of probe `image` at pooling layer `layer`, as `MaxPool2D.cropSwitches` reads them.
    func withSwitches<R>(layer: Int, image: Int, _ body: (Switches) -> R) -> R {
        guard let slot = slots[image] else { preconditionFailure("probe \(image) entered no top-k list, so its switches were not kept") }
        let per = perImage[layer]!, offset = slot * per
        switch storage[layer]! {
        case .narrow(let kept): return kept.withUnsafeBufferPointer { body(.narrow($0.baseAddress! + offset)) }
        case .wide(let kept): return kept.withUnsafeBufferPointer { body(.wide($0.baseAddress! + offset)) }
        }
    }

    /// One probe's (C, outH, outW) switches of one layer, in the width they were kept in.
    enum Switches {
        case narrow(UnsafePointer<UInt16>)
        case wide(UnsafePointer<Int32>)

        /// `MaxPool2D.cropSwitches` of these.
        func crop(_ pool: MaxPool2D, to window: MaxPool2D, output: (row: Int, col: Int), input: (row: Int, col: Int),
                  into result: UnsafeMutablePointer<Int32>) {
            switch self {
            case .narrow(let p): pool.cropSwitches(p, to: window, output: output, input: input, into: result)
            case .wide(let p): pool.cropSwitches(p, to: window, output: output, input: input, into: result)
            }
        }
    }
}

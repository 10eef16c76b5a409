// What the top-k pass of `Replay` keeps of each forward batch.
import Layers

/// The max-pooling switches the projections need from the top-k pass, per pooling layer one
/// array of (C, outH, outW) blocks, one block per recorded probe.
///
/// Only probes that entered some top-k list when offered are recorded (the others can never be in
/// a final list): 497 of 1024 for the demo's trained zf-fmnist snapshot. The storage is allocated for all P
/// probes before the first batch (address space only: pages nobody writes are never touched) and
/// each batch's recorded blocks are copied in: kept as the layer hands them over, one array per
/// batch, they were allocated between the batch's activations and pinned the heap around them once
/// those were freed, so later batches could not reuse all of that memory (measured at 256 images
/// per batch: 41.8k -> 40.2k page faults per monitor process).
public struct RecordedSwitches {
    /// One pooling layer's kept switches, (kept probes, C, outH, outW), in storage allocated for
    /// all P probes up front. Positions are 16 bits wide where the layer's input planes hold
    /// fewer than 65,536 values (every preset: half the memory, 2.3k fewer page faults per monitor
    /// process on the demo snapshot), 32 bits otherwise; a switch that routes nowhere (-1, the
    /// planes no projection reads) is 65,535 in 16 bits, past every such plane. Copied in by a plain loop: appending to a
    /// Swift array element by element through a lazy conversion took 14 ms per process, all of it
    /// on the serial path between batches.
    ///
    /// A class, so a copy of `RecordedSwitches` shares the storage: the replay keeps one and
    /// only reads it once the pass is done.
    private final class Column {
        let perImage: Int, narrow: Bool
        private let capacity: Int
        private let base: UnsafeMutableRawPointer
        private(set) var blocks = 0

        init(probes: Int, perImage: Int, plane: Int) {
            self.perImage = perImage
            narrow = plane < 1 << 16
            capacity = probes
            // Address space for every probe; pages nobody writes are never touched.
            base = .allocate(byteCount: max(1, probes * perImage * (narrow ? 2 : 4)), alignment: 64)
        }
        deinit { base.deallocate() }

        func append(_ block: UnsafePointer<Int32>) {
            precondition(blocks < capacity, "more probes kept than announced")
            if narrow {
                let to = base.assumingMemoryBound(to: UInt16.self) + blocks * perImage
                for e in 0..<perImage { to[e] = UInt16(truncatingIfNeeded: block[e]) }
            } else {
                (base.assumingMemoryBound(to: Int32.self) + blocks * perImage).update(from: block, count: perImage)
            }
            blocks += 1
        }

        func block(_ slot: Int) -> Switches {
            narrow ? .narrow(UnsafePointer(base.assumingMemoryBound(to: UInt16.self) + slot * perImage))
                   : .wide(UnsafePointer(base.assumingMemoryBound(to: Int32.self) + slot * perImage))
        }
    }
    private var storage: [Int: Column] = [:]
    /// Each recorded probe's block index, the same in every layer's storage.
    private var slots: [Int: Int] = [:]

    /// `pools`: the pooling layers the pass will run, by layer index, with their switches per image
    /// and the size of their input planes (positions range over 0 ..< plane).
    init(probes: Int, pools: [(layer: Int, perImage: Int, plane: Int)]) {
        slots.reserveCapacity(probes)
        for pool in pools { storage[pool.layer] = Column(probes: probes, perImage: pool.perImage, plane: pool.plane) }
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
            guard let column = storage[layer] else { preconditionFailure("pooling layer \(layer) was not announced") }
            let per = column.perImage
            precondition(images.allSatisfy { ($0 + 1) * per <= switches.count }, "pooling layer \(layer): too few switches for the batch")
            switches.withUnsafeBufferPointer { all in
                for i in images { column.append(all.baseAddress! + i * per) }
            }
        }
    }

    /// `body` with the switches of probe `image` at pooling layer `layer`, as `MaxPool2D.cropSwitches` reads them.
    func withSwitches<R>(layer: Int, image: Int, _ body: (Switches) -> R) -> R {
        guard let slot = slots[image] else { preconditionFailure("probe \(image) entered no top-k list, so its switches were not kept") }
        return body(storage[layer]!.block(slot))
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

import Tensors
import Layers

/// Replays the probe set through one snapshot's network: top-k search at every conv block and
/// the deconvnet projection of each top activation (Zeiler & Fergus, section 2.1).
public struct Replay {
    public let network: Network
    public let probes: ProbeSet
    public let k: Int
    /// Images per forward batch in the top-k search. 64 rather than 256: the results are the same
    /// bit for bit and a warm replay as fast (`deconvscope-bench monitor`, 5 alternating pairs on a
    /// busy machine: 0.145-0.258 s against 0.132-0.274 s, medians 0.162 and 0.164 s), but a
    /// monitor process touches 64 MB less fresh memory (conv1's output alone is 26 MB at 256), so
    /// it takes 16k fewer page faults: 404 against 442 CPU ms for the whole `monitor --force`
    /// process (perf stat, 6 runs each).
    public var batchSize = 64
    /// Projections per backward batch. Small, because a projection's tensors are almost all zero
    /// and the backward passes over them whole: at 32 they stay in cache (4 MB at conv1's output)
    /// where 256 streamed 134 MB per batch through memory (measured: 0.174-0.191 s -> 0.165-0.172
    /// s per snapshot; 16 and 64 the same as 32).
    public var projectionBatchSize = 32
    /// Projects every block by a fresh forward of its probes (`projectWithFreshForward`), as
    /// blocks with an LRN at or below them must: for tests that compare it with the crop path.
    var alwaysProjectWithFreshForward = false

    public init(network: Network, probes: ProbeSet, k: Int) {
        self.network = network
        self.probes = probes
        self.k = k
    }

    public func analyze(epoch: Int, step: Int) -> SnapshotAnalysis {
        let blocks = network.convBlocks
        guard let last = blocks.last else { return SnapshotAnalysis(epoch: epoch, step: step, probes: probes.count, layers: []) }
        let p = probes.count
        var tops = blocks.map { [TopK](repeating: TopK(k: k), count: $0.outputShape[0]) }
        var maxPerProbe = blocks.map { Tensor(zeros: [$0.outputShape[0], p]) }
        var sums = blocks.map { [Double](repeating: 0, count: $0.outputShape[0]) }
        let blockAt = Dictionary(uniqueKeysWithValues: blocks.enumerated().map { ($1.outputIndex, $0) })
        // Every probe's pooling switches, kept from this pass so the projections need no second forward.
        let pools = network.layers.indices.filter { $0 <= last.outputIndex && network.layers[$0] is MaxPool2D }
        var recorded = RecordedSwitches(probes: p,
                                        pools: pools.map { ($0, network.layers[$0].outputShape.reduce(1, *), network.layers[$0].inputShape.dropFirst().reduce(1, *)) })
        // Each pooling layer's input too: its switches are decided by the tie rule (`NearTies`).
        let observed = Set(blockAt.keys).union(pools).union(pools.map { $0 - 1 }.filter { $0 >= 0 })
        // 1. Top-k search: one inference pass over the probes, scanning each block's output maps.
        for start in stride(from: 0, to: p, by: batchSize) { PhaseTimings.measure("top-k forward") {
            let batch = probes.inputs.slice(start..<min(p, start + batchSize))
            let n = batch.shape[0]
            var poolInput = batch   // the input of the pooling layer the forward reaches next
            // This batch's pooling (input, output): the switches of the planes a projection can read
            // are decided below, for the probes that entered a top-k list (the only ones a
            // projection can start from); the forward keeps none.
            var pooled: [(layer: Int, input: Tensor, output: Tensor)] = []
            // (block, channel, image) 1 where the image entered that map's top-k list.
            var entered = blocks.map { _ in [UInt8]() }
            _ = network.forward(batch, mode: .evaluation, through: last.outputIndex, observing: observed) { index, y in
                if pools.contains(index + 1) { poolInput = y }
                if network.layers[index] is MaxPool2D { pooled.append((index, poolInput, y)) }
                guard let b = blockAt[index] else { return }
                let (c, h, w) = (y.shape[1], y.shape[2], y.shape[3])
                let plane = h * w
                entered[b] = [UInt8](repeating: 0, count: c * n)
                // Each map's peak and sum on all cores.
                withUnsafeTemporaryAllocation(of: PlanePeak.self, capacity: n * c) { peaks in
                    let peaksBase = peaks.baseAddress!
                    y.data.withUnsafeBufferPointer { yp in
                        let maps = yp.baseAddress!
                        parallelRanges(n * c, minimum: 1024) { range in
                            for m in range { (peaksBase + m).initialize(to: PlanePeak(maps + m * plane, count: plane)) }
                        }
                    }
                    // Then each map's top-k list, sum and maxima, a map per thread at a time: a map's
                    // probes are offered in probe order, whichever thread takes it.
                    tops[b].withUnsafeMutableBufferPointer { topLists in
                    sums[b].withUnsafeMutableBufferPointer { mapSums in
                    maxPerProbe[b].data.withUnsafeMutableBufferPointer { maxima in
                    entered[b].withUnsafeMutableBufferPointer { flags in
                        let (topBase, sumBase, maxBase, flagBase) = (topLists.baseAddress!, mapSums.baseAddress!, maxima.baseAddress!, flags.baseAddress!)
                        parallelRanges(c, minimum: 8) { channels in
                            for ch in channels {
                                var top = topBase[ch], sum = sumBase[ch]
                                for i in 0..<n {
                                    let peak = peaksBase[i * c + ch]
                                    sum += Double(peak.sum) / Double(plane)
                                    maxBase[ch * p + start + i] = peak.value
                                    if top.offer(Activation(image: start + i, y: peak.at / w, x: peak.at % w, value: peak.value)) {
                                        flagBase[ch * n + i] = 1
                                    }
                                }
                                (topBase[ch], sumBase[ch]) = (top, sum)
                            }
                        }
                    } } } }
                }
            }
            // The planes a projection can read: a map's own plane of a pooling inside its block
            // (the layers after the conv act per channel, unless one needs forward state, whose block
            // is projected by a fresh forward anyway), every plane of a pooling below its block.
            var needed = pooled.map { [Bool](repeating: false, count: n * network.layers[$0.layer].outputShape[0]) }
            for (b, block) in blocks.enumerated() where !entered[b].isEmpty {
                let c = block.outputShape[0]
                for (q, pool) in pooled.enumerated() where pool.layer <= block.outputIndex {
                    let channels = network.layers[pool.layer].outputShape[0]
                    let ownPlaneOnly = pool.layer > block.convIndex && channels == c
                        && !network.layers[pool.layer...block.outputIndex].contains(where: \.deconvnetNeedsForwardState)
                    for ch in 0..<c {
                        for i in 0..<n where entered[b][ch * n + i] != 0 {
                            if ownPlaneOnly { needed[q][i * channels + ch] = true } else { for j in 0..<channels { needed[q][i * channels + j] = true } }
                        }
                    }
                }
            }
            let keep = (0..<n).filter { i in needed.indices.contains { q in
                let channels = needed[q].count / n
                return needed[q][(i * channels)..<((i + 1) * channels)].contains(true)
            } }
            let switches = pooled.indices.map { q in
                (network.layers[pooled[q].layer] as! MaxPool2D).tieSwitches(input: pooled[q].input, output: pooled[q].output,
                                                                             planes: needed[q].indices.filter { needed[q][$0] })
            }
            recorded.record(images: keep, firstProbe: start, from: zip(pooled, switches).map { ($0.layer, $1) })
        } }

        // 2. Projections: every top activation alone, down through the same backward with the deconvnet rule.
        let topItems = tops.map { $0.map(\.items) }
        let projections = PhaseTimings.measure("projections") { projectAll(blocks, tops: topItems, switches: recorded) }
        var layers: [LayerAnalysis] = []
        for (b, block) in blocks.enumerated() {
            let (top, projections) = (topItems[b], projections[b])
            let boxes = top.map { $0.map { network.receptiveBox(layer: block.outputIndex, y: $0.y, x: $0.x) } }
            let conv = network.layers[block.convIndex] as! Conv2D
            let sampling = network.samplingStride(of: block)
            layers.append(LayerAnalysis(
                name: block.name, mapShape: Array(block.outputShape.dropFirst()), top: top, boxes: boxes,
                projections: projections, maxPerProbe: maxPerProbe[b],
                meanActivation: sums[b].map { Float($0 / Double(max(1, p))) },
                weight: conv.weight.value, bias: conv.bias.value, samplingStride: sampling,
                convStride: conv.shape.window.stride, kernel: conv.shape.window.kernel))
        }
        return SnapshotAnalysis(epoch: epoch, step: step, probes: p, layers: layers)
    }

    /// Each block's projections (`project`). The top block's, the largest part, on this thread while
    /// the blocks below it go through on a stream beside it (`ComputeBudget.concurrently`): each
    /// block's batches are small parallel loops that left a core idle between them (the phase used
    /// 1.2 of the 2 cores). One after the other where a block is projected by a fresh forward, which
    /// runs the network itself.
    func projectAll(_ blocks: [ConvBlock], tops: [[[Activation]]], switches recorded: RecordedSwitches) -> [Tensor] {
        let freshForward = alwaysProjectWithFreshForward || blocks.contains { network.layers[0...$0.outputIndex].contains(where: \.deconvnetNeedsForwardState) }
        guard blocks.count > 1, !freshForward else {
            return zip(blocks, tops).map { project(block: $0, top: $1, switches: recorded) }
        }
        let below = Array(zip(blocks, tops).dropLast())
        let (top, rest) = ComputeBudget.concurrently({ project(block: blocks[blocks.count - 1], top: tops[tops.count - 1], switches: recorded) },
                                                     beside: { [self] in below.map { project(block: $0, top: $1, switches: recorded) } })
        return rest + [top]
    }

    /// (C, k, inC, H, W) projections of `top` at `block`'s output, batched. Each activation goes
    /// down the same backward with `BackwardRule.deconvnet`, run on the layers restricted to its
    /// receptive field (`ReceptiveCrop`): a seed holding only the chosen activation, its probe's
    /// pooling switches from the top-k pass translated into the windows, and the bottom window's
    /// in-image part pasted into the projection, which is zero elsewhere.
    ///
    /// A block with a layer at or below it whose deconvnet reads forward state the top-k pass does
    /// not record (LRN's true gradient reads its input) is projected by a fresh forward instead.
    public func project(block: ConvBlock, top: [[Activation]], switches recorded: RecordedSwitches) -> Tensor {
        let shape = probes.imageShape, imageSize = shape.reduce(1, *)
        let (inC, height, width) = (shape[0], shape[1], shape[2])
        let c = block.outputShape[0]
        let items = projectionItems(top)
        if alwaysProjectWithFreshForward || network.layers[0...block.outputIndex].contains(where: \.deconvnetNeedsForwardState) {
            return projectWithFreshForward(block: block, items: items)
        }
        // Every layer kind that can come before a conv block without forward state has a window.
        guard let crop = network.receptiveCrop(top: block.outputIndex) else { preconditionFailure("no receptive crop below \(block.name)") }
        let pools = recorded.layers.filter { $0 <= block.outputIndex }.sorted().map {
            (index: $0, full: network.layers[$0] as! MaxPool2D, window: crop.layers[$0] as! MaxPool2D)
        }
        let bottom = crop.extents[0]
        var out = Tensor(zeros: [c, k] + shape)
        for start in stride(from: 0, to: items.count, by: projectionBatchSize) {
            let chunk = items[start..<min(items.count, start + projectionBatchSize)]
            let origins = chunk.map { crop.origins(y: $0.act.y, x: $0.act.x) }
            var seed = Tensor(zeros: [chunk.count, c, 1, 1])
            for (j, item) in chunk.enumerated() { seed.data[j * c + item.channel] = item.act.value }
            for pool in pools {
                let per = pool.window.outputShape.reduce(1, *)
                let switches = [Int32](unsafeUninitializedCapacity: chunk.count * per) { buffer, initialized in
                    let base = buffer.baseAddress!
                    parallelRanges(chunk.count, minimum: 8) { range in
                        for j in range {
                            let item = chunk[chunk.startIndex + j]
                            recorded.withSwitches(layer: pool.index, image: item.act.image) { full in
                                full.crop(pool.full, to: pool.window, output: origins[j][pool.index + 1],
                                          input: origins[j][pool.index], into: base + j * per)
                            }
                        }
                    }
                    initialized = chunk.count * per
                }
                pool.window.restore(switches: switches, batch: chunk.count)
            }
            let projected = crop.deconvnet(seed, origins: origins)   // (n, inC, bottom.height, bottom.width)
            for (j, item) in chunk.enumerated() {
                let dst = (item.channel * k + item.slot) * imageSize, origin = origins[j][0]
                let rows = max(0, -origin.row)..<min(bottom.height, height - origin.row)
                let cols = max(0, -origin.col)..<min(bottom.width, width - origin.col)
                for ch in 0..<inC {
                    for r in rows {
                        let from = ((j * inC + ch) * bottom.height + r) * bottom.width
                        let to = dst + (ch * height + origin.row + r) * width + origin.col
                        for x in cols { out.data[to + x] = projected.data[from + x] }
                    }
                }
            }
        }
        return out
    }

    /// The top activations to project, (map, slot in its top-k list, activation). A zero seed
    /// projects to zero (the backward is linear in it), which a fresh projection tensor holds.
    func projectionItems(_ top: [[Activation]]) -> [(channel: Int, slot: Int, act: Activation)] {
        top.enumerated().flatMap { ch, acts in acts.enumerated().filter { $0.element.value != 0 }.map { (ch, $0, $1) } }
    }
}

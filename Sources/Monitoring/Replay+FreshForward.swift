import Tensors
import Layers

extension Replay {
    /// (C, k, inC, H, W) projections of `items` at `block`'s output by whole-network passes: for
    /// each batch of items, a fresh inference forward of their probes through the block, with
    /// each pooling layer's switches decided by the tie rule exactly as the top-k pass does
    /// (`MaxPool2D.tieSwitches`), then the deconvnet backward of a seed holding only each
    /// item's activation. For blocks whose layers' deconvnet reads forward state that the top-k
    /// pass does not record (LRN's true gradient reads its input), where the `ReceptiveCrop` path
    /// cannot run. On other blocks it gives the crop path's projections (to float rounding), at
    /// the price of a forward and a whole-plane backward per item.
    func projectWithFreshForward(block: ConvBlock, items: [(channel: Int, slot: Int, act: Activation)]) -> Tensor {
        let shape = probes.imageShape, imageSize = shape.reduce(1, *)
        let (c, oh, ow) = (block.outputShape[0], block.outputShape[1], block.outputShape[2])
        let pools = Set(network.layers.indices.filter { $0 <= block.outputIndex && network.layers[$0] is MaxPool2D })
        // Each pooling layer's input too, for the tie rule.
        let observed = pools.union(pools.map { $0 - 1 }.filter { $0 >= 0 })
        var out = Tensor(zeros: [c, k] + shape)
        for start in stride(from: 0, to: items.count, by: projectionBatchSize) {
            let chunk = items[start..<min(items.count, start + projectionBatchSize)]
            // One row per item, (n, inC, H, W): an image chosen by several maps is run once per item.
            let batch = Tensor(uninitialized: [chunk.count] + shape) { rows in
                probes.inputs.data.withUnsafeBufferPointer { images in
                    for (j, item) in chunk.enumerated() {
                        (rows.baseAddress! + j * imageSize).update(from: images.baseAddress! + item.act.image * imageSize, count: imageSize)
                    }
                }
            }
            var poolInput = batch   // the input of the pooling layer the forward reaches next
            _ = network.forward(batch, mode: .inference, through: block.outputIndex, observing: observed) { index, y in
                if pools.contains(index + 1) { poolInput = y }
                if pools.contains(index), let pool = network.layers[index] as? MaxPool2D {
                    pool.restore(switches: pool.tieSwitches(input: poolInput, output: y), batch: chunk.count)
                }
            }
            var seed = Tensor(zeros: [chunk.count, c, oh, ow])
            for (j, item) in chunk.enumerated() { seed.data[((j * c + item.channel) * oh + item.act.y) * ow + item.act.x] = item.act.value }
            let projected = network.backward(seed, from: block.outputIndex, rule: .deconvnet, accumulateParameterGradients: false)
            projected.data.withUnsafeBufferPointer { from in
            out.data.withUnsafeMutableBufferPointer { to in
                for (j, item) in chunk.enumerated() {
                    (to.baseAddress! + (item.channel * k + item.slot) * imageSize).update(from: from.baseAddress! + j * imageSize, count: imageSize)
                }
            } }
        }
        return out
    }
}

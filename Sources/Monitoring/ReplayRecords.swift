// What the top-k pass of `Replay` keeps of each forward batch.

/// Every probe's max-pooling switches from the top-k pass, per pooling layer one array per
/// forward batch, as the layer handed them over (no copy into one probe-wide array).
public struct RecordedSwitches {
    let batchSize: Int
    private var batches: [Int: [[Int32]]] = [:]
    /// Switches per image, (C, outH, outW) elements, by layer index.
    private(set) var perImage: [Int: Int] = [:]

    init(batchSize: Int) { self.batchSize = batchSize }

    var layers: [Int] { Array(batches.keys) }

    mutating func append(_ switches: [Int32], layer: Int, perImage count: Int) {
        batches[layer, default: []].append(switches)
        perImage[layer] = count
    }

    /// The switches of probe `image` at pooling layer `layer`.
    func switches(layer: Int, image: Int) -> ArraySlice<Int32> {
        let per = perImage[layer]!, offset = (image % batchSize) * per
        return batches[layer]![image / batchSize][offset..<(offset + per)]
    }
}

import Tensors

/// A conv layer together with the layers that directly follow it and join its block
/// (`BlockRole.member`: ReLU, pooling, normalization). The monitor looks at a block's output
/// (after its ReLU and pooling), as Zeiler & Fergus did.
public struct ConvBlock: Sendable, Equatable {
    public let name: String
    /// Index of the conv layer in `Network.layers`.
    public let convIndex: Int
    /// Index of the block's last layer (the conv itself, or its last member).
    public let outputIndex: Int
    /// Per-sample output shape (C, H, W) of the block.
    public let outputShape: [Int]
}

/// An axis-aligned box of input pixels, rows `top..<bottom`, columns `left..<right`.
public struct PixelBox: Equatable, Sendable, Codable {
    public var top: Int, left: Int, bottom: Int, right: Int
    public init(top: Int, left: Int, bottom: Int, right: Int) {
        self.top = top; self.left = left; self.bottom = bottom; self.right = right
    }
    public var height: Int { bottom - top }
    public var width: Int { right - left }
}

extension Network {
    /// Every conv block, in depth order.
    public var convBlocks: [ConvBlock] {
        var blocks: [ConvBlock] = []
        for (i, layer) in layers.enumerated() where layer.blockRole == .head {
            var end = i
            while end + 1 < layers.count, layers[end + 1].blockRole == .member { end += 1 }
            blocks.append(ConvBlock(name: layer.name!, convIndex: i, outputIndex: end, outputShape: layers[end].outputShape))
        }
        return blocks
    }

    /// How far apart, in input pixels of its conv, a block's output positions are: the product of
    /// the strides from its conv to its output (the aliasing test's sampling).
    public func samplingStride(of block: ConvBlock) -> Int {
        (block.convIndex...block.outputIndex).reduce(1) { $0 * (layers[$1].window?.stride ?? 1) }
    }

    /// The input pixels that can influence output position (y, x) of layer `index`, composed from
    /// each spatial layer's (kernel, stride, padding). Unclipped: may extend past the image.
    public func receptiveSpan(layer index: Int, y: Int, x: Int) -> (rows: ClosedRange<Int>, cols: ClosedRange<Int>) {
        var span = (rows: y...y, cols: x...x)
        for i in stride(from: index, through: 0, by: -1) { span = layers[i].inputSpan(rows: span.rows, cols: span.cols) }
        return span
    }

    /// The receptive field of output (y, x) of layer `index`, clipped to the input image.
    public func receptiveBox(layer index: Int, y: Int, x: Int) -> PixelBox {
        let span = receptiveSpan(layer: index, y: y, x: x)
        return PixelBox(top: max(0, span.rows.lowerBound), left: max(0, span.cols.lowerBound),
                        bottom: min(spec.input[1], span.rows.upperBound + 1), right: min(spec.input[2], span.cols.upperBound + 1))
    }

    /// Receptive-field side length (unclipped) and cumulative stride ("jump") of layer `index`'s output.
    public func receptiveFieldSize(layer index: Int) -> (size: Int, jump: Int) {
        let span = receptiveSpan(layer: index, y: 0, x: 0)
        var jump = 1
        for i in 0...index { if let w = layers[i].window { jump *= w.stride } }
        return (span.rows.count, jump)
    }
}

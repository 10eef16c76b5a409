import Tensors
import Layers

/// What the monitor measured for one conv block of one snapshot: the contract's
/// `Reports/<run>/data/epoch-NNNN.h5` group `/<layer>` holds exactly this.
public struct LayerAnalysis: Sendable, Equatable {
    public var name: String
    /// Block output map size (H, W), after the block's ReLU and pooling.
    public var mapShape: [Int]
    /// (C, k): each feature map's strongest probe activations, strongest first.
    public var top: [[Activation]]
    /// (C, k): the receptive field of each top activation in input pixels (clipped to the image).
    public var boxes: [[PixelBox]]
    /// (C, k, inC, H, W): deconvnet projection of each top activation alone, seeded with its value.
    public var projections: Tensor
    /// (C, P): each probe's maximum over the map, the per-probe response of each feature.
    public var maxPerProbe: Tensor
    /// (C): mean activation over probes and positions.
    public var meanActivation: [Float]
    /// The conv layer's weights (F, C, k, k) and biases (F) in this snapshot.
    public var weight: Tensor
    public var bias: Tensor
    /// Product of the strides of the conv and its block's pooling: how far apart the block's
    /// outputs sample the conv's input.
    public var samplingStride: Int
    /// Stride of the conv alone, and its kernel.
    public var convStride: Int
    public var kernel: Int

    public var channels: Int { top.count }
    public var k: Int { top.first?.count ?? 0 }

    /// Share of probes on which feature `c` fires anywhere (max > 0).
    public func fireRate(_ c: Int) -> Float {
        let p = maxPerProbe.shape[1]
        var n = 0
        for i in 0..<p where maxPerProbe.data[c * p + i] > 0 { n += 1 }
        return p == 0 ? 0 : Float(n) / Float(p)
    }

    public func maxActivation(_ c: Int) -> Float { top[c].first?.value ?? 0 }

    /// Feature `c`'s top activations that are not exactly zero: the ones with something to
    /// project. A map that fires on fewer than k probes (a dead one on none) fills the rest of
    /// its top-k with zeros on arbitrary probes, whose projections are zero by linearity.
    /// After a ReLU the list is non-negative and sorted strongest first, so these are a prefix.
    public func responses(_ c: Int) -> ArraySlice<Activation> { top[c].prefix { $0.value != 0 } }
}

/// The monitor's result for one snapshot.
public struct SnapshotAnalysis: Sendable, Equatable {
    public var epoch: Int
    public var step: Int
    public var probes: Int
    public var layers: [LayerAnalysis]
    /// Occlusion maps of the first probes (empty when occlusion is off), and the square used.
    public var occlusion: [OcclusionMap] = []
    public var occlusionSize = 0
    public var occlusionStride = 0
}

/// A stride-1 convolution by Winograd's F(m x m, r x r) (see `WinogradTransform`): each image is
/// cut into m x m output tiles; each tile's n x n input patch, each filter and each output tile
/// go through small transforms, and what is left is n² independent GEMMs over channels, one per
/// transform-domain position ξ:
///
///     M[ξ] (T, F) = V[ξ] (T, C) x U[ξ]ᵀ (C, F)        forward
///     dU[ξ] (F, C) += dM[ξ]ᵀ (F, T) x V[ξ] (T, C)      weight gradient
///     dV[ξ] (T, C) = dM[ξ] (T, F) x U[ξ] (F, C)        input gradient
///
/// for T tiles. The backward pass is the exact transpose of the forward's linear maps (chain rule
/// through Aᵀ, ⊙ U, Bᵀ and G), so gradients are those of the function computed, not of a second
/// approximation. For conv2 of zf-fmnist (5x5, 32 -> 64 channels, 14 x 14) F(4, 5) does 2.1 M
/// multiply-adds per image where im2col + GEMM does 10 M.
///
/// Tiles keep channels innermost (the transforms run over contiguous channel vectors and the
/// GEMMs read (T, C) rows directly); images enter and leave in NCHW through one blocked transpose
/// each (`transpose`).
/// Work is split like `Conv2D`'s: a fixed number of groups, each with its own buffers and a
/// chunk of images at a time, so the weight-gradient sum has a fixed order.
public final class WinogradConvolution: @unchecked Sendable {
    public let shape: ConvShape
    public let outChannels: Int
    public let transform: WinogradTransform
    let m: Int, n: Int
    let tilesY: Int, tilesX: Int
    /// Padded input in (Hp, Wp, C): every tile's n x n patch lies inside it.
    let paddedHeight: Int, paddedWidth: Int
    let bt: TransformMatrix, b: TransformMatrix, at: TransformMatrix, a: TransformMatrix
    /// G for the filters, Gᵀ for their gradient.
    let g: TransformMatrix, gt: TransformMatrix

    /// Images per chunk: about 64 tiles, so each of the n² GEMMs has a useful size while V and M
    /// (n² x 64 x C and n² x 64 x F floats) stay near the core's L2 (measured: 32 and 128 tiles were
    /// 3-5% slower on conv2, 256 tiles 20%).
    let chunkImages: Int
    var tilesPerImage: Int { tilesY * tilesX }
    /// Multiply-adds of one image's n² transform-domain products, per pass (forward, or either gradient).
    public var multiplyAddsPerImage: Int { n * n * tilesPerImage * shape.channels * outChannels }

    /// Filters in the transform domain, (n², F, C) for the input gradient and transposed, (n², C, F),
    /// for the forward (`smallGEMM` reads B row-major), and the weights they were made from.
    private var transformedFilters: [Float] = []
    private var transformedFiltersTransposed: [Float] = []
    private var filtersSource: [Float] = []
    private var workspace: [Float] = []

    /// Nil unless the convolution has stride 1 and a kernel with a tabulated tile size.
    public init?(shape: ConvShape, outChannels: Int) {
        let window = shape.window
        guard window.stride == 1, let m = WinogradTransform.outputTile(forKernel: window.kernel) else { return nil }
        self.shape = shape
        self.outChannels = outChannels
        transform = WinogradTransform(m: m, r: window.kernel)
        self.m = m; n = transform.n
        tilesY = (shape.outHeight + m - 1) / m
        tilesX = (shape.outWidth + m - 1) / m
        paddedHeight = tilesY * m + window.kernel - 1
        paddedWidth = tilesX * m + window.kernel - 1
        bt = TransformMatrix(transform.bt, rows: n, cols: n)
        b = TransformMatrix(transform.bt, rows: n, cols: n, transposed: true)
        at = TransformMatrix(transform.at, rows: m, cols: n)
        a = TransformMatrix(transform.at, rows: m, cols: n, transposed: true)
        g = TransformMatrix(transform.g, rows: n, cols: window.kernel)
        gt = TransformMatrix(transform.g, rows: n, cols: window.kernel, transposed: true)
        chunkImages = max(1, 64 / (tilesY * tilesX))
    }

    // MARK: Buffers

    /// One group's slices of `workspace`.
    struct GroupBuffers {
        let padded: UnsafeMutablePointer<Float>          // (Hp, Wp, C), zero outside the image
        let paddedGradient: UnsafeMutablePointer<Float>  // (Hp, Wp, C)
        let outputTiles: UnsafeMutablePointer<Float>     // (tilesY m, tilesX m, F)
        let v: UnsafeMutablePointer<Float>               // (n², T, C): transformed input, then its gradient
        let mBuffer: UnsafeMutablePointer<Float>         // (n², T, F): transformed output or its gradient
        let filterGradient: UnsafeMutablePointer<Float>  // (n², F, C)
        let scratch: UnsafeMutablePointer<Float>         // (transformTileScratchLines, max(C, F))
    }

    private var groupStride: Int {
        let c = shape.channels, f = outChannels, t = chunkImages * tilesPerImage, nn = n * n
        let paddedSize = paddedHeight * paddedWidth * c
        return 2 * paddedSize + tilesY * m * tilesX * m * f + nn * t * c + nn * t * f + nn * f * c + transformTileScratchLines * max(c, f)
    }

    private func withGroupBuffers<R>(_ groups: Int, _ body: ([GroupBuffers]) -> R) -> R {
        let per = groupStride
        if workspace.count < groups * per {
            // Not zero-filled: every part is written before it is read (the padded image's border is
            // zeroed below, the gradients' parts by the backward that uses them), and a forward-only
            // network (the monitor's) never touches the gradients' pages at all.
            workspace = [Float](unsafeUninitializedCapacity: groups * per) { _, initialized in initialized = groups * per }
        }
        let c = shape.channels, f = outChannels, t = chunkImages * tilesPerImage, nn = n * n
        let paddedSize = paddedHeight * paddedWidth * c
        return workspace.withUnsafeMutableBufferPointer { ws in
            body((0..<groups).map { g in
                var next = ws.baseAddress! + g * per
                func take(_ count: Int) -> UnsafeMutablePointer<Float> { defer { next += count }; return next }
                let padded = take(paddedSize)
                // Written only inside the image, so the border must start (and stays) zero.
                padded.update(repeating: 0, count: paddedSize)
                return GroupBuffers(padded: padded, paddedGradient: take(paddedSize), outputTiles: take(tilesY * m * tilesX * m * f),
                                    v: take(nn * t * c), mBuffer: take(nn * t * f), filterGradient: take(nn * f * c),
                                    scratch: take(transformTileScratchLines * max(c, f)))
            })
        }
    }

    /// U = G w Gᵀ for every (filter, channel), cached until the weights change: the backward pass
    /// of a step reuses the forward's.
    private func updateTransformedFilters(_ weight: UnsafeBufferPointer<Float>) {
        // Bit for bit: the element-wise `==` this replaced ran 3 ms per monitor process over 60
        // forward calls, and never matched NaN.
        if filtersSource.withUnsafeBufferPointer({ sameBits($0, weight) }) { return }
        filtersSource = Array(weight)
        let r = shape.window.kernel, pairs = outChannels * shape.channels
        // (F*C, r, r) -> (r, r, F*C) so one tile transform runs over all pairs as its lanes.
        var byPosition = [Float](repeating: 0, count: r * r * pairs)
        for pair in 0..<pairs { for q in 0..<(r * r) { byPosition[q * pairs + pair] = weight[pair * r * r + q] } }
        transformedFilters = [Float](repeating: 0, count: n * n * pairs)
        var scratch = [Float](repeating: 0, count: transformTileScratchLines * pairs)
        transformTile(g, g, input: byPosition, inputRowStride: r * pairs, inputColStride: pairs,
                      output: &transformedFilters, outputRowStride: n * pairs, outputColStride: pairs,
                      lanes: pairs, scratch: &scratch)
        let (f, c) = (outChannels, shape.channels)
        transformedFiltersTransposed = [Float](repeating: 0, count: n * n * pairs)
        for xi in 0..<(n * n) { for o in 0..<f { for ch in 0..<c {
            transformedFiltersTransposed[(xi * c + ch) * f + o] = transformedFilters[(xi * f + o) * c + ch]
        } } }
    }

    // MARK: Forward

    /// `output` (N, F, outH, outW) = conv(`input` (N, C, H, W), `weight` (F, C, r, r)) + `bias` (F),
    /// and with `rectified` max(that, 0), applied as the tiles are written out. `thenEachImage`
    /// runs on an image's output as soon as it is written, on the thread that wrote it.
    public func forward(input: UnsafePointer<Float>, count: Int, weight: UnsafeBufferPointer<Float>,
                        bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, rectified: Bool = false, groups: Int,
                        thenEachImage: ((_ image: Int, _ output: UnsafePointer<Float>) -> Void)? = nil) {
        updateTransformedFilters(weight)
        let f = outChannels, c = shape.channels, nn = n * n
        transformedFiltersTransposed.withUnsafeBufferPointer { up in
            let ut = up.baseAddress!
            withGroupBuffers(groups) { buffers in
                parallelFor(groups) { group in
                    let buf = buffers[group]
                    forEachChunk(group: group, groups: groups, count: count) { images in
                        let t = images.count * tilesPerImage
                        for (slot, image) in images.enumerated() {
                            transformInput(input + image * shape.inputSize, buffers: buf, tileOffset: slot * tilesPerImage, tiles: t)
                        }
                        for xi in 0..<nn {
                            smallGEMM(m: t, n: f, k: c, a: buf.v + xi * t * c, aRow: c, aCol: 1,
                                      b: ut + xi * c * f, ldb: f, c: buf.mBuffer + xi * t * f, ldc: f, accumulate: false)
                        }
                        for (slot, image) in images.enumerated() {
                            transformOutput(buffers: buf, tileOffset: slot * tilesPerImage, tiles: t, bias: bias,
                                            output: output + image * f * shape.outputPositions, rectified: rectified)
                            thenEachImage?(image, output + image * f * shape.outputPositions)
                        }
                    }
                }
            }
        }
    }

    /// Calls `body` with this group's images, `chunkImages` at a time: image j belongs to group j % groups.
    @inline(__always)
    private func forEachChunk(group: Int, groups: Int, count: Int, _ body: ([Int]) -> Void) {
        let mine = Array(stride(from: group, to: count, by: groups))
        for start in stride(from: 0, to: mine.count, by: chunkImages) {
            body(Array(mine[start..<min(mine.count, start + chunkImages)]))
        }
    }

    /// One image (C, H, W) into V[ξ][tileOffset + tile][c] of a chunk with `tiles` tiles.
    private func transformInput(_ image: UnsafePointer<Float>, buffers buf: GroupBuffers, tileOffset: Int, tiles: Int) {
        let c = shape.channels, h = shape.height, w = shape.width, pad = shape.window.padding, wp = paddedWidth
        // NCHW -> (Hp, Wp, C) interior; the zero border is never written.
        forEachBlockOfFour(c) { c0, count in
            for y in 0..<h {
                transpose(rows: count, cols: w, image + c0 * h * w + y * w, srcRow: h * w,
                          buf.padded + ((y + pad) * wp + pad) * c + c0, dstRow: c)
            }
        }
        for ty in 0..<tilesY {
            for tx in 0..<tilesX {
                let tile = tileOffset + ty * tilesX + tx
                transformTile(bt, bt, input: buf.padded + (ty * m * wp + tx * m) * c, inputRowStride: wp * c, inputColStride: c,
                              output: buf.v + tile * c, outputRowStride: n * tiles * c, outputColStride: tiles * c,
                              lanes: c, scratch: buf.scratch)
            }
        }
    }

    /// M's tiles of one image back to pixels, plus the bias, into NCHW `output` (F, outH, outW).
    private func transformOutput(buffers buf: GroupBuffers, tileOffset: Int, tiles: Int, bias: UnsafePointer<Float>,
                                 output: UnsafeMutablePointer<Float>, rectified: Bool) {
        let f = outChannels, oh = shape.outHeight, ow = shape.outWidth, wide = tilesX * m
        for ty in 0..<tilesY {
            for tx in 0..<tilesX {
                let tile = tileOffset + ty * tilesX + tx
                transformTile(at, at, input: buf.mBuffer + tile * f, inputRowStride: n * tiles * f, inputColStride: tiles * f,
                              output: buf.outputTiles + (ty * m * wide + tx * m) * f, outputRowStride: wide * f, outputColStride: f,
                              lanes: f, scratch: buf.scratch)
            }
        }
        // (tilesY m, tilesX m, F) -> (F, outH, outW), dropping the tiles' overhang.
        forEachBlockOfFour(f) { f0, count in
            for y in 0..<oh {
                transpose(rows: ow, cols: count, buf.outputTiles + y * wide * f + f0, srcRow: f,
                          output + f0 * oh * ow + y * ow, dstRow: oh * ow, bias: bias + f0, rectified: rectified)
            }
        }
    }

    // MARK: Backward

    /// Weight gradient (added to `weightGradient` (F, C, r, r)) and, when `inputGradient` is given,
    /// the input gradient (N, C, H, W) of the forward pass on `input` with output gradient `dy`.
    public func backward(input: UnsafePointer<Float>?, outputGradient dy: UnsafePointer<Float>, count: Int,
                         weight: UnsafeBufferPointer<Float>, weightGradient: UnsafeMutablePointer<Float>?,
                         inputGradient: UnsafeMutablePointer<Float>?, groups: Int) {
        updateTransformedFilters(weight)
        let f = outChannels, c = shape.channels, nn = n * n
        let wantsWeights = weightGradient != nil && input != nil
        transformedFilters.withUnsafeBufferPointer { up in
            let u = up.baseAddress!
            withGroupBuffers(groups) { buffers in
                parallelFor(groups) { group in
                    let buf = buffers[group]
                    if wantsWeights { buf.filterGradient.update(repeating: 0, count: nn * f * c) }
                    forEachChunk(group: group, groups: groups, count: count) { images in
                        let t = images.count * tilesPerImage
                        for (slot, image) in images.enumerated() {
                            transformOutputGradient(dy + image * f * shape.outputPositions, buffers: buf, tileOffset: slot * tilesPerImage, tiles: t)
                        }
                        if wantsWeights {
                            for (slot, image) in images.enumerated() {
                                transformInput(input! + image * shape.inputSize, buffers: buf, tileOffset: slot * tilesPerImage, tiles: t)
                            }
                            for xi in 0..<nn {
                                smallGEMM(m: f, n: c, k: t, a: buf.mBuffer + xi * t * f, aRow: 1, aCol: f,
                                          b: buf.v + xi * t * c, ldb: c, c: buf.filterGradient + xi * f * c, ldc: c, accumulate: true)
                            }
                        }
                        guard let dx = inputGradient else { return }
                        for xi in 0..<nn {
                            smallGEMM(m: t, n: c, k: f, a: buf.mBuffer + xi * t * f, aRow: f, aCol: 1,
                                      b: u + xi * f * c, ldb: c, c: buf.v + xi * t * c, ldc: c, accumulate: false)
                        }
                        for (slot, image) in images.enumerated() {
                            transformInputGradient(buffers: buf, tileOffset: slot * tilesPerImage, tiles: t, output: dx + image * shape.inputSize)
                        }
                    }
                }
                guard wantsWeights, let dw = weightGradient else { return }
                addFilterGradient(buffers.map(\.filterGradient), into: dw)
            }
        }
    }

    /// dM[ξ][tile][f] = (A dY Aᵀ) for one image's output gradient (F, outH, outW).
    private func transformOutputGradient(_ dy: UnsafePointer<Float>, buffers buf: GroupBuffers, tileOffset: Int, tiles: Int) {
        let f = outChannels, oh = shape.outHeight, ow = shape.outWidth, wide = tilesX * m, high = tilesY * m
        // (F, outH, outW) -> (tilesY m, tilesX m, F), zero in the tiles' overhang.
        let tilesBuffer = buf.outputTiles
        if oh < high || ow < wide { tilesBuffer.update(repeating: 0, count: high * wide * f) }
        forEachBlockOfFour(f) { f0, count in
            for y in 0..<oh {
                transpose(rows: count, cols: ow, dy + f0 * oh * ow + y * ow, srcRow: oh * ow, tilesBuffer + y * wide * f + f0, dstRow: f)
            }
        }
        for ty in 0..<tilesY {
            for tx in 0..<tilesX {
                let tile = tileOffset + ty * tilesX + tx
                transformTile(a, a, input: tilesBuffer + (ty * m * wide + tx * m) * f, inputRowStride: wide * f, inputColStride: f,
                              output: buf.mBuffer + tile * f, outputRowStride: n * tiles * f, outputColStride: tiles * f,
                              lanes: f, scratch: buf.scratch)
            }
        }
    }

    /// dV's tiles of one image back through B (overlapping patches add), into NCHW `output` (C, H, W).
    private func transformInputGradient(buffers buf: GroupBuffers, tileOffset: Int, tiles: Int, output: UnsafeMutablePointer<Float>) {
        let c = shape.channels, h = shape.height, w = shape.width, pad = shape.window.padding, wp = paddedWidth
        buf.paddedGradient.update(repeating: 0, count: paddedHeight * wp * c)
        for ty in 0..<tilesY {
            for tx in 0..<tilesX {
                let tile = tileOffset + ty * tilesX + tx
                transformTile(b, b, input: buf.v + tile * c, inputRowStride: n * tiles * c, inputColStride: tiles * c,
                              output: buf.paddedGradient + (ty * m * wp + tx * m) * c, outputRowStride: wp * c, outputColStride: c,
                              lanes: c, scratch: buf.scratch, accumulate: true)
            }
        }
        // (Hp, Wp, C) interior -> (C, H, W); what landed in the padding is the gradient of constants.
        forEachBlockOfFour(c) { c0, count in
            for y in 0..<h {
                transpose(rows: w, cols: count, buf.paddedGradient + ((y + pad) * wp + pad) * c + c0, srcRow: c,
                          output + c0 * h * w + y * w, dstRow: h * w)
            }
        }
    }

    /// Sums the groups' dU in a fixed order, then dw += Gᵀ dU G, back in (F, C, r, r).
    private func addFilterGradient(_ parts: [UnsafeMutablePointer<Float>], into dw: UnsafeMutablePointer<Float>) {
        let r = shape.window.kernel, pairs = outChannels * shape.channels, nn = n * n
        var total = [Float](repeating: 0, count: nn * pairs)
        for part in parts { for i in 0..<(nn * pairs) { total[i] += part[i] } }
        var byPosition = [Float](repeating: 0, count: r * r * pairs)
        var scratch = [Float](repeating: 0, count: transformTileScratchLines * pairs)
        transformTile(gt, gt, input: total, inputRowStride: n * pairs, inputColStride: pairs,
                      output: &byPosition, outputRowStride: r * pairs, outputColStride: pairs,
                      lanes: pairs, scratch: &scratch)
        for pair in 0..<pairs { for q in 0..<(r * r) { dw[pair * r * r + q] += byPosition[q * pairs + pair] } }
    }
}

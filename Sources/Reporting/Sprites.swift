import Foundation
import Plot
import ImageIO
import Layers
import Monitoring
import Tensors

/// Pixel rules of the report's images; the pages state them in words.
enum Pixels {
    /// Contrast normalization of a projection (or a filter): `128 + 127 * v / m`, `m` = max |v| over
    /// the cropped projection, all channels sharing the scale, rounded half away from zero. Zero
    /// maps to mid gray, an all-zero projection stays mid gray; non-finite values show as 128.
    static func contrast(_ v: Float, maxAbs m: Float) -> UInt8 {
        guard m > 0, m.isFinite, v.isFinite else { return 128 }
        return UInt8(clamping: Int((128 + 127 * Double(v) / Double(m)).rounded()))
    }

    /// A raw probe pixel in [0, 1] as a byte: `v * 255`, rounded, clamped.
    static func raw(_ v: Float) -> UInt8 {
        guard v.isFinite else { return 0 }
        return UInt8(clamping: Int((Double(v) * 255).rounded()))
    }

    /// Channels shown: RGB for 3-channel inputs, gray otherwise (the first channel when the input
    /// has neither 1 nor 3 channels).
    static func shownChannels(_ channels: Int) -> Int { channels == 3 ? 3 : 1 }
}

/// A small 8-bit image with interleaved channels, ready to be placed in a sprite sheet.
struct Crop {
    var width: Int
    var height: Int
    var channels: Int
    var pixels: [UInt8]
}

/// Crops of planar float images `(channels, height, width)` stored at `offset` in `data`.
enum Render {
    /// The deconvnet projection cropped to `box`, contrast-normalized (see `Pixels.contrast`).
    static func projection(_ data: [Float], offset: Int, channels: Int, height: Int, width: Int, box: PixelBox) -> Crop {
        crop(data, offset: offset, channels: channels, height: height, width: width, box: box, contrast: true)
    }

    /// The probe's input pixels inside `box`, `v * 255`.
    static func patch(_ data: [Float], offset: Int, channels: Int, height: Int, width: Int, box: PixelBox) -> Crop {
        crop(data, offset: offset, channels: channels, height: height, width: width, box: box, contrast: false)
    }

    /// A whole filter `(channels, kh, kw)`, contrast-normalized over all its weights.
    static func filter(_ data: [Float], offset: Int, channels: Int, height: Int, width: Int) -> Crop {
        crop(data, offset: offset, channels: channels, height: height, width: width,
             box: PixelBox(top: 0, left: 0, bottom: height, right: width), contrast: true)
    }

    private static func crop(_ data: [Float], offset: Int, channels: Int, height: Int, width: Int, box: PixelBox, contrast: Bool) -> Crop {
        let top = max(0, box.top), left = max(0, box.left)
        let h = max(0, min(height, box.bottom) - top), w = max(0, min(width, box.right) - left)
        let shown = Pixels.shownChannels(channels), plane = height * width
        var m: Float = 0
        if contrast {
            for c in 0..<shown { for y in 0..<h { for x in 0..<w {
                let v = abs(data[offset + c * plane + (top + y) * width + left + x])
                if v.isFinite && v > m { m = v }
            } } }
        }
        var pixels = [UInt8](repeating: 0, count: w * h * shown)
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<shown {
                    let v = data[offset + c * plane + (top + y) * width + left + x]
                    pixels[(y * w + x) * shown + c] = contrast ? Pixels.contrast(v, maxAbs: m) : Pixels.raw(v)
                }
            }
        }
        return Crop(width: w, height: h, channels: shown, pixels: pixels)
    }
}

/// Where a tile sits in its sprite, in sprite pixels.
struct Tile {
    var x: Int
    var y: Int
    var width: Int
    var height: Int
}

/// Many small images tiled in one PNG: a grid of `columns x rows` cells of `cellWidth x
/// cellHeight`; each crop sits at its cell's top-left corner, the rest of the cell is unused
/// (black) and never shown, because a tile element is exactly as large as its crop.
struct SpriteSheet {
    let cellWidth: Int
    let cellHeight: Int
    private(set) var image: Image8

    init(columns: Int, rows: Int, cellWidth: Int, cellHeight: Int, channels: Int) {
        self.cellWidth = cellWidth
        self.cellHeight = cellHeight
        image = Image8(width: max(1, columns * cellWidth), height: max(1, rows * cellHeight), channels: channels)
    }

    @discardableResult
    mutating func place(_ crop: Crop, column: Int, row: Int) -> Tile {
        precondition(crop.channels == image.channels, "crop has \(crop.channels) channels, sprite \(image.channels)")
        let x0 = column * cellWidth, y0 = row * cellHeight
        let w = min(crop.width, cellWidth), h = min(crop.height, cellHeight)
        let ch = image.channels
        for y in 0..<h {
            let src = y * crop.width * ch, dst = ((y0 + y) * image.width + x0) * ch
            image.pixels.replaceSubrange(dst..<(dst + w * ch), with: crop.pixels[src..<(src + w * ch)])
        }
        return Tile(x: x0, y: y0, width: w, height: h)
    }
}

/// How a tile sits in its grid cell: a receptive field clipped by the image's top edge shows
/// the image content at the bottom of the cell, and so on, so that the tile keeps its place in
/// the receptive field; unclipped (or clipped on both sides) tiles are centred.
struct TileAlignment {
    var vertical: String?
    var horizontal: String?

    init(box: PixelBox, imageHeight: Int, imageWidth: Int, cellHeight: Int, cellWidth: Int) {
        func side(_ low: Int, _ high: Int, _ size: Int, _ cell: Int) -> String? {
            guard high - low < cell else { return nil }
            if low == 0 && high < size { return "end" }
            if high == size && low > 0 { return "start" }
            return nil
        }
        vertical = side(box.top, box.bottom, imageHeight, cellHeight)
        horizontal = side(box.left, box.right, imageWidth, cellWidth)
    }

    static let centered = TileAlignment()
    private init() {}

    /// Classes of style.css: `vs`/`ve` align to the start/end vertically, `hs`/`he` horizontally.
    var classes: String {
        (vertical.map { " v" + $0.prefix(1) } ?? "") + (horizontal.map { " h" + $0.prefix(1) } ?? "")
    }
}

extension Tile {
    /// Inline style of the element that shows this tile, upscaled by `scale` (numbers only).
    func style(scale: Int) -> String {
        "width:\(width * scale)px;height:\(height * scale)px;background-position:-\(x * scale)px -\(y * scale)px"
    }
}

extension PlacedTile {
    /// Class and style attributes of the element showing this tile of sprite class `sprite`.
    func attributes<C>(sprite: String, scale: Int) -> [Node<C>] {
        [.attr("class", "tile " + sprite + alignment.classes), .attr("style", tile.style(scale: scale))]
    }
}

extension SpriteSheet {
    /// The page-style rule that points a CSS class at this sprite, upscaled by `scale`.
    func cssRule(className: String, url: String, scale: Int) -> String {
        ".\(className){background-image:url(\(url));background-size:\(image.width * scale)px \(image.height * scale)px}"
    }
}

/// A tile with the receptive-field box it shows.
struct PlacedTile {
    var tile: Tile
    var alignment: TileAlignment
}

/// The Fig. 2 sprite of one layer at one epoch: one row per feature map, its k projection cells
/// followed by its k patch cells.
struct Fig2Sprite {
    private(set) var sheet: SpriteSheet
    /// [feature map][slot]: projection and patch of each top activation.
    private(set) var tiles: [[(projection: PlacedTile, patch: PlacedTile)]] = []

    /// `probes` is (P, C, H, W); the layer's projections are (C_out, k, C, H, W).
    init(layer: LayerAnalysis, probes: Tensor, cellHeight: Int, cellWidth: Int) {
        let k = layer.projections.shape.count == 5 ? layer.projections.shape[1] : layer.k
        let (c, h, w) = (probes.shape[1], probes.shape[2], probes.shape[3])
        let imageSize = c * h * w
        sheet = SpriteSheet(columns: 2 * k, rows: layer.channels, cellWidth: cellWidth, cellHeight: cellHeight,
                            channels: Pixels.shownChannels(c))
        for ch in 0..<layer.channels {
            var row: [(projection: PlacedTile, patch: PlacedTile)] = []
            // Zero activations have no projection and their probes are arbitrary: not drawn.
            for (j, activation) in layer.responses(ch).enumerated() where j < k {
                let box = layer.boxes[ch][j]
                let align = TileAlignment(box: box, imageHeight: h, imageWidth: w, cellHeight: cellHeight, cellWidth: cellWidth)
                let projection = Render.projection(layer.projections.data, offset: (ch * k + j) * imageSize, channels: c, height: h, width: w, box: box)
                let patch = Render.patch(probes.data, offset: activation.image * imageSize, channels: c, height: h, width: w, box: box)
                row.append((PlacedTile(tile: sheet.place(projection, column: j, row: ch), alignment: align),
                            PlacedTile(tile: sheet.place(patch, column: k + j, row: ch), alignment: align)))
            }
            tiles.append(row)
        }
    }
}

/// A grid sprite of feature maps (rows) by snapshot epochs (columns), filled one epoch at a
/// time: the Fig. 4 evolution (top-1 projection of every feature map, cropped to its box) and,
/// for the first layer, the filters themselves.
struct EpochGridSprite {
    private(set) var sheet: SpriteSheet
    private(set) var tiles: [[PlacedTile?]]

    init(rows: Int, epochs: Int, cellHeight: Int, cellWidth: Int, channels: Int) {
        sheet = SpriteSheet(columns: epochs, rows: rows, cellWidth: cellWidth, cellHeight: cellHeight, channels: channels)
        tiles = Array(repeating: Array(repeating: nil, count: epochs), count: rows)
    }

    /// The strongest projection of each feature map of `layer`, cropped to its box; none for a
    /// map that is zero on every probe.
    mutating func addTopProjections(_ layer: LayerAnalysis, column: Int, imageShape: [Int]) {
        let k = layer.projections.shape.count == 5 ? layer.projections.shape[1] : layer.k
        let (c, h, w) = (imageShape[0], imageShape[1], imageShape[2])
        for ch in 0..<min(layer.channels, tiles.count) {
            guard !layer.responses(ch).isEmpty, let box = layer.boxes[ch].first else { continue }
            let crop = Render.projection(layer.projections.data, offset: ch * k * c * h * w, channels: c, height: h, width: w, box: box)
            let align = TileAlignment(box: box, imageHeight: h, imageWidth: w, cellHeight: sheet.cellHeight, cellWidth: sheet.cellWidth)
            tiles[ch][column] = PlacedTile(tile: sheet.place(crop, column: column, row: ch), alignment: align)
        }
    }

    /// Every filter of `weight` (F, C, kh, kw), contrast-normalized per filter.
    mutating func addFilters(_ weight: Tensor, column: Int) {
        guard weight.shape.count == 4, weight.shape[2] == sheet.cellHeight, weight.shape[3] == sheet.cellWidth,
              Pixels.shownChannels(weight.shape[1]) == sheet.image.channels else { return }
        let (c, kh, kw) = (weight.shape[1], weight.shape[2], weight.shape[3])
        for f in 0..<min(weight.shape[0], tiles.count) {
            let crop = Render.filter(weight.data, offset: f * c * kh * kw, channels: c, height: kh, width: kw)
            tiles[f][column] = PlacedTile(tile: sheet.place(crop, column: column, row: f), alignment: .centered)
        }
    }
}

/// Colours of the occlusion maps.
enum Palette {
    /// Viridis, sampled at 0, 0.25, 0.5, 0.75, 1 and interpolated linearly: dark = low, yellow = high.
    static let viridis: [(Double, Double, Double)] = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]

    static func sequential(_ t: Double) -> [UInt8] {
        let v = t.isFinite ? min(1, max(0, t)) : 0
        let x = v * Double(viridis.count - 1), i = min(viridis.count - 2, Int(x)), f = x - Double(i)
        let a = viridis[i], b = viridis[i + 1]
        return [a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f, a.2 + (b.2 - a.2) * f].map { UInt8(clamping: Int($0.rounded())) }
    }

    /// The CSS gradient of the same scale, for legends.
    static var sequentialCSS: String {
        "linear-gradient(to right," + viridis.map { "rgb(\(Int($0.0)),\(Int($0.1)),\(Int($0.2)))" }.joined(separator: ",") + ")"
    }

    /// Categorical colours of classes (Tableau 10, then repeating darker).
    static let categorical: [(Int, Int, Int)] = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                                                 (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]

    static func category(_ index: Int) -> [UInt8] {
        let c = categorical[((index % categorical.count) + categorical.count) % categorical.count]
        let dim = (index / categorical.count) % 2 == 1 ? 0.6 : 1.0
        return [c.0, c.1, c.2].map { UInt8(clamping: Int((Double($0) * dim).rounded())) }
    }

    static func categoryCSS(_ index: Int) -> String {
        let c = category(index)
        return "rgb(\(c[0]),\(c[1]),\(c[2]))"
    }
}

/// The occlusion sprite of one snapshot (Zeiler & Fergus, Fig. 7): one row per image, columns
/// (input, feature activation, probability of the true class, most probable class), each an
/// RGB image of the input's size. Map value (r, q) belongs to the square at (r, q) x stride; every
/// pixel takes the value of the square whose centre is nearest, so maps line up with the image.
struct OcclusionSprite {
    private(set) var sheet: SpriteSheet
    private(set) var tiles: [[PlacedTile]] = []

    init(maps: [OcclusionMap], probes: Tensor, size: Int, stride: Int) {
        let (c, h, w) = (probes.shape[1], probes.shape[2], probes.shape[3])
        sheet = SpriteSheet(columns: 4, rows: maps.count, cellWidth: w, cellHeight: h, channels: 3)
        for (row, map) in maps.enumerated() {
            var crops: [Crop] = []
            let plane = h * w, offset = map.image * c * plane
            var input = [UInt8](repeating: 0, count: plane * 3)
            for y in 0..<h { for x in 0..<w { for ch in 0..<3 {
                let src = c == 3 ? ch : 0
                input[(y * w + x) * 3 + ch] = map.image < probes.shape[0] ? Pixels.raw(probes.data[offset + src * plane + y * w + x]) : 0
            } } }
            crops.append(Crop(width: w, height: h, channels: 3, pixels: input))
            let peak = max(map.cleanActivation, map.featureActivation.max() ?? 0)
            crops.append(Self.render(map, h, w, size, stride) { Palette.sequential(peak > 0 ? Double(map.featureActivation[$0] / peak) : 0) })
            crops.append(Self.render(map, h, w, size, stride) { Palette.sequential(Double(map.correctProbability[$0])) })
            crops.append(Self.render(map, h, w, size, stride) { Palette.category(map.predicted[$0]) })
            tiles.append(crops.enumerated().map { PlacedTile(tile: sheet.place($1, column: $0, row: row), alignment: .centered) })
        }
    }

    private static func render(_ map: OcclusionMap, _ h: Int, _ w: Int, _ size: Int, _ stride: Int, color: (Int) -> [UInt8]) -> Crop {
        func cell(_ p: Int, _ count: Int) -> Int {
            let centre = Double(size - 1) / 2
            return min(count - 1, max(0, Int(((Double(p) - centre) / Double(max(1, stride))).rounded())))
        }
        var pixels = [UInt8](repeating: 0, count: h * w * 3)
        guard map.rows > 0, map.cols > 0 else { return Crop(width: w, height: h, channels: 3, pixels: pixels) }
        for y in 0..<h {
            let r = cell(y, map.rows)
            for x in 0..<w {
                let rgb = color(r * map.cols + cell(x, map.cols))
                pixels.replaceSubrange(((y * w + x) * 3)..<((y * w + x) * 3 + 3), with: rgb)
            }
        }
        return Crop(width: w, height: h, channels: 3, pixels: pixels)
    }
}

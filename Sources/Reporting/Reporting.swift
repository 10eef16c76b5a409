/// Reporting: the static HTML report of a monitored run, built only from the monitor's output
/// folder `Reports/<run>/` (`findings.json`, `data/probes.h5`, `data/epoch-NNNN.h5`).
///
/// `ReportWriter.write(reportDirectory:)` (re)writes, each file atomically:
/// - `index.html`: status, training curves (inline SVG), findings per layer and snapshot, the
///   architecture audit, the model table, the hyper-parameters and how to read the figures;
/// - `layer-<name>.html` per monitored layer: snapshot table and the Fig. 4 view (strongest
///   projection of every feature map at every snapshot), plus the filters for the first layer;
/// - `layer-<name>-epoch-NNNN.html` per layer and snapshot: the Fig. 2 view (top-k projections
///   beside their image patches), with previous / next navigation;
/// - `img/*.png` sprites (one per view and epoch) and `style.css`.
///
/// Pages are static, open from disk without network, and escape every string from the data.
import Foundation
import ImageIO
import Monitoring
import Snapshots
import Tensors

/// Writes the report of a monitor output folder.
public enum ReportWriter {
    /// (Re)writes the report in `reportDirectory` (the monitor's `Reports/<run>/`) and returns the
    /// path of its `index.html`. The stylesheet comes first, every sprite is written before the
    /// pages that show it, and `index.html` last, so a reader following links during a rewrite
    /// finds every file, in the geometry the page expects.
    ///
    /// Incremental: every page and sprite is rendered in memory, but a file is written only when
    /// its content differs from what the last refresh wrote there (`report-keys.json`, see
    /// `IncrementalReportFiles`), so the pages and sprites of unchanged snapshots stay as they are.
    @discardableResult
    public static func write(reportDirectory: String) throws -> String {
        try PhaseTimings.measure("report") { try writeAll(reportDirectory: reportDirectory) }
    }

    private static func writeAll(reportDirectory: String) throws -> String {
        let directory = reportDirectory.count > 1 && reportDirectory.hasSuffix("/") ? String(reportDirectory.dropLast()) : reportDirectory
        let context = try PhaseTimings.measure("findings.json and probes.h5 read") { try load(directory) }
        do {
            try FileManager.default.createDirectory(atPath: directory + "/" + ReportFiles.imageFolder, withIntermediateDirectories: true)
        } catch {
            throw ReportError("\(directory)/\(ReportFiles.imageFolder): cannot create the image folder (\(error.localizedDescription))")
        }
        let out = IncrementalReportFiles(directory: directory)
        // Pages are rendered after the loop, all at once on the shared pool (each is a pure function
        // of its inputs), and written in this order: 28 -> 18 ms for one zf-fmnist snapshot.
        var pages: [(name: String, inputs: String?, render: () -> String)] = []
        try out.text(Stylesheet.css, to: ReportFiles.stylesheet)

        let shown = Pixels.shownChannels(context.imageShape.first ?? 1)
        let common = ReportInputs.common(context)
        var evolution: [String: EpochGridSprite] = [:]
        var filters: [String: EpochGridSprite] = [:]
        var occlusion: [OcclusionPage.Snapshot] = []
        for (column, epoch) in context.epochs.enumerated() {
            let analysis = try PhaseTimings.measure("data file read") {
                try MonitorDataFile.read(from: dataPath(directory, epoch: epoch.epoch), layers: context.layers.map(\.name))
            }
            if !analysis.occlusion.isEmpty {
                let sprite = OcclusionSprite(maps: analysis.occlusion, probes: context.probePixels,
                                             size: analysis.occlusionSize, stride: analysis.occlusionStride)
                try out.sprite(sprite.sheet.image, to: OcclusionPage.sprite(epoch: epoch.epoch))
                occlusion.append(OcclusionPage.Snapshot(epoch: epoch.epoch, maps: analysis.occlusion, size: analysis.occlusionSize,
                                                        stride: analysis.occlusionStride, sprite: sprite))
            }
            for layerAnalysis in analysis.layers {
                guard let layer = context.layers.first(where: { $0.name == layerAnalysis.name }) else { continue }
                try check(layerAnalysis, context: context, epoch: epoch.epoch)
                let inputs = ReportInputs.epoch(common, epoch, dataFile: dataPath(directory, epoch: epoch.epoch), layer: layer.name)
                let fig2Name = ReportFiles.fig2Sprite(layer.slug, epoch: epoch.epoch), pageName = ReportFiles.epochPage(layer.slug, epoch: epoch.epoch)
                let unchanged = out.keep(fig2Name, inputs: inputs) && out.keep(pageName, inputs: inputs)
                let fig2 = unchanged ? nil : PhaseTimings.measure("sprites build") {
                    Fig2Sprite(layer: layerAnalysis, probes: context.probePixels, cellHeight: layer.cellHeight, cellWidth: layer.cellWidth)
                }
                if let fig2 { try out.sprite(fig2.sheet.image, to: fig2Name, inputs: inputs) }

                evolution[layer.name, default: EpochGridSprite(rows: layerAnalysis.channels, epochs: context.epochs.count,
                                                               cellHeight: layer.cellHeight, cellWidth: layer.cellWidth, channels: shown)]
                    .addTopProjections(layerAnalysis, column: column, imageShape: context.imageShape)
                let w = layerAnalysis.weight.shape
                if layer.position == 0, w.count == 4 {
                    filters[layer.name, default: EpochGridSprite(rows: w[0], epochs: context.epochs.count, cellHeight: w[2], cellWidth: w[3],
                                                                 channels: Pixels.shownChannels(w[1]))]
                        .addFilters(layerAnalysis.weight, column: column)
                    // Small (filters x epochs kernels), and complete only after the last epoch: until
                    // then written only if the file on disk has another geometry, so this page never
                    // meets a sprite of an earlier geometry.
                    try out.spriteGeometry(filters[layer.name]!.sheet.image, to: ReportFiles.filterSprite(layer.slug))
                }
                if let fig2 {
                    let page = EpochPage(context: context, layer: layer, epochIndex: column, analysis: layerAnalysis, fig2: fig2, filters: filters[layer.name])
                    pages.append((page.fileName, inputs, page.render))
                }
            }
        }
        for layer in context.layers {
            if let sprite = filters[layer.name] { try out.sprite(sprite.sheet.image, to: ReportFiles.filterSprite(layer.slug)) }
            let rows = context.epochs.last?.layers.first { $0.name == layer.name }?.filters.count ?? 0
            let sprite = evolution[layer.name] ?? EpochGridSprite(rows: rows, epochs: context.epochs.count,
                                                                  cellHeight: layer.cellHeight, cellWidth: layer.cellWidth, channels: shown)
            try out.sprite(sprite.sheet.image, to: ReportFiles.evolutionSprite(layer.slug))
            let page = LayerPage(context: context, layer: layer, evolution: sprite, filters: filters[layer.name])
            pages.append((page.fileName, nil, page.render))
        }
        if !occlusion.isEmpty {
            pages.append((OcclusionPage.fileName, nil, OcclusionPage(context: context, snapshots: occlusion).render))
        }
        pages.append((ReportFiles.index, nil, IndexPage(context: context, occlusionEpochs: occlusion.map(\.epoch)).render))
        let texts = PhaseTimings.measure("HTML render") { parallelMap(pages.count) { pages[$0].render() } }
        for (page, text) in zip(pages, texts) { try out.text(text, to: page.name, inputs: page.inputs) }
        try out.finish()
        return directory + "/" + ReportFiles.index
    }

    static func dataPath(_ directory: String, epoch: Int) -> String {
        directory + "/data/" + SnapshotFiles.fileName(epoch: epoch)
    }

    /// Reads findings.json and the probe set, and fixes each layer's tile geometry.
    static func load(_ directory: String) throws -> ReportContext {
        let findingsPath = directory + "/findings.json"
        let findings: Findings
        if let written = Findings.written(at: findingsPath) {
            findings = written   // this process's monitor wrote the file, unchanged since
        } else {
            guard let data = FileManager.default.contents(atPath: findingsPath) else {
                throw ReportError("\(findingsPath): not found; run `deconvscope monitor` on the run first")
            }
            do { findings = try JSONDecoder().decode(Findings.self, from: data) } catch {
                throw ReportError("\(findingsPath): not a deconvscope findings file (\(error))")
            }
        }
        let epochs = findings.epochs.filter { FileManager.default.fileExists(atPath: dataPath(directory, epoch: $0.epoch)) }
            .sorted { $0.epoch < $1.epoch }
        let probesPath = directory + "/data/probes.h5"
        var pixels = Tensor(zeros: [0] + findings.inputShape), labels: [Int] = [], names: [String] = []
        if FileManager.default.fileExists(atPath: probesPath) {
            (pixels, labels, names) = try ProbeFile.read(from: probesPath)
        } else if !epochs.isEmpty {
            throw ReportError("\(probesPath): not found; the data files need the probe images they were computed on (rerun `deconvscope monitor --force`)")
        }
        guard pixels.rank == 4 else { throw ReportError("\(probesPath): probe images have shape \(pixels.shape), expected (P, C, H, W)") }
        let (height, width) = (pixels.shape[2], pixels.shape[3])
        let names2 = findings.monitoredLayers
        let layers = zip(names2, ReportFiles.slugs(for: names2)).enumerated().map { i, pair in
            let rf = ReportContext.receptiveField(of: pair.0, model: findings.model) ?? max(height, width)
            let cellHeight = max(1, min(rf, height)), cellWidth = max(1, min(rf, width))
            return LayerInfo(name: pair.0, slug: pair.1, position: i, cellHeight: cellHeight, cellWidth: cellWidth,
                             scale: ReportContext.scale(cell: max(cellHeight, cellWidth)))
        }
        return ReportContext(directory: directory, findings: findings, probePixels: pixels, probeLabels: labels,
                             classNames: findings.classNames.isEmpty ? names : findings.classNames, epochs: epochs, layers: layers)
    }

    /// A data file that disagrees with the probe file would crop outside its arrays.
    private static func check(_ layer: LayerAnalysis, context: ReportContext, epoch: Int) throws {
        let location = "\(dataPath(context.directory, epoch: epoch)) /\(layer.name)"
        let p = layer.projections.shape
        guard p.count == 5, p[0] == layer.channels, Array(p[2...]) == context.imageShape else {
            throw ReportError("\(location): projections have shape \(p), expected (\(layer.channels), k, \(context.imageShape.map(String.init).joined(separator: ", ")))")
        }
        for row in layer.top { for a in row where a.image < 0 || a.image >= context.probeLabels.count {
            throw ReportError("\(location): top activation on probe \(a.image), but data/probes.h5 has \(context.probeLabels.count) probes")
        } }
    }
}

/// A report that cannot be written, with a one-line reason naming the file.
public struct ReportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// `deconvscope compare`: several monitored runs side by side, in `Reports/<NAME>/`.
///
/// Made from each run's own report folder (`Reports/<run>/findings.json`, `data/*.h5`), nothing
/// recomputed: the Fig. 4 grids and first-layer filters are re-cut from the data files to the
/// epochs every run has (the runs' own sprites hold each run's epochs, not the shared ones), and
/// every other link points into the runs' report folders (`../<run>/...`), so the report opens
/// from disk as long as it stays beside them.
import Foundation
import Runs
import Datasets
import ImageIO
import Monitoring
import Snapshots

public enum CompareReport {
    /// Default folder name: `compare-<run1>-<run2>` for two runs, every name joined by `-` for
    /// more, and `compare-<run1>-<run2>-and-<N>-more` when that would exceed 120 characters.
    public static func defaultName(runs: [String]) -> String {
        let all = "compare-" + runs.joined(separator: "-")
        guard all.count > 120, runs.count > 2 else { return all }
        return "compare-\(runs[0])-\(runs[1])-and-\(runs.count - 2)-more"
    }

    /// Writes `<reports>/<name>/index.html` comparing the runs whose reports are
    /// `<reports>/<run>/` (each already written by the monitor); returns the page's path.
    @discardableResult
    public static func write(reports: String, name: String, runs: [String]) throws -> String {
        let directory = reports + "/" + name
        let contexts = try runs.map { try ReportWriter.load(reports + "/" + $0) }
        let extras = runs.map { FindingsExtras(path: reports + "/" + $0 + "/findings.json") }
        do {
            try FileManager.default.createDirectory(atPath: directory + "/" + ReportFiles.imageFolder, withIntermediateDirectories: true)
        } catch {
            throw ReportError("\(directory): cannot create the comparison folder (\(error.localizedDescription))")
        }
        try AtomicFile.write(Stylesheet.css + ComparePage.css, to: directory + "/" + ReportFiles.stylesheet)

        // The epochs every run has a data file for; without any, each run shows its own.
        let shared = contexts.map { Set($0.epochNumbers) }.reduce(Set(contexts.first?.epochNumbers ?? [])) { $0.intersection($1) }
        let sharedEpochs = shared.sorted()
        var grids: [ComparePage.Grid] = []
        for (r, context) in contexts.enumerated() {
            let epochs = sharedEpochs.isEmpty ? context.epochNumbers : sharedEpochs
            var evolution: [String: EpochGridSprite] = [:], filters: [String: EpochGridSprite] = [:]
            let shown = Pixels.shownChannels(context.imageShape.first ?? 1)
            for (column, epoch) in epochs.enumerated() {
                let analysis = try MonitorDataFile.read(from: ReportWriter.dataPath(context.directory, epoch: epoch), layers: context.layers.map(\.name))
                for la in analysis.layers {
                    guard let layer = context.layers.first(where: { $0.name == la.name }) else { continue }
                    evolution[layer.name, default: EpochGridSprite(rows: la.channels, epochs: epochs.count, cellHeight: layer.cellHeight,
                                                                   cellWidth: layer.cellWidth, channels: shown)]
                        .addTopProjections(la, column: column, imageShape: context.imageShape)
                    let w = la.weight.shape
                    if layer.position == 0, w.count == 4 {
                        filters[layer.name, default: EpochGridSprite(rows: w[0], epochs: epochs.count, cellHeight: w[2], cellWidth: w[3],
                                                                     channels: Pixels.shownChannels(w[1]))]
                            .addFilters(la.weight, column: column)
                    }
                }
            }
            for layer in context.layers {
                for (kind, sprite) in [("evolution", evolution[layer.name]), ("filters", filters[layer.name])] {
                    guard let sprite else { continue }
                    let file = "\(ReportFiles.imageFolder)/run\(r + 1)-\(layer.slug)-\(kind).png"
                    try PNGCodec.write(sprite.sheet.image, to: directory + "/" + file)
                    let scale = kind == "filters" ? ReportContext.scale(cell: max(sprite.sheet.cellWidth, sprite.sheet.cellHeight), target: 40)
                                                  : ReportContext.scale(cell: max(layer.cellWidth, layer.cellHeight), target: 40)
                    grids.append(ComparePage.Grid(run: r, layer: layer.name, kind: kind, file: file, epochs: epochs,
                                                  width: sprite.sheet.image.width * scale, height: sprite.sheet.image.height * scale,
                                                  cellWidth: sprite.sheet.cellWidth * scale))
                }
            }
        }
        let page = ComparePage(name: name, runs: runs, contexts: contexts, extras: extras, sharedEpochs: sharedEpochs, grids: grids)
        let index = directory + "/" + ReportFiles.index
        try AtomicFile.write(page.render(), to: index)
        return index
    }
}

/// What a findings.json may carry beyond the `Findings` type this build knows, read generically:
/// the `diagnoses` list (code, severity, layer, epoch, summary) of newer monitors.
struct FindingsExtras {
    struct Diagnosis {
        var code: String
        var severity: String
        var layer: String?
        var epoch: Int?
        var summary: String
    }
    var diagnoses: [Diagnosis] = []
    /// Whether the file has a `diagnoses` list at all (an empty one means "none found").
    var hasDiagnoses = false

    init(path: String) {
        guard let data = FileManager.default.contents(atPath: path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let list = json["diagnoses"] as? [[String: Any]] else { return }
        hasDiagnoses = true
        diagnoses = list.map { d in
            Diagnosis(code: d["code"] as? String ?? "?", severity: d["severity"] as? String ?? "info", layer: d["layer"] as? String,
                      epoch: d["epoch"] as? Int, summary: d["summary"] as? String ?? "")
        }
    }
}

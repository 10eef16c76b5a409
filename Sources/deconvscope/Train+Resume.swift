import Foundation
import Layers
import Training
import Datasets
import Runs

/// `train --resume`: people resume by running the same command again with `--resume` added, so an
/// option given again is compared with the run's stored configuration (run.json) by what it means,
/// and only a value that differs is refused. Mixing a new value into a resumed run would break the
/// promise that it ends with the weights of an uninterrupted run. `--epochs` and `--snapshot-epochs`
/// are not compared: they may extend the run.
extension Train {
    func refuseChangedOptions(stored: RunConfiguration) throws {
        if let given = model.model, let difference = try modelDifference(given, stored: stored) {
            throw changed("--model", stored: "with \(stored.model)", given: "\(given) (\(difference))")
        }
        if dataOptions.data != nil {
            let kind = try dataOptions.kind()
            if kind.rawValue != stored.data { throw changed("--data", stored: "with \(stored.data)", given: kind.rawValue) }
        }
        if let given = dataOptions.dataDir {
            let storedKind = DatasetKind(rawValue: stored.data)
            let storedDirectory = stored.dataDir ?? storedKind?.defaultDirectory
            if storedDirectory.map(resolvedPath) != resolvedPath(given) {
                let was = stored.dataDir.map { "with \($0)" } ?? storedDirectory.map { "with the default \($0)" } ?? "without --data-dir"
                throw changed("--data-dir", stored: was, given: given)
            }
        }
        try same("--batch-size", batchSize, stored.batchSize)
        try same("--learning-rate", learningRate, stored.learningRate)
        try same("--momentum", momentum, stored.momentum)
        try same("--weight-decay", weightDecay, stored.weightDecay)
        try sameOrOff("--max-filter-rms", maxFilterRms, stored.maxFilterRMS, off: "0 (off)")
        try sameOrOff("--first-conv-init-std", firstConvInitStd, stored.firstConvInitStd, off: "0 (He's std)")
        try same("--seed", seed, stored.seed)
    }

    /// The run's data as stored, limited as stored. A `--train-limit` given again is compared here,
    /// by the images it keeps: a limit at or above the training split's size means the whole split.
    func loadData(stored: RunConfiguration) throws -> DatasetPair {
        guard let kind = DatasetKind(rawValue: stored.data) else { throw RunError("unknown data set \"\(stored.data)\" in run.json") }
        var data = try DatasetLoader.load(kind, directory: stored.dataDir)
        let available = data.train.count
        if let given = trainLimit, min(given, available) != min(stored.trainLimit ?? available, available) {
            let was = stored.trainLimit.map { "with \($0)" } ?? "without --train-limit (all \(available) training images)"
            throw changed("--train-limit", stored: was, given: "\(given)")
        }
        if let n = stored.trainLimit { data.train = data.train.prefix(n) }
        return data
    }

    /// A preset given again is built for the stored input and classes; a model file is read. Either
    /// matches when its layers, input and classes equal the stored architecture, and its
    /// normalization too unless it has none (then `train` measured the stored one). Returns what
    /// differs first, or nil when nothing does.
    private func modelDifference(_ given: String, stored: RunConfiguration) throws -> String? {
        let architecture = stored.architecture
        let candidate: ModelSpec
        if let preset = ModelPreset(rawValue: given) {
            do {
                candidate = try preset.spec(input: architecture.input, classes: architecture.classes, normalization: nil)
            } catch {
                return "which cannot be built for the run's input \(architecture.input)"
            }
        } else {
            candidate = try loadModelFile(given)
        }
        if candidate.input != architecture.input { return "input \(candidate.input) instead of \(architecture.input)" }
        if candidate.classes != architecture.classes { return "\(candidate.classes) classes instead of \(architecture.classes)" }
        if let normalization = candidate.normalization, normalization != architecture.normalization {
            return "normalization \(compactJSON(normalization)) instead of \(architecture.normalization.map(compactJSON) ?? "none")"
        }
        for index in 0..<max(candidate.layers.count, architecture.layers.count) {
            let new = index < candidate.layers.count ? compactJSON(candidate.layers[index]) : "no layer"
            let old = index < architecture.layers.count ? compactJSON(architecture.layers[index]) : "no layer"
            if new != old { return "layer \(index) is \(new) instead of \(old)" }
        }
        return nil
    }

    private func same<Value: Equatable>(_ option: String, _ given: Value?, _ stored: Value?) throws {
        guard let given, given != stored else { return }
        throw changed(option, stored: stored.map { "with \($0)" } ?? "without \(option)", given: "\(given)")
    }

    /// An option whose 0 is stored as nil (off, or He's init): 0 given again matches a run stored
    /// without the option, so runs started before these options became defaults resume as they began.
    private func sameOrOff(_ option: String, _ given: Float?, _ stored: Float?, off: String) throws {
        guard let given, (given == 0 ? nil : given) != stored else { return }
        throw changed(option, stored: "with \(stored.map { "\($0)" } ?? off)", given: "\(given)")
    }

    private func changed(_ option: String, stored: String, given: String) -> RunError {
        RunError("\(option) cannot change when resuming: the run was started \(stored), this command gives \(given); start a new --run to change it")
    }
}

/// Absolute, with `.`, `..` and symbolic links resolved, so two spellings of one folder compare equal.
private func resolvedPath(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
}

/// One line of sorted-key JSON, as in the model file, for messages.
private func compactJSON<Value: Encodable>(_ value: Value) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
}

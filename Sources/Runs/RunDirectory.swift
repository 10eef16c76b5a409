import Foundation
import Layers
import Snapshots

/// Where a run is in its life; `monitor --watch` stops following a run that is not `running`.
public enum RunStatus: String, Codable, Sendable {
    case running, finished, interrupted, failed
}

/// `run.json`: everything needed to reproduce or resume a run.
public struct RunConfiguration: Codable, Sendable, Equatable {
    public var formatVersion = 1
    public var run: String
    /// Preset name or the path of the model JSON given to `--model`.
    public var model: String
    public var architecture: ModelSpec
    public var data: String
    public var dataDir: String?
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var momentum: Float
    public var weightDecay: Float
    public var maxFilterRMS: Float?
    /// Standard deviation of the first conv layer's initial weights instead of He's (nil: He).
    public var firstConvInitStd: Float?
    public var seed: UInt64
    public var trainLimit: Int?
    public var snapshotEpochs: [Int]
    public var probes: Int
    public var top: Int
    public var status: RunStatus
    public var message: String?
    public var created: String
    public var updated: String

    public init(run: String, model: String, architecture: ModelSpec, data: String, dataDir: String?, epochs: Int,
                batchSize: Int, learningRate: Float, momentum: Float, weightDecay: Float, maxFilterRMS: Float?, seed: UInt64,
                trainLimit: Int?, snapshotEpochs: [Int], probes: Int, top: Int, status: RunStatus, message: String?,
                created: String, updated: String, firstConvInitStd: Float? = nil) {
        self.run = run; self.model = model; self.architecture = architecture; self.data = data; self.dataDir = dataDir
        self.epochs = epochs; self.batchSize = batchSize; self.learningRate = learningRate; self.momentum = momentum
        self.weightDecay = weightDecay; self.maxFilterRMS = maxFilterRMS; self.seed = seed; self.trainLimit = trainLimit
        self.snapshotEpochs = snapshotEpochs; self.probes = probes; self.top = top; self.status = status
        self.message = message; self.created = created; self.updated = updated
        self.firstConvInitStd = firstConvInitStd
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", run, model, architecture, data, epochs, momentum, seed, probes, top, status, message, created, updated
        case dataDir = "data_dir", batchSize = "batch_size", learningRate = "learning_rate", weightDecay = "weight_decay"
        case maxFilterRMS = "max_filter_rms", firstConvInitStd = "first_conv_init_std", trainLimit = "train_limit", snapshotEpochs = "snapshot_epochs"
    }
}

/// A run's folder, `Checkpoints/<run>/`: snapshots, `run.json`, `metrics.jsonl`.
public struct RunDirectory: Sendable {
    public let path: String
    public init(path: String) { self.path = path }

    public var name: String { URL(fileURLWithPath: path).lastPathComponent }
    public var configPath: String { path + "/run.json" }
    public var metricsPath: String { path + "/metrics.jsonl" }
    public func snapshotPath(epoch: Int) -> String { path + "/" + SnapshotFiles.fileName(epoch: epoch) }
    /// The state after the newest epoch that `--snapshot-epochs` did not ask for, in the snapshot
    /// format, so `--resume` after a kill loses at most the epoch in progress. Not listed as a
    /// snapshot (the monitor ignores it); removed when a newer snapshot is written.
    public var resumePointPath: String { path + "/resume-point.h5" }

    /// Run names become folder names and appear in reports: a safe character set only.
    public static func validate(runName: String) throws {
        guard SafeNames.isSafeRunName(runName) else {
            throw RunError("invalid run name \"\(runName)\": use 1-100 letters, digits, '_', '.', '-', starting with a letter or digit (no '/', no '..')")
        }
    }

    /// Creates the folder (and its parents) and checks it can be written, so an unwritable
    /// `Checkpoints/` is reported before any training, with the system's reason.
    public func create() throws {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            var missing: [String] = []
            var url = URL(fileURLWithPath: path)
            while !FileManager.default.fileExists(atPath: url.path) && url.path != "/" {
                missing.append(url.path)
                url.deleteLastPathComponent()
            }
            for dir in missing.reversed() where mkdir(dir, 0o755) != 0 && errno != EEXIST {
                throw RunError("\(dir): cannot create the run directory (\(String(cString: strerror(errno))))")
            }
        } else if !isDirectory.boolValue {
            throw RunError("\(path): cannot create the run directory (a file of that name exists)")
        }
        guard access(path, W_OK) == 0 else {
            throw RunError("\(path): cannot write in the run directory (\(String(cString: strerror(errno))))")
        }
    }

    public func writeConfig(_ config: RunConfiguration) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(config), to: configPath)
    }

    public func readConfig() throws -> RunConfiguration? {
        guard let data = FileManager.default.contents(atPath: configPath) else { return nil }
        do { return try JSONDecoder().decode(RunConfiguration.self, from: data) } catch {
            throw RunError("\(configPath): not a valid run configuration (\(error))")
        }
    }

    /// Epoch metrics so far; a torn last line (from a killed process) is ignored.
    public func readMetrics() -> [EpochMetrics] {
        guard let text = try? String(contentsOfFile: metricsPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(EpochMetrics.self, from: Data($0.utf8)) }
    }

    /// Rewrites the metrics file whole (atomically): the list is short, and a rewrite can also drop
    /// epochs that a resumed run will train again.
    public func writeMetrics(_ metrics: [EpochMetrics]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let lines = try metrics.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        try AtomicFile.write(lines.map { $0 + "\n" }.joined(), to: metricsPath)
    }

    /// Snapshots by epoch; none when the directory does not exist yet.
    public func snapshots() throws -> [(epoch: Int, path: String)] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return try SnapshotFiles.list(in: path)
    }
}

public struct RunError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// UTC times as ISO 8601 with seconds, `2026-12-02T10:03:51Z` (run.json, findings.json, the report).
public enum Timestamp {
    public static func now() -> String { string(secondsSince1970: time(nil)) }

    /// Written out from `gmtime_r`, not with `ISO8601DateFormatter`: creating one loads ICU's
    /// calendar data, 8 ms of CPU in every monitor process (`perf record`); the text is the same
    /// (`TimestampTests`).
    public static func string(secondsSince1970 seconds: time_t) -> String {
        var t = seconds, parts = tm()
        gmtime_r(&t, &parts)
        func digits(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return digits(parts.tm_year + 1900, 4) + "-" + digits(parts.tm_mon + 1, 2) + "-" + digits(parts.tm_mday, 2) + "T"
            + digits(parts.tm_hour, 2) + ":" + digits(parts.tm_min, 2) + ":" + digits(parts.tm_sec, 2) + "Z"
    }
}

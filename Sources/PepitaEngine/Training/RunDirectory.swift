import Foundation
import Quantized

/// A run directory (SPEC §6):
///
/// ```
/// config.json            every resolved setting (TrainingConfig)
/// metrics.csv            one row per epoch (EpochMetrics)
/// metrics.json           the same rows, plus the run summary
/// checkpoint/            state.json + W*.npy, V*.npy (velocities), F.npy / B*.npy
/// weights/               final W0.npy, W1.npy, ... and F.npy (or B*.npy)
/// ```
/// Weights are float32 `.npy`: dense `out x in`, conv `out x in x kh x kw`;
/// `F.npy` is `n_input x n_classes`. Every file is written atomically.
public struct RunDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public var configPath: String { path + "/config.json" }
    public var checkpointPath: String { path + "/checkpoint" }
    public var weightsPath: String { path + "/weights" }

    /// Creates the directory tree. Refuses a directory that already holds a run,
    /// or any other non-empty directory, unless `overwrite` is set, so earlier
    /// results are never lost by accident; with `overwrite`, the previous run's
    /// files (metrics, checkpoint, weights) are removed first so none of them can
    /// be mistaken for the new run's.
    public func create(overwrite: Bool) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw FileError(path: path, reason: "exists and is not a directory") }
            let contents = ((try? manager.contentsOfDirectory(atPath: path)) ?? []).filter { $0 != Self.lockFileName }
            if !overwrite && manager.fileExists(atPath: configPath) {
                throw FileError(path: path, reason: "already holds a run (config.json exists); choose another --run-dir, pass --force to overwrite it, or --resume it")
            }
            if !overwrite && !contents.isEmpty {
                throw FileError(path: path, reason: "exists and is not empty; choose another --run-dir or pass --force")
            }
            if overwrite {
                for name in Self.runFileNames where contents.contains(name) {
                    do {
                        try manager.removeItem(atPath: path + "/" + name)
                    } catch {
                        throw FileError(path: path + "/" + name, reason: "cannot remove the previous run's file: \(error.localizedDescription)")
                    }
                }
            }
        }
        for directory in [path, checkpointPath, weightsPath] { try AtomicDirectory.create(directory) }
    }

    /// Every name a run writes at the top of its directory.
    static let runFileNames = ["config.json", "metrics.csv", "metrics.json", "checkpoint", "checkpoint.partial",
                               "checkpoint.previous", "weights"]

    public func write(config: TrainingConfig) throws {
        try AtomicFile.writeJSON(config, to: configPath)
    }

    /// The run's settings, checked like any file from elsewhere: every key known,
    /// none missing, the precision config valid, every range as `validate()` wants.
    /// - Throws: `FileError` naming `config.json` and the field.
    public func readConfig() throws -> TrainingConfig {
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw FileError(path: configPath, reason: "missing (is \(path) a run directory?)")
        }
        return try Self.config(from: StrictJSON.readFile(configPath, maxBytes: StrictJSON.maxBytes), file: configPath)
    }

    /// A `config.json`'s content decoded and checked (see `readConfig()`).
    static func config(from data: Data, file: String) throws -> TrainingConfig {
        let config = try StrictJSON.decode(TrainingConfig.self, from: data, file: file)
        do {
            _ = try PrecisionConfig(json: Data(ReportJSON.text(config.precision).utf8), file: "precision")
            try config.validate()
        } catch let error as PrecisionConfigError {
            throw FileError(path: file, reason: "field precision.\(error.key): \(error.problem)")
        } catch {
            throw FileError(path: file, reason: "\(error)")
        }
        return config
    }

    /// Rewrites `metrics.csv` and `metrics.json` with every epoch so far.
    public func write(history: [EpochMetrics], summary: RunSummary) throws {
        let csv = ([EpochMetrics.csvHeader] + history.map(\.csvRow)).joined(separator: "\n") + "\n"
        try AtomicFile.write(csv, to: path + "/metrics.csv")
        struct MetricsFile: Encodable { var epochs: [EpochMetrics]; var summary: RunSummary }
        try AtomicFile.writeJSON(MetricsFile(epochs: history, summary: summary), to: path + "/metrics.json")
    }

    /// Writes the weights and the rule's fixed matrices into `directory`.
    public static func writeWeights(_ network: Network, fixedMatrices: [String: Matrix], to directory: String) throws {
        for (index, layer) in network.layers.enumerated() {
            try NPY.write(network.weights[index].values, shape: weightFileShape(layer), to: "\(directory)/W\(index).npy")
        }
        for (name, matrix) in fixedMatrices.sorted(by: { $0.key < $1.key }) {
            try NPY.write(matrix.values, shape: [matrix.rows, matrix.columns], to: "\(directory)/\(name).npy")
        }
    }

    /// The checkpoint of `trainer` where it stands (after an epoch or a step):
    /// weights, velocities, fixed matrices and `state.json`, swapped in as one
    /// directory (`AtomicDirectory`), so a crash at any moment leaves the previous
    /// checkpoint or this one, complete.
    public func writeCheckpoint(_ trainer: Trainer) throws {
        try AtomicDirectory.replace(checkpointPath) { staging in
            try trainer.engine.writeCheckpoint(to: staging)
            try AtomicFile.writeJSON(trainer.checkpointState, to: staging + "/state.json")
        }
    }

    /// The run's `checkpoint/state.json` (or that of `checkpoint.previous`, see
    /// `AtomicDirectory.readablePath(_:)`): where the run stands.
    public func readCheckpointState() throws -> TrainerCheckpointState {
        let statePath = AtomicDirectory.readablePath(checkpointPath) + "/state.json"
        guard FileManager.default.fileExists(atPath: statePath) else {
            throw FileError(path: statePath, reason: "missing: the run has no checkpoint to resume from")
        }
        return try StrictJSON.read(TrainerCheckpointState.self, from: statePath)
    }

    /// Puts `trainer` (built from this run's config) where the run's checkpoint says it was.
    public func resume(_ trainer: Trainer) throws {
        try trainer.restore(readCheckpointState(), engineDirectory: AtomicDirectory.readablePath(checkpointPath))
    }

    /// What the trainer of a resumed run is built from before `resume(_:)`: the
    /// checkpoint holds the weights and fixed matrices, so the `--init` directory
    /// is not read again (it may have moved since). Only a PEPITA run that started
    /// from `--init` gets its F from the checkpoint here, as F is not drawn from the
    /// seed then; every other run needs nothing (nil).
    public func resumeInitialState(config: TrainingConfig, architecture: Architecture) throws -> InitialState? {
        guard config.initDirectory != nil, config.rule.isPepita else { return nil }
        let file = AtomicDirectory.readablePath(checkpointPath) + "/F.npy"
        let inputs = architecture.input.featureCount, classes = architecture.classCount
        let array = try Self.readArray(file, expectedShape: [inputs, classes])
        return InitialState(weights: nil, projection: Matrix(rows: inputs, columns: classes, values: array.values))
    }

    public func writeFinalWeights(_ trainer: Trainer) throws {
        try trainer.engine.writeWeights(to: weightsPath)
    }

    /// Shape a layer's weight has on disk: dense `out x in`, conv `out x in x kh x kw`.
    public static func weightFileShape(_ layer: LayerSpec) -> [Int] {
        switch layer {
        case let .dense(inputs, outputs): return [outputs, inputs]
        case let .conv(input, outChannels, k, _): return [outChannels, input.channels, k, k]
        }
    }

    /// Reads `W0.npy`, `W1.npy`, ... (and `F.npy` when `readProjection`) from
    /// `directory`, checking each shape against `architecture`.
    public static func readInitialState(from directory: String, architecture: Architecture,
                                        readProjection: Bool) throws -> InitialState {
        var weights: [Matrix] = []
        for (index, layer) in architecture.layers.enumerated() {
            let file = "\(directory)/W\(index).npy"
            let array = try readArray(file, expectedShape: weightFileShape(layer))
            weights.append(Matrix(rows: layer.weightShape.rows, columns: layer.weightShape.columns, values: array.values))
        }
        var projection: Matrix? = nil
        let projectionFile = directory + "/F.npy"
        if readProjection && FileManager.default.fileExists(atPath: projectionFile) {
            let inputs = architecture.input.featureCount, classes = architecture.classCount
            let array = try readArray(projectionFile, expectedShape: [inputs, classes])
            projection = Matrix(rows: inputs, columns: classes, values: array.values)
        }
        return InitialState(weights: weights, projection: projection)
    }
}

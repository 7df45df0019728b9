import Foundation

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

    /// Creates the directory tree; refuses a directory that already holds a run
    /// unless `overwrite` is set, so earlier results are never lost by accident.
    public func create(overwrite: Bool) throws {
        let manager = FileManager.default
        if manager.fileExists(atPath: configPath) && !overwrite {
            throw FileError(path: path, reason: "already holds a run (config.json exists); choose another --run-dir or pass --force")
        }
        do {
            for directory in [path, checkpointPath, weightsPath] {
                try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
        } catch {
            throw FileError(path: path, reason: "cannot create the run directory: \(error.localizedDescription)")
        }
    }

    public func write(config: TrainingConfig) throws {
        try AtomicFile.writeJSON(config, to: configPath)
    }

    public func readConfig() throws -> TrainingConfig {
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw FileError(path: configPath, reason: "cannot read (is \(path) a run directory?)")
        }
        do {
            return try JSONDecoder().decode(TrainingConfig.self, from: data)
        } catch {
            throw FileError(path: configPath, reason: "not a valid run config: \(error)")
        }
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

    /// The checkpoint after `trainer`'s latest epoch: weights, velocities, fixed matrices, state.
    public func writeCheckpoint(_ trainer: Trainer) throws {
        try trainer.engine.writeCheckpoint(to: checkpointPath)
        struct State: Encodable { var epochsCompleted: Int; var model: String; var rule: RuleKind }
        try AtomicFile.writeJSON(State(epochsCompleted: trainer.epochsCompleted, model: trainer.config.model,
                                       rule: trainer.config.rule), to: checkpointPath + "/state.json")
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

    private static func readArray(_ file: String, expectedShape: [Int]) throws -> NPYArray {
        guard FileManager.default.fileExists(atPath: file) else {
            throw FileError(path: file, reason: "missing (expected shape \(expectedShape))")
        }
        var array = try NPYArray(contentsOfFile: file)
        // Integer codes from a fixed-point run come with a sidecar giving their scale.
        let sidecarPath = String(file.dropLast(4)) + ".json"
        if let data = FileManager.default.contents(atPath: sidecarPath) {
            guard let sidecar = try? JSONDecoder().decode(FixedPointSidecar.self, from: data) else {
                throw FileError(path: sidecarPath, reason: "not a fixed-point sidecar (needs role, format, totalBits, fractionalBits, signed)")
            }
            let step = Float(sign: .plus, exponent: -sidecar.fractionalBits, significand: 1)
            array.values = array.values.map { $0 * step }
        }
        guard array.shape == expectedShape else {
            throw FileError(path: file, reason: "shape \(array.shape) does not match the model's \(expectedShape)")
        }
        if let bad = array.values.firstIndex(where: { !$0.isFinite }) {
            throw FileError(path: file, reason: "value \(bad) is not finite (\(array.values[bad]))")
        }
        return array
    }
}

import Quantized

/// Every setting of a training run, resolved (no "default" left), as written to
/// a run directory's `config.json`.
public struct TrainingConfig: Codable, Equatable, Sendable {
    /// Configuration format version, bumped when fields change meaning.
    public var version = 1
    public var model: String
    public var rule: RuleKind
    public var dataset: String
    public var dataDirectory: String?
    /// Arithmetic of the run: float32 or a fixed-point config, resolved in full.
    public var precision: PrecisionConfig
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    /// Epochs (counted from 0) at which the learning rate is multiplied by `decayFactor`.
    public var decayEpochs: [Int]
    public var decayFactor: Float
    public var momentum: Float
    /// Inverted-dropout keep probability on hidden dense layers (1 = no dropout).
    public var dropoutKeep: Float
    /// `Bstd`: scale of PEPITA's projection matrix F.
    public var projectionScale: Float
    /// Which error drives PEPITA's last-layer update.
    public var lastLayerError: LastLayerError
    /// Reproduce the conv reference's second division by the batch size.
    public var convolutionBatchAverageTwice: Bool
    public var shuffle: Bool
    public var seed: UInt64
    /// Fraction of the training set held out (from its end) as validation.
    public var validationFraction: Double
    public var threads: Int
    /// Points of the test curve (chance level included) used for the slowness fit; nil = all.
    public var fitEpochs: Int?
    /// Directory the initial weights (and F) were read from, if any.
    public var initDirectory: String?
    /// Whether every step's operations are counted into the metrics (`--no-operation-counts`
    /// turns it off); a resumed run keeps its setting, so its metrics.json is never mixed.
    /// Absent (nil) in configs written before the setting was saved, which counted: read it
    /// through `countsOperations`.
    public var countOperations: Bool?

    public init(model: String, rule: RuleKind, dataset: String, dataDirectory: String? = nil,
                epochs: Int, batchSize: Int, learningRate: Float, decayEpochs: [Int], decayFactor: Float = 0.1,
                momentum: Float = 0.9, dropoutKeep: Float = 0.9, projectionScale: Float = 0.05,
                lastLayerError: LastLayerError, convolutionBatchAverageTwice: Bool = true, shuffle: Bool = true,
                seed: UInt64 = 1, validationFraction: Double = 0, threads: Int = 1, fitEpochs: Int? = nil,
                initDirectory: String? = nil, countOperations: Bool = true, precision: PrecisionConfig = .preset(named: "float32")!) {
        self.precision = precision
        self.model = model
        self.rule = rule
        self.dataset = dataset
        self.dataDirectory = dataDirectory
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.decayEpochs = decayEpochs
        self.decayFactor = decayFactor
        self.momentum = momentum
        self.dropoutKeep = dropoutKeep
        self.projectionScale = projectionScale
        self.lastLayerError = lastLayerError
        self.convolutionBatchAverageTwice = convolutionBatchAverageTwice
        self.shuffle = shuffle
        self.seed = seed
        self.validationFraction = validationFraction
        self.threads = threads
        self.fitEpochs = fitEpochs
        self.initDirectory = initDirectory
        self.countOperations = countOperations
    }

    /// `countOperations`, true for a config written before it was saved.
    public var countsOperations: Bool { countOperations ?? true }

    public var schedule: StepSchedule {
        StepSchedule(baseLearningRate: learningRate, decayEpochs: decayEpochs, factor: decayFactor)
    }

    /// The largest `--epochs`, `--batch` and `--threads`: far beyond any real run, and
    /// small enough that the products made of them (steps per epoch, the global step
    /// number `epochs x steps per epoch`, work split over threads) cannot overflow.
    public static let maxEpochs = 1 << 24
    public static let maxBatchSize = 1 << 24
    public static let maxThreads = 1 << 12

    /// Checks ranges; the message names the setting (as its command-line flag).
    public func validate() throws {
        func fail(_ message: String) throws { throw ConfigError(message: message) }
        if !(0...Self.maxEpochs).contains(epochs) { try fail("--epochs must be in 0...\(Self.maxEpochs), got \(epochs)") }
        if !(1...Self.maxBatchSize).contains(batchSize) { try fail("--batch must be in 1...\(Self.maxBatchSize), got \(batchSize)") }
        if !(learningRate.isFinite && learningRate >= 0) { try fail("--lr must be a finite number >= 0, got \(learningRate)") }
        if !(momentum >= 0 && momentum < 1) { try fail("--momentum must be in [0, 1), got \(momentum)") }
        if !(dropoutKeep > 0 && dropoutKeep <= 1) { try fail("--dropout-keep must be in (0, 1], got \(dropoutKeep)") }
        if !(projectionScale.isFinite && projectionScale > 0) { try fail("--bstd must be a finite number > 0, got \(projectionScale)") }
        if !(decayFactor.isFinite && decayFactor > 0) { try fail("--decay-factor must be > 0, got \(decayFactor)") }
        if decayEpochs.contains(where: { $0 < 0 }) { try fail("--decay-epochs must be >= 0") }
        if !(validationFraction >= 0 && validationFraction < 1) { try fail("--validation must be in [0, 1), got \(validationFraction)") }
        if !(1...Self.maxThreads).contains(threads) { try fail("--threads must be in 1...\(Self.maxThreads), got \(threads)") }
        if let fitEpochs, !(2...Self.maxEpochs).contains(fitEpochs) { try fail("--fit-epochs must be in 2...\(Self.maxEpochs), got \(fitEpochs)") }
        if decayEpochs.contains(where: { $0 > Self.maxEpochs }) { try fail("--decay-epochs must be <= \(Self.maxEpochs)") }
    }
}

/// A setting that is out of range or inconsistent; the message names it.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

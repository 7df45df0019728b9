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

    public init(model: String, rule: RuleKind, dataset: String, dataDirectory: String? = nil,
                epochs: Int, batchSize: Int, learningRate: Float, decayEpochs: [Int], decayFactor: Float = 0.1,
                momentum: Float = 0.9, dropoutKeep: Float = 0.9, projectionScale: Float = 0.05,
                lastLayerError: LastLayerError, convolutionBatchAverageTwice: Bool = true, shuffle: Bool = true,
                seed: UInt64 = 1, validationFraction: Double = 0, threads: Int = 1, fitEpochs: Int? = nil,
                initDirectory: String? = nil, precision: PrecisionConfig = .preset(named: "float32")!) {
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
    }

    public var schedule: StepSchedule {
        StepSchedule(baseLearningRate: learningRate, decayEpochs: decayEpochs, factor: decayFactor)
    }

    /// Checks ranges; the message names the setting (as its command-line flag).
    public func validate() throws {
        func fail(_ message: String) throws { throw ConfigError(message: message) }
        if epochs < 0 { try fail("--epochs must be >= 0, got \(epochs)") }
        if batchSize < 1 { try fail("--batch must be >= 1, got \(batchSize)") }
        if !(learningRate.isFinite && learningRate >= 0) { try fail("--lr must be a finite number >= 0, got \(learningRate)") }
        if !(momentum >= 0 && momentum < 1) { try fail("--momentum must be in [0, 1), got \(momentum)") }
        if !(dropoutKeep > 0 && dropoutKeep <= 1) { try fail("--dropout-keep must be in (0, 1], got \(dropoutKeep)") }
        if !(projectionScale.isFinite && projectionScale > 0) { try fail("--bstd must be a finite number > 0, got \(projectionScale)") }
        if !(decayFactor.isFinite && decayFactor > 0) { try fail("--decay-factor must be > 0, got \(decayFactor)") }
        if decayEpochs.contains(where: { $0 < 0 }) { try fail("--decay-epochs must be >= 0") }
        if !(validationFraction >= 0 && validationFraction < 1) { try fail("--validation must be in [0, 1), got \(validationFraction)") }
        if threads < 1 { try fail("--threads must be >= 1, got \(threads)") }
        if let fitEpochs, fitEpochs < 2 { try fail("--fit-epochs must be >= 2, got \(fitEpochs)") }
    }
}

/// A setting that is out of range or inconsistent; the message names it.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

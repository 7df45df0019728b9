import PepitaEngine
import Quantized

/// One training step run by the engine with its operation counters on: what
/// the kernels actually did, to set beside `CostModel.operations`.
///
/// The step is a real one (the `Trainer` and engine of `pepita-edge train`)
/// on a synthetic batch: `batch` samples with pixels uniform in [0, 1) from a
/// seeded stream and labels `i mod classes`; weights and F (or feedback) drawn
/// as in training, dropout masks drawn from the run's dropout stream.
/// Operation counts depend on shapes only, never on the values, so any batch
/// gives the counts of every batch of that size.
public struct CountedStep {
    /// A model built by `Architecture.named` (its name is handed to the trainer).
    public var architecture: Architecture
    public var rule: RuleKind
    public var precision: PrecisionConfig
    public var batch: Int
    /// Inverted-dropout keep rate of hidden dense layers (1 = off).
    public var dropoutKeep: Float
    /// PEPITA's last-layer error; nil = the model family's default.
    public var lastLayerError: LastLayerError?
    public var threads: Int
    public var seed: UInt64
    /// Training samples of the run: `batch` (the default) for one step, more
    /// for one epoch of `samples / batch` full steps and a last partial one.
    public var samples: Int

    public init(architecture: Architecture, rule: RuleKind, precision: PrecisionConfig, batch: Int,
                dropoutKeep: Float = 0.9, lastLayerError: LastLayerError? = nil, threads: Int = 1, seed: UInt64 = 1,
                samples: Int? = nil) {
        self.samples = samples ?? batch
        self.architecture = architecture
        self.rule = rule
        self.precision = precision
        self.batch = batch
        self.dropoutKeep = dropoutKeep
        self.lastLayerError = lastLayerError
        self.threads = threads
        self.seed = seed
    }

    /// Runs the step (or epoch) and returns what the kernels counted. Throws for a
    /// setting out of range and for a rule the engine cannot train on the
    /// architecture (BP and FA through a convolution above the first layer).
    public func run() throws -> RecordedOperations {
        if !rule.isPepita && rule != .dfa,
           let index = architecture.layers.indices.dropFirst().first(where: { architecture.layers[$0].isConvolution }) {
            throw ConfigError(message: "layers[\(index)]: rule \(rule.rawValue): a convolution above the first layer needs an input gradient, which the engine does not implement")
        }
        let config = TrainingConfig(model: architecture.name, rule: rule, dataset: "synthetic", epochs: 1, batchSize: batch,
                                    learningRate: 0.01, decayEpochs: [], dropoutKeep: dropoutKeep,
                                    lastLayerError: lastLayerError ?? architecture.defaultLastLayerError,
                                    shuffle: false, seed: seed, threads: threads, precision: precision)
        try config.validate()
        let trainer = try Trainer(config: config, dataset: syntheticBatch(), countOperations: true)
        return trainer.trainEpoch().operations!
    }

    /// `samples` training samples and one test sample.
    func syntheticBatch() -> Dataset {
        var random = RandomStream(seed: seed, stream: 0xC0_57)
        func samples(_ count: Int) -> LabelledSamples {
            let pixels = (0 ..< count * architecture.input.featureCount).map { _ in random.nextUnitFloat() }
            let labels = (0 ..< count).map { Int32($0 % architecture.classCount) }
            return LabelledSamples(shape: architecture.input, classCount: architecture.classCount, pixels: pixels, labels: labels)
        }
        return Dataset(name: "synthetic", source: "CountedStep", train: samples(self.samples), test: samples(1))
    }
}

import Foundation
import Quantized

/// Trains one network with one rule on one dataset, epoch by epoch.
///
/// Randomness comes from separate `RandomStream`s of the config's seed:
/// weights, F / feedback matrices, the per-epoch shuffle, and the dropout
/// masks (drawn on one thread, in batch order), so a run is the same for the
/// same seed whatever `threads` is, up to float rounding — and bit-identical
/// when the thread count is the same too.
public final class Trainer {
    public let config: TrainingConfig
    public let dataset: Dataset
    public let architecture: Architecture
    /// float32 or fixed point, per `config.precision`.
    public let engine: any TrainingEngine
    public private(set) var history: [EpochMetrics] = []
    private var shuffleRandom: RandomStream
    private var dropoutRandom: RandomStream

    /// Builds the network, rule and optimiser in the configured arithmetic;
    /// `initial` (weights and F read from `--init`) replaces the random ones.
    /// Fixed point starts from the same float initial values, narrowed.
    /// With `countOperations`, every training step's operations are counted
    /// (`OperationRecorder`) and reported per epoch in `EpochMetrics.operations`.
    public init(config: TrainingConfig, dataset: Dataset, initial: InitialState? = nil, countOperations: Bool = true) throws {
        try config.validate()
        let architecture = try Architecture.named(config.model, input: dataset.shape, classCount: dataset.classCount)
        var network = Network(heUniform: architecture, seed: config.seed)
        if let weights = initial?.weights { network = Network(architecture: architecture, weights: weights) }
        var projection: Matrix? = nil
        var feedback: [Matrix] = []
        if config.rule.isPepita {
            projection = initial?.projection
                ?? Pepita.randomProjection(for: architecture, projectionScale: config.projectionScale,
                                           kind: config.rule, seed: config.seed)
        } else {
            feedback = Backprop.randomFeedback(kind: config.rule, architecture: architecture, seed: config.seed)
        }
        if config.precision.isFloat {
            let rule: any LearningRule = config.rule.isPepita
                ? Pepita(kind: config.rule, projection: projection!, lastLayerError: config.lastLayerError,
                         convolutionBatchAverageTwice: config.convolutionBatchAverageTwice)
                : Backprop(kind: config.rule, feedback: feedback)
            engine = FloatEngine(network: network, rule: rule, momentum: config.momentum, threads: config.threads)
        } else {
            // The narrowing of the initial weights and of F (or the feedback
            // matrices) is counted in the first epoch's statistics.
            engine = try FixedPointEngine(precision: config.precision, architecture: architecture, weights: network.weights,
                                          rule: config.rule, projection: projection, feedback: feedback, training: config)
        }
        if countOperations { engine.operationRecorder = OperationRecorder() }
        self.config = config
        self.dataset = dataset
        self.architecture = architecture
        self.shuffleRandom = RandomStream(seed: config.seed, purpose: .shuffle)
        self.dropoutRandom = RandomStream(seed: config.seed, purpose: .dropout)
    }

    public var epochsCompleted: Int { history.count }
    /// The current weights as real numbers.
    public var weights: [Matrix] { engine.realWeights }

    /// Runs one epoch of training and evaluates test (and validation) data.
    @discardableResult
    public func trainEpoch() -> EpochMetrics {
        let epochIndex = history.count
        let learningRate = config.schedule.learningRate(epoch: epochIndex)
        let train = dataset.train
        let order = config.shuffle ? shuffleRandom.permutation(count: train.count) : Array(0..<train.count)
        let width = train.shape.featureCount
        var lossSum = 0.0, correct = 0.0
        let start = Date()
        var first = 0
        while first < train.count {
            let indices = order[first ..< min(first + config.batchSize, train.count)]
            let batch = indices.count
            var input = Matrix(zeros: batch, width)
            var labels = [Int32]()
            labels.reserveCapacity(batch)
            for (row, sample) in indices.enumerated() {
                input.values.replaceSubrange(row * width ..< (row + 1) * width,
                                             with: train.pixels[sample * width ..< (sample + 1) * width])
                labels.append(train.labels[sample])
            }
            let masks = dropoutMasks(for: architecture, batch: batch, keep: config.dropoutKeep, random: &dropoutRandom)
            let probabilities = engine.trainStep(input: input, labels: labels, masks: masks,
                                                 learningRate: learningRate)
            let score = Evaluation.score(probabilities: probabilities, labels: labels[...])
            lossSum += score.loss * Double(batch)
            correct += score.accuracy * Double(batch)
            first += batch
        }
        let trainSeconds = Date().timeIntervalSince(start)
        let quantization = engine.quantizationCounters
        engine.resetCounters()
        let operations = engine.operationRecorder?.recorded
        engine.operationRecorder?.reset()
        let evaluationStart = Date()
        let test = engine.evaluate(dataset.test)
        let validation = dataset.validation.map { engine.evaluate($0) }
        let metrics = EpochMetrics(
            epoch: epochIndex + 1, learningRate: learningRate,
            trainLoss: lossSum / Double(max(train.count, 1)), trainAccuracy: correct / Double(max(train.count, 1)),
            testLoss: test.loss, testAccuracy: test.accuracy,
            validationLoss: validation?.loss, validationAccuracy: validation?.accuracy,
            trainSeconds: trainSeconds, evaluationSeconds: Date().timeIntervalSince(evaluationStart),
            quantization: quantization, operations: operations)
        history.append(metrics)
        return metrics
    }

    /// Trains the remaining epochs of `config.epochs`.
    public func train() {
        train { _ in }
    }

    /// Trains the remaining epochs of `config.epochs`, calling `afterEpoch` after each.
    public func train(afterEpoch: (EpochMetrics) throws -> Void) rethrows {
        while history.count < config.epochs {
            try afterEpoch(trainEpoch())
        }
    }

    /// Summary of the run so far: final and best test accuracy, slowness.
    public var summary: RunSummary { RunSummary(config: config, history: history, classCount: dataset.classCount) }
}

/// Weights and F read from a directory (`--init DIR`), to start a run from.
public struct InitialState: Sendable {
    public var weights: [Matrix]?
    public var projection: Matrix?

    public init(weights: [Matrix]?, projection: Matrix?) {
        self.weights = weights
        self.projection = projection
    }
}

/// What a finished run says about itself.
public struct RunSummary: Codable, Equatable, Sendable {
    public var rule: RuleKind
    public var model: String
    public var dataset: String
    public var epochs: Int
    public var finalTestAccuracy: Double
    public var bestTestAccuracy: Double
    /// Epoch (from 1) of the best test accuracy, the first if tied.
    public var bestEpoch: Int
    /// Fitted slowness `a` (see `Slowness`); nil when the curve is too short.
    public var slowness: Double?
    /// Median seconds of training per epoch (evaluation excluded).
    public var medianTrainSecondsPerEpoch: Double
    public var lastLayerError: LastLayerError?
    /// Name of the precision config (`float32`, `int8`, ...).
    public var precision: String

    public init(config: TrainingConfig, history: [EpochMetrics], classCount: Int) {
        rule = config.rule
        precision = config.precision.name
        model = config.model
        dataset = config.dataset
        epochs = history.count
        let accuracies = history.map(\.testAccuracy)
        finalTestAccuracy = accuracies.last ?? .nan
        let best = accuracies.enumerated().max { $0.element < $1.element || ($0.element == $1.element && $0.offset > $1.offset) }
        bestTestAccuracy = best?.element ?? .nan
        bestEpoch = (best?.offset ?? -1) + 1
        slowness = Slowness.fit(testAccuracies: accuracies, chance: 1 / Double(classCount), fitEpochs: config.fitEpochs)
        let seconds = history.map(\.trainSeconds).sorted()
        medianTrainSecondsPerEpoch = seconds.isEmpty ? .nan
            : (seconds[(seconds.count - 1) / 2] + seconds[seconds.count / 2]) / 2
        lastLayerError = config.rule.isPepita ? config.lastLayerError : nil
    }
}

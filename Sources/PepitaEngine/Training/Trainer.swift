import Foundation
import Quantized

/// Trains one network with one rule on one dataset, step by step and epoch by epoch.
///
/// Randomness comes from separate `RandomStream`s of the config's seed:
/// weights, F / feedback matrices, the per-epoch shuffle, and the dropout
/// masks (drawn on one thread, in batch order), so a run is the same for the
/// same seed whatever `threads` is, up to float rounding — and bit-identical
/// when the thread count is the same too.
///
/// Everything that decides the rest of a run — weights, optimiser state, the
/// counters of the shuffle, dropout and stochastic-rounding streams, the position
/// in the epoch, the metrics so far — is in `checkpointState` plus the engine's
/// checkpoint files, so a run restored with `restore(_:engineDirectory:)` continues
/// exactly as if it had never stopped.
public final class Trainer {
    public let config: TrainingConfig
    public let dataset: Dataset
    public let architecture: Architecture
    /// float32 or fixed point, per `config.precision`.
    public let engine: any TrainingEngine
    public internal(set) var history: [EpochMetrics] = []
    var shuffleRandom: RandomStream
    var dropoutRandom: RandomStream
    /// The current epoch's sample order; nil until its first step.
    var epochOrder: [Int]?
    /// `shuffleRandom.counter` before the current epoch's order was drawn.
    var shuffleCounterAtEpochStart: UInt64 = 0
    var partial = PartialEpoch()
    /// `dataset.train.fingerprint`, computed once (checkpoints record it).
    lazy var trainingDataFingerprint = dataset.train.fingerprint

    /// Builds the network, rule and optimiser in the configured arithmetic;
    /// `initial` (weights and F read from `--init`) replaces the random ones.
    /// Fixed point starts from the same float initial values, narrowed.
    /// With `countOperations`, every training step's operations are counted
    /// (`OperationRecorder`) and reported per epoch in `EpochMetrics.operations`.
    public init(config: TrainingConfig, dataset: Dataset, initial: InitialState? = nil, countOperations: Bool = true) throws {
        try config.validate()
        let architecture = try Architecture.named(config.model, input: dataset.shape, classCount: dataset.classCount)
        try Self.checkSize(of: architecture)
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

    /// The most weights a model may have: 2^28 (1 GiB as float32, and training
    /// keeps several copies: weights, velocity, updates). Anything larger is a typo
    /// in `--model` or a damaged config, refused before any allocation.
    public static let maxWeights = 1 << 28

    private static func checkSize(of architecture: Architecture) throws {
        var total = 0
        for layer in architecture.layers {
            let (count, overflowA) = layer.weightShape.rows.multipliedReportingOverflow(by: layer.weightShape.columns)
            let (sum, overflowB) = total.addingReportingOverflow(count)
            guard !overflowA, !overflowB, sum <= maxWeights else {
                throw ConfigError(message: "model '\(architecture.name)' has more than \(maxWeights) weights; refusing to allocate it")
            }
            total = sum
        }
    }

    public var epochsCompleted: Int { history.count }
    /// Mini-batches of the current (unfinished) epoch already trained.
    public var stepsCompletedInEpoch: Int { partial.steps }
    /// Mini-batches in one epoch.
    public var stepsPerEpoch: Int { (dataset.train.count + config.batchSize - 1) / config.batchSize }
    /// Whether every epoch of `config.epochs` is done.
    public var isFinished: Bool { history.count >= config.epochs }
    /// The current weights as real numbers.
    public var weights: [Matrix] { engine.realWeights }

    /// Trains one mini-batch of the current epoch, and when it was the epoch's last,
    /// evaluates and returns the epoch's metrics. Checks the weights afterwards: a
    /// NaN or infinity stops the run (`TrainingError.nonFinite`) instead of
    /// training on garbage.
    public func step() throws -> EpochMetrics? {
        try trainOneBatch { epoch, step in
            if let layer = engine.firstNonFiniteLayer { throw TrainingError.nonFinite(epoch: epoch, step: step, layer: layer) }
        }
    }

    /// Runs the rest of the current epoch (all of it when no step of it has run) and evaluates
    /// test (and validation) data. No finiteness check: see `step()`.
    @discardableResult
    public func trainEpoch() -> EpochMetrics {
        while true {
            if let metrics = trainOneBatch(afterUpdate: { _, _ in }) { return metrics }
        }
    }

    /// Trains the remaining epochs of `config.epochs`. No finiteness check (see
    /// `step()`): for tests and measurements; the CLI trains with
    /// `train(shouldStop:afterStep:)`, which checks every step.
    public func train() {
        while !isFinished { trainEpoch() }
    }

    /// Trains the remaining steps one at a time with `step()`, calling `afterStep`
    /// after each (with the epoch's metrics when it ended one) and stopping early,
    /// between two steps, when `shouldStop` says so.
    /// - Returns: whether every epoch is done.
    public func train(shouldStop: () -> Bool, afterStep: (EpochMetrics?) throws -> Void) throws -> Bool {
        while !isFinished {
            if shouldStop() { return false }
            try afterStep(try step())
        }
        return true
    }

    /// One mini-batch; `afterUpdate(epoch, step)` (both from 1) runs right after the
    /// weights changed, before anything else uses them.
    private func trainOneBatch(afterUpdate: (Int, Int) throws -> Void) rethrows -> EpochMetrics? {
        let train = dataset.train
        if epochOrder == nil {
            shuffleCounterAtEpochStart = shuffleRandom.counter
            epochOrder = config.shuffle ? shuffleRandom.permutation(count: train.count) : Array(0..<train.count)
        }
        let order = epochOrder!
        let epochIndex = history.count
        let learningRate = config.schedule.learningRate(epoch: epochIndex)
        let width = train.shape.featureCount
        let start = Date()
        let first = partial.steps * config.batchSize
        if first < train.count {
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
            let masks = dropoutMasks(for: architecture, batch: batch, keep: config.dropoutKeep, random: &dropoutRandom,
                                     threads: config.threads)
            let probabilities = engine.trainStep(input: input, labels: labels, masks: masks,
                                                 learningRate: learningRate)
            try afterUpdate(epochIndex + 1, partial.steps + 1)
            let score = Evaluation.score(probabilities: probabilities, labels: labels[...])
            partial.lossSum += score.loss * Double(batch)
            partial.correct += score.accuracy * Double(batch)
            partial.steps += 1
            partial.trainSeconds += Date().timeIntervalSince(start)
        }
        guard partial.steps * config.batchSize >= train.count else { return nil }
        return finishEpoch(learningRate: learningRate)
    }

    private func finishEpoch(learningRate: Float) -> EpochMetrics {
        let train = dataset.train
        let quantization = engine.quantizationCounters
        engine.resetCounters()
        let operations = engine.operationRecorder?.recorded
        engine.operationRecorder?.reset()
        let evaluationStart = Date()
        let test = engine.evaluate(dataset.test)
        let validation = dataset.validation.map { engine.evaluate($0) }
        let metrics = EpochMetrics(
            epoch: history.count + 1, learningRate: learningRate,
            trainLoss: partial.lossSum / Double(max(train.count, 1)), trainAccuracy: partial.correct / Double(max(train.count, 1)),
            testLoss: test.loss, testAccuracy: test.accuracy,
            validationLoss: validation?.loss, validationAccuracy: validation?.accuracy,
            trainSeconds: partial.trainSeconds, evaluationSeconds: Date().timeIntervalSince(evaluationStart),
            quantization: quantization, operations: operations)
        history.append(metrics)
        partial = PartialEpoch()
        epochOrder = nil
        return metrics
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

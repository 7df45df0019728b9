import Foundation
import Quantized

/// The running totals of an epoch that has not finished: what its metrics row
/// needs from the steps already trained.
struct PartialEpoch: Codable, Equatable, Sendable {
    /// Mini-batches trained so far in this epoch.
    var steps = 0
    /// Sum over trained samples of the first pass's cross-entropy.
    var lossSum = 0.0
    /// Trained samples the first pass classified correctly.
    var correct = 0.0
    var trainSeconds = 0.0
}

/// `checkpoint/state.json`: where a run is and the state of its random streams,
/// beside the engine's weight and optimiser files in the same directory.
public struct TrainerCheckpointState: Codable, Equatable, Sendable {
    /// Format of this file; 2 added the step position and random-stream counters.
    public var version = 2
    public var model: String
    public var rule: RuleKind
    /// Name of the precision config (`float32`, `int8`, ...).
    public var precision: String
    public var epochsCompleted: Int
    /// Mini-batches of epoch `epochsCompleted + 1` already trained (0 at an epoch boundary).
    public var stepsCompletedInEpoch: Int
    public var stepsPerEpoch: Int
    /// `LabelledSamples.fingerprint` of the training set: resuming on other data is refused.
    public var trainingDataFingerprint: String
    /// Counter of the shuffle stream before the current epoch's order was drawn
    /// (at an epoch boundary: before the next epoch's).
    public var shuffleCounter: UInt64
    /// Counter of the dropout stream after the last trained step.
    public var dropoutCounter: UInt64
    /// Fixed point: narrowings so far, the position of the stochastic-rounding streams.
    public var narrowings: UInt64?
    /// Totals of the unfinished epoch.
    var partialEpoch: PartialEpoch
    /// Fixed point: the unfinished epoch's quantization counters.
    public var partialQuantization: [TensorRole: QuantizationCounters]?
    /// The unfinished epoch's counted operations (nil when not counted or at an epoch boundary).
    public var partialOperations: RecordedOperations?
    /// Metrics of every finished epoch.
    public var history: [EpochMetrics]
}

extension Trainer {
    /// Everything besides the engine's files that a resumed run needs.
    public var checkpointState: TrainerCheckpointState {
        TrainerCheckpointState(
            model: config.model, rule: config.rule, precision: config.precision.name,
            epochsCompleted: history.count, stepsCompletedInEpoch: partial.steps, stepsPerEpoch: stepsPerEpoch,
            trainingDataFingerprint: trainingDataFingerprint, shuffleCounter: partial.steps == 0 ? shuffleRandom.counter : shuffleCounterAtEpochStart,
            dropoutCounter: dropoutRandom.counter, narrowings: engine.randomPosition, partialEpoch: partial,
            partialQuantization: partial.steps == 0 ? nil : engine.quantizationCounters,
            partialOperations: partial.steps == 0 ? nil : engine.operationRecorder?.recorded, history: history)
    }

    /// Puts a freshly built trainer (same config) where `state` and the engine's
    /// checkpoint files in `engineDirectory` say the interrupted run was.
    /// - Throws: `FileError` naming the file and field when the state does not fit
    ///   this run (another model, rule, precision or batch size, a position past
    ///   the end); the engine's errors for its files.
    public func restore(_ state: TrainerCheckpointState, engineDirectory: String) throws {
        let file = engineDirectory + "/state.json"
        func fail(_ field: String, _ problem: String) -> FileError {
            FileError(path: file, reason: "field \(field): \(problem)")
        }
        guard state.version == 2 else { throw fail("version", "must be 2, got \(state.version) (a checkpoint from an older version cannot be resumed)") }
        guard state.model == config.model else { throw fail("model", "'\(state.model)' differs from the run's '\(config.model)'") }
        guard state.rule == config.rule else { throw fail("rule", "'\(state.rule.rawValue)' differs from the run's '\(config.rule.rawValue)'") }
        guard state.precision == config.precision.name else {
            throw fail("precision", "'\(state.precision)' differs from the run's '\(config.precision.name)'")
        }
        guard state.stepsPerEpoch == stepsPerEpoch else {
            throw fail("stepsPerEpoch", "\(state.stepsPerEpoch) differs from \(stepsPerEpoch) for this dataset and batch size")
        }
        guard state.trainingDataFingerprint == trainingDataFingerprint else {
            throw fail("trainingDataFingerprint", "\(state.trainingDataFingerprint) differs from \(trainingDataFingerprint) of the training data now loaded (another --data-dir or changed files?)")
        }
        guard (0...config.epochs).contains(state.epochsCompleted) else {
            throw fail("epochsCompleted", "must be 0...\(config.epochs), got \(state.epochsCompleted)")
        }
        guard state.epochsCompleted < config.epochs || state.stepsCompletedInEpoch == 0 else {
            throw fail("stepsCompletedInEpoch", "\(state.stepsCompletedInEpoch) steps of epoch \(state.epochsCompleted + 1) are done, past the run's last epoch \(config.epochs)")
        }
        guard state.history.count == state.epochsCompleted else {
            throw fail("history", "holds \(state.history.count) epochs, expected \(state.epochsCompleted)")
        }
        guard (0..<stepsPerEpoch).contains(state.stepsCompletedInEpoch), state.partialEpoch.steps == state.stepsCompletedInEpoch else {
            throw fail("stepsCompletedInEpoch", "must be 0..<\(stepsPerEpoch) and equal partialEpoch.steps, got \(state.stepsCompletedInEpoch)")
        }
        guard (state.narrowings == nil) == config.precision.isFloat else {
            throw fail("narrowings", config.precision.isFloat ? "present in a float32 run" : "missing (a fixed-point checkpoint needs it)")
        }
        try engine.readCheckpoint(from: engineDirectory)
        engine.randomPosition = state.narrowings
        engine.resetCounters()
        if let counters = state.partialQuantization { engine.restoreCounters(counters) }
        engine.operationRecorder?.restore(state.partialOperations ?? RecordedOperations())
        history = state.history
        partial = state.partialEpoch
        shuffleRandom = RandomStream(seed: config.seed, purpose: .shuffle, counter: state.shuffleCounter)
        dropoutRandom = RandomStream(seed: config.seed, purpose: .dropout, counter: state.dropoutCounter)
        epochOrder = nil
        if state.stepsCompletedInEpoch > 0 {
            // Draw the interrupted epoch's order again, exactly as it was drawn.
            shuffleCounterAtEpochStart = state.shuffleCounter
            epochOrder = config.shuffle ? shuffleRandom.permutation(count: dataset.train.count) : Array(0..<dataset.train.count)
        }
    }
}

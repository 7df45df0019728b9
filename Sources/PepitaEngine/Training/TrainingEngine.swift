import Quantized

/// The arithmetic a `Trainer` drives: float32 (`FloatEngine`) or fixed point
/// (`FixedPointEngine`). The trainer owns data order, dropout masks, the
/// schedule and the metrics; the engine owns weights, rule and optimiser.
public protocol TrainingEngine: AnyObject {
    /// One mini-batch step; returns the first pass's class probabilities.
    func trainStep(input: Matrix, labels: [Int32], masks: [Matrix?], learningRate: Float) -> Matrix
    /// Mean cross-entropy and accuracy on `samples`, without dropout.
    func evaluate(_ samples: LabelledSamples) -> Evaluation
    /// Final weights and the rule's fixed matrices (`W0.npy`, ..., `F.npy`).
    func writeWeights(to directory: String) throws
    /// Weights, fixed matrices and optimiser state (`V0.npy`, ...).
    func writeCheckpoint(to directory: String) throws
    /// Per-role fixed-point statistics since the last reset; nil in float32.
    var quantizationCounters: [TensorRole: QuantizationCounters]? { get }
    func resetCounters()
    /// The weights as real numbers (dequantised in fixed point).
    var realWeights: [Matrix] { get }
    /// Counts the operations of every training step while set (nil: not counted).
    var operationRecorder: OperationRecorder? { get set }
    /// Restores weights and optimiser state from files `writeCheckpoint(to:)` wrote,
    /// after checking that the fixed matrices there (F, feedback) equal this
    /// engine's, i.e. that it was built from the same seed and `--init`.
    func readCheckpoint(from directory: String) throws
    /// Position of the engine's own random streams: the narrowings so far in fixed
    /// point (what stochastic rounding draws from); nil in float32.
    var randomPosition: UInt64? { get set }
    /// Adds counters saved from an interrupted epoch (fixed point; no-op in float32).
    func restoreCounters(_ counters: [TensorRole: QuantizationCounters])
    /// The first layer whose weights hold a NaN or an infinity, if any.
    var firstNonFiniteLayer: Int? { get }
}

/// float32 training: `Network` + a `LearningRule` + `MomentumSGD`.
public final class FloatEngine: TrainingEngine {
    public internal(set) var network: Network
    public let rule: any LearningRule
    public internal(set) var optimiser: MomentumSGD
    let threads: Int
    public var operationRecorder: OperationRecorder?

    public init(network: Network, rule: any LearningRule, momentum: Float, threads: Int) {
        self.network = network
        self.rule = rule
        self.optimiser = MomentumSGD(momentum: momentum, shapes: network.weights)
        self.threads = threads
    }

    public func trainStep(input: Matrix, labels: [Int32], masks: [Matrix?], learningRate: Float) -> Matrix {
        let step = rule.step(network: network, input: input, labels: labels, masks: masks, threads: threads,
                             recorder: operationRecorder)
        optimiser.apply(step.updates, divisors: step.divisors, to: &network.weights, learningRate: learningRate,
                        batch: input.rows, threads: threads, recorder: operationRecorder)
        operationRecorder?.finishStep()
        return step.firstPass.probabilities
    }

    public func evaluate(_ samples: LabelledSamples) -> Evaluation {
        Evaluation.measure(network, on: samples, threads: threads)
    }

    public func writeWeights(to directory: String) throws {
        try RunDirectory.writeWeights(network, fixedMatrices: rule.fixedMatrices, to: directory)
    }

    public func writeCheckpoint(to directory: String) throws {
        try writeWeights(to: directory)
        for (index, velocity) in optimiser.velocities.enumerated() {
            try NPY.write(velocity.values, shape: [velocity.rows, velocity.columns], to: "\(directory)/V\(index).npy")
        }
    }

    public var quantizationCounters: [TensorRole: QuantizationCounters]? { nil }
    public func resetCounters() {}
    public var realWeights: [Matrix] { network.weights }
}

import Foundation
import Quantized

/// Fixed-point training: weights, F, activations, errors, updates and
/// velocity as integer codes in the formats of a `PrecisionConfig`, every
/// product an exact integer sum, every narrowing rounded and saturated as
/// configured and counted. Bit-exact for a seed on any thread count.
public final class FixedPointEngine: TrainingEngine {
    public internal(set) var network: FixedPointNetwork
    public let rule: any FixedPointLearningRule
    public internal(set) var optimiser: FixedPointMomentum
    public let arithmetic: FixedPointArithmetic
    let keepScale: FixedScalar?
    let threads: Int
    let seed: UInt64

    /// Narrows float initial weights and fixed matrices (`F`, or FA/DFA
    /// feedback) into the configured formats.
    public init(precision: PrecisionConfig, architecture: Architecture, weights: [Matrix], rule kind: RuleKind,
                projection: Matrix?, feedback: [Matrix], training: TrainingConfig) throws {
        for role in [TensorRole.weights, .optimiserState] where precision[role].scaling == .dynamic {
            throw ConfigError(message: "precision '\(precision.name)': \(role.rawValue) must use static scaling (it persists across batches)")
        }
        let arithmetic = FixedPointArithmetic(config: precision, seed: training.seed, threads: training.threads)
        self.arithmetic = arithmetic
        threads = training.threads
        seed = training.seed
        let fixedWeights = weights.map { arithmetic.quantize($0, role: .weights) }
        network = FixedPointNetwork(architecture: architecture, weights: fixedWeights)
        if kind.isPepita {
            rule = FixedPointPepita(kind: kind, projection: arithmetic.quantize(projection!, role: .projection),
                                    lastLayerError: training.lastLayerError,
                                    convolutionBatchAverageTwice: training.convolutionBatchAverageTwice)
        } else {
            rule = FixedPointBackprop(kind: kind, feedback: feedback.map {
                $0.count == 0 ? FixedMatrix(rows: 0, columns: 0, codes: [], format: precision[.projection].format(forMaxAbs: 0))
                    : arithmetic.quantize($0, role: .projection)
            })
        }
        optimiser = FixedPointMomentum(momentum: Double(training.momentum), weights: fixedWeights, config: precision)
        // Inverted dropout's 1/keep is always a multiply-shift: rounding it to a
        // power of two would turn 1/0.9 into 1 and drop the scaling.
        keepScale = training.dropoutKeep < 1 ? FixedScalar(1 / Double(training.dropoutKeep), mode: .multiplyShift) : nil
    }

    public func trainStep(input: Matrix, labels: [Int32], masks: [Matrix?], learningRate: Float) -> Matrix {
        let fixedInput = arithmetic.quantize(input, role: .modulatedInput)
        let step = rule.step(network: network, input: fixedInput, labels: labels, masks: masks, keepScale: keepScale,
                             arithmetic: arithmetic)
        optimiser.apply(step, to: &network.weights, learningRate: Double(learningRate), batch: input.rows, arithmetic: arithmetic)
        arithmetic.operations?.finishStep()
        return step.probabilities.dequantized
    }

    public var operationRecorder: OperationRecorder? {
        get { arithmetic.operations }
        set { arithmetic.operations = newValue }
    }

    /// Accuracy from the argmax of the exact integer logits; the loss (for
    /// reporting only) from a float softmax of the dequantised logits.
    public func evaluate(_ samples: LabelledSamples) -> Evaluation {
        // Evaluation narrows with its own generator and counters, so it never
        // shifts the training run's random streams or statistics.
        let evaluation = FixedPointArithmetic(config: arithmetic.config, seed: seed ^ 0xE7A1, threads: threads)
        var lossSum = 0.0, correct = 0
        let width = samples.shape.featureCount
        var start = 0
        while start < samples.count {
            let end = min(samples.count, start + 1000)
            let input = Matrix(rows: end - start, columns: width, values: Array(samples.pixels[start * width ..< end * width]))
            let (classes, logits) = network.predictions(evaluation.quantize(input, role: .modulatedInput), arithmetic: evaluation)
            let step = Double(sign: .plus, exponent: -logits.fractionalBits, significand: 1)
            let probabilities = Elementwise.softmax(Matrix(rows: logits.rows, columns: logits.columns,
                                                           values: logits.values.map { Float(Double($0) * step) }))
            let labels = samples.labels[start ..< end]
            lossSum += Evaluation.score(probabilities: probabilities, labels: labels).loss * Double(end - start)
            correct += zip(classes, labels).filter { $0 == Int($1) }.count
            start = end
        }
        return Evaluation(loss: lossSum / Double(samples.count), accuracy: Double(correct) / Double(samples.count))
    }

    public func writeWeights(to directory: String) throws {
        for (index, layer) in network.layers.enumerated() {
            try Self.write(network.weights[index], shape: RunDirectory.weightFileShape(layer), role: .weights,
                           to: "\(directory)/W\(index)")
        }
        for (name, matrix) in rule.fixedMatrices.sorted(by: { $0.key < $1.key }) {
            try Self.write(matrix, shape: [matrix.rows, matrix.columns], role: .projection, to: "\(directory)/\(name)")
        }
    }

    public func writeCheckpoint(to directory: String) throws {
        try writeWeights(to: directory)
        for (index, velocity) in optimiser.velocities.enumerated() {
            try Self.write(velocity, shape: [velocity.rows, velocity.columns], role: .optimiserState, to: "\(directory)/V\(index)")
        }
    }

    /// `NAME.npy` with the integer codes (int8 for formats up to 8 bits,
    /// else int16) and `NAME.json` giving the format: real value = code * 2^-fractionalBits.
    static func write(_ matrix: FixedMatrix, shape: [Int], role: TensorRole, to stem: String) throws {
        if matrix.format.totalBits <= 8 {
            try NPY.write(matrix.codes.map { Int8(truncatingIfNeeded: $0) }, shape: shape, to: stem + ".npy")
        } else {
            try NPY.write(matrix.codes, shape: shape, to: stem + ".npy")
        }
        try AtomicFile.writeJSON(FixedPointSidecar(role: role, format: matrix.format), to: stem + ".json")
    }

    public var quantizationCounters: [TensorRole: QuantizationCounters]? { arithmetic.counters }
    public func resetCounters() { arithmetic.resetCounters() }
    public var realWeights: [Matrix] { network.weights.map(\.dequantized) }
}

/// The JSON file beside an integer `.npy`: which role and format its codes are in.
public struct FixedPointSidecar: Codable, Equatable {
    public var role: TensorRole
    public var format: String
    public var totalBits: Int
    public var fractionalBits: Int
    public var signed: Bool
    /// How to read the codes: `value = code * 2^-fractionalBits`.
    public var meaning = "value = code * 2^-fractionalBits"

    public init(role: TensorRole, format: FixedPointFormat) {
        self.role = role
        self.format = format.description
        totalBits = format.totalBits
        fractionalBits = format.fractionalBits
        signed = format.signed
    }
}

extension FixedPointEngine {
    /// Runs one training step on `input` while recording every tensor: the
    /// inputs (x, labels, dropout keep flags, weights, F or feedback), both
    /// passes, errors, update sums, narrowed updates, velocities and new
    /// weights. The step really happens (the engine's weights change).
    public func goldenStep(input: Matrix, labels: [Int32], masks: [Matrix?], learningRate: Float) -> GoldenRecorder {
        let recorder = GoldenRecorder()
        arithmetic.recorder = recorder
        defer { arithmetic.recorder = nil }
        recorder.record("labels", integers: labels, shape: [labels.count], note: "class of each sample")
        for (index, mask) in masks.enumerated() {
            guard let mask else { continue }
            recorder.record("keep\(index + 1)", integers: mask.values.map { $0 > 0 ? 1 : 0 }, shape: [mask.rows, mask.columns],
                            note: "dropout keep flags of h\(index + 1); kept values are multiplied by \(keepScale.map { "\($0.mantissa) * 2^-\($0.shift)" } ?? "1")")
        }
        for (index, layer) in network.layers.enumerated() {
            recorder.record("W\(index).before", network.weights[index], role: .weights,
                            shape: RunDirectory.weightFileShape(layer), note: "weights before the step")
        }
        for (name, matrix) in rule.fixedMatrices.sorted(by: { $0.key < $1.key }) {
            recorder.record(name, matrix, role: .projection, note: name == "F" ? "projection F, n_input x classes" : "feedback matrix")
        }
        let fixedInput = arithmetic.quantize(input, role: .modulatedInput)
        recorder.record("x", fixedInput, role: .modulatedInput, note: "input narrowed to the input format")
        let step = rule.step(network: network, input: fixedInput, labels: labels, masks: masks, keepScale: keepScale,
                             arithmetic: arithmetic)
        optimiser.apply(step, to: &network.weights, learningRate: Double(learningRate), batch: input.rows, arithmetic: arithmetic)
        arithmetic.operations?.finishStep()
        return recorder
    }
}

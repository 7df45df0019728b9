import Quantized

/// Momentum SGD as the PEPITA reference applies it:
/// `v = momentum * v + eta * dW / batch`, then `W = W - v`, computed as
/// `v = momentum * v + s * dW` with the scalar `s = eta / (batch * divisor)`
/// formed once per layer (`divisor` folds in a rule's own normalisation,
/// e.g. PEPITA's conv update). Per weight: 2 multiplies and 2 adds.
public struct MomentumSGD: Sendable {
    public var momentum: Float
    /// One velocity per layer, shaped like its weight.
    public var velocities: [Matrix]

    public init(momentum: Float, shapes: [Matrix]) {
        self.momentum = momentum
        self.velocities = shapes.map { Matrix(zeros: $0.rows, $0.columns) }
    }

    /// Applies `updates` (with per-layer `divisors`, 1 when nil), large layers
    /// shared among up to `threads` threads (same floats for any count); with a
    /// `recorder`, counts each layer's operations and its weight, velocity and
    /// update traffic under phase `optimiser`.
    public mutating func apply(_ updates: [Matrix], divisors: [Float]? = nil, to weights: inout [Matrix], learningRate: Float,
                               batch: Int, threads: Int = 1, recorder: OperationRecorder? = nil) {
        precondition(updates.count == weights.count)
        recorder?.phase = .optimiser
        for layer in weights.indices {
            let scale = Float(Double(learningRate) / (Double(batch) * Double(divisors?[layer] ?? 1)))
            let count = weights[layer].count
            recorder?.layer = layer
            recorder?.count(OperationTally(adds: 2 * count, multiplies: 2 * count))
            recorder?.read(.weights, bytes: 4 * count)
            recorder?.read(.optimiserState, bytes: 4 * count)
            recorder?.read(.updates, bytes: 4 * count)
            recorder?.write(.weights, bytes: 4 * count)
            recorder?.write(.optimiserState, bytes: 4 * count)
            velocities[layer].values.withUnsafeMutableBufferPointer { velocity in
                weights[layer].values.withUnsafeMutableBufferPointer { weight in
                    updates[layer].values.withUnsafeBufferPointer { update in
                        FloatElementwise.momentumStep(weights: weight, velocity: velocity, update: update,
                                                      momentum: momentum, scale: scale, threads: threads)
                    }
                }
            }
        }
    }
}

/// Step learning-rate decay: `eta` times `factor` for every decay epoch reached.
/// Epochs count from 0, as the reference's `for epoch in range(epochs)`:
/// with decay epochs [60, 90], epochs 0-59 use eta, 60-89 eta*0.1, 90+ eta*0.01.
public struct StepSchedule: Codable, Equatable, Sendable {
    public var baseLearningRate: Float
    public var decayEpochs: [Int]
    public var factor: Float

    public init(baseLearningRate: Float, decayEpochs: [Int], factor: Float = 0.1) {
        self.baseLearningRate = baseLearningRate
        self.decayEpochs = decayEpochs
        self.factor = factor
    }

    public func learningRate(epoch: Int) -> Float {
        decayEpochs.filter { epoch >= $0 }.reduce(baseLearningRate) { rate, _ in rate * factor }
    }
}

/// Momentum SGD as the PEPITA reference applies it:
/// `v = momentum * v + eta * dW / batch`, then `W = W - v`.
public struct MomentumSGD: Sendable {
    public var momentum: Float
    /// One velocity per layer, shaped like its weight.
    public var velocities: [Matrix]

    public init(momentum: Float, shapes: [Matrix]) {
        self.momentum = momentum
        self.velocities = shapes.map { Matrix(zeros: $0.rows, $0.columns) }
    }

    public mutating func apply(_ updates: [Matrix], to weights: inout [Matrix], learningRate: Float, batch: Int) {
        precondition(updates.count == weights.count)
        let divisor = Float(batch)
        for layer in weights.indices {
            velocities[layer].values.withUnsafeMutableBufferPointer { velocity in
                weights[layer].values.withUnsafeMutableBufferPointer { weight in
                    updates[layer].values.withUnsafeBufferPointer { update in
                        for i in velocity.indices {
                            velocity[i] = momentum * velocity[i] + learningRate * update[i] / divisor
                            weight[i] -= velocity[i]
                        }
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

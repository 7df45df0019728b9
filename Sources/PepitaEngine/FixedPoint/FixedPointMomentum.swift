import Quantized

/// Momentum SGD in fixed point, the datapath a chip would have:
///
/// 1. `u = (eta / (B * divisor)) * dW` — the scalar as multiply-and-shift (or a
///    power of two), narrowed to the updates format (an update below half a
///    step vanishes: counted under `updates`);
/// 2. `v = m * v + u` — `m * v` by multiply-and-shift and `u` each narrowed to
///    the velocity format, then added with saturation;
/// 3. `W = W - v` — exact difference narrowed to the weight format with the
///    weights' rounding (a velocity that moves no weight code is counted as
///    "rounded to zero" under `weights`).
///
/// In `power-of-two` scalar mode the momentum becomes `1 - 2^-k` (0.9 -> 0.875),
/// a shift and a subtraction. Velocity and weights use static formats.
public struct FixedPointMomentum: Sendable {
    public var velocities: [FixedMatrix]
    public let momentum: FixedScalar
    public let scalarMode: PrecisionConfig.ScalarMode

    public init(momentum: Double, weights: [FixedMatrix], config: PrecisionConfig) {
        let stateFormat = config[.optimiserState].format(forMaxAbs: 0)
        velocities = weights.map { FixedMatrix(rows: $0.rows, columns: $0.columns, codes: [Int16](repeating: 0, count: $0.count), format: stateFormat) }
        scalarMode = config.scalars
        if momentum == 0 {
            self.momentum = FixedScalar(mantissa: 0, shift: 0)
        } else if config.scalars == .powerOfTwo {
            let k = max(1, Int((-log2(1 - momentum)).rounded()))
            self.momentum = FixedScalar(mantissa: (Int64(1) << k) - 1, shift: k)
        } else {
            self.momentum = FixedScalar(momentum, mode: .multiplyShift)
        }
    }

    public mutating func apply(_ step: FixedPointRuleStep, to weights: inout [FixedMatrix], learningRate: Double,
                               batch: Int, arithmetic: FixedPointArithmetic) {
        let operations = arithmetic.operations
        operations?.phase = .optimiser
        for layer in weights.indices {
            // Operations count themselves in `scaled` and `sum`; the traffic is
            // every weight and velocity read and written once, the update sums read once.
            operations?.layer = layer
            operations?.read(.weights, bytes: weights[layer].count * weights[layer].elementBytes)
            operations?.write(.weights, bytes: weights[layer].count * weights[layer].elementBytes)
            operations?.read(.optimiserState, bytes: velocities[layer].count * velocities[layer].elementBytes)
            operations?.write(.optimiserState, bytes: velocities[layer].count * velocities[layer].elementBytes)
            operations?.read(.updates, bytes: step.updates[layer].values.count * ((arithmetic.config.accumulatorBits + 7) / 8))
            let velocityFormat = velocities[layer].format
            var velocity = arithmetic.requantize(arithmetic.scaled(arithmetic.widen(velocities[layer]), by: momentum),
                                                 role: .optimiserState, format: velocityFormat)
            if learningRate > 0 {
                let factor = FixedScalar(learningRate / (Double(batch) * step.divisors[layer]), mode: scalarMode)
                let update = arithmetic.requantize(arithmetic.scaled(step.updates[layer], by: factor), role: .updates)
                arithmetic.recorder?.record("u\(layer)", update, role: .updates,
                                            note: "eta / (B * divisor) * dW as \(factor.mantissa) * 2^-\(factor.shift), narrowed")
                let updateInVelocityFormat = arithmetic.requantize(arithmetic.widen(update), role: .optimiserState, format: velocityFormat)
                velocity = arithmetic.requantize(arithmetic.sum(arithmetic.widen(velocity), arithmetic.widen(updateInVelocityFormat)),
                                                 role: .optimiserState, format: velocityFormat)
            }
            velocities[layer] = velocity
            arithmetic.recorder?.record("V\(layer)", velocity, role: .optimiserState,
                                        note: "momentum \(momentum.mantissa) * 2^-\(momentum.shift) * v + u")
            let old = weights[layer]
            let updated = arithmetic.requantize(arithmetic.sum(arithmetic.widen(old), arithmetic.widen(velocity), subtract: true),
                                                role: .weights, format: old.format)
            var unmoved = 0
            for i in updated.codes.indices where velocity.codes[i] != 0 && updated.codes[i] == old.codes[i] { unmoved += 1 }
            arithmetic.count(roundedToZero: unmoved, role: .weights)
            weights[layer] = updated
            arithmetic.recorder?.record("W\(layer).after", updated, role: .weights, note: "W - v")
        }
    }
}

import Foundation

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
///
/// The five narrowings (`m * v`; `u`; `u` in the velocity format; `v + u`;
/// `W - v`) run element by element in one pass per layer (`MomentumKernel`),
/// drawing their stochastic streams in that order as five whole-tensor
/// `requantize` calls would, with the same codes and counters. The dynamic
/// format of `u` needs the largest |dW| first: the update product's kernel
/// gives it as it stores the sums, or a scan finds it (`ExactSums.maxMagnitude`).
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
        let config = arithmetic.config
        operations?.phase = .optimiser
        for layer in weights.indices {
            // The traffic is every weight and velocity read and written once, the
            // update sums read once; the operations are counted as the
            // tensor-at-a-time formulation would: `m * v` and `factor * dW` one
            // multiply per element each, `v + u` and `W - v` one add each.
            let count = weights[layer].count
            operations?.layer = layer
            operations?.read(.weights, bytes: count * weights[layer].elementBytes)
            operations?.write(.weights, bytes: count * weights[layer].elementBytes)
            operations?.read(.optimiserState, bytes: velocities[layer].count * velocities[layer].elementBytes)
            operations?.write(.optimiserState, bytes: velocities[layer].count * velocities[layer].elementBytes)
            operations?.read(.updates, bytes: step.updates[layer].values.count * ((config.accumulatorBits + 7) / 8))
            let velocityFormat = velocities[layer].format
            let weightFormat = weights[layer].format
            let state = config[.optimiserState].rounding
            // The narrowings draw their random streams in this order, as the
            // five requantisations of the step always have.
            let scaledVelocity = MomentumKernel.Narrowing(shift: momentum.shift, format: velocityFormat, mode: state,
                                                          random: arithmetic.nextRandom())
            operations?.count(OperationTally(multiplies: count))
            // Narrowings 1 to 3 are unused (placeholders) without a learning rate.
            var narrowings = [scaledVelocity, scaledVelocity, scaledVelocity, scaledVelocity]
            var factor = FixedScalar(mantissa: 0, shift: 0)
            let sums = step.updates[layer]
            var updateFormat = velocityFormat
            var sumsMagnitude: UInt64 = 0
            if learningRate > 0 {
                sumsMagnitude = sums.maxMagnitude(threads: arithmetic.threads)
                factor = FixedScalar(learningRate / (Double(batch) * step.divisors[layer]), mode: scalarMode)
                let largest = sumsMagnitude.multipliedFullWidth(by: UInt64(factor.mantissa))
                precondition(largest.high == 0 && largest.low <= UInt64(Int64.max), "update sums times \(factor.mantissa) overflow Int64")
                let scaledFraction = sums.fractionalBits + factor.shift
                updateFormat = config[.updates].format(
                    forMaxAbs: Double(largest.low) * Double(sign: .plus, exponent: -scaledFraction, significand: 1))
                narrowings = [
                    scaledVelocity,
                    MomentumKernel.Narrowing(shift: scaledFraction - updateFormat.fractionalBits, format: updateFormat,
                                             mode: config[.updates].rounding, random: arithmetic.nextRandom()),
                    MomentumKernel.Narrowing(shift: updateFormat.fractionalBits - velocityFormat.fractionalBits,
                                             format: velocityFormat, mode: state, random: arithmetic.nextRandom()),
                    MomentumKernel.Narrowing(shift: 0, format: velocityFormat, mode: state, random: arithmetic.nextRandom()),
                ]
                operations?.count(OperationTally(multiplies: count))
                operations?.count(OperationTally(adds: count))
            }
            let fraction = max(weightFormat.fractionalBits, velocityFormat.fractionalBits)
            narrowings.append(MomentumKernel.Narrowing(shift: fraction - weightFormat.fractionalBits, format: weightFormat,
                                                       mode: config[.weights].rounding, random: arithmetic.nextRandom()))
            operations?.count(OperationTally(adds: count))

            let recorder = arithmetic.recorder
            var updateCodes = [Int16](repeating: 0, count: recorder != nil && learningRate > 0 ? count : 0)
            var result: (tallies: [MomentumKernel.Tally], unmoved: Int) = ([], 0)
            weights[layer].codes.withUnsafeMutableBufferPointer { weightCodes in
                velocities[layer].codes.withUnsafeMutableBufferPointer { velocityCodes in
                    sums.values.withUnsafeBufferPointer { updateSums in
                        updateCodes.withUnsafeMutableBufferPointer { updateCodes in
                            result = MomentumKernel.update(
                                weights: weightCodes, velocity: velocityCodes,
                                updateSums: learningRate > 0 ? updateSums : nil, updateSumsMagnitude: sumsMagnitude,
                                updateCodes: updateCodes.isEmpty ? nil : updateCodes,
                                momentumMantissa: momentum.mantissa, factorMantissa: factor.mantissa,
                                weightAlign: fraction - weightFormat.fractionalBits,
                                velocityAlign: fraction - velocityFormat.fractionalBits, narrowings: narrowings,
                                threads: arithmetic.threads)
                        }
                    }
                }
            }
            let tallies = result.tallies
            arithmetic.record(tallies[0], elements: count, fromFractionalBits: velocityFormat.fractionalBits + momentum.shift,
                              role: .optimiserState)
            if learningRate > 0 {
                arithmetic.record(tallies[1], elements: count, fromFractionalBits: sums.fractionalBits + factor.shift, role: .updates)
                recorder?.record("u\(layer)", FixedMatrix(rows: sums.rows, columns: sums.columns, codes: updateCodes, format: updateFormat),
                                 role: .updates,
                                 note: "eta / (B * divisor) * dW as \(factor.mantissa) * 2^-\(factor.shift), narrowed")
                arithmetic.record(tallies[2], elements: count, fromFractionalBits: updateFormat.fractionalBits, role: .optimiserState)
                arithmetic.record(tallies[3], elements: count, fromFractionalBits: velocityFormat.fractionalBits, role: .optimiserState)
            }
            recorder?.record("V\(layer)", velocities[layer], role: .optimiserState,
                             note: "momentum \(momentum.mantissa) * 2^-\(momentum.shift) * v + u")
            arithmetic.record(tallies[4], elements: count, fromFractionalBits: fraction, role: .weights)
            arithmetic.count(roundedToZero: result.unmoved, role: .weights)
            recorder?.record("W\(layer).after", weights[layer], role: .weights, note: "W - v")
        }
    }
}

import Foundation

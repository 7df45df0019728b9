import Quantized
import TestSupport
import XCTest

/// The fused momentum step (`MomentumKernel.update`, one C loop per mode and
/// path, split over threads) against the five whole-tensor
/// `TensorQuantization.requantize` calls it replaces: same codes, tallies and
/// random bits, in every rounding mode and mixtures of them, with and without
/// update sums, keeping the update codes or not, on 1 and 2 threads and every
/// kernel path this CPU has. The deterministic modes with update sums inside
/// Int32 run the 32-bit-lane loop, the others the 64-bit one.
final class MomentumKernelTests: XCTestCase {
    private struct Case {
        var modes: (state: RoundingMode, updates: RoundingMode, weights: RoundingMode)
        var withUpdates: Bool
        var keepCodes: Bool
        var threads: Int
        var updateFormat: FixedPointFormat
        /// Update sums beyond Int32 (the 32-bit-lane loop must not take them), or
        /// small enough that their products with the factor fit in Int32, or all
        /// zero (bound 0: the x86 32-bit path then skips the update narrowings).
        var sums = Sums.regular
        /// Weights in Q0.6 (7 bits), a few codes outside it (those blocks take
        /// the 32-bit pass, the others the 16-bit one).
        var narrowWeights = false
        /// Weights in Q0.12 (12 bits), finer than the velocity: the velocity is
        /// shifted left to meet them (velocity align 2).
        var fineWeights = false
        /// A momentum mantissa of 0.
        var zeroMomentum = false
        /// An int16 plan: weights Q3.12, velocities Q0.15 and updates of 16
        /// bits, from 16-bit codes near both ends (with `Sums.medium`).
        var int16Plan = false
        /// The factor's mantissa -2^15 instead of 20,972 (the split products' largest magnitude, negative).
        var negativeFactor = false
    }
    /// `medium`: sums up to Int32's edges, their products with the factor
    /// beyond Int32, with exact ties of the update narrowing by 16, 24, 28 and
    /// 31 bits in both signs, for both factors (the x86 32-bit step's split
    /// products).
    private enum Sums { case regular, wide, small, zero, medium }

    // More than two blocks of 4,096 elements and a ragged end, so two threads split the work.
    private let count = 3 * 4096 + 123
    private let weightFormat = FixedPointFormat(totalBits: 8, fractionalBits: 7)
    private let velocityFormat = FixedPointFormat(totalBits: 8, fractionalBits: 10)
    private let momentum = (mantissa: Int64(28_836), shift: 15)
    private let factor = (mantissa: Int64(20_972), shift: 27)
    private let sumFraction = 13

    private func narrowed(_ sums: [Int64], fromFractionalBits: Int, to format: FixedPointFormat, mode: RoundingMode,
                          random: StochasticBits) -> (codes: [Int64], tally: MomentumKernel.Tally) {
        var counters = QuantizationCounters()
        let codes = TensorQuantization.requantize(sums, fromFractionalBits: fromFractionalBits, to: format, mode: mode,
                                                  random: random, counters: &counters)
        let largest = sums.map(\.magnitude).max() ?? 0
        return (codes.map(Int64.init), MomentumKernel.Tally(saturations: counters.saturations,
                                                            roundedToZero: counters.roundedToZero, maxMagnitude: largest))
    }

    func testTheFusedStepEqualsFiveWholeTensorNarrowings() {
        var generator = SplitMix(seed: 7)
        // Weights near both ends of Q0.7 so that the weight narrowing saturates,
        // velocities of every code, update sums from 0 to beyond the updates range.
        let weights0 = (0..<count).map { _ in Int16(truncatingIfNeeded: Int64(generator.next() % 256) - 128) }
        let velocity0 = (0..<count).map { _ in Int16(truncatingIfNeeded: Int64(generator.next() % 256) - 128) }
        let sums = (0..<count).map { index -> Int64 in
            let magnitude = Int64(generator.next() % (index % 3 == 0 ? 1 << 12 : 1 << 21))
            return generator.next() % 2 == 0 ? magnitude : -magnitude
        }
        // The same sums with every 97th beyond Int32 (2^31 and more), and below 2^16.
        let wideSums = sums.enumerated().map { index, sum in index % 97 == 5 ? sum * (1 << 20) + (sum < 0 ? -1 : 1) << 31 : sum }
        // Small sums, every 50th an exact tie of the update narrowing by 15 bits
        // (s * 20,972 = 2^14 mod 2^15 for s = 4,096 mod 8,192), in both signs.
        let smallSums = sums.enumerated().map { index, sum in
            index % 50 == 9 ? (index % 100 == 9 ? -1 : 1) * (4096 + 8192 * Int64(index % 7)) : sum % (1 << 16)
        }
        // Ties: s * 20,972 = 2^(r - 1) mod 2^r exactly when s is 2^(r - 3) times
        // an odd number; s * -2^15 when s is 2^(r - 16) times one (odd sums at r = 16).
        let mediumSums = sums.enumerated().map { index, sum -> Int64 in
            let sign: Int64 = index % 2 == 0 ? 1 : -1
            let odd = 2 * Int64(index % 9) + 1
            switch index % 50 {
            case 11: return sign * (Int64(1) << 13) * odd
            case 23: return sign * (Int64(1) << 21) * odd
            case 29: return sign * (Int64(1) << 25) * odd
            case 37: return sign * (Int64(1) << 28) * (2 * Int64(index % 4) + 1)
            case 43: return sign * (Int64(1) << 8) * odd
            case 47: return sign * (Int64(1) << 15) * odd
            case 41: return sign * Int64(Int32.max)
            default: return sum * (1 << 10) + Int64(generator.next() % 1024)
            }
        }
        // Some weights at the format's ends: a velocity pushing them outward moves none.
        let int16Weights0 = weights0.enumerated().map { index, weight in
            index % 100 == 3 ? Int16.max : index % 100 == 4 ? Int16.min
                : weight &* 256 &+ Int16(bitPattern: UInt16(truncatingIfNeeded: generator.next() % 256))
        }
        let int16Velocity0 = velocity0.map { $0 &* 256 &+ Int16(bitPattern: UInt16(truncatingIfNeeded: generator.next() % 256)) }
        let narrowWeights0 = weights0.enumerated().map { index, weight in index % 1000 == 7 ? weight : min(max(weight, -64), 63) }
        let mixed: [(RoundingMode, RoundingMode, RoundingMode)] =
            RoundingMode.allCases.map { ($0, $0, $0) } + [(.stochastic, .nearestEven, .truncate), (.nearestAway, .stochastic, .nearestEven)]
        var cases: [Case] = []
        // Updates narrowed by a right shift (as in training) and by a left shift
        // (the update format finer than the scaled sums), which the C loops compile
        // apart; then moved to the velocity format by right and left shifts.
        let updateFormats = [12, 45, 6].map { FixedPointFormat(totalBits: 8, fractionalBits: $0) }
        let fineUpdates = FixedPointFormat(totalBits: 8, fractionalBits: 25)
        for updateFormat in updateFormats {
            for modes in mixed {
                for withUpdates in [true, false] {
                    for keepCodes in withUpdates ? [false, true] : [false] {
                        for threads in [1, 2] {
                            cases.append(Case(modes: modes, withUpdates: withUpdates, keepCodes: keepCodes, threads: threads,
                                              updateFormat: updateFormat))
                        }
                    }
                }
            }
        }
        for modes in [(RoundingMode.nearestEven, RoundingMode.nearestEven, RoundingMode.nearestEven),
                      (.truncate, .truncate, .truncate)] {
            for threads in [1, 2] {
                cases.append(Case(modes: modes, withUpdates: true, keepCodes: false, threads: threads, updateFormat: updateFormats[0],
                                  sums: .wide))
            }
        }
        for modes in RoundingMode.allCases.map({ ($0, $0, $0) }) {
            // too: the update narrowing by 15 bits then saturates inside the
            // 16-bit-lane loop, and the move to the velocity format is by 15 bits.
            for updateFormat in updateFormats + [fineUpdates] {
                for threads in [1, 2] {
                    cases.append(Case(modes: modes, withUpdates: true, keepCodes: false, threads: threads, updateFormat: updateFormat,
                                      sums: .small))
                    cases.append(Case(modes: modes, withUpdates: true, keepCodes: false, threads: threads, updateFormat: updateFormat,
                                      sums: .small, narrowWeights: true))
                }
            }
            cases.append(Case(modes: modes, withUpdates: false, keepCodes: false, threads: 2, updateFormat: updateFormats[0],
                              narrowWeights: true))
            for withUpdates in [true, false] {
                cases.append(Case(modes: modes, withUpdates: withUpdates, keepCodes: false, threads: 2, updateFormat: updateFormats[0],
                                  sums: .small, fineWeights: true))
                cases.append(Case(modes: modes, withUpdates: withUpdates, keepCodes: false, threads: 1, updateFormat: updateFormats[0],
                                  sums: .small, zeroMomentum: true))
            }
        }
        // All sums zero, as PEPITA's int8 first layer has when no hidden code
        // differs between the passes, on 1 and 2 threads, with weights that take
        // the 16-bit pass or, in blocks, the 32-bit one. The updates' moves to the
        // velocity format by 2 and -4 bits in a deterministic mode reach the x86
        // 32-bit step's zero branch; by 35 bits, or stochastic, the general loops.
        for modes in RoundingMode.allCases.map({ ($0, $0, $0) }) {
            for updateFormat in updateFormats {
                for narrowWeights in [false, true] {
                    for threads in [1, 2] {
                        cases.append(Case(modes: modes, withUpdates: true, keepCodes: false, threads: threads,
                                          updateFormat: updateFormat, sums: .zero, narrowWeights: narrowWeights))
                    }
                }
            }
        }
        // int16 plans: the update narrowing by 24, 31, 16 and 32 bits (the last
        // beyond the x86 step's split products: its 64-bit lanes), the move to
        // the velocity format by right and left shifts.
        for modes in RoundingMode.allCases.map({ ($0, $0, $0) }) {
            for updateBits in [16, 9, 24, 8] {
                for threads in [1, 2] {
                    cases.append(Case(modes: modes, withUpdates: true, keepCodes: false, threads: threads,
                                      updateFormat: FixedPointFormat(totalBits: 16, fractionalBits: updateBits), sums: .medium,
                                      int16Plan: true))
                }
            }
        }
        // The factor -2^15 on an int16 plan; and an int8 plan's wide sums (split
        // products at shift 28), their codes moved by the 16-bit pass, or in
        // blocks with weights outside Q0.6 by the 32-bit one.
        for modes in RoundingMode.allCases.map({ ($0, $0, $0) }) {
            for threads in [1, 2] {
                for updateBits in [16, 9, 24] {
                    cases.append(Case(modes: modes, withUpdates: true, keepCodes: false, threads: threads,
                                      updateFormat: FixedPointFormat(totalBits: 16, fractionalBits: updateBits), sums: .medium,
                                      int16Plan: true, negativeFactor: true))
                }
                for narrowWeights in [false, true] {
                    cases.append(Case(modes: modes, withUpdates: true, keepCodes: false, threads: threads,
                                      updateFormat: updateFormats[0], sums: .medium, narrowWeights: narrowWeights))
                }
            }
        }
        let zeroSums = [Int64](repeating: 0, count: count)
        forEveryKernelPath { path in
            for test in cases {
                let sums = switch test.sums {
                case .regular: sums
                case .wide: wideSums
                case .small: smallSums
                case .zero: zeroSums
                case .medium: mediumSums
                }
                let weightFormat = test.narrowWeights ? FixedPointFormat(totalBits: 7, fractionalBits: 6)
                    : test.fineWeights ? FixedPointFormat(totalBits: 12, fractionalBits: 12)
                    : test.int16Plan ? FixedPointFormat(totalBits: 16, fractionalBits: 12) : weightFormat
                let velocityFormat = test.int16Plan ? FixedPointFormat(totalBits: 16, fractionalBits: 15) : velocityFormat
                let momentum = test.zeroMomentum ? (mantissa: Int64(0), shift: momentum.shift) : momentum
                let weights0 = test.narrowWeights ? narrowWeights0 : test.int16Plan ? int16Weights0 : weights0
                let velocity0 = test.int16Plan ? int16Velocity0 : velocity0
                let factor = test.negativeFactor ? (mantissa: Int64(-32768), shift: factor.shift) : factor
                let updateFormat = test.updateFormat
                let context = "\(path), \(test.modes), \(updateFormat), updates \(test.withUpdates) (\(test.sums)), weights \(weightFormat), momentum \(momentum.mantissa), codes \(test.keepCodes), \(test.threads) thread(s)"
                let keys = (0..<5).map { StochasticBits(seed: 99, stream: UInt64($0)) }
                // The reference: five whole-tensor narrowings.
                var expectedTallies = [MomentumKernel.Tally](repeating: MomentumKernel.Tally(saturations: 0, roundedToZero: 0,
                                                                                                maxMagnitude: 0), count: 5)
                let decayed = narrowed(velocity0.map { Int64($0) * momentum.mantissa },
                                       fromFractionalBits: velocityFormat.fractionalBits + momentum.shift, to: velocityFormat,
                                       mode: test.modes.state, random: keys[0])
                expectedTallies[0] = decayed.tally
                var velocity = decayed.codes
                var updateCodes: [Int64] = []
                if test.withUpdates {
                    let update = narrowed(sums.map { $0 * factor.mantissa }, fromFractionalBits: sumFraction + factor.shift,
                                          to: updateFormat, mode: test.modes.updates, random: keys[1])
                    let inVelocity = narrowed(update.codes, fromFractionalBits: updateFormat.fractionalBits, to: velocityFormat,
                                              mode: test.modes.state, random: keys[2])
                    let sum = narrowed(zip(velocity, inVelocity.codes).map { $0 + $1 },
                                       fromFractionalBits: velocityFormat.fractionalBits, to: velocityFormat,
                                       mode: test.modes.state, random: keys[3])
                    expectedTallies[1] = update.tally
                    expectedTallies[2] = inVelocity.tally
                    expectedTallies[3] = sum.tally
                    updateCodes = update.codes
                    velocity = sum.codes
                }
                let fraction = max(weightFormat.fractionalBits, velocityFormat.fractionalBits)
                let weightAlign = fraction - weightFormat.fractionalBits, velocityAlign = fraction - velocityFormat.fractionalBits
                let moved = narrowed(zip(weights0, velocity).map { (Int64($0) << weightAlign) - ($1 << velocityAlign) },
                                     fromFractionalBits: fraction, to: weightFormat,
                                     mode: test.modes.weights, random: keys[4])
                expectedTallies[4] = moved.tally
                let expectedUnmoved = (0..<count).filter { velocity[$0] != 0 && moved.codes[$0] == Int64(weights0[$0]) }.count

                // The fused step.
                var weights = weights0, velocityCodes = velocity0
                var keptCodes = [Int16](repeating: 0, count: test.keepCodes ? count : 0)
                let modes = [test.modes.state, test.modes.updates, test.modes.state, test.modes.state, test.modes.weights]
                let shifts = [momentum.shift, sumFraction + factor.shift - updateFormat.fractionalBits,
                              updateFormat.fractionalBits - velocityFormat.fractionalBits, 0, weightAlign]
                let formats = [velocityFormat, updateFormat, velocityFormat, velocityFormat, weightFormat]
                let narrowings = (0..<5).map {
                    MomentumKernel.Narrowing(shift: shifts[$0], format: formats[$0], mode: modes[$0], random: keys[$0])
                }
                let result = weights.withUnsafeMutableBufferPointer { weights in
                    velocityCodes.withUnsafeMutableBufferPointer { velocityCodes in
                        sums.withUnsafeBufferPointer { sums in
                            keptCodes.withUnsafeMutableBufferPointer { kept in
                                MomentumKernel.update(weights: weights, velocity: velocityCodes,
                                                      updateSums: test.withUpdates ? sums : nil,
                                                      updateSumsMagnitude: sums.map(\.magnitude).max(),
                                                      updateCodes: test.keepCodes ? kept : nil,
                                                      momentumMantissa: momentum.mantissa, factorMantissa: factor.mantissa,
                                                      weightAlign: weightAlign, velocityAlign: velocityAlign, narrowings: narrowings,
                                                      threads: test.threads)
                            }
                        }
                    }
                }
                XCTAssertEqual(weights.map(Int64.init), moved.codes, context)
                XCTAssertEqual(velocityCodes.map(Int64.init), velocity, context)
                if test.keepCodes { XCTAssertEqual(keptCodes.map(Int64.init), updateCodes, context) }
                for n in 0..<5 where test.withUpdates || n == 0 || n == 4 {
                    XCTAssertEqual(result.tallies[n], expectedTallies[n], "\(context), narrowing \(n)")
                }
                XCTAssertEqual(result.unmoved, expectedUnmoved, context)
                if test.withUpdates && test.updateFormat == fineUpdates {
                    XCTAssertGreaterThan(expectedTallies[1].saturations, 0, "the fixture saturates updates")
                }
                if !test.fineWeights && !test.zeroMomentum {
                    XCTAssertGreaterThan(expectedTallies[4].saturations, 0, "the fixture saturates weights")
                    XCTAssertGreaterThan(expectedUnmoved, 0, "the fixture has velocities that move no weight")
                }
            }
        }
    }
}

/// A small deterministic generator for fixtures (SplitMix64).
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return StochasticBits.mix(state)
    }
}

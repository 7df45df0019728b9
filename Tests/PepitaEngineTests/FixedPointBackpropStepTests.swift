import PepitaEngine
import Quantized
import TestSupport
import XCTest

/// One integer BP step (`FixedPointBackprop.step`, then `FixedPointMomentum.apply`)
/// on fc 4-3-3-2 with batch 2, dropout on both hidden layers and hand-picked
/// codes, against the step written out below in `Int64` (`FixedOracle`).
///
/// Formats as in `FixedPointPepitaStepTests` (static, nearest-even): x, W, and
/// the errors / deltas Q1.6, activations Q2.5 (8 bits), updates Q3.12, velocity Q1.14.
/// Each delta is `(delta W_l) * relu'(h) * mask` on the exact sums, the mask's
/// `1/keep` as a multiply-shift, then ONE narrowing to the errors format.
final class FixedPointBackpropStepTests: XCTestCase {
    // MARK: Fixture

    private static let inputFraction = 6, weightFraction = 6
    private static let activationBits = 8, activationFraction = 5
    private static let errorBits = 8, errorFraction = 6
    private static let q16 = FixedPointFormat(totalBits: 8, fractionalBits: 6)
    private static let updatesFormat = FixedPointFormat(totalBits: 16, fractionalBits: 12)
    private static let velocityFormat = FixedPointFormat(totalBits: 16, fractionalBits: 14)
    private static let keep = (mantissa: Int64(18204), shift: 14)        // 1/0.9: round(2^14 / 0.9)
    private static let learningRate = 0.3, batch = 2
    private static let factor = (mantissa: Int64(19661), shift: 17)      // 0.3 / 2: round(0.15 * 2^17)
    private static let momentum = (mantissa: Int64(29491), shift: 15)    // 0.9: round(0.9 * 2^15)

    private static let architecture = Architecture(
        name: "fc:4-3-3-2", input: SampleShape(channels: 1, height: 1, width: 4), classCount: 2,
        layers: [.dense(inputs: 4, outputs: 3), .dense(inputs: 3, outputs: 3), .dense(inputs: 3, outputs: 2)])
    /// Codes in Q1.6 (value = code / 64).
    private static let weightCodes: [IntGrid] = [
        [[26, -19, 13, 32], [-13, 38, 6, -26], [19, 16, -32, 22]],
        [[30, -25, 40], [-20, 35, 15], [28, 22, -30]],
        [[45, -32, 19], [-38, 26, 51]],
    ]
    private static let inputCodes: IntGrid = [[32, 13, 58, 6], [19, 51, 26, 45]]
    private static let labels: [Int32] = [0, 1]
    private static let kept: [[[Bool]]?] = [[[true, false, true], [true, true, true]],
                                            [[true, true, true], [false, true, true]], nil]
    private static let masks: [Matrix?] = kept.map { $0.map { Matrix(rowsOf: $0.map { $0.map { $0 ? 1 / 0.9 : 0 } }) } }
    private static let velocityCodes: [IntGrid] = [[[300, -1234, 0, 77], [-5, 4096, -333, 12], [0, 1, -1, 2000]],
                                                   [[-700, 45, 3], [9000, -1, -128], [60, 0, -2]],
                                                   [[-700, 45, 3], [9000, -1, -128]]]

    private static func config(errors: RoleFormat = .fixed(8, 6)) -> PrecisionConfig {
        PrecisionConfig(name: "test-static", arithmetic: .fixedPoint, roles: [
            .weights: .fixed(8, 6), .activations: .fixed(8, 5), .errors: errors, .projection: .fixed(8, 6),
            .modulatedInput: .fixed(8, 6), .updates: .fixed(16, 12), .optimiserState: .fixed(16, 14),
        ], softmax: .integer, scalars: .multiplyShift)
    }

    private static var network: FixedPointNetwork {
        FixedPointNetwork(architecture: architecture, weights: weightCodes.map { FixedOracle.fixed($0, q16) })
    }
    private static var keepScale: FixedScalar { FixedScalar(mantissa: keep.mantissa, shift: keep.shift) }
    private static let noFeedback = FixedMatrix(rows: 0, columns: 0, codes: [], format: q16)

    private static func runStep(_ rule: FixedPointBackprop = FixedPointBackprop(kind: .bp, feedback: []),
                                network: FixedPointNetwork = network, config: PrecisionConfig = config(),
                                arithmetic: FixedPointArithmetic? = nil) -> FixedPointRuleStep {
        rule.step(network: network, input: FixedOracle.fixed(inputCodes, q16), labels: labels, masks: masks,
                  keepScale: keepScale, arithmetic: arithmetic ?? FixedPointArithmetic(config: config, seed: 1, threads: 1))
    }

    // MARK: Longhand BP

    private struct Longhand {
        var pass: FixedOracle.Pass
        var error: IntGrid
        /// Per layer: the exact sums `delta W` after relu' and the mask (index l: the delta of layer l).
        var deltaSums: [IntGrid?]
        var deltaSumFractions: [Int?]
        var deltas: [IntGrid]
        var deltaFractions: [Int]
        var updateSums: [IntGrid]
        var updateFractions: [Int]
    }

    /// `delta_L = y - onehot`; one layer down, `delta_{l-1} = narrow((delta_l W_l) * [h_{l-1} > 0] * mask)`
    /// with the mask's 1/keep applied to the exact sum; `dW_l = delta_l^T h_{l-1}`.
    /// `dynamicErrors` picks each delta's format as the finest that holds it.
    private static func longhand(dynamicErrors: Bool = false) -> Longhand {
        let layers = weightCodes.count
        let pass = FixedOracle.forward(input: inputCodes, inputFraction: inputFraction, weights: weightCodes,
                                       weightFraction: weightFraction, kept: kept, keep: keep, activationBits: activationBits,
                                       activationFractions: [activationFraction, activationFraction])
        var counters = QuantizationCounters()
        let probabilities = pass.logits.map { row in
            IntegerSoftmax.probabilities(logits: row, logitFractionalBits: pass.logitFraction, output: q16, counters: &counters)
                .map(Int64.init)
        }
        let error = FixedOracle.outputError(probabilities, labels: labels, bits: errorBits, fraction: errorFraction)
        var result = Longhand(pass: pass, error: error, deltaSums: Array(repeating: nil, count: layers),
                              deltaSumFractions: Array(repeating: nil, count: layers), deltas: Array(repeating: [], count: layers),
                              deltaFractions: Array(repeating: 0, count: layers), updateSums: Array(repeating: [], count: layers),
                              updateFractions: Array(repeating: 0, count: layers))
        var delta = error, deltaFraction = errorFraction
        for layer in stride(from: layers - 1, through: 0, by: -1) {
            result.deltas[layer] = delta
            result.deltaFractions[layer] = deltaFraction
            result.updateSums[layer] = FixedOracle.transposedTimes(delta, pass.inputs[layer])
            result.updateFractions[layer] = deltaFraction + (layer == 0 ? inputFraction : pass.activationFractions[layer - 1])
            if layer == 0 { break }
            var below = FixedOracle.times(delta, weightCodes[layer])
            var fraction = deltaFraction + weightFraction
            let mask = kept[layer - 1]!
            for b in below.indices {
                for j in below[b].indices {
                    let active = pass.activated[layer - 1][b][j] > 0 && mask[b][j]
                    below[b][j] = active ? below[b][j] * keep.mantissa : 0
                }
            }
            fraction += keep.shift
            result.deltaSums[layer - 1] = below
            result.deltaSumFractions[layer - 1] = fraction
            let largest = below.joined().map(\.magnitude).max() ?? 0
            deltaFraction = dynamicErrors ? FixedOracle.finestFraction(maxSum: Int64(largest), from: fraction, bits: errorBits)
                                          : errorFraction
            delta = FixedOracle.narrow(below, from: fraction, bits: errorBits, fraction: deltaFraction)
        }
        return result
    }

    private func assertUpdateSums(_ step: FixedPointRuleStep, equal expected: Longhand, _ context: String,
                                  file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(step.updates.count, expected.updateSums.count, context, file: file, line: line)
        for (layer, sums) in step.updates.enumerated() {
            XCTAssertEqual(FixedOracle.grid(sums), expected.updateSums[layer], "\(context), layer \(layer) sums", file: file, line: line)
            XCTAssertEqual(sums.fractionalBits, expected.updateFractions[layer], "\(context), layer \(layer) scale", file: file, line: line)
            XCTAssertTrue(expected.updateSums[layer].joined().contains { $0 != 0 }, "\(context), layer \(layer): all zero",
                          file: file, line: line)
        }
        XCTAssertEqual(step.divisors, [1, 1, 1], context, file: file, line: line)
    }

    // MARK: Tests

    func testFixtureExercisesDroppedInactiveAndActiveUnits() {
        let expected = Self.longhand()
        // relu' is read from the stored activation code; in this fixture no positive
        // sum rounds to code 0, so it agrees with relu' of the exact sum.
        for layer in 0..<2 {
            for (sums, codes) in zip(expected.pass.hiddenSums[layer].joined(), expected.pass.activated[layer].joined()) {
                XCTAssertEqual(sums > 0, codes > 0, "layer \(layer)")
            }
        }
        let inactive = zip(FixedOracle.timesTransposed(Self.inputCodes, Self.weightCodes[0]).joined(),
                           Self.kept[0]!.joined()).filter { $0.0 <= 0 && $0.1 }.count
        XCTAssertGreaterThan(inactive, 0, "some kept unit is inactive")
        XCTAssertTrue(expected.deltas[0].joined().contains { $0 != 0 }, "a delta reaches the first layer")
        XCTAssertEqual(expected.deltas[0][0][1], 0, "the dropped unit gets no delta")
        XCTAssertEqual(expected.deltas[1][1][0], 0, "the dropped unit gets no delta")
    }

    func testUpdateSumsMatchLonghandWithDeltasNarrowedToTheErrorsFormatAtEachLayer() {
        let expected = Self.longhand()
        XCTAssertEqual(expected.deltaSumFractions[1], 6 + 6 + 14, "delta W at 2^-12, times 1/keep at 2^-14")
        XCTAssertEqual(expected.updateFractions, [6 + 6, 6 + 5, 6 + 5])
        assertUpdateSums(Self.runStep(), equal: expected, "bp")
    }

    func testDeltasAreCountedUnderErrors() {
        let expected = Self.longhand()
        let arithmetic = FixedPointArithmetic(config: Self.config(), seed: 1, threads: 1)
        let step = Self.runStep(arithmetic: arithmetic)
        let errors = arithmetic.counters[.errors] ?? QuantizationCounters()
        XCTAssertEqual(errors.elements, 2 * 2 + 2 * 3 + 2 * 3, "softmax, then one delta per hidden layer")
        var roundedToZero = 0, saturations = 0
        for layer in 0..<2 {
            let sums = expected.deltaSums[layer]!, fraction = expected.deltaSumFractions[layer]!
            roundedToZero += FixedOracle.roundedToZero(sums, from: fraction, bits: 8, fraction: 6)
            saturations += FixedOracle.saturations(sums, from: fraction, bits: 8, fraction: 6)
        }
        let softmaxZeros = expected.pass.logits.indices.reduce(0) { count, b in
            count + FixedOracle.grid(step.probabilities)[b].filter { $0 == 0 }.count
        }
        XCTAssertEqual(errors.roundedToZero, roundedToZero + softmaxZeros)
        XCTAssertEqual(errors.saturations, saturations)
    }

    func testDynamicErrorsFormatIsTheFinestThatHoldsEachDelta() {
        let expected = Self.longhand(dynamicErrors: true)
        XCTAssertNotEqual(expected.deltaFractions[0], Self.errorFraction, "fixture: the dynamic format is not Q1.6")
        for layer in 0..<2 {
            let largest = Double(expected.deltaSums[layer]!.joined().map(\.magnitude).max()!)
                * Double(sign: .plus, exponent: -expected.deltaSumFractions[layer]!, significand: 1)
            let n = expected.deltaFractions[layer]
            XCTAssertLessThanOrEqual(largest * Double(sign: .plus, exponent: n, significand: 1), 127)
            XCTAssertGreaterThan(largest * Double(sign: .plus, exponent: n + 1, significand: 1), 127)
        }
        assertUpdateSums(Self.runStep(config: Self.config(errors: .dynamic(8))), equal: expected, "dynamic errors")
    }

    func testMomentumStepAfterBackpropMatchesLonghand() {
        let expected = Self.longhand()
        let arithmetic = FixedPointArithmetic(config: Self.config(), seed: 1, threads: 1)
        let step = Self.runStep(arithmetic: arithmetic)
        var weights = Self.network.weights
        var optimiser = FixedPointMomentum(momentum: 0.9, weights: weights, config: Self.config())
        optimiser.velocities = Self.velocityCodes.map { FixedOracle.fixed($0, Self.velocityFormat) }
        optimiser.apply(step, to: &weights, learningRate: Self.learningRate, batch: Self.batch, arithmetic: arithmetic)
        var moved = 0
        for layer in 0..<3 {
            let longhand = FixedOracle.momentumStep(
                updateSums: expected.updateSums[layer], sumFraction: expected.updateFractions[layer], factor: Self.factor,
                updatesFormat: Self.updatesFormat, velocity: Self.velocityCodes[layer], momentum: Self.momentum,
                velocityFormat: Self.velocityFormat, weights: Self.weightCodes[layer], weightFormat: Self.q16)
            XCTAssertEqual(FixedOracle.grid(optimiser.velocities[layer]), longhand.velocity, "velocity, layer \(layer)")
            XCTAssertEqual(FixedOracle.grid(weights[layer]), longhand.weights, "weights, layer \(layer)")
            moved += zip(longhand.weights.joined(), Self.weightCodes[layer].joined()).filter { $0 != $1 }.count
        }
        XCTAssertGreaterThan(moved, 0)
    }

    func testFeedbackAlignmentWithFeedbackEqualToTheWeightsIsBackpropExactly() {
        // Also with dynamic formats and stochastic rounding: same narrowings, same order, same random streams.
        for config in [Self.config(), PrecisionConfig.preset(named: "int8-stochastic")!, PrecisionConfig.preset(named: "int16")!] {
            let network = Self.network
            let feedback = [Self.noFeedback, network.weights[1], network.weights[2]]
            let bpArithmetic = FixedPointArithmetic(config: config, seed: 9, threads: 1)
            let faArithmetic = FixedPointArithmetic(config: config, seed: 9, threads: 1)
            let bp = Self.runStep(network: network, arithmetic: bpArithmetic)
            let fa = Self.runStep(FixedPointBackprop(kind: .fa, feedback: feedback), network: network, arithmetic: faArithmetic)
            for layer in 0..<3 {
                XCTAssertEqual(fa.updates[layer].values, bp.updates[layer].values, "\(config.name), layer \(layer)")
                XCTAssertEqual(fa.updates[layer].fractionalBits, bp.updates[layer].fractionalBits, "\(config.name), layer \(layer)")
            }
            XCTAssertEqual(fa.probabilities, bp.probabilities, config.name)
            XCTAssertEqual(faArithmetic.counters, bpArithmetic.counters, config.name)
            XCTAssertEqual(faArithmetic.narrowings, bpArithmetic.narrowings, config.name)
        }
    }

    func testDirectFeedbackAlignmentWithOneHiddenLayerAndFeedbackEqualToTheLastWeightsIsBackpropExactly() {
        let architecture = Architecture(name: "fc:4-3-2", input: Self.architecture.input, classCount: 2,
                                        layers: [.dense(inputs: 4, outputs: 3), .dense(inputs: 3, outputs: 2)])
        let network = FixedPointNetwork(architecture: architecture,
                                        weights: [Self.weightCodes[0], Self.weightCodes[2]].map { FixedOracle.fixed($0, Self.q16) })
        let input = FixedOracle.fixed(Self.inputCodes, Self.q16)
        let masks = [Self.masks[0], nil]
        let bp = FixedPointBackprop(kind: .bp, feedback: [])
            .step(network: network, input: input, labels: Self.labels, masks: masks, keepScale: Self.keepScale,
                  arithmetic: FixedPointArithmetic(config: Self.config(), seed: 1, threads: 1))
        let dfa = FixedPointBackprop(kind: .dfa, feedback: [network.weights[1], Self.noFeedback])
            .step(network: network, input: input, labels: Self.labels, masks: masks, keepScale: Self.keepScale,
                  arithmetic: FixedPointArithmetic(config: Self.config(), seed: 1, threads: 1))
        XCTAssertEqual(dfa.updates.map(\.values), bp.updates.map(\.values))
        XCTAssertTrue(bp.updates[0].values.contains { $0 != 0 })
    }
}

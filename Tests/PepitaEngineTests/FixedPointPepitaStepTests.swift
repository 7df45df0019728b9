import PepitaEngine
import Quantized
import TestSupport
import XCTest

/// One integer PEPITA step (`FixedPointPepita.step`, then `FixedPointMomentum.apply`)
/// on fc 4-3-2 with batch 2 and hand-picked codes, against the same step written
/// out below in `Int64` (`FixedOracle`, rounding by exact `Double` division).
///
/// Every role has a static format (except in the dynamic-scaling test) and rounds
/// to nearest-even, so every scale is known:
///
///     x, x_mod  Q1.6      W  Q1.6      F  Q1.6      h  Q2.5 (8 bits, 5 fractional)
///     y, e      Q1.6      u  Q3.12     v  Q1.14
///
/// The softmax is the library's (`IntegerSoftmax`, tested in QuantizedTests): its
/// outputs are taken as given, checked only to be within one step of the exact
/// softmax; everything downstream is longhand.
final class FixedPointPepitaStepTests: XCTestCase {
    // MARK: Fixture

    private static let inputFraction = 6, weightFraction = 6, projectionFraction = 6
    private static let activationBits = 8, activationFraction = 5
    private static let errorBits = 8, errorFraction = 6
    private static let updatesFormat = FixedPointFormat(totalBits: 16, fractionalBits: 12)
    private static let velocityFormat = FixedPointFormat(totalBits: 16, fractionalBits: 14)
    private static let q16 = FixedPointFormat(totalBits: 8, fractionalBits: 6)

    /// 1/0.9, 0.3 / 2 and 0.9 as multiply-shift scalars: a 15-bit mantissa in
    /// [2^14, 2^15) times 2^-shift, the mantissa rounded to nearest.
    private static let keep = (mantissa: Int64(18204), shift: 14)        // round(2^14 / 0.9) = round(18204.44)
    private static let learningRate = 0.3, batch = 2
    private static let factor = (mantissa: Int64(19661), shift: 17)      // round(0.15 * 2^17) = round(19660.8)
    private static let momentum = (mantissa: Int64(29491), shift: 15)    // round(0.9 * 2^15) = round(29491.2)

    private static let architecture = Architecture(
        name: "fc:4-3-2", input: SampleShape(channels: 1, height: 1, width: 4), classCount: 2,
        layers: [.dense(inputs: 4, outputs: 3), .dense(inputs: 3, outputs: 2)])
    /// Codes in Q1.6 (value = code / 64).
    private static let weightCodes: [IntGrid] = [[[26, -19, 13, 32], [-13, 38, 6, -26], [19, 16, -32, 22]],
                                                 [[45, -32, 19], [-38, 26, 51]]]
    private static let projectionCodes: IntGrid = [[32, -26], [-19, 38], [13, 6], [-32, -13]]
    private static let inputCodes: IntGrid = [[32, 13, 58, 6], [19, 51, 26, 45]]
    private static let labels: [Int32] = [0, 1]
    /// Unit 1 of sample 0 is dropped; with these codes unit 2 of sample 0 is
    /// inactive (its sum is negative) in the first pass.
    private static let kept: [[Bool]] = [[true, false, true], [true, true, true]]
    private static let masks: [Matrix?] = [Matrix(rowsOf: kept.map { $0.map { $0 ? 1 / 0.9 : 0 } }), nil]
    /// Velocity codes (Q1.14) the momentum tests start from.
    private static let velocityCodes: [IntGrid] = [[[300, -1234, 0, 77], [-5, 4096, -333, 12], [0, 1, -1, 2000]],
                                                   [[-700, 45, 3], [9000, -1, -128]]]

    private static func config(activations: RoleFormat = .fixed(8, 5),
                               scalars: PrecisionConfig.ScalarMode = .multiplyShift) -> PrecisionConfig {
        PrecisionConfig(name: "test-static", arithmetic: .fixedPoint, roles: [
            .weights: .fixed(8, 6), .activations: activations, .errors: .fixed(8, 6), .projection: .fixed(8, 6),
            .modulatedInput: .fixed(8, 6), .updates: .fixed(16, 12), .optimiserState: .fixed(16, 14),
        ], softmax: .integer, scalars: scalars)
    }

    private static var network: FixedPointNetwork {
        FixedPointNetwork(architecture: architecture, weights: weightCodes.map { FixedOracle.fixed($0, q16) })
    }
    private static var input: FixedMatrix { FixedOracle.fixed(inputCodes, q16) }
    private static var projection: FixedMatrix { FixedOracle.fixed(projectionCodes, q16) }
    private static var keepScale: FixedScalar { FixedScalar(mantissa: keep.mantissa, shift: keep.shift) }

    private static func arithmetic(_ config: PrecisionConfig) -> FixedPointArithmetic {
        FixedPointArithmetic(config: config, seed: 1, threads: 1)
    }

    private static func runStep(kind: RuleKind = .pepita, lastLayerError: LastLayerError, config: PrecisionConfig,
                                masks: [Matrix?] = masks, keepScale: FixedScalar? = keepScale,
                                arithmetic: FixedPointArithmetic? = nil) -> FixedPointRuleStep {
        FixedPointPepita(kind: kind, projection: projection, lastLayerError: lastLayerError, convolutionBatchAverageTwice: true)
            .step(network: network, input: input, labels: labels, masks: masks, keepScale: keepScale,
                  arithmetic: arithmetic ?? Self.arithmetic(config))
    }

    // MARK: Longhand PEPITA

    private struct Longhand {
        var first: FixedOracle.Pass
        var probabilities: IntGrid
        var error: IntGrid
        var modulationSums: IntGrid
        var modulationFraction: Int
        var modulatedInput: IntGrid
        var modulated: FixedOracle.Pass
        var modulatedProbabilities: IntGrid
        var modulatedError: IntGrid
        var updateSums: [IntGrid]
        var updateFractions: [Int]
    }

    /// The library's integer softmax of longhand logits, row by row, into the
    /// error format: the one piece taken as given.
    private static func softmax(_ logits: IntGrid, fraction: Int) -> IntGrid {
        var counters = QuantizationCounters()
        return logits.map { row in
            IntegerSoftmax.probabilities(logits: row, logitFractionalBits: fraction, output: q16, counters: &counters).map(Int64.init)
        }
    }

    /// SPEC §3 in integers: first pass; `e = y - onehot`; `x_mod = sat(x + narrow(e F^T))`
    /// (sign variant: `sign(e)` at scale 1); modulated pass with the first pass's
    /// activation formats and the same masks; hidden `dW = (h - h_mod)^T x_mod`,
    /// last `dW = e_mod^T h_mod` (or `e^T h_mod`), all exact.
    private static func longhand(kind: RuleKind = .pepita, lastLayerError: LastLayerError, kept: [[Bool]]? = kept,
                                 keep: (mantissa: Int64, shift: Int)? = keep, dynamicActivations: Bool = false) -> Longhand {
        let masks: [[[Bool]]?] = [kept, nil]
        let first = FixedOracle.forward(input: inputCodes, inputFraction: inputFraction, weights: weightCodes,
                                        weightFraction: weightFraction, kept: masks, keep: keep, activationBits: activationBits,
                                        activationFractions: [dynamicActivations ? nil : activationFraction])
        let probabilities = softmax(first.logits, fraction: first.logitFraction)
        let error = FixedOracle.outputError(probabilities, labels: labels, bits: errorBits, fraction: errorFraction)
        let projected = kind == .pepitaSign ? error.map { $0.map { $0.signum() } } : error
        let projectedFraction = kind == .pepitaSign ? 0 : errorFraction
        let modulationSums = FixedOracle.timesTransposed(projected, projectionCodes)
        let modulationFraction = projectedFraction + projectionFraction
        let modulation = FixedOracle.narrow(modulationSums, from: modulationFraction, bits: 8, fraction: inputFraction)
        let modulatedInput = zip(inputCodes, modulation).map { zip($0, $1).map { min(127, max(-128, $0 + $1)) } }
        let modulated = FixedOracle.forward(input: modulatedInput, inputFraction: inputFraction, weights: weightCodes,
                                            weightFraction: weightFraction, kept: masks, keep: keep,
                                            activationBits: activationBits, activationFractions: first.activationFractions)
        let modulatedProbabilities = softmax(modulated.logits, fraction: modulated.logitFraction)
        let modulatedError = FixedOracle.outputError(modulatedProbabilities, labels: labels, bits: errorBits, fraction: errorFraction)
        let hiddenDelta = zip(first.activated[0], modulated.activated[0]).map { zip($0, $1).map { $0 - $1 } }
        let lastDelta = lastLayerError == .modulated ? modulatedError : error
        return Longhand(
            first: first, probabilities: probabilities, error: error, modulationSums: modulationSums,
            modulationFraction: modulationFraction, modulatedInput: modulatedInput, modulated: modulated,
            modulatedProbabilities: modulatedProbabilities, modulatedError: modulatedError,
            updateSums: [FixedOracle.transposedTimes(hiddenDelta, modulatedInput),
                         FixedOracle.transposedTimes(lastDelta, modulated.activated[0])],
            updateFractions: [first.activationFractions[0] + inputFraction, errorFraction + first.activationFractions[0]])
    }

    private func assertUpdateSums(_ step: FixedPointRuleStep, equal expected: Longhand, _ context: String,
                                  file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(step.updates.count, 2, context, file: file, line: line)
        for layer in 0..<2 {
            XCTAssertEqual(FixedOracle.grid(step.updates[layer]), expected.updateSums[layer], "\(context), layer \(layer) sums",
                           file: file, line: line)
            XCTAssertEqual(step.updates[layer].fractionalBits, expected.updateFractions[layer], "\(context), layer \(layer) scale",
                           file: file, line: line)
            XCTAssertTrue(expected.updateSums[layer].joined().contains { $0 != 0 }, "\(context), layer \(layer): all zero, nothing tested",
                          file: file, line: line)
        }
        XCTAssertEqual(step.divisors, [1, 1], context, file: file, line: line)
    }

    // MARK: Scalars

    func testScalarsOfTheFixtureAreTheExpectedMantissasAndShifts() {
        XCTAssertEqual(FixedScalar(1 / 0.9, mode: .multiplyShift), Self.keepScale)
        XCTAssertEqual(FixedScalar(Self.learningRate / Double(Self.batch), mode: .multiplyShift),
                       FixedScalar(mantissa: Self.factor.mantissa, shift: Self.factor.shift))
        let weights = Self.network.weights
        XCTAssertEqual(FixedPointMomentum(momentum: 0.9, weights: weights, config: Self.config()).momentum,
                       FixedScalar(mantissa: Self.momentum.mantissa, shift: Self.momentum.shift))
        // Powers of two: eta / B = 0.15 becomes 2^-3; momentum 0.9 becomes 1 - 2^-3 = 0.875.
        XCTAssertEqual(FixedScalar(0.15, mode: .powerOfTwo), FixedScalar(mantissa: 1, shift: 3))
        let powerOfTwo = FixedPointMomentum(momentum: 0.9, weights: weights, config: Self.config(scalars: .powerOfTwo))
        XCTAssertEqual(powerOfTwo.momentum, FixedScalar(mantissa: 7, shift: 3))
        XCTAssertEqual(powerOfTwo.momentum.value, 0.875)
        XCTAssertEqual(powerOfTwo.velocities.map(\.format), [Self.velocityFormat, Self.velocityFormat])
        XCTAssertEqual(powerOfTwo.velocities.map(\.codes), [[Int16](repeating: 0, count: 12), [Int16](repeating: 0, count: 6)],
                       "velocity starts at zero")
    }

    // MARK: Forward passes

    func testFirstPassHiddenCodesAreTheMaskedSumsNarrowedOnceWithTheDroppedUnitZero() throws {
        let expected = Self.longhand(lastLayerError: .modulated)
        let trace = Self.network.forward(Self.input, masks: Self.masks, keepScale: Self.keepScale,
                                         arithmetic: Self.arithmetic(Self.config())).traces
        let hidden = try XCTUnwrap(trace[0].activated)
        XCTAssertEqual(hidden.format, FixedPointFormat(totalBits: 8, fractionalBits: 5))
        XCTAssertEqual(FixedOracle.grid(hidden), expected.first.activated[0])
        XCTAssertEqual(expected.first.hiddenSumFractions[0], 6 + 6 + 14, "x W^T at 2^-12, times 1/keep at 2^-14")
        XCTAssertEqual(hidden.codes[1], 0, "the dropped unit")
        XCTAssertLessThan(FixedOracle.timesTransposed(Self.inputCodes, Self.weightCodes[0])[0][2], 0, "unit 2 of sample 0 is inactive")
        XCTAssertEqual(hidden.codes[2], 0, "the inactive unit")
        XCTAssertEqual(trace[0].output, hidden)
        let logits = try XCTUnwrap(trace[1].logits)
        XCTAssertEqual(FixedOracle.grid(logits), expected.first.logits)
        XCTAssertEqual(logits.fractionalBits, 5 + 6)
        XCTAssertEqual(trace[1].output.format, Self.q16, "probabilities in the error format")
    }

    func testProbabilitiesAreWithinOneStepOfTheExactSoftmaxOfTheLonghandLogits() {
        let expected = Self.longhand(lastLayerError: .modulated)
        let step = Self.runStep(lastLayerError: .modulated, config: Self.config())
        XCTAssertEqual(FixedOracle.grid(step.probabilities), expected.probabilities, "the first pass's probabilities")
        XCTAssertEqual(step.probabilities.format, Self.q16)
        for (b, row) in expected.first.logits.enumerated() {
            let exact = Oracle.softmax(row.map { Double($0) / Double(1 << expected.first.logitFraction) })
            for c in row.indices {
                XCTAssertEqual(Double(expected.probabilities[b][c]) / 64, exact[c], accuracy: 0.5 / 64 + 0x1p-20, "(\(b), \(c))")
            }
        }
    }

    func testModulatedPassReusesTheFirstPassFormatsAndMatchesLonghand() {
        let expected = Self.longhand(lastLayerError: .modulated)
        XCTAssertNotEqual(expected.modulatedInput, Self.inputCodes, "the modulation moves the input")
        XCTAssertNotEqual(expected.modulated.activated[0], expected.first.activated[0], "h - h_mod is not all zero")
        let arithmetic = Self.arithmetic(Self.config())
        let first = Self.network.forward(Self.input, masks: Self.masks, keepScale: Self.keepScale, arithmetic: arithmetic)
        let modulated = Self.network.forward(FixedOracle.fixed(expected.modulatedInput, Self.q16), masks: Self.masks,
                                             keepScale: Self.keepScale, activationFormats: first.activationFormats,
                                             arithmetic: arithmetic)
        XCTAssertEqual(first.activationFormats, [FixedPointFormat(totalBits: 8, fractionalBits: 5), nil])
        XCTAssertEqual(modulated.activationFormats, first.activationFormats)
        XCTAssertEqual(FixedOracle.grid(modulated.traces[0].activated!), expected.modulated.activated[0])
        XCTAssertEqual(FixedOracle.grid(modulated.traces[1].logits!), expected.modulated.logits)
        XCTAssertEqual(FixedOracle.grid(modulated.traces[1].output), expected.modulatedProbabilities)
    }

    // MARK: Updates

    func testUpdateSumsMatchLonghandWithModulatedLastLayerError() {
        let expected = Self.longhand(lastLayerError: .modulated)
        XCTAssertNotEqual(expected.error, expected.modulatedError, "e and e_mod differ, so the option matters")
        // e = y - onehot in Q1.6: the label's code drops by 64.
        for b in 0..<2 {
            for c in 0..<2 {
                XCTAssertEqual(expected.error[b][c], expected.probabilities[b][c] - (Int(Self.labels[b]) == c ? 64 : 0))
            }
        }
        assertUpdateSums(Self.runStep(lastLayerError: .modulated, config: Self.config()), equal: expected, "modulated")
    }

    func testLastLayerUsesFirstPassErrorWhenAsked() {
        let expected = Self.longhand(lastLayerError: .firstPass)
        let step = Self.runStep(lastLayerError: .firstPass, config: Self.config())
        assertUpdateSums(step, equal: expected, "first-pass")
        let modulated = Self.runStep(lastLayerError: .modulated, config: Self.config())
        XCTAssertEqual(step.updates[0].values, modulated.updates[0].values, "the hidden layer does not depend on the option")
        XCTAssertNotEqual(step.updates[1].values, modulated.updates[1].values)
    }

    func testSignVariantProjectsTheSignOfTheErrorAtScaleOne() {
        for lastLayerError in LastLayerError.allCases {
            let expected = Self.longhand(kind: .pepitaSign, lastLayerError: lastLayerError)
            XCTAssertEqual(expected.modulationFraction, 0 + 6, "sign(e) is an integer: F's scale alone")
            let step = Self.runStep(kind: .pepitaSign, lastLayerError: lastLayerError, config: Self.config())
            assertUpdateSums(step, equal: expected, "pepita-sign, \(lastLayerError)")
        }
        XCTAssertNotEqual(Self.longhand(kind: .pepitaSign, lastLayerError: .modulated).modulatedInput,
                          Self.longhand(kind: .pepita, lastLayerError: .modulated).modulatedInput)
    }

    func testStepCountsTheModulationNarrowingAndBothPassesActivations() {
        let expected = Self.longhand(lastLayerError: .modulated)
        let arithmetic = Self.arithmetic(Self.config())
        _ = Self.runStep(lastLayerError: .modulated, config: Self.config(), arithmetic: arithmetic)
        let modulation = arithmetic.counters[.modulatedInput] ?? QuantizationCounters()
        XCTAssertEqual(modulation.elements, 2 * 4, "x_mod narrowed once per element")
        XCTAssertEqual(modulation.roundedToZero,
                       FixedOracle.roundedToZero(expected.modulationSums, from: expected.modulationFraction, bits: 8, fraction: 6))
        let narrowed = FixedOracle.narrow(expected.modulationSums, from: expected.modulationFraction, bits: 8, fraction: 6)
        let sumSaturations = zip(Self.inputCodes.joined(), narrowed.joined()).filter { !(-128...127).contains($0 + $1) }.count
        XCTAssertEqual(modulation.saturations,
                       FixedOracle.saturations(expected.modulationSums, from: expected.modulationFraction, bits: 8, fraction: 6)
                       + sumSaturations)
        XCTAssertEqual(modulation.maxAbsValue,
                       Double(expected.modulationSums.joined().map(\.magnitude).max()!) / Double(1 << expected.modulationFraction))
        XCTAssertEqual(arithmetic.counters[.activations]?.elements, 2 * 2 * 3, "two passes, batch 2, 3 hidden units")
        XCTAssertEqual(arithmetic.counters[.activations]?.saturations,
                       FixedOracle.saturations(expected.first.hiddenSums[0], from: 26, bits: 8, fraction: 5)
                       + FixedOracle.saturations(expected.modulated.hiddenSums[0], from: 26, bits: 8, fraction: 5))
        XCTAssertEqual(arithmetic.counters[.errors]?.elements, 2 * 2 * 2, "two softmaxes of batch 2 x 2 classes")
        XCTAssertEqual(arithmetic.counters[.updates]?.elements ?? 0, 0, "nothing narrowed to the updates format yet")
    }

    // MARK: Momentum

    /// Runs the step, then `FixedPointMomentum.apply` from `velocityCodes`
    /// (or zero), returning the optimiser, the new weights and the arithmetic.
    private static func stepAndApply(config: PrecisionConfig, momentum: Double, startVelocity: [IntGrid]?,
                                     masks: [Matrix?] = masks, keepScale: FixedScalar? = keepScale,
                                     recorder: GoldenRecorder? = nil)
        -> (optimiser: FixedPointMomentum, weights: [FixedMatrix], arithmetic: FixedPointArithmetic, step: FixedPointRuleStep) {
        let arithmetic = Self.arithmetic(config)
        arithmetic.recorder = recorder
        let step = runStep(lastLayerError: .modulated, config: config, masks: masks, keepScale: keepScale, arithmetic: arithmetic)
        var weights = network.weights
        var optimiser = FixedPointMomentum(momentum: momentum, weights: weights, config: config)
        if let startVelocity {
            optimiser.velocities = startVelocity.map { FixedOracle.fixed($0, velocityFormat) }
        }
        optimiser.apply(step, to: &weights, learningRate: learningRate, batch: batch, arithmetic: arithmetic)
        return (optimiser, weights, arithmetic, step)
    }

    func testNarrowedUpdatesAreTheScaledSumsRoundedToTheUpdatesFormat() {
        // With momentum 0 the new velocity is the narrowed update itself, moved
        // exactly from Q3.12 to Q1.14 (two bits to the left).
        let expected = Self.longhand(lastLayerError: .modulated)
        let (optimiser, _, arithmetic, _) = Self.stepAndApply(config: Self.config(), momentum: 0, startVelocity: nil)
        var roundedToZero = 0
        for layer in 0..<2 {
            let longhand = FixedOracle.momentumStep(
                updateSums: expected.updateSums[layer], sumFraction: expected.updateFractions[layer], factor: Self.factor,
                updatesFormat: Self.updatesFormat, velocity: Self.weightCodes[layer].map { $0.map { _ in 0 } },
                momentum: (0, 0), velocityFormat: Self.velocityFormat, weights: Self.weightCodes[layer], weightFormat: Self.q16)
            XCTAssertEqual(FixedOracle.grid(optimiser.velocities[layer]), longhand.updates.map { $0.map { $0 * 4 } }, "layer \(layer)")
            XCTAssertTrue(longhand.updates.joined().contains { $0 != 0 }, "layer \(layer): updates all zero")
            roundedToZero += longhand.updatesRoundedToZero
        }
        let updates = arithmetic.counters[.updates] ?? QuantizationCounters()
        XCTAssertEqual(updates.elements, 12 + 6)
        XCTAssertEqual(updates.roundedToZero, roundedToZero)
        XCTAssertEqual(updates.saturations, 0)
    }

    func testMomentumStepWithMultiplyShiftScalarsMatchesLonghand() {
        let expected = Self.longhand(lastLayerError: .modulated)
        let (optimiser, weights, arithmetic, _) = Self.stepAndApply(config: Self.config(), momentum: 0.9,
                                                                    startVelocity: Self.velocityCodes)
        var unmoved = 0, moved = 0
        for layer in 0..<2 {
            let longhand = FixedOracle.momentumStep(
                updateSums: expected.updateSums[layer], sumFraction: expected.updateFractions[layer], factor: Self.factor,
                updatesFormat: Self.updatesFormat, velocity: Self.velocityCodes[layer], momentum: Self.momentum,
                velocityFormat: Self.velocityFormat, weights: Self.weightCodes[layer], weightFormat: Self.q16)
            XCTAssertEqual(FixedOracle.grid(optimiser.velocities[layer]), longhand.velocity, "velocity, layer \(layer)")
            XCTAssertEqual(optimiser.velocities[layer].format, Self.velocityFormat)
            XCTAssertEqual(FixedOracle.grid(weights[layer]), longhand.weights, "weights, layer \(layer)")
            XCTAssertEqual(weights[layer].format, Self.q16)
            unmoved += longhand.weightsUnmoved
            moved += zip(longhand.weights.joined(), Self.weightCodes[layer].joined()).filter { $0 != $1 }.count
        }
        XCTAssertGreaterThan(moved, 0, "some weight codes move")
        XCTAssertGreaterThan(unmoved, 0, "some velocities are too small to move a weight")
        XCTAssertEqual(arithmetic.counters[.weights]?.roundedToZero, unmoved, "unmoved weights are counted")
        XCTAssertEqual(arithmetic.counters[.weights]?.elements, 12 + 6)
    }

    func testMomentumStepWithPowerOfTwoScalarsUsesOneMinusTwoToTheMinusK() {
        // No dropout here, so that only eta / B (2^-3) and the momentum (7 * 2^-3) change.
        let config = Self.config(scalars: .powerOfTwo)
        let expected = Self.longhand(lastLayerError: .modulated, kept: nil, keep: nil)
        let (optimiser, weights, _, step) = Self.stepAndApply(config: config, momentum: 0.9, startVelocity: Self.velocityCodes,
                                                              masks: [nil, nil], keepScale: nil)
        assertUpdateSums(step, equal: expected, "no dropout")
        for layer in 0..<2 {
            let longhand = FixedOracle.momentumStep(
                updateSums: expected.updateSums[layer], sumFraction: expected.updateFractions[layer], factor: (1, 3),
                updatesFormat: Self.updatesFormat, velocity: Self.velocityCodes[layer], momentum: (7, 3),
                velocityFormat: Self.velocityFormat, weights: Self.weightCodes[layer], weightFormat: Self.q16)
            XCTAssertEqual(FixedOracle.grid(optimiser.velocities[layer]), longhand.velocity, "velocity, layer \(layer)")
            XCTAssertEqual(FixedOracle.grid(weights[layer]), longhand.weights, "weights, layer \(layer)")
        }
        let multiplyShift = Self.stepAndApply(config: Self.config(), momentum: 0.9, startVelocity: Self.velocityCodes,
                                              masks: [nil, nil], keepScale: nil)
        XCTAssertNotEqual(optimiser.velocities, multiplyShift.optimiser.velocities, "the scalar mode matters")
    }

    func testGoldenVectorsOfTheStepAreTheLonghandIntermediates() throws {
        // Every tensor the step records for RTL verification, read back from its
        // .npy file: x_mod, both passes' hidden codes, e, e_mod, the update sums,
        // the narrowed updates, the velocities and the new weights.
        let expected = Self.longhand(lastLayerError: .modulated)
        let recorder = GoldenRecorder()
        _ = Self.stepAndApply(config: Self.config(), momentum: 0.9, startVelocity: Self.velocityCodes, recorder: recorder)
        let directory = try TempDirectory()
        struct Header: Encodable { var source = "FixedPointPepitaStepTests" }
        try recorder.write(to: directory.path, header: Header())
        func assertRecorded(_ name: String, _ codes: IntGrid, fractionalBits: Int, line: UInt = #line) throws {
            let entry = try XCTUnwrap(recorder.entries.first { $0.name == name }, "\(name) not recorded", line: line)
            let array = try NPYArray(contentsOfFile: directory.path(entry.file))
            let columns = try XCTUnwrap(entry.shape.last, line: line)
            let values = array.values.map { Int64(exactly: $0)! }
            XCTAssertEqual((0..<values.count / columns).map { Array(values[$0 * columns ..< ($0 + 1) * columns]) }, codes, name, line: line)
            XCTAssertEqual(entry.fractionalBits, fractionalBits, "\(name) scale", line: line)
        }
        try assertRecorded("x_mod", expected.modulatedInput, fractionalBits: 6)
        try assertRecorded("pass1.h1", expected.first.activated[0], fractionalBits: 5)
        try assertRecorded("pass2.h1", expected.modulated.activated[0], fractionalBits: 5)
        try assertRecorded("pass1.logits", expected.first.logits, fractionalBits: 11)
        try assertRecorded("pass2.logits", expected.modulated.logits, fractionalBits: 11)
        try assertRecorded("e", expected.error, fractionalBits: 6)
        try assertRecorded("e_mod", expected.modulatedError, fractionalBits: 6)
        for layer in 0..<2 {
            try assertRecorded("dW\(layer)", expected.updateSums[layer], fractionalBits: expected.updateFractions[layer])
            let longhand = FixedOracle.momentumStep(
                updateSums: expected.updateSums[layer], sumFraction: expected.updateFractions[layer], factor: Self.factor,
                updatesFormat: Self.updatesFormat, velocity: Self.velocityCodes[layer], momentum: Self.momentum,
                velocityFormat: Self.velocityFormat, weights: Self.weightCodes[layer], weightFormat: Self.q16)
            try assertRecorded("u\(layer)", longhand.updates, fractionalBits: 12)
            try assertRecorded("V\(layer)", longhand.velocity, fractionalBits: 14)
            try assertRecorded("W\(layer).after", longhand.weights, fractionalBits: 6)
        }
    }

    // MARK: Dynamic scaling

    func testDynamicActivationFormatIsTheFinestThatHoldsTheLargestValueAndTheModulatedPassReusesIt() {
        let config = Self.config(activations: .dynamic(8))
        let expected = Self.longhand(lastLayerError: .modulated, dynamicActivations: true)
        let firstSums = expected.first.hiddenSums[0], sumFraction = expected.first.hiddenSumFractions[0]
        let largest = Double(firstSums.joined().max()!) / Double(1 << sumFraction)
        let chosen = expected.first.activationFractions[0]
        XCTAssertLessThanOrEqual(largest * Double(sign: .plus, exponent: chosen, significand: 1), 127, "Q\(7 - chosen).\(chosen) holds max |h| = \(largest)")
        XCTAssertGreaterThan(largest * Double(sign: .plus, exponent: chosen + 1, significand: 1), 127, "one more fractional bit would not")
        // The modulated pass alone would pick another format; it keeps the first pass's.
        let modulatedSums = expected.modulated.hiddenSums[0]
        let ownChoice = FixedOracle.finestFraction(maxSum: modulatedSums.joined().max()!, from: sumFraction, bits: 8)
        XCTAssertNotEqual(ownChoice, chosen, "fixture: the modulated pass's own dynamic format differs")
        XCTAssertEqual(expected.modulated.activationFractions[0], chosen)

        let arithmetic = Self.arithmetic(config)
        let first = Self.network.forward(Self.input, masks: Self.masks, keepScale: Self.keepScale, arithmetic: arithmetic)
        XCTAssertEqual(first.traces[0].activated?.format, FixedPointFormat(totalBits: 8, fractionalBits: chosen))
        XCTAssertEqual(FixedOracle.grid(first.traces[0].activated!), expected.first.activated[0])
        let step = Self.runStep(lastLayerError: .modulated, config: config)
        assertUpdateSums(step, equal: expected, "dynamic activations")
    }
}

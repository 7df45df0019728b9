import EngineCost
import HWModel
import PepitaEngine
import Quantized
import XCTest

/// SPEC §5: the analytic counts (`CostModel.operations`) equal the operations
/// the engine's kernels perform, exactly, phase by phase and layer by layer —
/// for every model x rule x precision preset, with dropout on and off — and
/// the parameter traffic (weights, F / feedback, velocities) the dataflow
/// assumption claims equals what the engine's products and optimiser read and
/// write (see `CostAgreement` for the traffic the two count differently).
///
/// Each case runs ONE real training step at batch 2 (the counts depend on the
/// shapes only), so the full-size models stay fast in debug builds.
final class CostModelAgreementTests: XCTestCase {
    static let presets = ["float32", "int16", "int8", "int8-stochastic"]

    private func assertAgreement(_ architecture: Architecture, rules: [RuleKind] = RuleKind.allCases,
                                 precisions: [PrecisionConfig] = presets.map { PrecisionConfig.preset(named: $0)! },
                                 keeps: [Float] = [0.9, 1], batch: Int = 2,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        for rule in rules {
            for precision in precisions {
                for keep in keeps {
                    let step = CountedStep(architecture: architecture, rule: rule, precision: precision, batch: batch,
                                           dropoutKeep: keep)
                    let agreement = try CostAgreement(step: step)
                    let label = "\(architecture.name) \(rule.rawValue) \(precision.name) keep \(keep)"
                    XCTAssertEqual(agreement.differences, [], label, file: file, line: line)
                    // Not vacuous: every phase of the rule that computes anything was counted.
                    for phase in agreement.analytic.phases where phase.total != .zero {
                        XCTAssertNotNil(agreement.counted[StepPhase(rawValue: phase.phase.rawValue)!],
                                        "\(label): \(phase.phase)", file: file, line: line)
                    }
                    XCTAssertEqual(agreement.counted.total.macs, agreement.analytic.total.macs, label, file: file, line: line)
                    XCTAssertGreaterThan(agreement.counted.total.macs, 0, label, file: file, line: line)
                    XCTAssertEqual(agreement.counted.steps, 1, label, file: file, line: line)
                }
            }
        }
    }

    private func architecture(_ name: String, _ input: SampleShape, classes: Int = 10) throws -> Architecture {
        try Architecture.named(name, input: input, classCount: classes)
    }

    func testSmallFullyConnectedNetworksAgreeForEveryRuleAndPreset() throws {
        try assertAgreement(try architecture("fc:12-7-5-3", SampleShape(channels: 1, height: 1, width: 12), classes: 3))
        try assertAgreement(try architecture("fc:6-4", SampleShape(channels: 1, height: 1, width: 6), classes: 4))
    }

    /// Full size, every rule, float32 and int8 with dropout (a step takes ~0.6 s in a
    /// debug build, mostly per-weight work; the other presets and dropout off take
    /// the same code paths as on the small networks above).
    func testFullyConnected784x1024x10AgreesForEveryRule() throws {
        try assertAgreement(try architecture("fc:784-1024-10", SampleShape(channels: 1, height: 28, width: 28)),
                            precisions: ["float32", "int8"].map { PrecisionConfig.preset(named: $0)! }, keeps: [0.9])
    }

    /// Full size, every rule and preset. The conv models have no hidden dense
    /// layer, so dropout changes nothing in them: run with the default keep only.
    func testNet1conv1fcXLAgreesForEveryRuleAndPreset() throws {
        try assertAgreement(try architecture("Net1conv1fcXL", SampleShape(channels: 1, height: 28, width: 28)), keeps: [0.9])
    }

    func testNet1conv1fcXLCifarAgreesForEveryRuleAndPreset() throws {
        try assertAgreement(try architecture("Net1conv1fcXL_cif", SampleShape(channels: 3, height: 32, width: 32)), keeps: [0.9])
    }

    /// The non-default fixed-point options take other code paths: float softmax
    /// in a fixed-point step, `h - h_mod` from the accumulators, power-of-two scalars.
    func testFixedPointOptionsAgree() throws {
        var floatSoftmax = PrecisionConfig.preset(named: "int8")!
        floatSoftmax.softmax = .float
        floatSoftmax.name = "int8 with float softmax"
        var accumulators = PrecisionConfig.preset(named: "int16")!
        accumulators.pepitaDifference = .accumulators
        accumulators.scalars = .powerOfTwo
        accumulators.name = "int16, accumulators, power-of-two"
        try assertAgreement(try architecture("fc:12-7-5-3", SampleShape(channels: 1, height: 1, width: 12), classes: 3),
                            precisions: [floatSoftmax, accumulators])
        try assertAgreement(try architecture("Net1conv1fcXL", SampleShape(channels: 1, height: 8, width: 8)),
                            rules: [.pepita, .dfa], precisions: [floatSoftmax, accumulators])
    }

    /// A larger batch and the first-pass last-layer error on an FC network.
    func testOtherBatchAndLastLayerErrorAgree() throws {
        let fc = try architecture("fc:12-7-5-3", SampleShape(channels: 1, height: 1, width: 12), classes: 3)
        for precision in ["float32", "int8"] {
            let step = CountedStep(architecture: fc, rule: .pepita, precision: .preset(named: precision)!, batch: 5,
                                   lastLayerError: .firstPass)
            XCTAssertEqual(try CostAgreement(step: step).differences, [], precision)
        }
    }

    /// An epoch of 7 samples at batch 3 (two full steps and one of 1 sample),
    /// as `metrics.json` reports it, against `CostModel.epochOperations`.
    func testAnEpochWithAPartialBatchAgreesPhaseByPhase() throws {
        let fc = try architecture("fc:12-7-5-3", SampleShape(channels: 1, height: 1, width: 12), classes: 3)
        for rule in RuleKind.allCases {
            for precision in ["float32", "int16"] {
                let counted = try CountedStep(architecture: fc, rule: rule, precision: .preset(named: precision)!, batch: 3,
                                              samples: 7).run()
                XCTAssertEqual(counted.steps, 3)
                let epoch = try CostModel.epochOperations(network: NetworkShape(fc), rule: TrainingRule(rawValue: rule.rawValue)!,
                                                          batch: 3, samples: 7,
                                                          options: StepOptions(softmax: StepOptions.softmaxMode(for: .preset(named: precision)!)))
                let countedTotals = Dictionary(uniqueKeysWithValues: counted.phases.map { ($0.phase.rawValue, OperationCounts($0.total)) })
                let analyticTotals = Dictionary(uniqueKeysWithValues: epoch.phases.filter { $0.operations != .zero }
                    .map { ($0.phase.rawValue, $0.operations) })
                XCTAssertEqual(countedTotals, analyticTotals, "\(rule) \(precision)")
            }
        }
    }

    func testCountsDoNotDependOnTheThreadCount() throws {
        let conv = try architecture("Net1conv1fcXL", SampleShape(channels: 1, height: 12, width: 12))
        for precision in ["float32", "int8-stochastic"] {
            for rule in [RuleKind.pepita, .bp] {
                var step = CountedStep(architecture: conv, rule: rule, precision: .preset(named: precision)!, batch: 3)
                let one = try step.run()
                step.threads = 2
                XCTAssertEqual(try step.run(), one, "\(rule) \(precision)")
            }
        }
    }

    /// A disagreement is reported, not hidden: the comparison itself can fail.
    func testADifferenceIsReportedWithItsPhaseAndLayer() throws {
        var analytic = try CostModel.operations(network: .fullyConnected([4, 3, 2]), rule: .bp, batch: 2)
        var counted = RecordedOperations(steps: 1, phases: analytic.phases.map { phase in
            RecordedPhase(phase: StepPhase(rawValue: phase.phase.rawValue)!, layers: phase.layers.map {
                OperationTally(macs: $0.macs, adds: $0.adds, multiplies: $0.multiplies, compares: $0.compares,
                               exps: $0.exps, divides: $0.divides)
            })
        })
        XCTAssertTrue(CostAgreement.operationRows(analytic: analytic, counted: counted).allSatisfy(\.isEqual))
        counted.phases[1].layers[0].compares += 1
        analytic.phases[3].layers[1].adds += 2
        let unequal = CostAgreement.operationRows(analytic: analytic, counted: counted).filter { !$0.isEqual }
        XCTAssertEqual(unequal.map(\.phase), [.backwardDelta, .optimiser])
        XCTAssertEqual(unequal.map(\.layer), [0, 1])
    }

    /// BP and FA through a convolution above the first layer: the engine does
    /// not implement the input gradient, and both sides refuse with a message.
    func testBothSidesRejectBackpropThroughAConvolutionAboveTheFirstLayer() throws {
        let first = LayerSpec.conv(input: SampleShape(channels: 1, height: 10, width: 10), outChannels: 2, kernelSize: 3, maxPool: false)
        let second = LayerSpec.conv(input: first.convolutionOutputShape!, outChannels: 2, kernelSize: 3, maxPool: true)
        let twoConvolutions = Architecture(name: "two-conv", input: SampleShape(channels: 1, height: 10, width: 10), classCount: 3,
                                           layers: [first, second, .dense(inputs: second.outputCount, outputs: 3)])
        for rule in [RuleKind.bp, .fa] {
            let step = CountedStep(architecture: twoConvolutions, rule: rule, precision: .preset(named: "float32")!, batch: 2)
            XCTAssertThrowsError(try step.run()) { XCTAssertTrue("\($0)".hasPrefix("layers[1]: rule \(rule.rawValue):"), "\($0)") }
            XCTAssertThrowsError(try CostModel.operations(network: NetworkShape(twoConvolutions),
                                                          rule: TrainingRule(rawValue: rule.rawValue)!, batch: 2)) {
                XCTAssertTrue("\($0)".hasPrefix("layers[1]: rule \(rule.rawValue):"), "\($0)")
            }
        }
    }
}

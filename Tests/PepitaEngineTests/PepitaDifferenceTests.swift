import Foundation
import PepitaEngine
import Quantized
import TestSupport
import XCTest

/// `PrecisionConfig.pepitaDifference`: where fixed-point PEPITA forms `h - h_mod`.
final class PepitaDifferenceTests: XCTestCase {
    private func config(_ precision: PrecisionConfig) -> TrainingConfig {
        TrainingConfig(model: "fc:8-16-3", rule: .pepita, dataset: "separable", epochs: 4, batchSize: 10,
                       learningRate: 0.05, decayEpochs: [], lastLayerError: .modulated, seed: 3, threads: 1,
                       precision: precision)
    }

    func testConfigReadsPepitaDifferenceAndRejectsOtherValues() throws {
        let good = try PrecisionConfig(json: Data(#"{"base": "int8", "pepitaDifference": "accumulators"}"#.utf8), file: "d.json")
        XCTAssertEqual(good.pepitaDifference, .accumulators)
        XCTAssertEqual(PrecisionConfig.preset(named: "int8")?.pepitaDifference, .activations)
        XCTAssertThrowsError(try PrecisionConfig(json: Data(#"{"base": "int8", "pepitaDifference": "sums"}"#.utf8), file: "d.json")) {
            XCTAssertEqual(($0 as? PrecisionConfigError)?.key, "pepitaDifference")
        }
    }

    func testAccumulatorDifferenceLearnsAndChangesTheUpdates() throws {
        let dataset = SyntheticData.separable()
        var accumulators = PrecisionConfig.preset(named: "int8")!
        accumulators.pepitaDifference = .accumulators
        let fromCodes = try Trainer(config: config(.preset(named: "int8")!), dataset: dataset)
        let fromSums = try Trainer(config: config(accumulators), dataset: dataset)
        fromCodes.train()
        fromSums.train()
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(fromSums.history.last).testAccuracy, 0.9)
        // Same data, masks and initial weights: only the hidden update differs.
        XCTAssertNotEqual(fromCodes.weights[0], fromSums.weights[0])
    }

    /// fc 1-1-2 by hand: x = 0.5, w = 1229 * 2^-14, activations Q?.4 (steps of 1/16).
    /// The first pass's exact h is 0.600 steps, the modulated pass's 0.400 steps:
    /// narrowed separately they are codes 1 and 0 (difference 1 step); their exact
    /// difference 0.2 steps narrows to 0. So the hidden update is nonzero from the
    /// codes and exactly zero from the accumulators.
    func testAccumulatorDifferenceNarrowsTheExactDifferenceOnce() throws {
        func precision(_ difference: PrecisionConfig.PepitaDifference) -> PrecisionConfig {
            PrecisionConfig(name: "hand", arithmetic: .fixedPoint, roles: [
                .weights: .fixed(16, 14), .activations: .fixed(16, 4), .errors: .fixed(16, 14),
                .projection: .fixed(16, 14), .modulatedInput: .fixed(16, 14), .updates: .fixed(16, 20),
                .optimiserState: .fixed(16, 20),
            ], pepitaDifference: difference)
        }
        let architecture = try Architecture.named("fc:1-1-2", input: SampleShape(channels: 1, height: 1, width: 1), classCount: 2)
        let hidden = FixedMatrix(rows: 1, columns: 1, codes: [1229], format: FixedPointFormat(totalBits: 16, fractionalBits: 14))
        let last = FixedMatrix(rows: 2, columns: 1, codes: [0, 0], format: FixedPointFormat(totalBits: 16, fractionalBits: 14))
        let network = FixedPointNetwork(architecture: architecture, weights: [hidden, last])
        // Logits 0 -> y = (0.5, 0.5), label 1 -> e = (0.5, -0.5); F = (-1/3, 0) -> x_mod = 0.5 - 1/6 = 1/3.
        let projection = FixedMatrix(rows: 1, columns: 2, codes: [-5461, 0], format: FixedPointFormat(totalBits: 16, fractionalBits: 14))
        let input = FixedMatrix(rows: 1, columns: 1, codes: [8192], format: FixedPointFormat(totalBits: 16, fractionalBits: 14))
        var updates: [PrecisionConfig.PepitaDifference: Int64] = [:]
        for difference in [PrecisionConfig.PepitaDifference.activations, .accumulators] {
            let arithmetic = FixedPointArithmetic(config: precision(difference), seed: 1, threads: 1)
            let rule = FixedPointPepita(kind: .pepita, projection: projection, lastLayerError: .modulated,
                                        convolutionBatchAverageTwice: true)
            let step = rule.step(network: network, input: input, labels: [1], masks: [nil, nil], keepScale: nil,
                                 arithmetic: arithmetic)
            updates[difference] = step.updates[0].values[0]
        }
        // e F^T = 8192 * -5461 at 2^-28 = -2730.5 steps of 2^-14, a tie that
        // nearest-even rounds to -2730, so x_mod = 8192 - 2730 = 5462 steps.
        // From the codes: (1 - 0) steps of 2^-4 times x_mod.
        XCTAssertEqual(updates[.activations], 5462)
        XCTAssertEqual(updates[.accumulators], 0)
    }
}

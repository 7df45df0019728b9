import Foundation
import PepitaEngine
import Quantized
import TestSupport
import XCTest

/// Fixed-point training end to end (`Trainer` with a `FixedPointEngine`): it
/// learns, it reports its per-role statistics, and it writes integer weights a
/// later run reads back exactly.
final class FixedPointTrainingTests: XCTestCase {
    private static let dataset = SyntheticData.separable()

    private static func config(_ rule: RuleKind, precision: String, model: String = "fc:8-16-3", epochs: Int = 5,
                               seed: UInt64 = 3) -> TrainingConfig {
        TrainingConfig(model: model, rule: rule, dataset: "separable", epochs: epochs, batchSize: 10,
                       learningRate: 0.01, decayEpochs: [60, 90], lastLayerError: .modulated, seed: seed, threads: 1,
                       precision: PrecisionConfig.preset(named: precision)!)
    }

    // MARK: Learning

    func testEveryRuleLearnsTheSeparableProblemInInt16WithinTwoPointsOfFloat32() throws {
        // Seed 3's initial weights score chance (1/3) on the test set (TrainerTests).
        for rule in RuleKind.allCases {
            let integer = try Trainer(config: Self.config(rule, precision: "int16"), dataset: Self.dataset)
            XCTAssertLessThanOrEqual(integer.engine.evaluate(Self.dataset.test).accuracy, 0.5, "\(rule): untrained")
            integer.train()
            let float = try Trainer(config: Self.config(rule, precision: "float32"), dataset: Self.dataset)
            float.train()
            let integerAccuracy = try XCTUnwrap(integer.history.last).testAccuracy
            let floatAccuracy = try XCTUnwrap(float.history.last).testAccuracy
            XCTAssertGreaterThanOrEqual(integerAccuracy, 0.9, "\(rule): int16 test accuracy after 5 epochs")
            XCTAssertEqual(integerAccuracy, floatAccuracy, accuracy: 0.02, "\(rule): int16 vs float32")
            XCTAssertEqual(integer.summary.precision, "int16")
        }
    }

    func testInt8LearnsTheSeparableProblemWellAboveChance() throws {
        for rule in [RuleKind.pepita, .bp] {
            for precision in ["int8", "int8-stochastic"] {
                let trainer = try Trainer(config: Self.config(rule, precision: precision), dataset: Self.dataset)
                trainer.train()
                XCTAssertGreaterThanOrEqual(try XCTUnwrap(trainer.history.last).testAccuracy, 0.8, "\(rule), \(precision)")
            }
        }
    }

    // MARK: Statistics

    func testEpochMetricsCarryAllSevenRolesInFixedPointAndNoneInFloat32() throws {
        for rule in [RuleKind.pepita, .bp] {
            let integer = try Trainer(config: Self.config(rule, precision: "int16", epochs: 1), dataset: Self.dataset)
            let counters = try XCTUnwrap(integer.trainEpoch().quantization, "\(rule)")
            XCTAssertEqual(Set(counters.keys), Set(TensorRole.allCases),
                           "\(rule): roles reported; missing \(Set(TensorRole.allCases).subtracting(counters.keys).map(\.rawValue))")
            let float = try Trainer(config: Self.config(rule, precision: "float32", epochs: 1), dataset: Self.dataset)
            XCTAssertNil(float.trainEpoch().quantization, "\(rule): float32")
            XCTAssertNil(float.engine.quantizationCounters)
        }
    }

    func testFirstEpochReportsHowTheProjectionAndFeedbackMatricesWereNarrowed() throws {
        // F (8 x 3) for PEPITA and B1 (3 x 16) for FA are narrowed once, before the
        // first step; SPEC §4 asks for every role's saturations and values rounded
        // to zero, so the first epoch's statistics include them.
        for (rule, elements) in [(RuleKind.pepita, 8 * 3), (.fa, 3 * 16)] {
            let trainer = try Trainer(config: Self.config(rule, precision: "int8", epochs: 1), dataset: Self.dataset)
            let counters = try XCTUnwrap(trainer.trainEpoch().quantization)
            XCTAssertEqual(counters[.projection]?.elements ?? 0, elements, "\(rule): projection narrowings reported in epoch 1")
        }
    }

    func testCountersArePlausible() throws {
        // 200 samples in batches of 10: 20 steps of fc 8-16-3.
        for rule in RuleKind.allCases {
            let trainer = try Trainer(config: Self.config(rule, precision: "int16", epochs: 1), dataset: Self.dataset)
            let counters = try XCTUnwrap(trainer.trainEpoch().quantization)
            let context = "\(rule)"
            // Narrowed every step: the input, the activations, the errors, the updates, the velocity, the weights.
            for role in [TensorRole.modulatedInput, .activations, .errors, .updates, .optimiserState, .weights] {
                XCTAssertGreaterThan(counters[role]?.elements ?? 0, 0, "\(context): \(role) narrowed")
            }
            let passes = rule.isPepita ? 2 : 1
            XCTAssertEqual(counters[.activations]?.elements, 200 * 16 * passes, "\(context): hidden units per pass")
            XCTAssertEqual(counters[.updates]?.elements, 20 * (8 * 16 + 16 * 3), "\(context): one update per weight per step")
            // The first epoch also counts the narrowing of the initial float weights.
            XCTAssertEqual(counters[.weights]?.elements, 21 * (8 * 16 + 16 * 3), "\(context): initial codes + one new code per weight per step")
            // Input values in [0, 1) fit Q1.14; dynamic scaling never saturates the first pass.
            XCTAssertEqual(counters[.modulatedInput]?.saturations ?? 0, 0, context)
            XCTAssertLessThan(counters[.modulatedInput]?.maxAbsValue ?? 2, 2, context)
            XCTAssertEqual(counters[.activations]?.saturations ?? 0, 0, "\(context): dynamic activations saturated")
            XCTAssertEqual(counters[.updates]?.saturations ?? 0, 0, "\(context): dynamic updates saturated")
            for (role, counter) in counters {
                XCTAssertEqual(counter.accumulatorOverflows, 0, "\(context): \(role)")
                XCTAssertLessThanOrEqual(counter.saturations + counter.roundedToZero, counter.elements, "\(context): \(role)")
            }
            XCTAssertGreaterThan(counters[.activations]?.maxAbsValue ?? 0, 0, context)
            XCTAssertLessThanOrEqual(counters[.errors]?.maxAbsValue ?? 2, 1, "\(context): probabilities and errors within 1")
        }
    }

    func testCountersStartAfreshEveryEpoch() throws {
        let trainer = try Trainer(config: Self.config(.pepita, precision: "int16", epochs: 2), dataset: Self.dataset)
        trainer.train()
        let first = try XCTUnwrap(trainer.history[0].quantization?[.updates]?.elements)
        let second = try XCTUnwrap(trainer.history[1].quantization?[.updates]?.elements)
        XCTAssertEqual(first, second, "the same number of narrowings each epoch, not a running total")
    }

    func testDynamicScalingOfWeightsOrVelocityIsRefusedNamingTheRole() {
        // Both persist across batches, so a per-batch exponent would rescale them every step.
        for role in [TensorRole.weights, .optimiserState] {
            var precision = PrecisionConfig.preset(named: "int16")!
            precision.name = "dynamic-\(role.rawValue)"
            precision.roles[role] = .dynamic(16)
            var config = Self.config(.pepita, precision: "int16")
            config.precision = precision
            XCTAssertThrowsError(try Trainer(config: config, dataset: Self.dataset), "\(role)") { error in
                XCTAssertTrue(error is ConfigError, "\(role): \(error)")
                XCTAssertTrue(String(describing: error).contains(role.rawValue), "\(role): \(error)")
            }
        }
    }

    // MARK: Weight files

    private func assertWeightFilesRoundTrip(precision: String, rule: RuleKind, expectedDescr: String,
                                            file: StaticString = #filePath, line: UInt = #line) throws {
        let directory = try TempDirectory()
        let trainer = try Trainer(config: Self.config(rule, precision: precision, epochs: 1), dataset: Self.dataset)
        trainer.train()
        let engine = try XCTUnwrap(trainer.engine as? FixedPointEngine)
        try engine.writeWeights(to: directory.path)
        var named: [(String, FixedMatrix)] = engine.network.weights.enumerated().map { ("W\($0)", $1) }
        named += engine.rule.fixedMatrices.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        XCTAssertEqual(named.map(\.0), rule.isPepita ? ["W0", "W1", "F"] : (rule == .fa ? ["W0", "W1", "B1"] : ["W0", "W1"]),
                       file: file, line: line)
        for (name, matrix) in named {
            let context = "\(precision), \(rule), \(name)"
            let array = try NPYArray(contentsOfFile: directory.path(name + ".npy"))
            XCTAssertEqual(array.descr, expectedDescr, context, file: file, line: line)
            XCTAssertEqual(array.values, matrix.codes.map(Float.init), "\(context): the codes themselves", file: file, line: line)
            let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory.path(name + ".json"))))
                as? [String: Any]
            XCTAssertEqual(sidecar?["fractionalBits"] as? Int, matrix.format.fractionalBits, context, file: file, line: line)
            XCTAssertEqual(sidecar?["totalBits"] as? Int, matrix.format.totalBits, context, file: file, line: line)
            XCTAssertEqual(sidecar?["signed"] as? Bool, true, context, file: file, line: line)
            XCTAssertEqual(sidecar?["format"] as? String, matrix.format.description, context, file: file, line: line)
            XCTAssertEqual(sidecar?["role"] as? String, name.hasPrefix("W") ? "weights" : "projection", context, file: file, line: line)
        }
        let state = try RunDirectory.readInitialState(from: directory.path, architecture: trainer.architecture,
                                                      readProjection: rule.isPepita)
        let weights = try XCTUnwrap(state.weights)
        for (layer, matrix) in engine.network.weights.enumerated() {
            // code * 2^-n, in Double (exact), then to Float (exact for 16-bit codes).
            let exact = matrix.codes.map { Float(Double($0) / Double(1 << matrix.format.fractionalBits)) }
            XCTAssertEqual(weights[layer].values, exact, "\(precision), W\(layer) read back", file: file, line: line)
            XCTAssertEqual(weights[layer].rows, matrix.rows, file: file, line: line)
        }
        if rule.isPepita {
            let projection = try XCTUnwrap(engine.rule.fixedMatrices["F"])
            let exact = projection.codes.map { Float(Double($0) * Double(sign: .plus, exponent: -projection.format.fractionalBits, significand: 1)) }
            XCTAssertEqual(state.projection?.values, exact, "\(precision), F read back", file: file, line: line)
        }
    }

    func testWriteWeightsWritesInt8CodesForEightBitFormatsWithASidecarAndReadsBackExactly() throws {
        try assertWeightFilesRoundTrip(precision: "int8", rule: .pepita, expectedDescr: "|i1")
        try assertWeightFilesRoundTrip(precision: "int8-stochastic", rule: .fa, expectedDescr: "|i1")
    }

    func testWriteWeightsWritesInt16CodesForSixteenBitFormatsWithASidecarAndReadsBackExactly() throws {
        try assertWeightFilesRoundTrip(precision: "int16", rule: .pepita, expectedDescr: "<i2")
        try assertWeightFilesRoundTrip(precision: "int16", rule: .bp, expectedDescr: "<i2")
    }

    func testWeightsReadBackStartANewRunFromTheSameCodes() throws {
        let directory = try TempDirectory()
        let trainer = try Trainer(config: Self.config(.pepita, precision: "int8", epochs: 1), dataset: Self.dataset)
        trainer.train()
        let engine = try XCTUnwrap(trainer.engine as? FixedPointEngine)
        try engine.writeWeights(to: directory.path)
        let state = try RunDirectory.readInitialState(from: directory.path, architecture: trainer.architecture, readProjection: true)
        let restarted = try Trainer(config: Self.config(.pepita, precision: "int8", epochs: 0), dataset: Self.dataset, initial: state)
        let restartedEngine = try XCTUnwrap(restarted.engine as? FixedPointEngine)
        XCTAssertEqual(restartedEngine.network.weights, engine.network.weights)
        XCTAssertEqual(restartedEngine.rule.fixedMatrices, engine.rule.fixedMatrices)
        XCTAssertEqual(restarted.engine.evaluate(Self.dataset.test), engine.evaluate(Self.dataset.test))
    }
}

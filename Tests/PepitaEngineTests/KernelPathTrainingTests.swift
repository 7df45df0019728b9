import PepitaEngine
import Quantized
import TestSupport
import XCTest

/// SPEC §4: the integer path gives "identical weights on any machine, any thread
/// count, any SIMD path". A tiny integer training run on every kernel path this
/// CPU has (portable, AVX2, AVX-512 VNNI) ends with the same weight codes,
/// velocities and counters; a float run agrees closely across paths.
final class KernelPathTrainingTests: XCTestCase {
    private static func config(_ rule: RuleKind, precision: String, model: String, threads: Int = 2) -> TrainingConfig {
        TrainingConfig(model: model, rule: rule, dataset: "synthetic", epochs: 1, batchSize: 32,
                       learningRate: 0.01, decayEpochs: [60, 90], lastLayerError: .modulated, seed: 7, threads: threads,
                       precision: PrecisionConfig.preset(named: precision)!)
    }

    private static let dense = SyntheticData.separable(features: 48, trainCount: 96, testCount: 20)
    private static let images = SyntheticData.bands(side: 8, trainCount: 64, testCount: 16)

    private static func trained(_ config: TrainingConfig, on dataset: Dataset) throws -> Trainer {
        let trainer = try Trainer(config: config, dataset: dataset)
        trainer.train()
        return trainer
    }

    func testEveryKernelPathGivesIdenticalIntegerWeights() throws {
        for (model, dataset) in [("fc:48-256-3", Self.dense), ("Net1conv1fcXL", Self.images)] {
            for precision in ["int8", "int8-stochastic", "int16"] {
                for rule in [RuleKind.pepita, .bp] {
                    var results: [(KernelPath, FixedPointEngine, Trainer)] = []
                    try forEveryKernelPath { path in
                        let trainer = try Self.trained(Self.config(rule, precision: precision, model: model), on: dataset)
                        results.append((path, trainer.engine as! FixedPointEngine, trainer))
                    }
                    XCTAssertGreaterThanOrEqual(results.count, 1)
                    let (_, reference, referenceTrainer) = results[0]
                    for (path, engine, trainer) in results.dropFirst() {
                        let context = "\(model) \(rule) \(precision): \(path.rawValue) vs \(results[0].0.rawValue)"
                        XCTAssertEqual(engine.network.weights, reference.network.weights, context)
                        XCTAssertEqual(engine.optimiser.velocities, reference.optimiser.velocities, context)
                        XCTAssertEqual(trainer.history.map(\.quantization), referenceTrainer.history.map(\.quantization), context)
                    }
                }
            }
        }
    }

    func testFloatTrainingAgreesAcrossKernelPaths() throws {
        var weights: [(KernelPath, [Matrix])] = []
        try forEveryKernelPath { path in
            weights.append((path, try Self.trained(Self.config(.pepita, precision: "float32", model: "fc:48-256-3"),
                                                   on: Self.dense).weights))
        }
        for (path, layers) in weights.dropFirst() {
            for (layer, (got, expected)) in zip(layers, weights[0].1).enumerated() {
                let largest = expected.values.map { abs($0) }.max() ?? 0
                let difference = zip(got.values, expected.values).map { abs($0 - $1) }.max() ?? 0
                // Fused vs separate multiply-add: differences of a few float ulps per
                // product, carried through three batches of updates.
                XCTAssertLessThanOrEqual(difference, 1e-4 * max(largest, 1), "\(path.rawValue) layer \(layer)")
            }
        }
    }
}

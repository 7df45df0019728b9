import PepitaEngine
import Quantized
import TestSupport
import XCTest

/// SPEC §4: "the integer path is bit-exact and deterministic: same config + seed
/// gives identical weights on any machine, any thread count". `Trainer` runs in
/// the int8-stochastic and int16 presets, compared code for code.
final class FixedPointDeterminismTests: XCTestCase {
    private static func config(_ rule: RuleKind, precision: String, model: String = "fc:48-256-3", epochs: Int = 1,
                               batch: Int = 64, seed: UInt64 = 1, threads: Int = 1) -> TrainingConfig {
        TrainingConfig(model: model, rule: rule, dataset: "separable", epochs: epochs, batchSize: batch,
                       learningRate: 0.01, decayEpochs: [60, 90], lastLayerError: .modulated, seed: seed, threads: threads,
                       precision: PrecisionConfig.preset(named: precision)!)
    }

    /// fc 48-256-3 with batch 64: every product has m * n * k >= 2^18, so
    /// `IntegerGEMM` really splits the work over two threads.
    private static let wide = SyntheticData.separable(features: 48, trainCount: 128, testCount: 30)

    private static func engine(_ trainer: Trainer) -> FixedPointEngine {
        trainer.engine as! FixedPointEngine
    }

    private static func weightCodes(_ trainer: Trainer) -> [[Int16]] {
        engine(trainer).network.weights.map(\.codes)
    }

    private static func trained(_ config: TrainingConfig, dataset: Dataset = wide, initial: InitialState? = nil) throws -> Trainer {
        let trainer = try Trainer(config: config, dataset: dataset, initial: initial)
        trainer.train()
        return trainer
    }

    func testTheWideFixtureIsLargeEnoughToSplitTheIntegerProducts() {
        XCTAssertGreaterThanOrEqual(64 * 48 * 256, 1 << 18, "first layer")
        XCTAssertGreaterThanOrEqual(256 * 48 * 64, 1 << 18, "its update")
    }

    func testOneAndTwoThreadsGiveBitIdenticalWeightCodesAndCounters() throws {
        for precision in ["int8-stochastic", "int16"] {
            for rule in [RuleKind.pepita, .bp] {
                let single = try Self.trained(Self.config(rule, precision: precision, threads: 1))
                let double = try Self.trained(Self.config(rule, precision: precision, threads: 2))
                let context = "\(rule), \(precision)"
                XCTAssertEqual(Self.weightCodes(single), Self.weightCodes(double), context)
                XCTAssertEqual(Self.engine(single).network.weights.map(\.format), Self.engine(double).network.weights.map(\.format))
                XCTAssertEqual(Self.engine(single).optimiser.velocities, Self.engine(double).optimiser.velocities, context)
                XCTAssertEqual(single.history.map(\.quantization), double.history.map(\.quantization), context)
                XCTAssertEqual(single.history.map(\.testAccuracy), double.history.map(\.testAccuracy), context)
                XCTAssertNotEqual(Self.weightCodes(single), Self.weightCodes(try Trainer(
                    config: Self.config(rule, precision: precision), dataset: Self.wide)), "\(context): training changed the weights")
            }
        }
    }

    func testSameSeedTwiceGivesIdenticalWeightCodes() throws {
        for precision in ["int8-stochastic", "int16"] {
            for rule in [RuleKind.pepita, .bp] {
                let first = try Self.trained(Self.config(rule, precision: precision))
                let second = try Self.trained(Self.config(rule, precision: precision))
                XCTAssertEqual(Self.weightCodes(first), Self.weightCodes(second), "\(rule), \(precision)")
                XCTAssertEqual(first.history.map(\.quantization), second.history.map(\.quantization), "\(rule), \(precision)")
            }
        }
    }

    func testADifferentSeedGivesDifferentWeightsInInt8Stochastic() throws {
        for rule in [RuleKind.pepita, .bp] {
            let first = try Self.trained(Self.config(rule, precision: "int8-stochastic", seed: 1))
            let other = try Self.trained(Self.config(rule, precision: "int8-stochastic", seed: 2))
            XCTAssertNotEqual(Self.weightCodes(first), Self.weightCodes(other), "\(rule)")
        }
    }

    func testOnlyStochasticRoundingDependsOnTheSeedWhenEverythingElseIsFixed() throws {
        // Same initial weights and F, no shuffling, no dropout: the seed is left
        // with one job, the stochastic rounding bits.
        let dataset = SyntheticData.separable(features: 12, trainCount: 40, testCount: 12)
        let base = Self.config(.pepita, precision: "int16", model: "fc:12-16-3", batch: 10)
        let architecture = try Architecture.named(base.model, input: dataset.shape, classCount: 3)
        let initial = InitialState(weights: Network(heUniform: architecture, seed: 5).weights,
                                   projection: Pepita.randomProjection(for: architecture, projectionScale: 0.05,
                                                                       kind: .pepita, seed: 5))
        func run(_ precision: String, seed: UInt64) throws -> [[Int16]] {
            var config = Self.config(.pepita, precision: precision, model: "fc:12-16-3", epochs: 2, batch: 10, seed: seed)
            config.shuffle = false
            config.dropoutKeep = 1
            return Self.weightCodes(try Self.trained(config, dataset: dataset, initial: initial))
        }
        XCTAssertEqual(try run("int16", seed: 1), try run("int16", seed: 2), "nearest-even: the seed has nothing to do")
        XCTAssertNotEqual(try run("int8-stochastic", seed: 1), try run("int8-stochastic", seed: 2),
                          "stochastic rounding draws from the seed")
    }

    // MARK: Convolution

    /// Net1conv1fcXL on 1x8x8 images: conv 1->32, 5x5 (4x4 positions), max pool to
    /// 2x2, dense 128 -> 3. One batch of 24: the conv product is
    /// (24 * 16) x 25 x 32 = 307,200 multiply-adds, so it splits over threads.
    func testConvolutionalModelTrainsOneStepInInt16IdenticallyOnOneAndTwoThreads() throws {
        let dataset = SyntheticData.bands(side: 8, trainCount: 24, testCount: 9)
        XCTAssertGreaterThanOrEqual(24 * 16 * 25 * 32, 1 << 18)
        for rule in [RuleKind.pepita, .bp] {
            var codes: [[[Int16]]] = []
            for threads in [1, 2] {
                var config = Self.config(rule, precision: "int16", model: "Net1conv1fcXL", batch: 24, threads: threads)
                config.lastLayerError = .firstPass
                let trainer = try Trainer(config: config, dataset: dataset)
                let before = Self.weightCodes(trainer)
                let metrics = trainer.trainEpoch()
                XCTAssertEqual(trainer.architecture.layers.first?.isConvolution, true)
                XCTAssertGreaterThan(metrics.quantization?[.activations]?.elements ?? 0, 0, "\(rule): activations narrowed")
                XCTAssertTrue(metrics.testAccuracy.isFinite, "\(rule)")
                let after = Self.weightCodes(trainer)
                XCTAssertNotEqual(after, before, "\(rule), \(threads) thread(s): the step changed the weights")
                XCTAssertEqual(Self.engine(trainer).network.weights[0].rows, 32)
                XCTAssertEqual(Self.engine(trainer).network.weights[0].columns, 25)
                codes.append(after)
            }
            XCTAssertEqual(codes[0], codes[1], "\(rule): 1 vs 2 threads")
        }
    }
}

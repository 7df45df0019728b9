import PepitaEngine
import TestSupport
import XCTest

/// `Trainer` end to end on a small synthetic problem, plus the pieces it is
/// configured by: `StepSchedule`, `TrainingConfig.validate`, `Architecture.named`.
final class TrainerTests: XCTestCase {
    private static func separableDataset(features: Int = 8, trainCount: Int = 200, testCount: Int = 90,
                                         seed: UInt64 = 51) -> Dataset {
        SyntheticData.separable(features: features, trainCount: trainCount, testCount: testCount, seed: seed)
    }

    private static func config(_ rule: RuleKind, model: String = "fc:8-16-3", epochs: Int = 5, batch: Int = 10,
                               seed: UInt64 = 1, threads: Int = 1) -> TrainingConfig {
        TrainingConfig(model: model, rule: rule, dataset: "separable", epochs: epochs, batchSize: batch,
                       learningRate: 0.01, decayEpochs: [60, 90], lastLayerError: .modulated, seed: seed,
                       threads: threads)
    }

    // MARK: Learning

    func testEveryRuleLearnsASeparableProblemWellAboveChance() throws {
        // Seed 3's initial weights score exactly chance (1/3) on the test set.
        let dataset = Self.separableDataset()
        for rule in RuleKind.allCases {
            let trainer = try Trainer(config: Self.config(rule, seed: 3), dataset: dataset)
            let before = trainer.engine.evaluate(dataset.test)
            XCTAssertLessThanOrEqual(before.accuracy, 0.5, "\(rule): untrained")
            trainer.train()
            let after = try XCTUnwrap(trainer.history.last)
            XCTAssertEqual(trainer.epochsCompleted, 5)
            XCTAssertGreaterThanOrEqual(after.testAccuracy, 0.95, "\(rule): test accuracy after 5 epochs")
            XCTAssertLessThan(after.testLoss, 0.5 * before.loss, "\(rule): test loss at least halves")
        }
    }

    func testHistoryCountsEpochsFromOneWithTheScheduledLearningRate() throws {
        var config = Self.config(.pepita, epochs: 3)
        config.decayEpochs = [1, 2]
        let trainer = try Trainer(config: config, dataset: Self.separableDataset())
        var seen: [Int] = []
        XCTAssertTrue(try trainer.train(shouldStop: { false }) { metrics in if let metrics { seen.append(metrics.epoch) } })
        XCTAssertEqual(seen, [1, 2, 3])
        XCTAssertEqual(trainer.history.map(\.learningRate), [0.01, 0.01 * 0.1, 0.01 * 0.1 * 0.1])
        XCTAssertEqual(trainer.summary.epochs, 3)
        XCTAssertEqual(trainer.summary.lastLayerError, .modulated)
    }

    // MARK: Reproducibility

    func testSameSeedGivesIdenticalWeights() throws {
        let dataset = Self.separableDataset()
        for rule in [RuleKind.pepita, .fa] {
            let first = try Trainer(config: Self.config(rule, epochs: 2), dataset: dataset)
            let second = try Trainer(config: Self.config(rule, epochs: 2), dataset: dataset)
            first.train()
            second.train()
            XCTAssertEqual(first.weights, second.weights, "\(rule)")
            XCTAssertEqual(first.history.map(\.testAccuracy), second.history.map(\.testAccuracy), "\(rule)")
            let otherSeed = try Trainer(config: Self.config(rule, epochs: 2, seed: 2), dataset: dataset)
            otherSeed.train()
            XCTAssertNotEqual(first.weights, otherSeed.weights, "\(rule): seed 2")
        }
    }

    func testOneAndTwoThreadsGiveBitIdenticalWeights() throws {
        // fc 48-256-3 with batch 64: every product has m * n * k >= 2^18, so the
        // kernel really splits work over threads (it never splits a sum).
        let dataset = Self.separableDataset(features: 48, trainCount: 128, testCount: 30)
        XCTAssertGreaterThanOrEqual(64 * 48 * 256, 1 << 18)
        for rule in [RuleKind.pepita, .bp] {
            let single = try Trainer(config: Self.config(rule, model: "fc:48-256-3", epochs: 1, batch: 64, threads: 1),
                                     dataset: dataset)
            let double = try Trainer(config: Self.config(rule, model: "fc:48-256-3", epochs: 1, batch: 64, threads: 2),
                                     dataset: dataset)
            single.train()
            double.train()
            for (layer, (a, b)) in zip(single.weights, double.weights).enumerated() {
                XCTAssertEqual(a.values.map(\.bitPattern), b.values.map(\.bitPattern), "\(rule), layer \(layer)")
            }
        }
    }

    func testInitialStateReplacesTheRandomWeightsAndProjection() throws {
        let dataset = Self.separableDataset()
        var values = TestValues(seed: 52)
        let weights = [values.matrix(16, 8, scale: 0.5), values.matrix(3, 16, scale: 0.5)]
        let projection = values.matrix(8, 3, scale: 0.05)
        let trainer = try Trainer(config: Self.config(.pepita), dataset: dataset,
                                  initial: InitialState(weights: weights, projection: projection))
        XCTAssertEqual(trainer.weights, weights)
        let engine = try XCTUnwrap(trainer.engine as? FloatEngine)
        XCTAssertEqual(engine.rule.fixedMatrices["F"], projection)
    }

    // MARK: Schedule

    func testStepScheduleDecaysTenfoldAtEachDecayEpoch() {
        let schedule = StepSchedule(baseLearningRate: 0.01, decayEpochs: [60, 90])
        XCTAssertEqual(schedule.learningRate(epoch: 0), 0.01)
        XCTAssertEqual(schedule.learningRate(epoch: 59), 0.01)
        XCTAssertEqual(schedule.learningRate(epoch: 60), 0.001, accuracy: 1e-9)
        XCTAssertEqual(schedule.learningRate(epoch: 89), 0.001, accuracy: 1e-9)
        XCTAssertEqual(schedule.learningRate(epoch: 90), 0.0001, accuracy: 1e-10)
        XCTAssertEqual(schedule.learningRate(epoch: 99), 0.0001, accuracy: 1e-10)
        XCTAssertEqual(StepSchedule(baseLearningRate: 0.1, decayEpochs: []).learningRate(epoch: 500), 0.1)
        XCTAssertEqual(StepSchedule(baseLearningRate: 1, decayEpochs: [2], factor: 0.5).learningRate(epoch: 2), 0.5)
    }

    // MARK: Validation

    func testValidateAcceptsTheDefaults() {
        XCTAssertNoThrow(try Self.config(.pepita).validate())
    }

    func testValidateRejectsBadValuesNamingTheFlag() {
        let cases: [(String, (inout TrainingConfig) -> Void)] = [
            ("--epochs", { $0.epochs = -1 }),
            ("--batch", { $0.batchSize = 0 }),
            ("--lr", { $0.learningRate = -0.1 }),
            ("--lr", { $0.learningRate = .nan }),
            ("--lr", { $0.learningRate = .infinity }),
            ("--momentum", { $0.momentum = 1 }),
            ("--momentum", { $0.momentum = -0.5 }),
            ("--dropout-keep", { $0.dropoutKeep = 0 }),
            ("--dropout-keep", { $0.dropoutKeep = 1.5 }),
            ("--bstd", { $0.projectionScale = 0 }),
            ("--bstd", { $0.projectionScale = .nan }),
            ("--decay-factor", { $0.decayFactor = 0 }),
            ("--decay-epochs", { $0.decayEpochs = [60, -1] }),
            ("--validation", { $0.validationFraction = 1 }),
            ("--validation", { $0.validationFraction = -0.1 }),
            ("--threads", { $0.threads = 0 }),
            ("--fit-epochs", { $0.fitEpochs = 1 }),
        ]
        for (flag, spoil) in cases {
            var config = Self.config(.pepita)
            spoil(&config)
            XCTAssertThrowsError(try config.validate(), flag) { error in
                let message = String(describing: error)
                XCTAssertTrue(message.contains(flag), "message '\(message)' does not name \(flag)")
            }
        }
    }

    func testTrainerRefusesAnInvalidConfig() {
        var config = Self.config(.bp)
        config.batchSize = 0
        XCTAssertThrowsError(try Trainer(config: config, dataset: Self.separableDataset())) { error in
            XCTAssertTrue(error is ConfigError)
        }
    }

    // MARK: Architectures

    private let flat8 = SampleShape(channels: 1, height: 1, width: 8)
    private let mnist = SampleShape(channels: 1, height: 28, width: 28)
    private let cifar = SampleShape(channels: 3, height: 32, width: 32)

    func testFcAloneMeansOneHiddenLayerOf1024() throws {
        let architecture = try Architecture.named("fc", input: mnist, classCount: 10)
        XCTAssertEqual(architecture.name, "fc:784-1024-10")
        XCTAssertEqual(architecture.layers, [.dense(inputs: 784, outputs: 1024), .dense(inputs: 1024, outputs: 10)])
        XCTAssertEqual(architecture.defaultLastLayerError, .modulated)
        XCTAssertEqual(architecture.defaultBatchSize, 64)
    }

    func testFcWithSizesBuildsOneDenseLayerPerStep() throws {
        let architecture = try Architecture.named("fc:8-16-4-3", input: flat8, classCount: 3)
        XCTAssertEqual(architecture.layers, [.dense(inputs: 8, outputs: 16), .dense(inputs: 16, outputs: 4),
                                             .dense(inputs: 4, outputs: 3)])
        XCTAssertEqual(architecture.parameterCount, 8 * 16 + 16 * 4 + 4 * 3)
        XCTAssertFalse(architecture.isConvolutional)
    }

    func testNet1conv1fcXLOnMnistShapes() throws {
        let architecture = try Architecture.named("Net1conv1fcXL", input: mnist, classCount: 10)
        XCTAssertEqual(architecture.layers.count, 2)
        let conv = architecture.layers[0]
        XCTAssertEqual(conv, .conv(input: mnist, outChannels: 32, kernelSize: 5, maxPool: true))
        XCTAssertEqual(conv.convolutionOutputShape, SampleShape(channels: 32, height: 24, width: 24))
        XCTAssertEqual(conv.outputCount, 4608)
        XCTAssertEqual(conv.weightShape.rows, 32)
        XCTAssertEqual(conv.weightShape.columns, 25)
        XCTAssertEqual(architecture.layers[1], .dense(inputs: 4608, outputs: 10))
        XCTAssertEqual(architecture.defaultLastLayerError, .firstPass)
        XCTAssertEqual(architecture.defaultBatchSize, 50)
    }

    func testNet1conv1fcXLCifOnCifarShapes() throws {
        let architecture = try Architecture.named("Net1conv1fcXL_cif", input: cifar, classCount: 10)
        let conv = architecture.layers[0]
        XCTAssertEqual(conv.convolutionOutputShape, SampleShape(channels: 32, height: 28, width: 28))
        XCTAssertEqual(conv.outputCount, 6272)
        XCTAssertEqual(conv.weightShape.columns, 75)
        XCTAssertEqual(architecture.layers[1], .dense(inputs: 6272, outputs: 10))
    }

    func testArchitectureNamesThatDoNotFitTheDataAreRejectedWithClearMessages() {
        let cases: [(String, SampleShape, Int, ArchitectureError, [String])] = [
            ("fc:9-16-3", flat8, 3, .inputMismatch(model: "fc:9-16-3", modelInputs: 9, dataInputs: 8), ["9 inputs", "8"]),
            ("fc:8-16-4", flat8, 3, .classMismatch(model: "fc:8-16-4", modelClasses: 4, dataClasses: 3), ["4 outputs", "3 classes"]),
            ("fc:8-x-3", flat8, 3, .badSizes("fc:8-x-3"), ["fc:8-x-3", "positive integers"]),
            ("fc:8--3", flat8, 3, .badSizes("fc:8--3"), ["fc:8--3"]),
            ("fc:8-0-3", flat8, 3, .badSizes("fc:8-0-3"), ["fc:8-0-3"]),
            ("fc:8", flat8, 3, .badSizes("fc:8"), ["fc:8"]),
            ("resnet", flat8, 3, .unknown("resnet"), ["resnet", "Net1conv1fcXL"]),
            ("Net1conv1fcXL", cifar, 10,
             .shapeUnsupported(model: "Net1conv1fcXL", shape: cifar, needs: "1 channel(s), at least 6x6"), ["3x32x32", "1 channel"]),
            ("Net1conv1fcXL_cif", mnist, 10,
             .shapeUnsupported(model: "Net1conv1fcXL_cif", shape: mnist, needs: "3 channel(s), at least 6x6"), ["1x28x28", "3 channel"]),
        ]
        for (name, shape, classes, expected, phrases) in cases {
            XCTAssertThrowsError(try Architecture.named(name, input: shape, classCount: classes), name) { error in
                XCTAssertEqual(error as? ArchitectureError, expected, name)
                let message = String(describing: error)
                for phrase in phrases {
                    XCTAssertTrue(message.contains(phrase), "\(name): message '\(message)' lacks '\(phrase)'")
                }
            }
        }
    }
}

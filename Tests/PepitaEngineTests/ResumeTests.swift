import Foundation
@testable import PepitaEngine
import Quantized
import TestSupport
import XCTest

/// A run stopped anywhere — mid-epoch included — and resumed from its checkpoint
/// ends with exactly the weights and metrics of a run that never stopped: the
/// checkpoint carries weights, optimiser state, the shuffle, dropout and
/// stochastic-rounding stream positions and the unfinished epoch's totals.
final class ResumeTests: XCTestCase {
    private let dataset = SyntheticData.separable(features: 8, trainCount: 110, testCount: 30)

    private func config(_ rule: RuleKind, precision: String, dropoutKeep: Float = 0.9) throws -> TrainingConfig {
        TrainingConfig(model: "fc:8-12-6-3", rule: rule, dataset: "separable", epochs: 3, batchSize: 16, learningRate: 0.05,
                       decayEpochs: [2], dropoutKeep: dropoutKeep, lastLayerError: .modulated, seed: 9, threads: 2,
                       precision: try PrecisionConfig.load(precision))
    }

    /// Metrics without the wall-clock times, which differ between any two runs.
    private func timeless(_ history: [EpochMetrics]) -> [EpochMetrics] {
        history.map { var row = $0; row.trainSeconds = 0; row.evaluationSeconds = 0; return row }
    }

    private func assertResumeMatches(_ rule: RuleKind, precision: String, stopAfterSteps: Int, line: UInt = #line) throws {
        let config = try config(rule, precision: precision)
        let uninterrupted = try Trainer(config: config, dataset: dataset)
        uninterrupted.train()

        let directory = try TempDirectory()
        let run = RunDirectory(path: directory.path("run"))
        try run.create(overwrite: false)
        let first = try Trainer(config: config, dataset: dataset)
        for _ in 0 ..< stopAfterSteps { _ = try first.step() }
        try run.writeCheckpoint(first)
        _ = try first.step()  // work after the checkpoint is lost, as in a crash

        let resumed = try Trainer(config: config, dataset: dataset)
        try run.resume(resumed)
        XCTAssertEqual(resumed.epochsCompleted * resumed.stepsPerEpoch + resumed.stepsCompletedInEpoch, stopAfterSteps, line: line)
        XCTAssertTrue(try resumed.train(shouldStop: { false }, afterStep: { _ in }), line: line)
        let label = "\(rule.rawValue) \(precision) stopped after \(stopAfterSteps) steps"
        XCTAssertEqual(resumed.weights.map { $0.values.map(\.bitPattern) }, uninterrupted.weights.map { $0.values.map(\.bitPattern) },
                       label, line: line)
        XCTAssertEqual(timeless(resumed.history), timeless(uninterrupted.history), label, line: line)
    }

    func testFloatRunsResumeMidEpochBitForBit() throws {
        // 110 samples in batches of 16: 7 steps per epoch; 10 is step 3 of epoch 2.
        try assertResumeMatches(.pepita, precision: "float32", stopAfterSteps: 10)
        try assertResumeMatches(.bp, precision: "float32", stopAfterSteps: 3)
        try assertResumeMatches(.dfa, precision: "float32", stopAfterSteps: 16)
    }

    func testFixedPointRunsResumeWithTheirStochasticRoundingStreamsBitForBit() throws {
        try assertResumeMatches(.pepita, precision: "int8-stochastic", stopAfterSteps: 10)
        try assertResumeMatches(.fa, precision: "int16-stochastic", stopAfterSteps: 5)
    }

    func testResumingAtAnEpochBoundaryMatchesToo() throws {
        try assertResumeMatches(.pepita, precision: "int8-stochastic", stopAfterSteps: 7)
        try assertResumeMatches(.pepita, precision: "float32", stopAfterSteps: 14)
    }

    func testAFixedPointCheckpointStoresTheNarrowingCount() throws {
        let trainer = try Trainer(config: config(.pepita, precision: "int8-stochastic"), dataset: dataset)
        let before = try XCTUnwrap(trainer.checkpointState.narrowings)
        _ = try trainer.step()
        XCTAssertGreaterThan(try XCTUnwrap(trainer.checkpointState.narrowings), before)
        XCTAssertNil(try Trainer(config: config(.pepita, precision: "float32"), dataset: dataset).checkpointState.narrowings)
    }

    func testDivergingFloatTrainingStopsNamingEpochStepAndLayer() throws {
        var config = try config(.bp, precision: "float32", dropoutKeep: 1)
        config.learningRate = 1e30
        let trainer = try Trainer(config: config, dataset: dataset)
        XCTAssertThrowsError(try trainer.train(shouldStop: { false }, afterStep: { _ in })) { error in
            guard case let .nonFinite(epoch, step, layer)? = error as? TrainingError else {
                return XCTFail("expected nonFinite, got \(error)")
            }
            XCTAssertEqual(epoch, 1)
            XCTAssertGreaterThanOrEqual(step, 1)
            XCTAssertTrue((0 ..< 3).contains(layer))
            XCTAssertTrue(trainer.engine.realWeights[layer].values.contains { !$0.isFinite })
            XCTAssertTrue(String(describing: error).contains("epoch 1, step \(step)"))
        }
    }

    func testACheckpointInsideAnEpochPastTheRunsLastIsRefused() throws {
        // 7 steps per epoch: after 10 steps the checkpoint is in epoch 2; a run of
        // 1 epoch must not take it (it would end with weights from mid-epoch 2).
        let directory = try TempDirectory()
        let run = RunDirectory(path: directory.path("run"))
        try run.create(overwrite: false)
        let first = try Trainer(config: config(.pepita, precision: "float32"), dataset: dataset)
        for _ in 0 ..< 10 { _ = try first.step() }
        try run.writeCheckpoint(first)
        var shorter = try config(.pepita, precision: "float32")
        shorter.epochs = 1
        XCTAssertThrowsError(try run.resume(Trainer(config: shorter, dataset: dataset))) { error in
            XCTAssertTrue(String(describing: error).contains("state.json: field stepsCompletedInEpoch: 3 steps of epoch 2 are done, past the run's last epoch 1"),
                          "\(error)")
        }
    }

    func testTheDivergenceMessageLeavesCheckpointsToTheCaller() throws {
        // Whether a checkpoint exists is known only to the caller (train without --run-dir has none).
        let message = TrainingError.nonFinite(epoch: 2, step: 5, layer: 1).description
        XCTAssertEqual(message, "training diverged: weights of layer 1 (W1) became NaN or infinite at epoch 2, step 5")
    }
}

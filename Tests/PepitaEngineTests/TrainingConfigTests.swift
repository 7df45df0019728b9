import Foundation
@testable import PepitaEngine
import Quantized
import TestSupport
import XCTest

/// `TrainingConfig`: sizes that get multiplied are bounded so the products cannot
/// overflow, and `config.json` files written before `countOperations` was saved
/// still read (as counting, which they did).
final class TrainingConfigTests: XCTestCase {
    private func config() -> TrainingConfig {
        TrainingConfig(model: "fc:8-4-3", rule: .pepita, dataset: "separable", epochs: 2, batchSize: 16,
                       learningRate: 0.01, decayEpochs: [], lastLayerError: .modulated)
    }

    func testSizesThatAreMultipliedAreBounded() throws {
        let cases: [(WritableKeyPath<TrainingConfig, Int>, Int, String)] = [
            (\.batchSize, Int.max, "--batch must be in 1...16777216, got 9223372036854775807"),
            (\.epochs, Int.max, "--epochs must be in 0...16777216, got 9223372036854775807"),
            (\.threads, 1 << 40, "--threads must be in 1...4096, got 1099511627776"),
        ]
        for (field, value, message) in cases {
            var bad = config()
            bad[keyPath: field] = value
            XCTAssertThrowsError(try bad.validate()) { XCTAssertEqual(String(describing: $0), message) }
            var largest = config()
            largest[keyPath: field] = field == \TrainingConfig.threads ? TrainingConfig.maxThreads
                : field == \TrainingConfig.epochs ? TrainingConfig.maxEpochs : TrainingConfig.maxBatchSize
            XCTAssertNoThrow(try largest.validate())
        }
        var fit = config()
        fit.fitEpochs = Int.max
        XCTAssertThrowsError(try fit.validate()) { XCTAssertTrue(String(describing: $0).hasPrefix("--fit-epochs must be in 2...")) }
    }

    func testTheLargestBatchGivesStepsPerEpochWithoutOverflow() throws {
        var largest = config()
        largest.batchSize = TrainingConfig.maxBatchSize
        let trainer = try Trainer(config: largest, dataset: SyntheticData.separable(features: 8, trainCount: 40, testCount: 10))
        XCTAssertEqual(trainer.stepsPerEpoch, 1)
    }

    func testOperationCountingIsSavedAndOldConfigsReadAsCounting() throws {
        var quiet = config()
        quiet.countOperations = false
        let directory = try TempDirectory()
        let run = RunDirectory(path: directory.path("run"))
        try run.create(overwrite: false)
        try run.write(config: quiet)
        XCTAssertEqual(try run.readConfig().countsOperations, false)

        // A config.json from before the setting was saved has no countOperations key.
        let text = try String(contentsOfFile: run.configPath, encoding: .utf8)
        let old = text.split(separator: "\n").filter { !$0.contains("\"countOperations\"") }.joined(separator: "\n")
        XCTAssertNotEqual(old, text)
        try old.write(toFile: run.configPath, atomically: true, encoding: .utf8)
        let read = try run.readConfig()
        XCTAssertNil(read.countOperations)
        XCTAssertTrue(read.countsOperations)
    }
}

import Foundation
import TestSupport
import XCTest

/// End-to-end: a training run killed (SIGKILL), interrupted (SIGINT, SIGTERM) or
/// diverging, and resumed with `train --resume`. The interruption comes from the
/// test hook `PEPITA_EDGE_TEST_SIGNAL_AFTER_STEP=STEP:SIGNAL` (the process signals
/// itself after that global step), so it falls at the same step every time.
final class ResumeCLITests: XCTestCase {
    /// 1437 digits in batches of 32: 45 steps per epoch.
    private let small = ["--model", "fc:64-16-10", "--batch", "32", "--epochs", "3", "--seed", "3", "--threads", "2"]

    private func weightFiles(_ run: String) throws -> [String: Data] {
        let names = try FileManager.default.contentsOfDirectory(atPath: run + "/weights").sorted()
        XCTAssertTrue(names.contains("W0.npy") && names.contains("W1.npy"), "\(names)")
        return try Dictionary(uniqueKeysWithValues: names.map { ($0, try Data(contentsOf: URL(fileURLWithPath: run + "/weights/" + $0))) })
    }

    private func state(_ run: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: run + "/checkpoint/state.json"))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Trains `options` once straight through and once interrupted by `signal` after
    /// global step `step` (checkpoints every `every` steps), resumes, and checks the
    /// final weight files are byte-identical. Returns the interrupted run's result.
    @discardableResult
    private func assertKillAndResume(_ options: [String], signal: Int32, step: Int, every: Int,
                                     line: UInt = #line) throws -> (CommandResult, String) {
        let directory = try TempDirectory()
        let straight = directory.path("straight"), interrupted = directory.path("interrupted")
        let reference = try PepitaEdgeCommand.run(["train", "--run-dir", straight] + options)
        XCTAssertEqual(reference.status, 0, reference.standardError, line: line)

        let stopped = try PepitaEdgeCommand.run(["train", "--run-dir", interrupted, "--checkpoint-every-steps", String(every)] + options,
                                                environment: ["PEPITA_EDGE_TEST_SIGNAL_AFTER_STEP": "\(step):\(signal)"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: interrupted + "/weights/W0.npy"), "the run must not have finished", line: line)
        let saved = try state(interrupted)
        let savedStep = (saved["epochsCompleted"] as! Int) * (saved["stepsPerEpoch"] as! Int) + (saved["stepsCompletedInEpoch"] as! Int)
        // SIGKILL loses the steps after the last periodic checkpoint; SIGINT/SIGTERM save the step they interrupted.
        XCTAssertEqual(savedStep, signal == SIGKILL ? step / every * every : step, line: line)

        let resumed = try PepitaEdgeCommand.run(["train", "--resume", interrupted])
        XCTAssertEqual(resumed.status, 0, resumed.standardError, line: line)
        XCTAssertTrue(resumed.standardError.contains("resuming \(interrupted) at epoch \((saved["epochsCompleted"] as! Int) + 1)"),
                      resumed.standardError, line: line)
        XCTAssertEqual(try weightFiles(interrupted), try weightFiles(straight), "final weights differ after resuming", line: line)
        let rows = try String(contentsOfFile: interrupted + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 4, "header + 3 epochs", line: line)
        return (stopped, interrupted)
    }

    func testSIGKILLMidEpochThenResumeGivesTheSameFloatWeightsByteForByte() throws {
        // Step 60 is step 15 of epoch 2; the last checkpoint before it is step 56.
        let (killed, _) = try assertKillAndResume(small, signal: SIGKILL, step: 60, every: 8)
        XCTAssertTrue(killed.terminatedBySignal)
        XCTAssertEqual(killed.status, SIGKILL)
    }

    func testSIGKILLMidEpochThenResumeGivesTheSameFixedPointWeightsByteForByte() throws {
        let (killed, _) = try assertKillAndResume(small + ["--precision", "int8-stochastic", "--rule", "bp"],
                                                  signal: SIGKILL, step: 52, every: 5)
        XCTAssertEqual(killed.status, SIGKILL)
    }

    func testSIGINTFinishesTheStepWritesACheckpointAndExits130() throws {
        let (stopped, run) = try assertKillAndResume(small, signal: SIGINT, step: 50, every: 1000)
        XCTAssertFalse(stopped.terminatedBySignal)
        XCTAssertEqual(stopped.status, 130, stopped.standardError)
        let last = try XCTUnwrap(stopped.standardError.split(separator: "\n").last)
        XCTAssertEqual(String(last), "pepita-edge: stopped by SIGINT at epoch 2, step 5 of 45; checkpoint written; continue with: pepita-edge train --resume \(run)")
    }

    func testSIGTERMExits143AndResumesAFixedPointRunExactly() throws {
        let (stopped, _) = try assertKillAndResume(small + ["--precision", "int16-stochastic"], signal: SIGTERM, step: 100, every: 1000)
        XCTAssertEqual(stopped.status, 143, stopped.standardError)
        XCTAssertTrue(stopped.standardError.contains("stopped by SIGTERM at epoch 3, step 10 of 45"), stopped.standardError)
    }

    func testResumeRefusesNewSettingsAndAMissingRun() throws {
        let directory = try TempDirectory()
        let changed = try PepitaEdgeCommand.run(["train", "--resume", directory.path, "--lr", "0.5"])
        XCTAssertEqual(changed.status, 2)
        XCTAssertEqual(changed.standardError, "pepita-edge: --resume continues a run with its saved settings (config.json); '--lr' cannot be given with it\n")
        let missing = try PepitaEdgeCommand.run(["train", "--resume", directory.path("nothing")])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.standardError.split(separator: "\n").count, 1, missing.standardError)
        XCTAssertTrue(missing.standardError.contains("nothing/config.json: missing"), missing.standardError)
    }

    func testCheckpointEveryStepsNeedsARunDirectory() throws {
        let result = try PepitaEdgeCommand.run(["train", "--checkpoint-every-steps", "5"] + small)
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.standardError.contains("--checkpoint-every-steps needs --run-dir"), result.standardError)
    }
}

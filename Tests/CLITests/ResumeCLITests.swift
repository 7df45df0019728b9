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

    /// A run of `small` stopped by SIGINT after global step `step`, checkpointed there.
    private func stoppedRun(_ directory: TempDirectory, step: Int, extra: [String] = []) throws -> String {
        let run = directory.path("run")
        let stopped = try PepitaEdgeCommand.run(["train", "--run-dir", run] + small + extra,
                                                environment: ["PEPITA_EDGE_TEST_SIGNAL_AFTER_STEP": "\(step):\(SIGINT)"])
        XCTAssertEqual(stopped.status, 130, stopped.standardError)
        return run
    }

    func testResumeEpochsMustReachTheCheckpointsPosition() throws {
        let directory = try TempDirectory()
        // Step 50 is step 5 of epoch 2: one epoch done, the second in progress.
        let run = try stoppedRun(directory, step: 50)
        for epochs in ["1", "0"] {
            let result = try PepitaEdgeCommand.run(["train", "--resume", run, "--epochs", epochs])
            XCTAssertEqual(result.status, 2, result.standardError)
            XCTAssertEqual(result.standardError, "pepita-edge: --epochs \(epochs) would end the run before its checkpoint, which is at epoch 2, step 5 of 45; give --epochs >= 2 to resume \(run)\n")
            XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/weights/W0.npy"), "no weights from the middle of an epoch")
        }
        let finished = try PepitaEdgeCommand.run(["train", "--resume", run, "--epochs", "2"])
        XCTAssertEqual(finished.status, 0, finished.standardError)
        let rows = try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 3, "header + 2 epochs")

        // At an epoch boundary the run may end right there, but not before.
        let shorter = try PepitaEdgeCommand.run(["train", "--resume", run, "--epochs", "1"])
        XCTAssertEqual(shorter.status, 2)
        XCTAssertEqual(shorter.standardError, "pepita-edge: --epochs 1 would end the run before its checkpoint, which has 2 epochs done; give --epochs >= 2 to resume \(run)\n")
    }

    func testResumeNeedsNoInitDirectory() throws {
        let directory = try TempDirectory()
        let source = directory.path("source")
        // Another seed: the run's initial weights and F (in weights/F.npy) come from --init, not its own seed.
        XCTAssertEqual(try PepitaEdgeCommand.run(["train", "--run-dir", source, "--model", "fc:64-16-10", "--epochs", "1", "--seed", "5"]).status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: source + "/weights/F.npy"))
        let initial = directory.path("init")
        try FileManager.default.moveItem(atPath: source + "/weights", toPath: initial)
        let straight = directory.path("straight")
        let reference = try PepitaEdgeCommand.run(["train", "--run-dir", straight, "--init", initial] + small)
        XCTAssertEqual(reference.status, 0, reference.standardError)

        let run = try stoppedRun(directory, step: 50, extra: ["--init", initial])
        try FileManager.default.removeItem(atPath: initial)
        let resumed = try PepitaEdgeCommand.run(["train", "--resume", run])
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
        XCTAssertEqual(try weightFiles(run), try weightFiles(straight), "the checkpoint alone continues a run started from --init")
    }

    func testResumeKeepsTheRunsOperationCountingSetting() throws {
        let directory = try TempDirectory()
        let run = try stoppedRun(directory, step: 50, extra: ["--no-operation-counts"])
        let resumed = try PepitaEdgeCommand.run(["train", "--resume", run])
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
        let metrics = try String(contentsOfFile: run + "/metrics.json", encoding: .utf8)
        XCTAssertFalse(metrics.contains("\"operations\""), "no epoch of a run without operation counts has them after resuming")
        XCTAssertTrue(try String(contentsOfFile: run + "/config.json", encoding: .utf8).contains("\"countOperations\" : false"))
    }

    func testDivergenceSaysWhetherACheckpointIsKept() throws {
        let directory = try TempDirectory()
        let bare = try PepitaEdgeCommand.run(["train", "--lr", "1e30", "--rule", "bp"] + small)
        XCTAssertEqual(bare.status, 3)
        let bareLast = String(try XCTUnwrap(bare.standardError.split(separator: "\n").last))
        XCTAssertTrue(bareLast.hasSuffix("of the bp run; nothing saved (no --run-dir) (try a smaller --lr)"), bareLast)
        XCTAssertFalse(bare.standardError.contains("checkpoint"), bare.standardError)

        let run = directory.path("run")
        let saved = try PepitaEdgeCommand.run(["train", "--run-dir", run, "--lr", "1e30", "--rule", "bp", "--checkpoint-every-steps", "1"] + small)
        XCTAssertEqual(saved.status, 3)
        XCTAssertTrue(saved.standardError.contains("; the last good checkpoint (\(run)/checkpoint) is kept (try a smaller --lr)"), saved.standardError)
    }
}

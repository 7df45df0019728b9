import Foundation
import TestSupport
import XCTest

/// End-to-end: `compare` trains each run through the same loop as `train`
/// (`TrainingLoop`): NaN/Inf stops it with exit 3, SIGINT/SIGTERM checkpoint the
/// run in progress and exit 130/143 naming the finished runs, run directories are
/// locked, `--checkpoint-every-steps` works; sizes that would overflow are refused.
final class TrainingLoopCLITests: XCTestCase {
    /// 1437 digits in batches of 32: 45 steps per epoch, 90 per run; pepita runs first, then bp.
    private let small = ["--model", "fc:64-16-10", "--batch", "32", "--epochs", "2", "--seed", "3", "--threads", "2"]

    private func lines(_ text: String) -> [Substring] { text.split(separator: "\n") }

    func testCompareStopsWithExit3WhenARunDiverges() throws {
        let directory = try TempDirectory()
        let result = try PepitaEdgeCommand.run(["compare", "--lr", "1e38", "--run-dir", directory.path("runs")] + small)
        XCTAssertEqual(result.status, 3, result.standardError)
        XCTAssertEqual(result.standardOutput, "", "no summary table for a diverged comparison")
        let last = String(try XCTUnwrap(lines(result.standardError).last))
        XCTAssertTrue(last.hasPrefix("pepita-edge: training diverged: weights of layer "), last)
        XCTAssertTrue(last.contains(" of the pepita/float32 run; "), last)
        XCTAssertTrue(last.hasSuffix("(try a smaller --lr)"), last)
    }

    func testSIGTERMDuringCompareCheckpointsTheRunInProgressAndNamesTheFinishedOnes() throws {
        let directory = try TempDirectory()
        let straight = directory.path("straight"), stopped = directory.path("stopped")
        let reference = try PepitaEdgeCommand.run(["compare", "--run-dir", straight] + small)
        XCTAssertEqual(reference.status, 0, reference.standardError)

        // Step 100 of the whole comparison is step 10 of the bp run's first epoch.
        let result = try PepitaEdgeCommand.run(["compare", "--run-dir", stopped, "--checkpoint-every-steps", "4"] + small,
                                               environment: ["PEPITA_EDGE_TEST_SIGNAL_AFTER_STEP": "100:\(SIGTERM)"])
        XCTAssertFalse(result.terminatedBySignal)
        XCTAssertEqual(result.status, 143, result.standardError)
        XCTAssertEqual(result.standardOutput, "")
        XCTAssertEqual(String(try XCTUnwrap(lines(result.standardError).last)),
                       "pepita-edge: stopped by SIGTERM in the bp/float32 run at epoch 1, step 10 of 45; finished: pepita/float32; checkpoint written; continue it with: pepita-edge train --resume \(stopped)/bp-float32")
        XCTAssertTrue(FileManager.default.fileExists(atPath: stopped + "/pepita-float32/weights/W0.npy"), "the finished run is complete")
        XCTAssertFalse(FileManager.default.fileExists(atPath: stopped + "/bp-float32/weights/W0.npy"), "the stopped run is not")

        let resumed = try PepitaEdgeCommand.run(["train", "--resume", stopped + "/bp-float32"])
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
        for name in ["W0.npy", "W1.npy"] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: stopped + "/bp-float32/weights/" + name)),
                           try Data(contentsOf: URL(fileURLWithPath: straight + "/bp-float32/weights/" + name)),
                           "\(name) of the resumed bp run differs from the uninterrupted comparison's")
        }
    }

    func testSIGINTDuringCompareWithoutRunDirectoryExits130SayingNothingWasSaved() throws {
        let result = try PepitaEdgeCommand.run(["compare"] + small, environment: ["PEPITA_EDGE_TEST_SIGNAL_AFTER_STEP": "20:\(SIGINT)"])
        XCTAssertEqual(result.status, 130, result.standardError)
        XCTAssertEqual(String(try XCTUnwrap(lines(result.standardError).last)),
                       "pepita-edge: stopped by SIGINT in the pepita/float32 run at epoch 1, step 20 of 45; no run finished; nothing saved (no --run-dir)")
    }

    func testCompareCheckpointsEveryNStepsAndNeedsARunDirectoryForIt() throws {
        let directory = try TempDirectory()
        let runs = directory.path("runs")
        // Killed outright after step 30 of the pepita run: only the periodic checkpoint (step 28) survives.
        let killed = try PepitaEdgeCommand.run(["compare", "--run-dir", runs, "--checkpoint-every-steps", "7"] + small,
                                               environment: ["PEPITA_EDGE_TEST_SIGNAL_AFTER_STEP": "30:\(SIGKILL)"])
        XCTAssertTrue(killed.terminatedBySignal)
        let data = try Data(contentsOf: URL(fileURLWithPath: runs + "/pepita-float32/checkpoint/state.json"))
        let state = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(state["stepsCompletedInEpoch"] as? Int, 28)

        let unused = try PepitaEdgeCommand.run(["compare", "--checkpoint-every-steps", "7"] + small)
        XCTAssertEqual(unused.status, 2)
        XCTAssertEqual(unused.standardError, "pepita-edge: --checkpoint-every-steps needs --run-dir (checkpoints are written there)\n")
    }

    func testCompareLocksItsRunDirectories() throws {
        let directory = try TempDirectory()
        let runs = directory.path("runs")
        // A long compare holds its locks while a second one tries the same directory.
        let first = Process()
        first.executableURL = PepitaEdgeCommand.executable
        first.arguments = ["compare", "--run-dir", runs, "--model", "fc:64-16-10", "--batch", "32", "--epochs", "50", "--threads", "1"]
        first.standardError = FileHandle.nullDevice
        first.standardOutput = FileHandle.nullDevice
        try first.run()
        defer { first.terminate(); first.waitUntilExit() }
        // Wait until the first run is under way (its config is written after the locks are taken).
        for _ in 0 ..< 600 where !FileManager.default.fileExists(atPath: runs + "/pepita-float32/config.json") { usleep(50_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: runs + "/pepita-float32/config.json"))
        let second = try PepitaEdgeCommand.run(["compare", "--run-dir", runs, "--force"] + small)
        XCTAssertEqual(second.status, 1, second.standardError)
        XCTAssertEqual(lines(second.standardError).count, 1, second.standardError)
        XCTAssertTrue(second.standardError.contains("in use by another pepita-edge process"), second.standardError)
    }

    func testHugeSizesAreRefusedInOneLine() throws {
        let batch = try PepitaEdgeCommand.run(["train", "--batch", "9223372036854775807", "--epochs", "1"])
        XCTAssertEqual(batch.status, 1)
        XCTAssertEqual(batch.standardError, "pepita-edge: --batch must be in 1...16777216, got 9223372036854775807\n")
        let directory = try TempDirectory()
        let every = try PepitaEdgeCommand.run(["train", "--run-dir", directory.path("unused"), "--epochs", "1",
                                               "--checkpoint-every-steps", "9223372036854775807"])
        XCTAssertEqual(every.status, 2)
        XCTAssertEqual(every.standardError, "pepita-edge: --checkpoint-every-steps must be in 1...1099511627776, got 9223372036854775807\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path("unused")), "refused before anything is written")

        // The same batch in a saved run's config.json (resumed) is refused as well, naming the file.
        let run = directory.path("run")
        XCTAssertEqual(try PepitaEdgeCommand.run(["train", "--run-dir", run, "--epochs", "1", "--model", "fc:64-8-10"]).status, 0)
        let config = try String(contentsOfFile: run + "/config.json", encoding: .utf8)
        let huge = config.replacingOccurrences(of: #""batchSize" : 64"#, with: #""batchSize" : 9223372036854775807"#)
        XCTAssertNotEqual(huge, config)
        try huge.write(toFile: run + "/config.json", atomically: true, encoding: .utf8)
        let resumed = try PepitaEdgeCommand.run(["train", "--resume", run, "--epochs", "2"])
        XCTAssertEqual(resumed.status, 1, resumed.standardError)
        XCTAssertEqual(resumed.standardError, "pepita-edge: \(run)/config.json: --batch must be in 1...16777216, got 9223372036854775807\n")
    }
}

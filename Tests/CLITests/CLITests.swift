import Foundation
import TestSupport
import XCTest

/// End-to-end: the real executable on the embedded digits data. Small models and
/// few epochs keep these fast in the debug build.
final class CLITests: XCTestCase {
    let small = ["--model", "fc:64-256-10"]

    private func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let result = try PepitaEdgeCommand.run(arguments)
        return result
    }

    private func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    func testCompareOnEmbeddedDigitsLearnsWellAboveChanceWithBothRules() throws {
        let result = try run(["compare", "--epochs", "4", "--format", "json"] + small)
        XCTAssertEqual(result.status, 0, result.standardError)
        let report = try XCTUnwrap(try json(result.standardOutput) as? [String: Any])
        XCTAssertEqual(report["schemaVersion"] as? Int, 1)
        let runs = try XCTUnwrap(report["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.count, 2)
        for run in runs {
            let summary = try XCTUnwrap(run["summary"] as? [String: Any])
            let accuracy = try XCTUnwrap(summary["finalTestAccuracy"] as? Double)
            XCTAssertGreaterThan(accuracy, 0.6, "\(summary["rule"] ?? "?") reached only \(accuracy)")
            XCTAssertEqual((run["epochs"] as? [Any])?.count, 4)
        }
        XCTAssertEqual(runs.map { ($0["summary"] as? [String: Any])?["rule"] as? String }, ["pepita", "bp"])
    }

    func testCompareTableCSVAndMarkdownHaveOneRowPerRule() throws {
        for (format, marker) in [("table", "final test %"), ("csv", "rule,precision,model"), ("md", "| rule |")] {
            let result = try run(["compare", "--epochs", "1", "--rules", "pepita,bp,fa", "--format", format] + small)
            XCTAssertEqual(result.status, 0, result.standardError)
            XCTAssertTrue(result.standardOutput.contains(marker), result.standardOutput)
            for rule in ["pepita", "bp", "fa"] {
                XCTAssertTrue(result.standardOutput.contains(rule), "\(format) lacks \(rule)")
            }
        }
    }

    func testTrainWritesACompleteRunDirectoryThatEvalReads() throws {
        let directory = try TempDirectory()
        let runPath = directory.path("run")
        let train = try run(["train", "--epochs", "2", "--run-dir", runPath, "--format", "json"] + small)
        XCTAssertEqual(train.status, 0, train.standardError)
        for file in ["config.json", "metrics.csv", "metrics.json", "checkpoint/W0.npy", "checkpoint/V1.npy",
                     "checkpoint/F.npy", "checkpoint/state.json", "weights/W0.npy", "weights/W1.npy", "weights/F.npy"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: runPath + "/" + file), "missing \(file)")
        }
        let csv = try String(contentsOfFile: runPath + "/metrics.csv", encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 3, csv)

        let summaries = try XCTUnwrap(try json(train.standardOutput) as? [[String: Any]])
        let trained = try XCTUnwrap(summaries.first?["finalTestAccuracy"] as? Double)
        let eval = try run(["eval", "--run-dir", runPath, "--format", "json"])
        XCTAssertEqual(eval.status, 0, eval.standardError)
        let evaluated = try XCTUnwrap((try json(eval.standardOutput) as? [String: Any])?["accuracy"] as? Double)
        XCTAssertEqual(evaluated, trained, accuracy: 1e-12)
    }

    func testEvalCanQuantiseAFloatRunToAnotherPrecision() throws {
        let directory = try TempDirectory()
        let runPath = directory.path("run")
        XCTAssertEqual(try run(["train", "--epochs", "3", "--run-dir", runPath] + small).status, 0)
        let eval = try run(["eval", "--run-dir", runPath, "--precision", "int16", "--format", "json"])
        XCTAssertEqual(eval.status, 0, eval.standardError)
        let result = try XCTUnwrap(try json(eval.standardOutput) as? [String: Any])
        XCTAssertEqual(result["precision"] as? String, "int16")
        XCTAssertGreaterThan(try XCTUnwrap(result["accuracy"] as? Double), 0.6)
    }

    func testTrainFromInitWeightsWithZeroEpochsReproducesTheirAccuracy() throws {
        let directory = try TempDirectory()
        let first = directory.path("first"), second = directory.path("second")
        XCTAssertEqual(try run(["train", "--epochs", "1", "--run-dir", first] + small).status, 0)
        let restart = try run(["train", "--epochs", "0", "--init", first + "/weights", "--run-dir", second] + small)
        XCTAssertEqual(restart.status, 0, restart.standardError)
        for name in ["W0.npy", "W1.npy", "F.npy"] {
            XCTAssertEqual(FileManager.default.contents(atPath: first + "/weights/" + name),
                           FileManager.default.contents(atPath: second + "/weights/" + name), name)
        }
    }

    func testReproducibleModeGivesIdenticalWeightsTwice() throws {
        let directory = try TempDirectory()
        let options = ["train", "--epochs", "2", "--no-shuffle", "--dropout-keep", "1", "--decay-epochs", "none"] + small
        XCTAssertEqual(try run(options + ["--run-dir", directory.path("a")]).status, 0)
        XCTAssertEqual(try run(options + ["--run-dir", directory.path("b")]).status, 0)
        for name in ["W0.npy", "W1.npy"] {
            XCTAssertEqual(FileManager.default.contents(atPath: directory.path("a/weights/" + name)),
                           FileManager.default.contents(atPath: directory.path("b/weights/" + name)), name)
        }
    }

    func testExistingRunIsNotOverwrittenWithoutForce() throws {
        let directory = try TempDirectory()
        let runPath = directory.path("run")
        XCTAssertEqual(try run(["train", "--epochs", "1", "--run-dir", runPath] + small).status, 0)
        let before = FileManager.default.contents(atPath: runPath + "/weights/W0.npy")
        let again = try run(["train", "--epochs", "1", "--seed", "7", "--run-dir", runPath] + small)
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.standardError.contains("--force"), again.standardError)
        XCTAssertEqual(FileManager.default.contents(atPath: runPath + "/weights/W0.npy"), before)
        XCTAssertEqual(try run(["train", "--epochs", "1", "--seed", "7", "--force", "--run-dir", runPath] + small).status, 0)
        XCTAssertNotEqual(FileManager.default.contents(atPath: runPath + "/weights/W0.npy"), before)
    }

    func testBadInputsGiveOneLineOnStderrAndANonZeroExit() throws {
        let directory = try TempDirectory()
        // A complete-looking MNIST folder whose training images are cut short.
        try directory.write([0, 0, 8, 3, 0, 0, 0, 9, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2], to: "bad/train-images-idx3-ubyte")
        try directory.write([0, 0, 8, 1, 0, 0, 0, 9] + [UInt8](repeating: 1, count: 9), to: "bad/train-labels-idx1-ubyte")
        try directory.write([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28] + [UInt8](repeating: 0, count: 784), to: "bad/t10k-images-idx3-ubyte")
        try directory.write([0, 0, 8, 1, 0, 0, 0, 1, 0], to: "bad/t10k-labels-idx1-ubyte")
        let cases: [([String], String)] = [
            (["train", "--bogus"], "--bogus"),
            (["train", "--epochs", "ten"], "--epochs"),
            (["train", "--lr", "-1"], "--lr"),
            (["train", "--rule", "magic"], "magic"),
            (["train", "--model", "resnet"], "resnet"),
            (["train", "--model", "fc:100-10"], "64"),
            (["train", "--dataset", "mnist", "--data-dir", directory.path("nowhere")], "nowhere"),
            (["train", "--dataset", "mnist", "--data-dir", directory.path("bad")], "train-images-idx3-ubyte"),
            (["train", "--dropout-keep", "0"], "--dropout-keep"),
            (["train", "--precision", "int4"], "int4"),
            (["train", "--init", directory.path("nowhere")], "W0.npy"),
            (["eval", "--run-dir", directory.path("nowhere")], "config.json"),
            (["frobnicate"], "frobnicate"),
        ]
        for (arguments, named) in cases {
            let addEpochs = arguments.first == "train" && !arguments.contains("--epochs")
            let result = try run(arguments + (addEpochs ? ["--epochs", "1"] : []))
            XCTAssertNotEqual(result.status, 0, "\(arguments) succeeded")
            XCTAssertLessThan(result.status, 128, "\(arguments) died from a signal")
            let lines = result.standardError.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(arguments): \(result.standardError)")
            XCTAssertTrue(result.standardError.contains(named), "\(arguments): \(result.standardError)")
            XCTAssertEqual(result.standardOutput, "", "\(arguments) printed to stdout")
        }
    }

    func testHelpIsAvailableOnEveryLevel() throws {
        for arguments in [["--help"], ["train", "--help"], ["eval", "--help"], ["compare", "--help"]] {
            let result = try run(arguments)
            XCTAssertEqual(result.status, 0)
            XCTAssertTrue(result.standardOutput.contains("USAGE"), "\(arguments)")
        }
    }

    func testOutWritesTheReportToAFileAndNothingToStdout() throws {
        let directory = try TempDirectory()
        let out = directory.path("report.md")
        let result = try run(["compare", "--epochs", "1", "--format", "md", "--out", out] + small)
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertEqual(result.standardOutput, "")
        XCTAssertTrue(try String(contentsOfFile: out, encoding: .utf8).hasPrefix("| rule |"))
    }
}

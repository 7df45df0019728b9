import Foundation
import TestSupport
import XCTest

/// `--precision` end to end: the real executable on the embedded digits data,
/// training in int8, writing integer weights with sidecars, reporting per-role
/// statistics, and reading precision config files.
final class FixedPointCLITests: XCTestCase {
    let small = ["--model", "fc:64-256-10"]
    static let roles = ["weights", "activations", "errors", "projection", "modulatedInput", "updates", "optimiserState"]

    private func run(_ arguments: [String]) throws -> CommandResult {
        try PepitaEdgeCommand.run(arguments)
    }

    private func json(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    /// The header dictionary of a `.npy` file (version 1.0: 10-byte preamble, then the header).
    private func npyHeader(_ path: String) throws -> String {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(Array(bytes.prefix(6)), [0x93] + Array("NUMPY".utf8))
        let length = Int(bytes[8]) | Int(bytes[9]) << 8
        return String(decoding: bytes[10 ..< 10 + length], as: UTF8.self)
    }

    func testTrainInInt8WritesInt8WeightsWithSidecarsAndPerRoleStatisticsThatEvalReproduces() throws {
        let directory = try TempDirectory()
        let runPath = directory.path("run")
        let train = try run(["train", "--precision", "int8", "--epochs", "2", "--run-dir", runPath, "--format", "json"] + small)
        XCTAssertEqual(train.status, 0, train.standardError)

        // weights/W0.npy: int8 codes, 256 x 64, with a sidecar giving the format.
        let header = try npyHeader(runPath + "/weights/W0.npy")
        XCTAssertTrue(header.contains("'descr': '|i1'"), header)
        XCTAssertTrue(header.contains("'shape': (256, 64)"), header)
        let sidecar = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: runPath + "/weights/W0.json"))) as? [String: Any])
        XCTAssertEqual(sidecar["fractionalBits"] as? Int, 7, "int8 weights are Q0.7")
        XCTAssertEqual(sidecar["totalBits"] as? Int, 8)
        XCTAssertEqual(sidecar["format"] as? String, "Q0.7")
        XCTAssertEqual(sidecar["role"] as? String, "weights")
        for file in ["weights/W1.npy", "weights/W1.json", "weights/F.npy", "weights/F.json", "checkpoint/V0.npy", "checkpoint/V0.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: runPath + "/" + file), "missing \(file)")
        }

        // metrics.json: per epoch, the statistics of every role.
        let metrics = try XCTUnwrap(try json(String(contentsOfFile: runPath + "/metrics.json", encoding: .utf8)) as? [String: Any])
        let epochs = try XCTUnwrap(metrics["epochs"] as? [[String: Any]])
        XCTAssertEqual(epochs.count, 2)
        let quantization = try XCTUnwrap(epochs.last?["quantization"] as? [String: Any], "metrics.json lacks quantization")
        for role in Self.roles where role != "projection" {
            let counters = try XCTUnwrap(quantization[role] as? [String: Any], "metrics.json lacks \(role)")
            XCTAssertGreaterThan(counters["elements"] as? Int ?? 0, 0, role)
            XCTAssertNotNil(counters["saturations"] as? Int, role)
            XCTAssertNotNil(counters["roundedToZero"] as? Int, role)
        }

        // stderr: the per-role table of the last epoch.
        XCTAssertTrue(train.standardError.contains("role (epoch 2)"), train.standardError)
        for phrase in ["saturated %", "rounded to 0 %", "Q0.7, nearest-even", "8-bit dynamic"] {
            XCTAssertTrue(train.standardError.contains(phrase), "stderr lacks '\(phrase)': \(train.standardError)")
        }
        for role in Self.roles where role != "projection" {
            XCTAssertTrue(train.standardError.split(separator: "\n").contains { $0.hasPrefix(role) },
                          "stderr table lacks a \(role) row")
        }

        // eval reads the integer weights back exactly and scores what training reported.
        let summaries = try XCTUnwrap(try json(train.standardOutput) as? [[String: Any]])
        XCTAssertEqual(summaries.first?["precision"] as? String, "int8")
        let trained = try XCTUnwrap(summaries.first?["finalTestAccuracy"] as? Double)
        XCTAssertGreaterThan(trained, 0.3, "int8 learns the digits")
        let eval = try run(["eval", "--run-dir", runPath, "--format", "json"])
        XCTAssertEqual(eval.status, 0, eval.standardError)
        let evaluated = try XCTUnwrap(try json(eval.standardOutput) as? [String: Any])
        XCTAssertEqual(evaluated["precision"] as? String, "int8")
        XCTAssertEqual(try XCTUnwrap(evaluated["accuracy"] as? Double), trained, "exactly the training run's final test accuracy")
    }

    func testTheStatisticsTableListsTheProjectionRow() throws {
        // SPEC §4: statistics per tensor role, F included.
        let result = try run(["train", "--precision", "int8", "--epochs", "1"] + small)
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardError.split(separator: "\n").contains { $0.hasPrefix("projection") },
                      "stderr table lacks a projection row: \(result.standardError)")
    }

    func testPrecisionFileWithABaseAndAnOverrideIsUsed() throws {
        let directory = try TempDirectory()
        let file = try directory.write(Array("""
        { "name": "int8-wide-input", "base": "int8",
          "roles": { "modulatedInput": { "bits": 16, "fractionalBits": 14 } } }
        """.utf8), to: "wide-input.json")
        let runPath = directory.path("run")
        let result = try run(["train", "--precision", file, "--epochs", "1", "--run-dir", runPath, "--format", "json"] + small)
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardError.contains("Q1.14, nearest-even"), "the override's format: \(result.standardError)")
        XCTAssertTrue(result.standardError.contains("Q0.7, nearest-even"), "the base's weights: \(result.standardError)")
        let summaries = try XCTUnwrap(try json(result.standardOutput) as? [[String: Any]])
        XCTAssertEqual(summaries.first?["precision"] as? String, "int8-wide-input")
        let config = try XCTUnwrap(try json(String(contentsOfFile: runPath + "/config.json", encoding: .utf8)) as? [String: Any])
        let precision = try XCTUnwrap(config["precision"] as? [String: Any])
        XCTAssertEqual(precision["name"] as? String, "int8-wide-input")
        // The input is now 16 bits, so W0 stays int8 while the run used a wide input.
        XCTAssertTrue(try npyHeader(runPath + "/weights/W0.npy").contains("'descr': '|i1'"))
    }

    func testBadPrecisionFileFailsWithOneLineNamingTheKey() throws {
        let directory = try TempDirectory()
        let file = try directory.write(Array(#"{ "base": "int8", "roles": { "weights": { "bits": 17, "fractionalBits": 7 } } }"#.utf8),
                                       to: "bad.json")
        for command in ["train", "compare"] {
            let result = try run([command, "--precision", file, "--epochs", "1"] + small)
            XCTAssertNotEqual(result.status, 0, command)
            XCTAssertLessThan(result.status, 128, "\(command) died from a signal")
            let lines = result.standardError.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(command): \(result.standardError)")
            XCTAssertTrue(result.standardError.contains("roles.weights.bits"), result.standardError)
            XCTAssertTrue(result.standardError.contains("bad.json"), result.standardError)
            XCTAssertEqual(result.standardOutput, "")
        }
    }

    func testCompareTwoPrecisionsGivesOneCSVRowPerRuleAndPrecision() throws {
        let result = try run(["compare", "--precision", "float32,int8", "--epochs", "1", "--format", "csv"] + small)
        XCTAssertEqual(result.status, 0, result.standardError)
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 5, result.standardOutput)
        let header = lines[0].split(separator: ",").map(String.init)
        let precisionColumn = try XCTUnwrap(header.firstIndex(of: "precision"), lines[0])
        let ruleColumn = try XCTUnwrap(header.firstIndex(of: "rule"), lines[0])
        let rows = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(Set(rows.map { "\($0[ruleColumn])/\($0[precisionColumn])" }),
                       ["pepita/float32", "bp/float32", "pepita/int8", "bp/int8"])
        // The int8 runs print their statistics; the float32 runs have none.
        XCTAssertEqual(result.standardError.components(separatedBy: "role (epoch 1)").count - 1, 2, result.standardError)
    }

    func testTrainRejectsAListOfPrecisions() throws {
        let result = try run(["train", "--precision", "float32,int8", "--epochs", "1"] + small)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertLessThan(result.status, 128)
        XCTAssertEqual(result.standardError.split(separator: "\n").count, 1, result.standardError)
        XCTAssertTrue(result.standardError.contains("--precision"), result.standardError)
        XCTAssertEqual(result.standardOutput, "")
    }
}

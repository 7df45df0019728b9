import Foundation
import TestSupport
import XCTest

/// End-to-end: `pepita-edge cost --check` (analytic beside counted) and the
/// operation counts `train` writes to metrics.json.
final class CostCheckCLITests: XCTestCase {
    private func run(_ arguments: [String]) throws -> CommandResult { try PepitaEdgeCommand.run(arguments) }

    func testCheckPrintsEqualForEveryRuleAndPrecision() throws {
        let result = try run(["cost", "--check", "--model", "fc:64-32-10", "--rule", "all", "--precision", "float32,int8", "--batch", "4"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let verdicts = result.standardOutput.split(separator: "\n").filter { $0.hasPrefix("fc:64-32-10 ") }
        XCTAssertEqual(verdicts.count, 10, result.standardOutput)
        XCTAssertTrue(verdicts.allSatisfy { $0.contains(": equal (") }, result.standardOutput)
        XCTAssertFalse(result.standardOutput.contains("DIFFERENT"))
        // e · F^T: 4 x 10 x 64 = 2560 MACs and x + e F^T, 4 x 64 = 256 adds, outside any layer.
        let rows = result.standardOutput.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        XCTAssertTrue(rows.contains(["pepita", "int8", "errorProjection", "-", "macs=2560", "adds=256", "macs=2560", "adds=256", "equal"]),
                      result.standardOutput)
    }

    func testCheckJSONCarriesEveryRowAndTheVerdict() throws {
        let result = try run(["cost", "--check", "--model", "Net1conv1fcXL", "--dataset", "mnist", "--rule", "pepita,dfa",
                              "--precision", "int8-stochastic", "--batch", "2", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let results = try XCTUnwrap(document["results"] as? [[String: Any]])
        XCTAssertEqual(results.map { $0["rule"] as? String }, ["pepita", "dfa"])
        for entry in results {
            XCTAssertEqual(entry["equal"] as? Bool, true)
            XCTAssertEqual((entry["differences"] as? [Any])?.count, 0)
            let rows = try XCTUnwrap(entry["operations"] as? [[String: Any]])
            let forward0 = try XCTUnwrap(rows.first { $0["phase"] as? String == "forward" && $0["layer"] as? Int == 0 })
            // conv 1->32, 5x5 on 28x28: 2 * 576 * 25 * 32 MACs.
            XCTAssertEqual((forward0["counted"] as? [String: Any])?["macs"] as? Int, 2 * 576 * 25 * 32)
        }
    }

    func testTrainRecordsOperationsPerEpochInMetricsJSONUnlessSwitchedOff() throws {
        let directory = try TempDirectory()
        let common = ["train", "--model", "fc:64-16-10", "--epochs", "1", "--batch", "500", "--format", "json"]
        let counted = try run(common + ["--run-dir", directory.path("counted")])
        XCTAssertEqual(counted.status, 0, counted.standardError)
        let metrics = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: directory.path("counted") + "/metrics.json"))) as? [String: Any])
        let epoch = try XCTUnwrap((metrics["epochs"] as? [[String: Any]])?.first)
        let operations = try XCTUnwrap(epoch["operations"] as? [String: Any], "metrics.json lacks operations")
        // 1437 digits at batch 500: two full steps and one of 437.
        XCTAssertEqual(operations["steps"] as? Int, 3)
        let phases = try XCTUnwrap(operations["phases"] as? [[String: Any]])
        XCTAssertEqual(phases.map { $0["phase"] as? String }, ["forward", "errorProjection", "modulatedForward", "update", "optimiser"])
        let forwardLayer0 = try XCTUnwrap((phases[0]["layers"] as? [[String: Any]])?.first)
        XCTAssertEqual(forwardLayer0["macs"] as? Int, 1437 * 64 * 16)

        let off = try run(common + ["--run-dir", directory.path("off"), "--no-operation-counts"])
        XCTAssertEqual(off.status, 0, off.standardError)
        let offMetrics = try String(contentsOfFile: directory.path("off") + "/metrics.json", encoding: .utf8)
        XCTAssertFalse(offMetrics.contains("\"operations\""), offMetrics)
    }
}

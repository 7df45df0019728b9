import Foundation
import TestSupport
import XCTest

/// `cost --per-layer` on an engine model prices the engine's dropout, so its
/// totals are those of the exact model (before, dropout was silently dropped:
/// 262 other operations per sample with --per-layer against 326 without).
final class CostPerLayerDropoutCLITests: XCTestCase {
    private func perSample(_ arguments: [String], key: String) throws -> [String: Any] {
        let result = try PepitaEdgeCommand.run(["cost", "--model", "fc:64-32-10", "--format", "json"] + arguments)
        XCTAssertEqual(result.status, 0, result.standardError)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let report = try XCTUnwrap((document[key] as? [[String: Any]])?.first)
        if key == "reports" { return try XCTUnwrap(report["perSample"] as? [String: Any]) }
        return try XCTUnwrap(((report["rules"] as? [[String: Any]])?.first)?["perSample"] as? [String: Any])
    }

    func testPerLayerAgreesWithTheEngineModelWithDropoutOnAndOff() throws {
        for keep in [[], ["--dropout-keep", "0.5"], ["--dropout-keep", "1"]] {
            for rule in ["bp", "pepita", "dfa"] {
                let exact = try perSample(["--rule", rule] + keep, key: "reports")
                let layered = try perSample(["--rule", rule, "--per-layer"] + keep, key: "networkReports")
                for field in ["macs", "otherOperations"] {
                    XCTAssertEqual(exact[field] as? Double, layered[field] as? Double, "\(rule) \(keep) \(field)")
                }
            }
        }
        XCTAssertEqual(try perSample(["--rule", "bp", "--per-layer"], key: "networkReports")["otherOperations"] as? Double, 326)
    }

    func testHelpListsEveryPrecisionPreset() throws {
        let help = try PepitaEdgeCommand.run(["cost", "--help"])
        for preset in ["float32", "int16", "int16-stochastic", "int8", "int8-stochastic"] {
            XCTAssertTrue(help.standardOutput.contains(preset), preset)
        }
    }
}
